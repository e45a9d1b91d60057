"""How the celebrity index scales: build time, memory, query latency and recall per gallery size.

    nice python bench/index_scaling.py [--sizes 10000,100000,1000000] [--ef-search 32,64,128]

A gallery is the real LFW embeddings (less 1,000 held out) topped up with vectors
synthesised from them (see synth.py) to the size asked for; 1,000 more synthetic
vectors, never indexed, are the queries for recall and latency, and the 1,000 real
faces held out give a second recall figure (see ``gallery_and_queries``). Ground truth is exact numpy
search. Every speed figure is also given as a speed-up over numpy brute force
(precomputed norms, one matrix-vector product, argpartition) timed in the same
run on the same machine, since absolute times mean little across machines.
Each index is built, saved and loaded back as the bot loads it, and the loaded
one is measured. Latency is per single query, k=3, one thread: how the bot calls
the index.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (OPENBLAS_NUM_THREADS=1 for a one-core baseline; the project root on sys.path)
import numpy as np
from lfw_embeddings import DEFAULT_OUT as DEFAULT_EMBEDDINGS
from synth import compare, synthesise

from lookalike.assets_layout import EMBEDDINGS_FILE, GRAPH_FILE
from lookalike.engine.calibration import Calibration
from lookalike.engine.exact import exact_neighbours
from lookalike.engine.hnsw import DEFAULT_EF_CONSTRUCTION, DEFAULT_EF_SEARCH, DEFAULT_M, HnswParameters
from lookalike.engine.index import CelebrityIndex

TOP = 10
LATENCY_QUERIES = 200  # single queries timed per setting (the baseline at 1M takes ~50 ms each)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    real = np.load(args.embeddings)["vectors"].astype(np.float32)
    print(f"real embeddings: {len(real)} from {args.embeddings}")
    print("\n".join(compare(real, rng)))
    for size in args.sizes:
        bench_size(real, size, args, rng)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embeddings", type=Path, default=DEFAULT_EMBEDDINGS)
    parser.add_argument("--sizes", type=_ints, default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--m", type=int, default=DEFAULT_M)
    parser.add_argument("--ef-construction", type=int, default=DEFAULT_EF_CONSTRUCTION)
    parser.add_argument("--ef-search", type=_ints, default=[DEFAULT_EF_SEARCH], help="comma list, one build")
    parser.add_argument("--build-threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def bench_size(real: np.ndarray, size: int, args: argparse.Namespace, rng: np.random.Generator) -> None:
    vectors, queries, real_queries = gallery_and_queries(real, size, args.queries, rng)
    exact_ids, _ = exact_neighbours(vectors, queries, TOP)
    real_exact_ids, real_exact_distances = exact_neighbours(vectors, real_queries, 1)
    brute_force = BruteForce(vectors)

    with tempfile.TemporaryDirectory() as directory:
        build_seconds, build_mb, files_mb = build_and_save(vectors, args, Path(directory))
        index, load_seconds, memory_mb = load(Path(directory))
    real_count = min(size, len(real) - args.queries)
    print(f"\n== {size:,} vectors ({real_count:,} real): M={args.m} efConstruction={args.ef_construction}")
    print(
        f"build {build_seconds:.1f} s ({args.build_threads} thread(s)), memory during build +{build_mb:.0f} MB; "
        f"files: graph {files_mb[GRAPH_FILE]:.1f} MB, embeddings {files_mb[EMBEDDINGS_FILE]:.1f} MB; "
        f"load {load_seconds:.2f} s, memory held by the loaded index +{memory_mb:.0f} MB"
    )
    print(
        "recall: synthetic queries; 'real@1' = recall@1 of real LFW faces, 'farther' = how much farther than the\n"
        "true nearest the celebrity found for a real face is, p99 over the faces; latency (synthetic queries):\n"
        "'warm' = queries back to back; 'cold' = each right after a numpy scan has swept the caches"
    )
    columns = ("efSearch", "recall@1", "recall@10", "real@1", "farther", "warm", "p99", "cold", "p99", "numpy", "p99")
    print(" ".join(f"{column:>9}" for column in columns) + "  speed-up")
    for ef_search in args.ef_search:
        index.ef_search = ef_search
        recall_1, recall_10 = recall(index, queries, exact_ids)
        real_1, farther = real_face_recall(index, real_queries, real_exact_ids[:, 0], real_exact_distances[:, 0])
        timed = queries[:LATENCY_QUERIES]
        warm, baseline = paired_latencies(lambda query: index.query(query, k=3), brute_force.query, timed, block=50)
        cold, _ = paired_latencies(lambda query: index.query(query, k=3), brute_force.query, timed, block=1)
        print(
            f"{ef_search:>9} {recall_1:>9.4f} {recall_10:>9.4f} {real_1:>9.4f} {farther:>8.2%} "
            f"{_us(warm, 50):>9} {_us(warm, 99):>9} {_us(cold, 50):>9} {_us(cold, 99):>9} "
            f"{_us(baseline, 50):>9} {_us(baseline, 99):>9}  "
            f"{np.median(baseline) / np.median(warm):.1f}x / {np.median(baseline) / np.median(cold):.1f}x"
        )


def gallery_and_queries(
    real: np.ndarray, size: int, queries: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A gallery, ``queries`` synthetic queries and ``queries`` real ones, none of them indexed.

    ``queries`` real faces are held out; the gallery is the other real ones topped up
    with synthetic vectors mixed from them (so none is a near-copy of a real query),
    and the synthetic queries come from the same mixing. Synthetic queries are the
    main measure: real faces sit where the mixtures rarely go (their nearest gallery
    vector stays ~0.40 away from 10k to 300k while a synthetic query's is ~0.25), so
    their ten nearest are near-ties (10th within ~7% of the 1st at 300k) and a miss
    costs almost nothing; 'farther' says how little.
    """
    shuffled = rng.permutation(real)
    held_out, kept = shuffled[:queries], shuffled[queries:]
    real_part = kept[:size]
    synthetic = synthesise(kept, size - len(real_part) + queries, rng)
    vectors = np.concatenate([real_part, synthetic[: size - len(real_part)]])
    return np.ascontiguousarray(vectors), synthetic[size - len(real_part) :], np.ascontiguousarray(held_out)


