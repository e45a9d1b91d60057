"""Exact nearest-neighbour search with numpy: the ground truth the HNSW graph is measured
against, the search the builder's fits use, and the exact re-measuring of candidates.

Also the checks every array of embeddings passes on its way in (``celebrity_array``,
``query_array``): 128 finite float32 coordinates a row.
"""

from __future__ import annotations

import numpy as np

DIMENSION = 128
"""The length of a dlib face embedding."""

_CHUNK_FLOATS = 16_000_000  # ~64 MB of float32 distances per block of exact search


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force ``k`` nearest rows of ``vectors`` for each query: ids and distances (m, k), nearest first."""
    k = min(k, len(vectors))
    squared_norms = np.einsum("ij,ij->i", vectors, vectors)
    rows = max(1, min(_CHUNK_FLOATS // len(vectors), 4096))
    starts = range(0, len(queries), rows)
    blocks = [_nearest_block(vectors, squared_norms, queries[start : start + rows], k) for start in starts]
    return np.concatenate([ids for ids, _ in blocks]), np.concatenate([distances for _, distances in blocks])


def _nearest_block(
    vectors: np.ndarray, squared_norms: np.ndarray, queries: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates by ``|x|^2 - 2 x.q`` (the squared distance less ``|q|^2``), then exact distances.

    A few spare candidates absorb the float32 rounding of near ties; the exact
    float64 distances decide the final k and their order.
    """
    scores = squared_norms[None, :] - 2.0 * (queries @ vectors.T)
    spare = min(len(vectors), k + 8)
    candidates = np.argpartition(scores, spare - 1, axis=1)[:, :spare]
    distances = np.linalg.norm(vectors[candidates].astype(np.float64) - queries[:, None, :].astype(np.float64), axis=2)
    order = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(candidates, order, axis=1), np.take_along_axis(distances, order, axis=1)


def distances(vectors: np.ndarray, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Exact Euclidean distances from ``query`` to ``vectors[ids]``, in float64."""
    differences = vectors[ids].astype(np.float64) - query.astype(np.float64)
    return np.asarray(np.sqrt(np.einsum("ij,ij->i", differences, differences)))


def celebrity_array(vectors: np.ndarray) -> np.ndarray:
    """The celebrities' ``vectors`` as a contiguous float32 (n, 128) array, refused when empty, misshapen or not finite."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != DIMENSION or len(vectors) == 0:
        raise ValueError(f"expected a non-empty (n, {DIMENSION}) array, got shape {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise ValueError("vectors must be finite")
    return vectors


def query_array(vectors: np.ndarray) -> np.ndarray:
    """Faces (m, 128) or one face (128,) as a contiguous float32 (m, 128) array, refused when misshapen or not finite."""
    queries = np.ascontiguousarray(vectors, dtype=np.float32)
    if queries.ndim == 1:
        queries = queries[None, :]
    if queries.ndim != 2 or queries.shape[1] != DIMENSION:
        raise ValueError(f"expected (m, {DIMENSION}) or ({DIMENSION},) vectors, got shape {np.shape(vectors)}")
    if not np.isfinite(queries).all():
        raise ValueError("query vectors must be finite")
    return queries
