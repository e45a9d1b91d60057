"""Accuracy of the face pipeline on LFW: verification on pairs.txt and identification on a gallery.

    python bench/accuracy.py [--workers 2] [--recompute] [--no-distractors] [--seed 0]

(a) Verification, for the project's pipeline (FaceModel; vectors from
    bench/lfw_embeddings.py's cache) and for the seed's (common.SeedPipeline, computed here
    for the pairs' photos and cached in bench/.cache/lfw_pairs_seed.npz). Each photo's
    face is the one nearest the centre. Reported:
    - 10-fold accuracy as LFW does it: pairs.txt keeps LFW's ten sets in order, so the
      threshold is chosen on nine sets and tested on the tenth, ten times;
    - the best single threshold over all pairs, and dlib's fixed 0.6;
    - the true-accept rate at 0.1% false-accept rate, on pairs.txt's different-person
      pairs, and on every different-person pair among the pairs' photos (many more).
    A photo with no face found makes its pair wrong, whatever the threshold: the pair is
    counted as an error in accuracy and as a rejection in TAR/FAR (so a same-person pair
    is a false reject, a different-person pair a true reject).
(b) Identification, top-1 and top-5 (exact search): for every person with 3+ photos that
    have a face, one photo (seeded random) is held out as the query and the rest form
    that person's gallery entry, built either as "one photo each" (the first remaining
    photo) or as the project's build (lookalike.builder.build.select: duplicates dropped,
    consensus cleaning, mean vector). People with fewer photos are distractors in the
    gallery, with all their photos (unless --no-distractors).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import sys
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import common
import numpy as np
from common import CACHE, LFW, table

DLIB_PUBLISHED = 0.9938
FAR = 0.001


# ---------------------------------------------------------------- embeddings


_seed = None


def _start_seed() -> None:
    global _seed
    _seed = common.SeedPipeline()


def _seed_vector(path: str) -> np.ndarray | None:
    """The seed pipeline's vector for the face nearest the centre, or None."""
    data = Path(path).read_bytes()
    faces = _seed.faces(data)
    if not faces:
        return None
    boxes = [box for box, _ in faces]
    return faces[common.central(boxes, 250, 250)][1].astype(np.float32)


def seed_vectors(files: list[Path], workers: int, recompute: bool) -> dict[str, np.ndarray]:
    """File name -> seed vector for ``files`` (missing: no face), from the cache when it covers them."""
    import dlib

    path = CACHE / "lfw_pairs_seed.npz"
    wanted = sorted(p.name for p in files)
    if path.exists() and not recompute:
        with np.load(path) as cached:
            if str(cached["dlib"]) == dlib.__version__ and set(wanted) <= set(cached["files"].tolist()):
                has = cached["has_face"]
                print(f"seed vectors: from the cache {path}")
                return {f: v for f, v, h in zip(cached["files"].tolist(), cached["vectors"], has) if h}
    started = common.now()
    print(f"seed vectors: computing {len(files)} photos with {workers} processes ...", flush=True)
    paths = sorted(files, key=lambda p: p.name)
    with ProcessPoolExecutor(workers, initializer=_start_seed) as pool:
        vectors = list(pool.map(_seed_vector, map(str, paths), chunksize=16))
    has_face = np.array([v is not None for v in vectors])
    stacked = np.stack([v if v is not None else np.zeros(128, np.float32) for v in vectors])
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, files=np.array([p.name for p in paths]), vectors=stacked, has_face=has_face, dlib=dlib.__version__)
    print(
        f"seed vectors: {has_face.sum()} of {len(paths)} with a face, {common.now() - started:.0f} s; cached in {path}"
    )
    return {p.name: v for p, v, h in zip(paths, stacked, has_face) if h}


# ---------------------------------------------------------------- verification


