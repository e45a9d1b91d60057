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
import hashlib
import itertools
import math
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

import common
import numpy as np
from common import LFW, table
from plain_calibration import calibrate

from lookalike.bot.replies import percent
from lookalike.builder import build as be
from lookalike.builder.photo_cache import PhotoResult
from lookalike.catalog import read_catalog
from lookalike.engine import gender
from lookalike.engine.calibration import Calibration, CalibrationPhotos
from lookalike.engine.index import CelebrityIndex
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
    by_person: dict[str, list[Path]], vectors: dict[Path, np.ndarray], people: list[str], held_out: dict[str, Path]
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
            result = (
                PhotoResult(status="ok", faces=1, box=(0, 0, 1, 1), eye_distance=100.0, embedding=vector)
                if vector is not None
                else PhotoResult(status="no_face")
            )
            analysed[path] = be.Analysed(hashlib.sha256(path.read_bytes()).hexdigest(), result, cached=True)
    entries, _, _ = be.select(celebrities, analysed, be.DEFAULT_MIN_EYE_DISTANCE, be.DEFAULT_MAX_ROLL)
    return entries


def plain_index(entries: list[be.Entry]) -> CelebrityIndex:
    """The index before issue 9: nearest mean vector, percentile of the plain distance."""
    vectors, samples, owners, records = be.index_inputs(entries)
    return CelebrityIndex.build(vectors, records, calibrate(vectors, samples, owners))


def stranger_figures(index: CelebrityIndex, queries: np.ndarray, query_genders: np.ndarray) -> dict[str, float]:
    answers = index.look_alikes(queries, k=3)
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


def probe_trade_off(probe: gender.GenderProbe, queries: np.ndarray, query_genders: np.ndarray) -> str:
    """What any threshold of the gender probe could give on these strangers: men's mismatch
    where women's is held at 1, 2 and 3%, and the equal-error point."""
    scores = probe.score(queries)
    women, men = np.sort(scores[query_genders == 0]), np.sort(scores[query_genders == 1])
    held = []
    for women_wrong in (0.01, 0.02, 0.03):
        threshold = women[math.ceil((1 - women_wrong) * len(women)) - 1]  # at most that share of women above
        held.append(f"women {100 * women_wrong:.0f}% -> men {100 * (men <= threshold).mean():.2f}%")
    cuts = np.concatenate([women, men])
    wrong = np.maximum(
        1 - np.searchsorted(women, cuts, "right") / len(women), np.searchsorted(men, cuts, "right") / len(men)
    )
    return (
        f"gender probe's trade-off on these strangers (every photo; any threshold): {'; '.join(held)}; "
        f"equal errors at {100 * wrong.min():.2f}%; the index's threshold: women "
        f"{100 * (women > 0).mean():.2f}%, men {100 * (men <= 0).mean():.2f}%"
    )


def identification(index: CelebrityIndex, queries: np.ndarray, truth: list[str]) -> float:
    keys = [index.celebrity(m[0].id)["key"] for m in index.query(queries, k=1)]
    return float(np.mean([found == person for found, person in zip(keys, truth)]))


def query_time(index: CelebrityIndex, queries: np.ndarray) -> float:
    """Median seconds of one face's look-up, k=3, after a warm-up pass."""
    for query in queries[:50]:
        index.look_alikes(query, k=3)
    times = []
    for query in queries:
        started = common.now()
        index.look_alikes(query, k=3)
        times.append(common.now() - started)
    return common.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="the split and the held-out photos")
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
    by_person: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(LFW.glob("*/*.jpg")):
        by_person[path.parent.name].append(path)
    gallery_people, strangers = split(list(by_person), args.gallery_share, args.seed)
    rng = random.Random(args.seed)
    held_out = {}
    for person in gallery_people:
        with_face = [p for p in by_person[person] if p in vectors]
        if len(with_face) >= 2:
            held_out[person] = rng.choice(with_face)
    entries = gallery_entries(by_person, vectors, gallery_people, held_out)
    every_photo = [p for person in strangers for p in by_person[person] if p in vectors]
    few_photos = []
    for person in strangers:
        with_face = [p for p in by_person[person] if p in vectors]
        few_photos += sorted(rng.sample(with_face, min(args.per_stranger, len(with_face))))
    catalog = read_catalog(LFW)
    query_sets = {
        "every photo": np.stack([vectors[p] for p in every_photo]),
        f"<= {args.per_stranger} per stranger": np.stack([vectors[p] for p in few_photos]),
    }
    query_genders = {
        label: gender.codes([catalog.get(p.parent.name, {}) for p in photos])
        for label, photos in zip(query_sets, (every_photo, few_photos))
    }
    queries = query_sets["every photo"]
    held = sorted(held_out)
    held_queries = np.stack([vectors[held_out[person]] for person in held])

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
            f"of {len(gallery_people)} people; strangers: {len(strangers)} people, {len(every_photo)} photos "
            f"({len(few_photos)} with at most {args.per_stranger} each); "
            f"{len(held)} held-out photos of gallery people; seed {args.seed}",
            f"ranking: a {args.spread_weight}, K {args.reach_neighbours}, w {args.reach_weight}; measured spread "
            f"s2 {ranked.ranking.spread:.4f}; gender probe {'fitted' if ranked.probe else 'none'}; "
            f"ranking + probe + calibration fitted in {fit_seconds:.2f} s",
        ],
    )
    rows = []
    timed = queries[np.random.default_rng(args.seed).permutation(len(queries))[: args.timed]]
    indexes = {"plain nearest mean (baseline)": baseline, "hub-aware + gender (ranked)": ranked}
    identified = {label: identification(index, held_queries, held) for label, index in indexes.items()}
    timings = {label: query_time(index, timed) for label, index in indexes.items()}
    for (label, index), (queries_label, queries) in itertools.product(indexes.items(), query_sets.items()):
        f = stranger_figures(index, queries, query_genders[queries_label])
        rows.append(
            [
                label,
                queries_label,
                f"{f['coverage']:.3f} (ideal {f['ideal']:.3f})",
                f"{100 * f['top1pct']:.1f}",
                f"{100 * f['largest']:.2f}",
                f"{100 * f['women']:.1f}",
                f"{100 * f['men']:.1f}",
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
        f"{(query_genders['every photo'] == 0).sum()} women's and {(query_genders['every photo'] == 1).sum()} men's "
        "photos (every photo); "
        f"'order = %': within every answer the percentages never rise down the list; query ms: median of "
        f"{len(timed)} single-face look-ups (k=3) on one core."
    )
    print(probe_trade_off(ranked.probe, query_sets["every photo"], query_genders["every photo"]))
    if args.scale:
        print()
        print(scaled_timing(args.scale, np.stack([e.vector for e in entries]), ranked, timed, args))
    return 0


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
