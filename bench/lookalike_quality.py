"""Look-alike answers for strangers: spread, gender, honesty and identification, against plain search.

    python bench/lookalike_quality.py [--seed 0] [--gallery-share 0.5] [--timed 500] [--per-stranger 3]
        [--scale N] [--spread-weight A] [--reach-neighbours K] [--reach-weight W]

The LFW people (bench/lfw_embeddings.py's cached vectors, face nearest the centre) are
split at random: a share of them form the gallery, the others are strangers whose every
photo is a query. LFW's news photos give some people hundreds of photos (George W.
Bush 530), and all photos of one stranger rightly get the same few look-alikes, which
would read as hubs; so the figures are also given for at most --per-stranger photos of
each stranger (chosen at random), closer to a bot's users who send a photo or a few.
Of each gallery person with 2+ photos one photo is held out as an identification query.
The gallery is what build_embeddings makes of the rest (lookalike.builder.build.select: duplicates, consensus, mean vector; the catalog's fields,
gender included), indexed twice in the same run:

- baseline: the plain nearest mean vector (CelebrityIndex without ranking or gender probe,
  percentile calibrated on the plain distance), i.e. the index before issue 9;
- ranked: lookalike.builder.build.make_index, the index build_embeddings writes now.

Printed per index, for the strangers' top answers: coverage of the gallery (and the
even-spread ideal 1 - e^(-q/n)), the share of answers taken by the 1% most-answered
celebrities and by the single most-answered one, women's and men's gender mismatch
(catalog labels; unlabelled celebrities or strangers are not counted), the share shown
>= 90% and the KS distance of the shown percentages to uniform, the median true distance
of the answer; then identification top-1 of the held-out photos, and the median time of
one face's look-up (k=3) on one core.

With --scale N (e.g. 100000) the look-up is also timed in a gallery of N celebrities:
vectors mixed from the LFW ones (bench/synth.py), each with 1-3 photos scattered by the
gallery's measured within-person spread, genders from the LFW gallery's probe; the
ranking is fitted on them as a build would, and the strangers' real faces are the queries.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import math
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import common
import distance_ratio_rule
import numpy as np
from common import LFW, table
from plain_calibration import calibrate

from lookalike.answering.replies import percent
from lookalike.builder import build as be
from lookalike.builder import photo_analysis
from lookalike.builder.photo_cache import FaceFacts, PhotoResult
from lookalike.catalog import read_catalog
from lookalike.engine import gender
from lookalike.engine.calibration import Calibration, CalibrationPhotos
from lookalike.engine.identity import QUERY_MATCH
from lookalike.engine.index import CelebrityIndex, LookAlike, Match
from lookalike.engine.ranking import (
    DEFAULT_REACH_NEIGHBOURS,
    DEFAULT_REACH_WEIGHT,
    DEFAULT_SPREAD_WEIGHT,
)


def split(people: list[str], share: float, seed: int) -> tuple[list[str], list[str]]:
    """(gallery people, strangers), at random."""
    shuffled = sorted(people)
    random.Random(seed).shuffle(shuffled)
    cut = round(share * len(shuffled))
    return sorted(shuffled[:cut]), sorted(shuffled[cut:])


def gallery_entries(
    by_person: dict[str, list[Path]],
    vectors: dict[Path, np.ndarray],
    scores: dict[Path, float],
    people: list[str],
    held_out: dict[str, Path],
) -> list[be.Entry]:
    """What build_embeddings keeps of ``people``'s photos (less the held-out ones), catalog fields included."""
    catalog = read_catalog(LFW)
    celebrities, analysed = [], {}
    for person in people:
        photos = [p for p in by_person[person] if p != held_out.get(person)]
        record = catalog.get(person, {})
        name = record.get("name", person)
        celebrities.append(be.Celebrity(key=person, name=name, photos=photos, record=record))
        for path in photos:
            vector = vectors.get(path)
            result = PhotoResult(status="no_face")
            if vector is not None:
                face = FaceFacts((0, 0, 1, 1), 100.0, 0.0, 1.0, embedding=vector, gender_score=scores[path])
                result = PhotoResult(status="ok", faces=[face], main=0)
            analysed[path] = photo_analysis.Analysed(hashlib.sha256(path.read_bytes()).hexdigest(), result, cached=True)
    entries, _, _ = be.select(celebrities, analysed, be.DEFAULT_MIN_EYE_DISTANCE, be.DEFAULT_MAX_ROLL)
    return entries