def pair_distances(pairs, vectors: dict[str, np.ndarray]) -> np.ndarray:
    """Distance per pair; nan where either photo has no face."""
    out = np.full(len(pairs), np.nan)
    for i, (a, n1, b, n2, _) in enumerate(pairs):
        v1, v2 = vectors.get(common.lfw_path(a, n1).name), vectors.get(common.lfw_path(b, n2).name)
        if v1 is not None and v2 is not None:
            out[i] = float(np.linalg.norm(v1.astype(np.float64) - v2))
    return out


def accuracy_at(distances: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Share of pairs right with "same person when distance < threshold"; nan distances are wrong."""
    valid = ~np.isnan(distances)
    right = valid & ((distances < threshold) == same)
    return right.sum() / len(distances)


def best_threshold(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy) maximising accuracy; thresholds at midpoints between sorted distances."""
    d = np.sort(distances[~np.isnan(distances)])
    candidates = np.concatenate([[d[0] - 1e-6], (d[1:] + d[:-1]) / 2, [d[-1] + 1e-6]])
    scores = [accuracy_at(distances, same, t) for t in candidates]
    best = int(np.argmax(scores))
    return float(candidates[best]), float(scores[best])


def ten_fold(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[list[float], list[float]]:
    accuracies, thresholds = [], []
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        t, _ = best_threshold(distances[train], same[train])
        thresholds.append(t)
        accuracies.append(accuracy_at(distances[test], same[test], t))
    return accuracies, thresholds


def tar_at_far(positives: np.ndarray, negatives: np.ndarray, far: float) -> tuple[float, float, int]:
    """(TAR, threshold, false accepts allowed): accept when distance < threshold.

    ``positives`` / ``negatives`` may hold nan (no face: never accepted). The threshold
    lets at most floor(far * negatives) negatives through.
    """
    allowed = int(math.floor(far * len(negatives)))
    neg = np.sort(negatives[~np.isnan(negatives)])
    threshold = float(neg[allowed]) if allowed < len(neg) else math.inf
    pos = positives[~np.isnan(positives)]
    return float((pos < threshold).sum() / len(positives)), threshold, allowed


def all_negatives(files: list[str], vectors: dict[str, np.ndarray]) -> np.ndarray:
    """Distances of every different-person pair among ``files`` that have a vector."""
    kept = [f for f in files if f in vectors]
    people = np.array([f.rsplit("_", 1)[0] for f in kept])
    x = np.stack([vectors[f] for f in kept]).astype(np.float64)
    squared = np.einsum("ij,ij->i", x, x)
    d2 = squared[:, None] + squared[None, :] - 2 * x @ x.T
    upper = np.triu(np.ones(len(kept), dtype=bool), 1) & (people[:, None] != people[None, :])
    return np.sqrt(np.maximum(d2[upper], 0))


def verification(pairs, pipelines: dict[str, dict[str, np.ndarray]]) -> list[str]:
    same = np.array([a == b for a, _, b, _, _ in pairs])
    folds = np.array([f for *_, f in pairs])
    files = sorted(
        {common.lfw_path(a, n).name for a, n, *_ in pairs} | {common.lfw_path(b, n).name for _, _, b, n, _ in pairs}
    )
    both = set(files)
    for vectors in pipelines.values():
        both &= set(vectors)
    rows, tar_rows, lines = [], [], []
    for name, vectors in pipelines.items():
        d = pair_distances(pairs, vectors)
        missing_photos = sum(f not in vectors for f in files)
        missing_pairs = int(np.isnan(d).sum())
        accuracies, thresholds = ten_fold(d, same, folds)
        t_best, a_best = best_threshold(d, same)
        valid = ~np.isnan(d)
        _, a_valid = best_threshold(d[valid], same[valid])
        rows.append(
            [
                name,
                f"{100 * np.mean(accuracies):.2f} +- {100 * np.std(accuracies):.2f}",
                f"{np.mean(thresholds):.3f}",
                f"{100 * a_best:.2f} @ {t_best:.3f}",
                f"{100 * accuracy_at(d, same, 0.6):.2f}",
                f"{missing_photos} photos / {missing_pairs} pairs",
                f"{100 * a_valid:.2f}",
                f"{100 * DLIB_PUBLISHED:.2f}",
            ]
        )
        tar, t_far, allowed = tar_at_far(d[same], d[~same], FAR)
        negatives = all_negatives(sorted(both), vectors)
        tar_all, t_all, allowed_all = tar_at_far(d[same], negatives, FAR)
        tar_rows.append(
            [
                name,
                f"{100 * tar:.2f} @ {t_far:.3f}",
                f"{(~same).sum()} (allowed false accepts: {allowed})",
                f"{100 * tar_all:.2f} @ {t_all:.3f}",
                f"{len(negatives):,} (allowed: {allowed_all:,})",
            ]
        )
    lines.append(
        table(
            [
                "pipeline",
                "10-fold acc %",
                "mean threshold",
                "best single threshold acc %",
                "acc % @ 0.6",
                "no face found",
                "best acc % (pairs with faces only)",
                "dlib published %",
            ],
            rows,
            "lrrrrrrr",
        )
    )
    lines.append("")
    lines.append(
        table(
            [
                "pipeline",
                "TAR % @ FAR 0.1% (pairs.txt)",
                "different-person pairs",
                "TAR % @ FAR 0.1% (all photos)",
                "different-person pairs (all)",
            ],
            tar_rows,
            "lrrrr",
        )
    )
    lines.append(
        f"pairs: {len(pairs)} ({same.sum()} same, {(~same).sum()} different) in {len(np.unique(folds))} folds; "
        f"'all photos' = every different-person pair among the {len(both)} pair photos where both pipelines found a face."
    )
    return lines


# ---------------------------------------------------------------- identification


def identification(project: dict, seed: int, distractors: bool) -> list[str]:
    from plain_calibration import calibrate

    from lookalike.builder import build as be
    from lookalike.builder import photo_analysis
    from lookalike.builder.celebrity_photos import Celebrity
    from lookalike.builder.photo_cache import FaceFacts, PhotoResult
    from lookalike.engine.index import CelebrityIndex

    by_person: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(LFW.glob("*/*.jpg")):
        by_person[path.parent.name].append(path)
    vectors = project  # file name -> vector
    rng = random.Random(seed)
    queries: dict[str, Path] = {}
    for person, photos in by_person.items():
        with_face = [p for p in photos if p.name in vectors]
        if len(with_face) >= 3:
            queries[person] = rng.choice(with_face)
    people = [p for p in by_person if p in queries or distractors]

    # one photo each: the first remaining photo with a face
    single_names, single_vectors = [], []
    for person in people:
        rest = [p for p in by_person[person] if p != queries.get(person) and p.name in vectors]
        if rest:
            single_names.append(person)
            single_vectors.append(vectors[rest[0].name])

    # the project's build: lookalike.builder.build.select over the remaining photos
    celebrities, analysed = [], {}
    for person in people:
        rest = [p for p in by_person[person] if p != queries.get(person)]
        celebrities.append(Celebrity(key=person, name=person, photos=rest))
        for p in rest:
            v = vectors.get(p.name)
            result = (
                PhotoResult(
                    status="ok",
                    faces=[FaceFacts(box=(0, 0, 1, 1), eye_distance=100.0, roll=0.0, score=1.0, embedding=v)],
                    main=0,
                )
                if v is not None
                else PhotoResult(status="no_face")
            )
            analysed[p] = photo_analysis.Analysed(hashlib.sha256(p.read_bytes()).hexdigest(), result, cached=True)
    entries, rejected, skipped = be.select(celebrities, analysed, be.DEFAULT_MIN_EYE_DISTANCE, be.DEFAULT_MAX_ROLL)
    build_names = [e.celebrity.key for e in entries]
    build_vectors = [e.vector for e in entries]

    query_names = sorted(queries)
    q = np.stack([vectors[queries[n].name] for n in query_names])
    rows = []
    for label, names, celebrity_vectors in (
        ("one photo each (first remaining)", single_names, single_vectors),
        ("project's build (select: consensus + mean)", build_names, build_vectors),
    ):
        top1, top5 = rank_hits(q, query_names, np.stack(celebrity_vectors), names)
        rows.append([label, len(names), f"{100 * top1:.2f}", f"{100 * top5:.2f}"])
    # the same build through the bot's index (HNSW), to show the index loses nothing
    g = np.stack(build_vectors)
    owners = np.arange(len(g))
    index = CelebrityIndex.build(g, [{"name": n} for n in build_names], calibrate(g, g, owners))
    matches = index.query(q, k=5)
    hits1 = np.mean([m[0].name == n for m, n in zip(matches, query_names)])
    hits5 = np.mean([n in [x.name for x in m] for m, n in zip(matches, query_names)])
    rows.append(
        ["project's build via CelebrityIndex (HNSW)", len(build_names), f"{100 * hits1:.2f}", f"{100 * hits5:.2f}"]
    )
    dropped = [n for n in query_names if n not in set(build_names)]
    reasons = defaultdict(int)
    for path, reason in rejected.items():
        if path.parent.name in queries:
            reasons[reason] += 1
    return [
        table(["gallery", "people in gallery", "top-1 %", "top-5 %"], rows, "lrrr"),
        f"{len(query_names)} queries (people with 3+ photos with a face, one held out each, seed {seed}); "
        f"{'people with fewer photos are distractors' if distractors else 'no distractors'}; exact search unless noted.",
        f"build for the query people: {len(dropped)} dropped entirely by consensus (their queries count as misses); "
        f"photos rejected: {dict(reasons) or 'none'}. Vectors: 1 jitter (lfw_embeddings cache); the real build defaults "
        f"to {be.DEFAULT_JITTERS} jitters. Quality filters (eye distance, roll) not applied: the cache lacks those figures "
        "(build_embeddings notes no LFW face fails them).",
    ]


def rank_hits(q: np.ndarray, query_names: list[str], vectors: np.ndarray, names: list[str]) -> tuple[float, float]:
    from lookalike.engine.exact import exact_neighbours

    ids, _ = exact_neighbours(vectors.astype(np.float32), q.astype(np.float32), 5)
    names = np.array(names)
    found = names[ids]
    truth = np.array(query_names)[:, None]
    return float((found[:, 0] == truth[:, 0]).mean()), float((found == truth).any(axis=1).mean())


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--workers", type=int, default=None, help="processes for the seed's embeddings (default: cores)"
    )
    parser.add_argument("--recompute", action="store_true", help="ignore the cached seed vectors")
    parser.add_argument("--no-distractors", action="store_true", help="gallery of the query people only")
    parser.add_argument("--seed", type=int, default=0, help="which photo each person holds out")
    args = parser.parse_args(argv)
    common.require(LFW / "pairs.txt")
    from lfw_embeddings import load

    cached = load()
    project = {Path(p).name: v for p, v in zip(cached["paths"], cached["vectors"])}
    pairs = common.lfw_pairs()
    files = sorted({common.lfw_path(a, n) for a, n, *_ in pairs} | {common.lfw_path(b, n) for _, _, b, n, _ in pairs})
    import os

    seed = seed_vectors(files, args.workers or os.cpu_count() or 1, args.recompute)
    common.banner(
        "Accuracy on LFW (half of the identities)",
        [
            f"project vectors: {len(project)} photos with a face (bench/.cache/lfw_embeddings.npz); "
            f"seed vectors: {len(seed)} of the {len(files)} pair photos"
        ],
    )
    print("## (a) Verification, pairs.txt")
    print("\n".join(verification(pairs, {"ours": project, "seed": seed})))
    print()
    print("## (b) Identification")
    print("\n".join(identification(project, args.seed, not args.no_distractors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