def real_face_recall(
    index: CelebrityIndex, faces: np.ndarray, nearest: np.ndarray, nearest_distances: np.ndarray
) -> tuple[float, float]:
    """Recall@1 for ``faces``, and the p99 of how much farther the found celebrity is than the nearest."""
    found = [matches[0] for matches in index.query(faces, k=1)]
    hits = np.mean([match.id == truth for match, truth in zip(found, nearest)])
    excess = np.array([match.distance for match in found]) / nearest_distances - 1.0
    return float(hits), float(np.percentile(excess, 99))


class BruteForce:
    """The numpy baseline: exact k nearest by ``|x|^2 - 2 x.q``, norms computed once."""

    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors
        self.squared_norms = np.einsum("ij,ij->i", vectors, vectors)

    def query(self, query: np.ndarray, k: int = 3) -> np.ndarray:
        scores = self.squared_norms - 2.0 * (self.vectors @ query)
        nearest = np.argpartition(scores, k)[:k]
        return nearest[np.argsort(scores[nearest])]


def build_and_save(vectors: np.ndarray, args: argparse.Namespace, directory: Path) -> tuple[float, float, dict]:
    """Build and save as the builder does: seconds, heap growth in MB, file sizes in MB."""
    celebrities = [{"name": str(i)} for i in range(len(vectors))]
    heap_before = heap_mb()
    start = time.perf_counter()
    index = CelebrityIndex.build(
        vectors,
        celebrities,
        Calibration(mean=0.6, std=0.1),  # the percentile plays no part in recall or speed
        parameters=HnswParameters(m=args.m, ef_construction=args.ef_construction),
        num_threads=args.build_threads,
    )
    seconds, memory_mb = time.perf_counter() - start, heap_mb() - heap_before
    index.save(directory)
    files_mb = {name: (directory / name).stat().st_size / 2**20 for name in (GRAPH_FILE, EMBEDDINGS_FILE)}
    return seconds, memory_mb, files_mb


def load(directory: Path) -> tuple[CelebrityIndex, float, float]:
    """Load as the bot does: the index, seconds, and the heap it holds in MB."""
    heap_before = heap_mb()
    start = time.perf_counter()
    index = CelebrityIndex.load(directory)
    return index, time.perf_counter() - start, heap_mb() - heap_before


def recall(index: CelebrityIndex, queries: np.ndarray, exact_ids: np.ndarray) -> tuple[float, float]:
    found = [[match.id for match in matches] for matches in index.query(queries, k=TOP)]
    at_1 = np.mean([row[0] == truth[0] for row, truth in zip(found, exact_ids)])
    at_10 = np.mean([len(set(row) & set(truth)) / TOP for row, truth in zip(found, exact_ids)])
    return float(at_1), float(at_10)


def paired_latencies(search, baseline, queries: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Seconds per single query of ``search`` and ``baseline``, taking turns every ``block`` queries.

    Other processes share the machine; taking turns exposes both to the same load,
    so their ratio holds even when the absolute times drift. With ``block=1`` every
    search follows a baseline scan, which evicts the graph from the CPU caches, as
    the face workers' dlib does in the bot; larger blocks let each keep its caches.
    """
    search(queries[0])
    baseline(queries[0])
    times = np.empty((len(queries), 2))
    for first in range(0, len(queries), block):
        rows = range(first, min(first + block, len(queries)))
        for column, function in enumerate((search, baseline)):
            for row in rows:
                start = time.perf_counter()
                function(queries[row])
                times[row, column] = time.perf_counter() - start
    return times[:, 0], times[:, 1]


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in [
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        ]
    ]


def heap_mb() -> float:
    """Bytes malloc has handed out and not taken back (glibc's mallinfo2), in MB.

    Unlike RSS, this does not hide an allocation in pages that earlier frees left
    behind, so its growth over ``build`` is the index's own memory.
    """
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20


def _us(times: np.ndarray, percentile: float) -> str:
    value = np.percentile(times, percentile) * 1e6
    return f"{value:.0f} us" if value < 10_000 else f"{value / 1000:.1f} ms"


if __name__ == "__main__":
    sys.exit(main())