def plain_index(entries: list[be.Entry]) -> CelebrityIndex:
    """The index before issue 9: nearest mean vector, percentile of the plain distance."""
    vectors, samples, owners, records = be.index_inputs(entries)
    return CelebrityIndex.build(vectors, records, calibrate(vectors, samples, owners))


def stranger_figures(
    index: CelebrityIndex, queries: np.ndarray, query_genders: np.ndarray, scores: np.ndarray | None = None
) -> dict[str, float]:
    answers = index.look_alikes(queries, k=3, gender_scores=scores)
    tops = np.array([answer.matches[0].id for answer in answers])
    counts = np.array(sorted(Counter(tops.tolist()).values(), reverse=True))
    n, q = len(index), len(queries)
    top_share = counts[: max(1, math.ceil(0.01 * n))].sum() / q
    celebrity_genders = gender.codes([index.celebrity(i) for i in range(n)])[tops]
    women, men = query_genders == 0, query_genders == 1
    shown = np.array([percent(answer.matches[0]) for answer in answers]) / 100.0
    ordered = all(
        all(a.similarity >= b.similarity for a, b in zip(answer.matches, answer.matches[1:])) for answer in answers
    )
    return {
        "coverage": len(counts) / n,
        "ideal": 1 - math.exp(-q / n),
        "top1pct": top_share,
        "largest": counts[0] / q,
        "women": (celebrity_genders[women] == 1).mean(),
        "men": (celebrity_genders[men] == 0).mean(),
        "shown90": (shown >= 0.9).mean(),
        "ks": ks_uniform(np.array([answer.matches[0].similarity for answer in answers])),
        "distance": float(np.median([answer.matches[0].distance for answer in answers])),
        "ordered": ordered,
    }


def ks_uniform(values: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between the values' distribution and uniform on [0, 1]."""
    values = np.sort(values)
    n = len(values)
    above = np.arange(1, n + 1) / n - values
    below = values - np.arange(n) / n
    return float(max(above.max(), below.max()))


def identification(
    index: CelebrityIndex, queries: np.ndarray, truth: list[str], scores: np.ndarray | None = None
) -> float:
    keys = [index.celebrity(a.matches[0].id)["key"] for a in index.look_alikes(queries, k=1, gender_scores=scores)]
    return float(np.mean([found == person for found, person in zip(keys, truth)]))


def query_time(index: CelebrityIndex, queries: np.ndarray, scores: np.ndarray | None = None) -> float:
    """Median seconds of one face's look-up, k=3, after a warm-up pass."""
    given = scores is not None
    scores = np.zeros(len(queries)) if scores is None else scores
    for query, score in zip(queries[:50], scores):
        index.look_alikes(query, k=3, gender_scores=[score] if given else None)
    times = []
    for query, score in zip(queries, scores):
        started = common.now()
        index.look_alikes(query, k=3, gender_scores=[score] if given else None)
        times.append(common.now() - started)
    return common.median(times)


ALIASES = [
    frozenset(("Noer_Muis", "Noer_Moeis")),
    frozenset(("Wang_Yingfan", "Yingfan_Wang")),
    frozenset(("Sepp_Blatter", "Joseph_Blatter")),
    frozenset(("Mireya_Moscoso", "Mireya_Elisa_Moscoso_Rodriguez")),
    frozenset(("Sung_Hong_Choi", "Choi_Sung-hong")),  # one photo at 0.08 from the other name's
    frozenset(("Andrew_Caldecott", "Andrew_Gilligan")),  # the same photo under both names
    frozenset(("Ricky_Ray", "Bart_Hendricks")),  # the same photo under both names
]
"""LFW files these people under two names: a "stranger" told "this is" the other name is right."""

Says = Callable[[LookAlike], Match | None]
"""A "this is X" rule: the match it names for an answer, or None."""


@dataclass
class Split:
    """One random split of the LFW people: the gallery's entries and the query photos."""

    seed: int
    gallery_people: list[str]
    strangers: list[str]
    entries: list[be.Entry]
    queries: dict[
        str, tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]
    ]  # label -> vectors, scores, genders, people
    held: list[str]  # gallery people with a held-out photo
    held_vectors: np.ndarray
    held_scores: np.ndarray


