"""The ranking fit at scale: the exact reach against the graph reach (ranking.py), per gallery size.

    python bench/fit_scaling.py [--sizes 100000] [--exact-up-to 100000] [--queries 2000] [--graphs 16/50/64,...]

A synthetic gallery of N celebrities is made as bench/lookalike_quality.py's --scale does
(vectors mixed from the real LFW ones by synth.py, 1-3 photos each scattered by LFW's
within-person spread). The ranking is fitted on it with the exact reach (up to
--exact-up-to), with the exact reach measured on the other half of the gallery's photos
(odd celebrities' instead of even ones': an equally valid fit, whose distance from the
first is the fit's own noise) and with the graph reach of each --graphs parameters
(M/efConstruction/efSearch; default ranking.REACH_GRAPH), timed (wall and this process's
CPU) with the peak memory growth; then each is compared with the exact one: the reach's relative error, and the
look-alike answers of --queries synthetic strangers (a photo each of new synthetic people) under each rule by exact search
(top-1 agreement, coverage of the gallery, the 1% most-answered celebrities' share, the
KS distance of their percentiles to uniform under a calibration fitted as the index fits
it: each of --queries gallery photos' best other celebrity under the rule), and
identification: the top-1 of --queries new photos of gallery celebrities (scattered by
the same spread) under each rule.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
from common import table
from lfw_embeddings import DEFAULT_OUT
from synth import synthesise

from lookalike.engine import ranking as ranking_module
from lookalike.engine.hnsw import HnswParameters
from lookalike.engine.ranking import REACH_GRAPH, first_photos, fit_ranking, within_spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--exact-up-to", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--graphs",
        default=None,
        help="graph reaches to compare, M/efConstruction/efSearch separated by commas (default: ranking.REACH_GRAPH's)",
    )
    args = parser.parse_args()
    graphs = [HnswParameters(*map(int, g.split("/"))) for g in args.graphs.split(",")] if args.graphs else [REACH_GRAPH]
    if not DEFAULT_OUT.exists():
        sys.exit(f"no LFW embeddings at {DEFAULT_OUT}: run python bench/lfw_embeddings.py first")
    with np.load(DEFAULT_OUT) as cached:  # the vectors and names only (any version of the file has them)
        real, names = cached["vectors"], cached["names"]
    _, owners = np.unique(names, return_inverse=True)
    spread = within_spread(real, owners)
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        rng = np.random.default_rng(args.seed)
        vectors, photos, photo_owners = gallery(real, size, spread, rng)
        strangers = stranger_photos(real, spread, args.queries, np.random.default_rng(args.seed + 1))
        known, new_photos = held_out(vectors, spread, args.queries, np.random.default_rng(args.seed + 2))
        calibrating = np.random.default_rng(args.seed + 3).choice(len(photos), args.queries, replace=False)
        fits = {}
        if size <= args.exact_up_to:
            fits["exact"] = timed_fit(vectors, photos, photo_owners, exact_limit=10**18)
            with reference_half(1):
                fits["exact, odd half"] = timed_fit(vectors, photos, photo_owners, exact_limit=10**18)
        for parameters in graphs:
            with reach_graph(parameters):
                fits[f"graph M{parameters.m}/{parameters.ef_construction}/{parameters.ef_search}"] = timed_fit(
                    vectors, photos, photo_owners, exact_limit=0
                )
        answers = {name: answer(vectors, fit[0].offsets, strangers) for name, fit in fits.items()}
        honesty = {
            name: ks_uniform(
                percentiles(vectors, fit[0].offsets, strangers, photos[calibrating], photo_owners[calibrating])
            )
            for name, fit in fits.items()
        }
        identified = {name: np.mean(answer(vectors, fit[0].offsets, new_photos) == known) for name, fit in fits.items()}
        for name, (fit, wall, cpu, grown) in fits.items():
            agree = relative = "-"
            if "exact" in fits and name != "exact":
                error = np.abs(fit.reach - fits["exact"][0].reach) / fits["exact"][0].reach
                relative = f"{np.median(error):.1e} / {np.quantile(error, 0.99):.1e} / {error.max():.1e}"
                agree = f"{100 * np.mean(answers[name] == answers['exact']):.2f}"
            counts = np.bincount(answers[name], minlength=size)
            top = np.sort(counts)[::-1][: max(1, size // 100)].sum() / len(strangers)
            rows.append(
                [
                    f"{size:,}",
                    name,
                    f"{wall:.1f}",
                    f"{cpu:.1f}",
                    f"{grown / 1e6:.0f}",
                    relative,
                    agree,
                    f"{(counts > 0).mean():.4f}",
                    f"{100 * top:.1f}",
                    f"{honesty[name]:.3f}",
                    f"{100 * identified[name]:.2f}",
                ]
            )
    print(
        table(
            [
                "celebrities",
                "reach",
                "fit s (wall)",
                "fit s (CPU)",
                "peak +MB",
                "rel. error med / p99 / max",
                "top-1 same %",
                "coverage",
                "top-1% share %",
                "KS to uniform",
                "identification top-1 %",
            ],
            rows,
        )
    )
    print(
        f"{args.queries} synthetic strangers answered by exact search under each fitted rule; the graph "
        "reaches' M/efConstruction/efSearch, all cores. 'exact, odd half': the exact reach measured on the "
        "other half of the gallery's photos (odd celebrities' instead of even ones'), an equally valid fit: "
        "its distance from 'exact' is the fit's own noise."
    )


@contextmanager
def reference_half(parity: int):
    """Fits within it measure the reach on the celebrities of rows of ``parity`` instead of the even ones."""
    chosen = ranking_module.reference_photos
    ranking_module.reference_photos = lambda owners: (np.asarray(owners) % 2 == parity) & first_photos(owners)
    try:
        yield
    finally:
        ranking_module.reference_photos = chosen


@contextmanager
def reach_graph(parameters: HnswParameters):
    """Fits within it measure a graph reach with ``parameters``."""
    chosen = ranking_module.REACH_GRAPH
    ranking_module.REACH_GRAPH = parameters
    try:
        yield
    finally:
        ranking_module.REACH_GRAPH = chosen


def gallery(real: np.ndarray, size: int, spread: float, rng: np.random.Generator):
    """(vectors, photos, owners) as lookalike_quality.scaled_timing makes them."""
    centres = synthesise(real, size, rng)
    counts = rng.integers(1, 4, size=size)
    owners = np.repeat(np.arange(size), counts)
    scatter = math.sqrt(spread / centres.shape[1])
    photos = (centres[owners] + rng.normal(scale=scatter, size=(len(owners), centres.shape[1]))).astype(np.float32)
    sums = np.zeros_like(centres, dtype=np.float64)
    np.add.at(sums, owners, photos)
    return (sums / counts[:, None]).astype(np.float32), photos, owners


def timed_fit(vectors, photos, owners, exact_limit):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    wall, cpu = time.perf_counter(), time.process_time()
    fit = fit_ranking(vectors, photos, owners, exact_limit=exact_limit)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    return fit, wall, cpu, grown


def answer(vectors: np.ndarray, offsets: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Each query's best celebrity under the rule |q - m_c|^2 + b_c, by exact search."""
    return ranked_best(vectors, offsets, queries)[0]


