"""The percentile of the plain distance, as the index had it before the ranking (issue 9):
the benchmarks' "plain nearest mean vector" baseline indexes are calibrated with it.

    calibration = calibrate(vectors, samples, owners)
    index = CelebrityIndex.build(vectors, records, calibration)
"""

from __future__ import annotations

import logging
import os

import numpy as np

from lookalike.engine import hnsw
from lookalike.engine.calibration import DEFAULT_MIN_SIMILARITY, EXACT_CALIBRATION_LIMIT, Calibration
from lookalike.engine.exact import celebrity_array, distances, exact_neighbours, query_array
from lookalike.engine.hnsw import Graph, HnswParameters

log = logging.getLogger(__name__)


def calibrate(
    vectors: np.ndarray,
    samples: np.ndarray,
    owners: np.ndarray,
    *,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    exact_limit: int = EXACT_CALIBRATION_LIMIT,
) -> Calibration:
    """Fit the plain distance from a face to its nearest celebrity who is not that person.

    ``vectors`` is the (n, 128) array the index will be built from, ``samples``
    (s, 128) individual photos and ``owners`` (s,) the celebrity row of each
    photo's person, or -1 for people not in the gallery. Of each sample's two
    nearest celebrities the nearer one that is not its owner counts. Searching
    is exact up to ``exact_limit`` sample x celebrity pairs, approximate beyond.
    """
    vectors = celebrity_array(vectors)
    samples = query_array(samples)
    owners = np.asarray(owners)
    if owners.shape != (len(samples),):
        raise ValueError(f"owners must have shape ({len(samples)},), got {owners.shape}")
    if len(vectors) < 2:
        raise ValueError("calibration needs at least two celebrities")
    ids, found = _two_nearest(vectors, samples, exact_limit)
    others = np.where(ids[:, 0] != owners, found[:, 0], found[:, 1])
    if len(others) < 2:
        raise ValueError("calibration needs at least two samples")
    calibration = Calibration(mean=float(others.mean()), std=float(others.std(ddof=1)), min_similarity=min_similarity)
    log.info("calibrated on %d samples: %s", len(others), calibration)
    return calibration


def _two_nearest(vectors: np.ndarray, samples: np.ndarray, exact_limit: int) -> tuple[np.ndarray, np.ndarray]:
    if len(samples) * len(vectors) <= exact_limit:
        return exact_neighbours(vectors, samples, 2)
    threads = os.cpu_count() or 1
    parameters = HnswParameters()
    graph = hnsw.build_graph(vectors, parameters, threads)
    rows = _graph_neighbours(graph, vectors, samples, 2, parameters.ef_search, threads)
    return np.stack([ids for ids, _ in rows]), np.stack([found for _, found in rows])


def _graph_neighbours(
    graph: Graph, vectors: np.ndarray, queries: np.ndarray, k: int, ef_search: int, num_threads: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The graph's k candidates per query, re-measured exactly and sorted.

    HNSW cannot always reach k points when k is a large share of a small gallery
    (e.g. 36 of 50 with efSearch 10); such rows are answered by exact search.
    """
    if len(queries) == 0:
        return []
    found, _ = hnsw.nearest(graph, queries, k, ef_search, num_threads)
    return [_sorted_row(vectors, query, ids, k) for query, ids in zip(queries, found)]


def _sorted_row(vectors: np.ndarray, query: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if ids[-1] < 0:  # the graph found fewer than k
        exact_ids, exact_distances = exact_neighbours(vectors, query[None, :], k)
        return exact_ids[0], exact_distances[0]
    measured = distances(vectors, query, ids)
    order = np.argsort(measured, kind="stable")
    return ids[order].astype(np.int64), measured[order]