def prepare(seed: int, args, vectors: dict[Path, np.ndarray], scores: dict[Path, float], by_person) -> Split:
    gallery_people, strangers = split(list(by_person), args.gallery_share, seed)
    rng = random.Random(seed)
    held_out = {}
    for person in gallery_people:
        with_face = [p for p in by_person[person] if p in vectors]
        if len(with_face) >= 2:
            held_out[person] = rng.choice(with_face)
    entries = gallery_entries(by_person, vectors, scores, gallery_people, held_out)
    every_photo = [p for person in strangers for p in by_person[person] if p in vectors]
    few_photos = []
    for person in strangers:
        with_face = [p for p in by_person[person] if p in vectors]
        few_photos += sorted(rng.sample(with_face, min(args.per_stranger, len(with_face))))
    catalog = read_catalog(LFW)
    queries = {
        label: (
            np.stack([vectors[p] for p in photos]),
            np.array([scores[p] for p in photos]),
            gender.codes([catalog.get(p.parent.name, {}) for p in photos]),
            [p.parent.name for p in photos],
        )
        for label, photos in (("every photo", every_photo), (f"<= {args.per_stranger} per stranger", few_photos))
    }
    held = sorted(held_out)
    return Split(
        seed,
        gallery_people,
        strangers,
        entries,
        queries,
        held,
        np.stack([vectors[held_out[person]] for person in held]),
        np.array([scores[held_out[person]] for person in held]),
    )


def this_is_rates(index: CelebrityIndex, s: Split, says: Says) -> dict[str, object]:
    """Held-out photos of gallery people told "this is X" (and X right; also split by the
    celebrity's kept photos: at most one, or more), strangers told it falsely (an alias of their
    own name is not false), and who those strangers were; ``says`` is the rule."""
    held = index.look_alikes(s.held_vectors, k=3, gender_scores=s.held_scores)
    keys = [None if (match := says(a)) is None else index.celebrity(match.id)["key"] for a in held]
    right = np.array([key == person for key, person in zip(keys, s.held)])
    rows = {index.celebrity(i)["key"]: i for i in range(len(index))}
    kept = [index.ranking.photos[rows[person]] if person in rows else 0 for person in s.held]
    single = np.array(kept) <= 1  # (0: every other photo of theirs left out of the gallery)
    figures: dict[str, object] = {
        "told": np.mean([key is not None for key in keys]),
        "right": right.mean(),
        "right, one photo": right[single].mean(),
        "right, 2+ photos": right[~single].mean(),
    }
    for label, (vectors, scores, _, people) in s.queries.items():
        answers = index.look_alikes(vectors, k=3, gender_scores=scores)
        told = [
            (person, index.celebrity(match.id)["key"])
            for a, person in zip(answers, people)
            if (match := says(a)) is not None
        ]
        false = [pair for pair in told if frozenset(pair) not in ALIASES]
        figures[label] = len(false) / len(answers)
        figures[f"{label} claims"] = sorted(set(false))
        figures[f"{label} aliases"] = len(told) - len(false)
    return figures


