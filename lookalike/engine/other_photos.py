"""Each celebrity's nearest photos of other people, block by block.

Two fits measure a celebrity against the photos nearest to it that are not its own: the
ranking's reach (ranking.py: the mean over its K nearest reference photos) and the "this
is X" tail (identity.py: its second nearest stand-in photo). Exactly, that is every
celebrity against every photo, which grows with n^2; past ``exact_limit`` pairs the
neighbours come from an HNSW graph over the photos instead (near-linear: a million
celebrities in minutes). A celebrity owns at most ``most`` of the photos, so the graph is
asked for ``k + most`` and its own are dropped; a row the graph answers short is measured
exactly.

The results come in blocks of celebrities, so that a million of them never hold more
than a block's neighbours at once (the reach keeps only their mean); the rows the graph
answered short come last, in one exact search (one float64 copy of the photos).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from lookalike.engine import hnsw
from lookalike.engine.hnsw import HnswParameters

Block = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Rows of the celebrities (b,), each one's ``k`` nearest photos of other people (rows into
the photos, (b, k)) and their squared Euclidean distances (float64), nearest first."""

_CHUNK_FLOATS = 16_000_000
"""~128 MB of float64 distances per block of an exact search."""
GRAPH_BLOCK = 5_000
"""Celebrities per graph query batch."""


def nearest_other_photos(
    vectors: np.ndarray, photos: np.ndarray, owners: np.ndarray, k: int, *, graph: HnswParameters, exact_limit: int
) -> Iterator[Block]:
    """``vectors`` (n, 128) the celebrities, ``photos`` (p, 128) and ``owners`` (p,) each
    photo's celebrity row: each celebrity's ``k`` nearest photos owned by another one, exact
    up to ``exact_limit`` celebrity x photo pairs, through a graph with ``graph``'s parameters beyond."""
    photos = np.ascontiguousarray(photos, np.float32)
    owners = np.asarray(owners, np.int64)
    if k < 1 or k > len(photos) - int(np.bincount(owners).max(initial=0)):
        raise ValueError(f"{k} nearest photos of other people asked of {len(photos)} photos")
    if len(vectors) * len(photos) <= exact_limit:
        yield from _exact(vectors, np.arange(len(vectors)), photos, owners, k)
    else:
        yield from _through_graph(vectors, photos, owners, k, graph)


def _exact(vectors: np.ndarray, rows: np.ndarray, photos: np.ndarray, owners: np.ndarray, k: int) -> Iterator[Block]:
    """The celebrities of ``rows`` (their ``vectors``) against every photo, by numpy in blocks."""
    photos64 = photos.astype(np.float64)
    norms = np.einsum("ij,ij->i", photos64, photos64)
    size = max(1, _CHUNK_FLOATS // len(photos))
    for start in range(0, len(rows), size):
        block = np.asarray(vectors[start : start + size], np.float32).astype(np.float64)
        squared = np.einsum("ij,ij->i", block, block)[:, None] + norms[None, :] - 2.0 * block @ photos64.T
        squared[owners[None, :] == rows[start : start + size, None]] = np.inf
        nearest = np.argpartition(squared, k - 1, axis=1)[:, :k]
        yield _sorted(rows[start : start + size], nearest, np.maximum(np.take_along_axis(squared, nearest, 1), 0))


def _through_graph(
    vectors: np.ndarray, photos: np.ndarray, owners: np.ndarray, k: int, parameters: HnswParameters
) -> Iterator[Block]:
    """As ``_exact``, the candidates and their distances from an HNSW graph over the photos
    (nmslib's squared float32 distances: exact to float32's precision)."""
    threads = os.cpu_count() or 1  # an offline step of the builder
    asked = min(len(photos), k + int(np.bincount(owners).max()))
    graph = hnsw.build_graph(photos, parameters, threads)
    short: list[np.ndarray] = []  # rows the graph answered short: measured exactly at the end
    for start in range(0, len(vectors), GRAPH_BLOCK):
        block = np.ascontiguousarray(vectors[start : start + GRAPH_BLOCK], np.float32)
        rows = np.arange(start, start + len(block))
        ids, squared = hnsw.nearest(graph, block, asked, max(parameters.ef_search, asked), threads)
        others = (ids >= 0) & (owners[ids] != rows[:, None])
        _, found, squared = _sorted(rows, ids, np.where(others, squared.astype(np.float64), np.inf))
        enough = others.sum(axis=1) >= k
        short.append(rows[~enough])
        yield rows[enough], found[enough, :k], squared[enough, :k]
    missed = np.concatenate(short)
    if len(missed):
        yield from _exact(vectors[missed], missed, photos, owners, k)


def _sorted(rows: np.ndarray, ids: np.ndarray, squared: np.ndarray) -> Block:
    order = np.argsort(squared, axis=1, kind="stable")
    return rows, np.take_along_axis(ids, order, 1), np.take_along_axis(squared, order, 1)