def ranked_best(
    vectors: np.ndarray, offsets: np.ndarray, queries: np.ndarray, excluded: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each query's best celebrity under the rule (other than its ``excluded`` one) and its ranked squared distance."""
    vectors64 = vectors.astype(np.float64)
    norms = np.einsum("ij,ij->i", vectors64, vectors64) + offsets
    best, ranked = [], []
    for start in range(0, len(queries), 256):
        block = queries[start : start + 256].astype(np.float64)
        scores = norms[None, :] - 2.0 * block @ vectors64.T
        if excluded is not None:
            scores[np.arange(len(block)), excluded[start : start + 256]] = np.inf
        rows = np.argmin(scores, axis=1)
        best.append(rows)
        ranked.append(scores[np.arange(len(block)), rows] + np.einsum("ij,ij->i", block, block))
    return np.concatenate(best), np.concatenate(ranked)


def percentiles(
    vectors: np.ndarray, offsets: np.ndarray, strangers: np.ndarray, photos: np.ndarray, owners: np.ndarray
) -> np.ndarray:
    """The strangers' shown percentiles under the rule: the share of gallery photos whose best
    other celebrity is ranked farther than the stranger's best (calibration.py's empirical fit)."""
    reference = np.sort(ranked_best(vectors, offsets, photos, owners)[1])
    ranked = ranked_best(vectors, offsets, strangers)[1]
    return 1.0 - np.searchsorted(reference, ranked, side="right") / len(reference)


def stranger_photos(real: np.ndarray, spread: float, count: int, rng: np.random.Generator) -> np.ndarray:
    """A photo each of ``count`` new synthetic people: made as the gallery's are, so that the
    percentile calibrated on gallery photos should read uniform on them."""
    centres = synthesise(real, count, rng)
    return (centres + rng.normal(scale=math.sqrt(spread / centres.shape[1]), size=centres.shape)).astype(np.float32)


def held_out(vectors: np.ndarray, spread: float, count: int, rng: np.random.Generator):
    """``count`` gallery celebrities and a new photo of each, scattered around their mean by the within-person spread."""
    known = rng.choice(len(vectors), size=min(count, len(vectors)), replace=False)
    scatter = math.sqrt(spread / vectors.shape[1])
    return known, (vectors[known] + rng.normal(scale=scatter, size=(len(known), vectors.shape[1]))).astype(np.float32)


def ks_uniform(values: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between the values' distribution and uniform on [0, 1]."""
    values = np.sort(values)
    n = len(values)
    return float(max((np.arange(1, n + 1) / n - values).max(), (values - np.arange(n) / n).max()))


if __name__ == "__main__":
    main()