def this_is_ceiling(index: CelebrityIndex, s: Split, false_rate: float = 0.002) -> float:
    """Held-out photos told it (right) at the best limit of the normalised score that the
    strangers themselves could pick: the one letting ``false_rate`` of them (every photo)
    through. No build can fit better; it shows what the embedding allows."""
    assert index.identity is not None

    def score(answers: list[LookAlike]) -> np.ndarray:
        best = np.array([a.matches[0].id for a in answers])
        d1, d3 = (np.array([a.matches[i].distance for a in answers]) for i in (0, QUERY_MATCH - 1))
        return d1 / np.sqrt(d3 * index.identity.tails[best])

    vectors, scores, _, people = s.queries["every photo"]
    answers = index.look_alikes(vectors, k=3, gender_scores=scores)
    alias = np.array(
        [frozenset((p, index.celebrity(a.matches[0].id)["key"])) in ALIASES for a, p in zip(answers, people)]
    )
    strangers = np.sort(score(answers)[~alias])
    limit = strangers[math.floor(false_rate * len(answers))]  # the first one too many
    held = index.look_alikes(s.held_vectors, k=3, gender_scores=s.held_scores)
    right = np.array([index.celebrity(a.matches[0].id)["key"] == p for a, p in zip(held, s.held)])
    return float(np.mean((score(held) < limit) & right))


def rule_rates(index: CelebrityIndex, s: Split) -> dict[str, dict[str, object]]:
    """The "this is X" rates of the index's rule (new) and of the distance-ratio rule
    (old) fitted on the same gallery's same stand-in photos."""
    _, samples, owners, _ = be.index_inputs(s.entries)
    scores = np.concatenate([e.gender_scores for e in s.entries])
    old = distance_ratio_rule.fit(index, samples, owners, scores)
    return {
        f"old ({old})": this_is_rates(index, s, old.this_is),
        f"normalised (limit {index.identity.limit:.3f})" if index.identity else "normalised (none)": this_is_rates(
            index, s, lambda answer: answer.this_is
        ),
    }


def split_row(s: Split, ranked: CelebrityIndex) -> list[str]:
    """The compact figures of one split: gender mismatch probe-only and fused, identification."""
    vectors, scores, genders, _ = s.queries["every photo"]
    probe = stranger_figures(ranked, vectors, genders)
    fused = stranger_figures(ranked, vectors, genders, scores)
    return [
        str(s.seed),
        f"{100 * probe['women']:.2f} / {100 * probe['men']:.2f}",
        f"{100 * fused['women']:.2f} / {100 * fused['men']:.2f}",
        f"{100 * equal_errors(ranked.probe.score(vectors, scores), genders):.2f}",
        f"{100 * identification(ranked, s.held_vectors, s.held):.2f}",
        f"{100 * identification(ranked, s.held_vectors, s.held, s.held_scores):.2f}",
    ]


def this_is_rows(s: Split, ranked: CelebrityIndex, args) -> list[list[str]]:
    """One split's "this is X" figures, a row per rule, the old one first."""
    few = f"<= {args.per_stranger} per stranger"
    ceiling = f"{100 * this_is_ceiling(ranked, s):.1f}" if ranked.identity else "-"
    return [
        [
            str(s.seed),
            rule,
            f"{100 * rates['told']:.1f} ({100 * rates['right']:.1f})",
            f"{100 * rates['right, one photo']:.1f} / {100 * rates['right, 2+ photos']:.1f}",
            f"{100 * rates['every photo']:.2f} / {100 * rates[few]:.2f}",
            ceiling if rule.startswith("normalised") else "",
        ]
        for rule, rates in rule_rates(ranked, s).items()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="the split and the held-out photos")
    parser.add_argument(
        "--splits", type=int, default=1, help="also the compact figures of this many splits from --seed"
    )
    parser.add_argument("--gallery-share", type=float, default=0.5, help="share of the people in the gallery")
    parser.add_argument("--timed", type=int, default=500, help="stranger photos timed one by one")
    parser.add_argument("--per-stranger", type=int, default=3, help="photos per stranger in the second query set")
    parser.add_argument("--scale", type=int, default=0, help="also time look-ups in a synthetic gallery this large")
    parser.add_argument("--spread-weight", type=float, default=DEFAULT_SPREAD_WEIGHT)
    parser.add_argument("--reach-neighbours", type=int, default=DEFAULT_REACH_NEIGHBOURS)
    parser.add_argument("--reach-weight", type=float, default=DEFAULT_REACH_WEIGHT)
    args = parser.parse_args(argv)
    common.require(LFW / "catalog.csv")
    from lfw_embeddings import load

    pinned = common.pin()
    cached = load()
    vectors = {Path(p): v for p, v in zip(cached["paths"], cached["vectors"])}
    classifier = {Path(p): float(v) for p, v in zip(cached["paths"], cached["gender_scores"])}
    by_person: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(LFW.glob("*/*.jpg")):
        by_person[path.parent.name].append(path)
    s = prepare(args.seed, args, vectors, classifier, by_person)
    entries = s.entries
    every = s.queries["every photo"]

    started = common.now()
    ranked = be.make_index(
        entries,
        spread_weight=args.spread_weight,
        reach_neighbours=args.reach_neighbours,
        reach_weight=args.reach_weight,
    )
    fit_seconds = common.now() - started
    baseline = plain_index(entries)
    common.banner(
        "Look-alike answers for strangers (LFW split)",
        [
            f"{pinned}; gallery {len(entries)} celebrities ({sum(len(e.embeddings) for e in entries)} kept photos) "
            f"of {len(s.gallery_people)} people; strangers: {len(s.strangers)} people, {len(every[0])} photos "
            f"({len(s.queries[f'<= {args.per_stranger} per stranger'][0])} with at most {args.per_stranger} each); "
            f"{len(s.held)} held-out photos of gallery people; seed {args.seed}",
            f"ranking: a {args.spread_weight}, K {args.reach_neighbours}, w {args.reach_weight}; measured spread "
            f"s2 {ranked.ranking.spread:.4f}; gender probe {'fitted' if ranked.probe else 'none'}, fused with the "
            f"classifier: {ranked.probe.fusion if ranked.probe else None}; 'this is X' {ranked.identity}; "
            f"ranking + probe + calibration + rule fitted in {fit_seconds:.2f} s",
        ],
    )
    rows = []
    timed_rows = np.random.default_rng(args.seed).permutation(len(every[0]))[: args.timed]
    timed, timed_scores = every[0][timed_rows], every[1][timed_rows]
    # the ranked index asked without the classifier's scores answers by the probe alone, as before
    indexes = {
        "plain nearest mean (baseline)": (baseline, False),
        "hub-aware + probe's gender": (ranked, False),
        "hub-aware + fused gender (new)": (ranked, True),
    }
    identified = {
        label: identification(index, s.held_vectors, s.held, s.held_scores if fused else None)
        for label, (index, fused) in indexes.items()
    }
    timings = {
        label: query_time(index, timed, timed_scores if fused else None) for label, (index, fused) in indexes.items()
    }
    for (label, (index, fused)), (queries_label, (queries, scores, genders, _)) in itertools.product(
        indexes.items(), s.queries.items()
    ):
        f = stranger_figures(index, queries, genders, scores if fused else None)
        rows.append(
            [
                label,
                queries_label,
                f"{f['coverage']:.3f} (ideal {f['ideal']:.3f})",
                f"{100 * f['top1pct']:.1f}",
                f"{100 * f['largest']:.2f}",
                f"{100 * f['women']:.2f}",
                f"{100 * f['men']:.2f}",
                f"{100 * f['shown90']:.1f}",
                f"{f['ks']:.3f}",
                f"{f['distance']:.3f}",
                "yes" if f["ordered"] else "NO",
                f"{100 * identified[label]:.2f}",
                common.ms(timings[label]),
            ]
        )
    print(
        table(
            [
                "index",
                "strangers' photos",
                "coverage",
                "top-1% share %",
                "largest share %",
                "women -> man %",
                "men -> woman %",
                "shown >= 90% %",
                "KS to uniform",
                "median distance",
                "order = %",
                "ident. top-1 %",
                "query ms",
            ],
            rows,
            "llrrrrrrrrrrr",
        )
    )
    print(
        f"\ncoverage: share of the gallery that is some stranger's top answer; mismatch over "
        f"{(every[2] == 0).sum()} women's and {(every[2] == 1).sum()} men's "
        "photos (every photo); "
        f"'order = %': within every answer the percentages never rise down the list; query ms: median of "
        f"{len(timed)} single-face look-ups (k=3) on one core."
    )
    probe_only = dataclasses.replace(ranked.probe, fusion=None)
    print(trade_off("gender probe alone", probe_only.score(every[0]), every[2]))
    print(trade_off("gender classifier alone", every[1], every[2]))
    print(trade_off("fused gender", ranked.probe.score(every[0], every[1]), every[2]))
    print(disagreements(probe_only.score(every[0]), every[1], ranked.probe.score(every[0], every[1]), every[2]))
    for rule, rates in rule_rates(ranked, s).items():
        print(
            f"'this is X', {rule}: held-out photos of gallery people told it {100 * rates['told']:.1f}% "
            f"(the right name {100 * rates['right']:.1f}%); strangers told it falsely: "
            + "; ".join(
                f"{label} {100 * rates[label]:.2f}% {rates[label + ' claims']} "
                f"(+{rates[label + ' aliases']} told an alias)"
                for label in s.queries
            )
        )
    if args.splits > 1:
        gender_rows, identity_rows = [], []
        for seed in range(args.seed, args.seed + args.splits):
            prepared = prepare(seed, args, vectors, classifier, by_person)
            split_index = be.make_index(prepared.entries)
            gender_rows.append(split_row(prepared, split_index))
            identity_rows += this_is_rows(prepared, split_index, args)
        print()
        print(
            table(
                [
                    "seed",
                    "probe: women / men wrong %",
                    "fused: women / men wrong %",
                    "fused: best threshold's equal errors %",
                    "ident. probe %",
                    "ident. fused %",
                ],
                gender_rows,
                "lrrrrr",
            )
        )
        print(
            "gender mismatch of the strangers' answers (every photo), for each split; the best threshold's equal "
            "errors: what the fused score could give at most, the threshold chosen with hindsight on the strangers."
        )
        print()
        print(
            table(
                [
                    "seed",
                    "'this is X' rule",
                    "held-out told (right) %",
                    "right: <= 1 photo / 2+ %",
                    "strangers told: every / few %",
                    "ceiling %",
                ],
                identity_rows,
                "llrrrr",
            )
        )
        print(
            "'this is X' for each split, both rules fitted on the split's gallery: held-out photos of gallery "
            "people told it (with the right name), also by their celebrity's kept photos (at most one, or more); "
            "strangers told it falsely (every photo / at most "
            f"{args.per_stranger} each); ceiling: held-out told at the normalised score's best limit that "
            "lets 0.2% of these very strangers through, what no fit on the gallery can beat."
        )
    if args.scale:
        print()
        print(scaled_timing(args.scale, np.stack([e.vector for e in entries]), ranked, timed, args))
    return 0


def trade_off(label: str, scores: np.ndarray, genders: np.ndarray) -> str:
    """What any threshold of a gender score could give on these strangers: men's mismatch
    where women's is held at 0.5, 1 and 2%, the equal-error point, and the index's threshold (0)."""
    women, men = np.sort(scores[genders == 0]), np.sort(scores[genders == 1])
    held = []
    for women_wrong in (0.005, 0.01, 0.02):
        threshold = women[math.ceil((1 - women_wrong) * len(women)) - 1]  # at most that share of women above
        held.append(f"women {100 * women_wrong:.1f}% -> men {100 * (men <= threshold).mean():.2f}%")
    return (
        f"{label}'s trade-off on these strangers (every photo; any threshold): {'; '.join(held)}; "
        f"equal errors at {100 * equal_errors(scores, genders):.2f}%; at 0: women "
        f"{100 * (women > 0).mean():.2f}%, men {100 * (men <= 0).mean():.2f}%"
    )


def equal_errors(scores: np.ndarray, genders: np.ndarray) -> float:
    """The least, over thresholds, of the worse of women's and men's share on the wrong side."""
    women, men = np.sort(scores[genders == 0]), np.sort(scores[genders == 1])
    cuts = np.concatenate([women, men])
    wrong = np.maximum(
        1 - np.searchsorted(women, cuts, "right") / len(women), np.searchsorted(men, cuts, "right") / len(men)
    )
    return float(wrong.min())


def disagreements(probe: np.ndarray, classifier: np.ndarray, fused: np.ndarray, genders: np.ndarray) -> str:
    """Where the probe and the classifier disagree strongly (each beyond its median certainty
    on the other side): how often each, and the fusion, is right there."""
    labelled = genders >= 0
    probe, classifier, fused, truth = probe[labelled], classifier[labelled], fused[labelled], genders[labelled] == 1
    strong = ((probe > 0) != (classifier > 0)) & (np.abs(probe) > np.median(np.abs(probe)))
    strong &= np.abs(classifier) > np.median(np.abs(classifier))
    if not strong.any():
        return "strong disagreements between the probe and the classifier: none"
    return (
        f"strong disagreements (both beyond their median certainty): {strong.sum()} of {len(truth)} photos; "
        f"right there: probe {100 * ((probe[strong] > 0) == truth[strong]).mean():.0f}%, classifier "
        f"{100 * ((classifier[strong] > 0) == truth[strong]).mean():.0f}%, fused "
        f"{100 * ((fused[strong] > 0) == truth[strong]).mean():.0f}%"
    )


def scaled_timing(size: int, real: np.ndarray, lfw_index: CelebrityIndex, queries: np.ndarray, args) -> str:
    """Look-up time, plain against ranked, in a synthetic gallery of ``size`` celebrities (see the docstring)."""
    from synth import synthesise

    from lookalike.engine.ranking import fit_ranking

    rng = np.random.default_rng(args.seed)
    vectors = synthesise(real, size, rng)
    counts = rng.integers(1, 4, size=size)
    owners = np.repeat(np.arange(size), counts)
    scatter = math.sqrt(lfw_index.ranking.spread / vectors.shape[1])
    photos = (vectors[owners] + rng.normal(scale=scatter, size=(len(owners), vectors.shape[1]))).astype(np.float32)
    means = np.zeros_like(vectors, dtype=np.float64)
    np.add.at(means, owners, photos)
    vectors = (means / counts[:, None]).astype(np.float32)
    records = [{"name": str(i), "gender": gender.of_code(g)} for i, g in enumerate(lfw_index.probe.predict(vectors))]
    started = common.now()
    ranking = fit_ranking(
        vectors,
        photos,
        owners,
        spread_weight=args.spread_weight,
        reach_neighbours=args.reach_neighbours,
        reach_weight=args.reach_weight,
    )
    fitted = common.now() - started
    started = common.now()
    calibrating = CalibrationPhotos(photos[owners % 2 == 1], owners[owners % 2 == 1])
    ranked = CelebrityIndex.build(vectors, records, calibrating, ranking=ranking, probe=lfw_index.probe)
    built = common.now() - started
    # only timed: its percentile plays no part
    plain = CelebrityIndex.build(vectors, [{"name": r["name"]} for r in records], Calibration(mean=0.6, std=0.1))
    rows = [
        [label, f"{size:,}", common.ms(query_time(index, queries))]
        for label, index in (("plain nearest mean (baseline)", plain), ("hub-aware + gender (ranked)", ranked))
    ]
    return "\n".join(
        [
            table(["index", "celebrities", "query ms"], rows, "lrr"),
            f"synthetic gallery of {size:,} with {len(photos):,} photos; ranking fitted in {fitted:.1f} s, "
            f"graphs built and calibrated in {built:.1f} s (a build's extra time at this size); "
            f"{len(queries)} real stranger faces.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
