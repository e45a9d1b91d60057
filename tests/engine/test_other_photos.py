"""Each celebrity's nearest photos of other people (other_photos.py), exact and through a graph."""

from __future__ import annotations

import numpy as np
import pytest

from lookalike.engine import hnsw, other_photos
from lookalike.engine.hnsw import HnswParameters
from lookalike.engine.other_photos import nearest_other_photos
from tests.support.vectors import faces

GRAPH = HnswParameters(m=16, ef_construction=100, ef_search=64)


@pytest.fixture(scope="module")
def gallery():
    """400 celebrities with 1-4 photos each scattered about their face."""
    rng = np.random.default_rng(5)
    owners = np.repeat(np.arange(400), rng.integers(1, 5, size=400))
    photos = (faces(400, seed=6)[owners] + rng.normal(scale=0.03, size=(len(owners), 128))).astype(np.float32)
    vectors = np.stack([photos[owners == c].mean(axis=0) for c in range(400)])
    return vectors, photos, owners


def collected(blocks) -> tuple[np.ndarray, np.ndarray]:
    """Every celebrity's neighbours from the blocks, each row given once."""
    rows, found, squared = (np.concatenate(part) for part in zip(*blocks))
    assert sorted(rows.tolist()) == list(range(len(rows)))
    order = np.argsort(rows)
    return found[order], squared[order]


def test_the_exact_neighbours_are_every_other_persons_nearest_photos(gallery, monkeypatch):
    vectors, photos, owners = gallery
    monkeypatch.setattr(other_photos, "_CHUNK_FLOATS", 50 * len(photos))  # several blocks
    found, squared = collected(nearest_other_photos(vectors, photos, owners, 5, graph=GRAPH, exact_limit=10**9))
    for c in (0, 17, 399):
        distances = np.square(photos.astype(np.float64) - vectors[c]).sum(axis=1)
        distances[owners == c] = np.inf
        assert found[c].tolist() == np.argsort(distances, kind="stable")[:5].tolist()
        assert squared[c] == pytest.approx(np.sort(distances)[:5], rel=1e-9)
    assert (owners[found] != np.arange(400)[:, None]).all()


def test_the_graph_finds_the_exact_neighbours_and_measures_its_short_rows_exactly(gallery, monkeypatch):
    vectors, photos, owners = gallery
    exact, exact_squared = collected(nearest_other_photos(vectors, photos, owners, 5, graph=GRAPH, exact_limit=10**9))
    found, squared = collected(nearest_other_photos(vectors, photos, owners, 5, graph=GRAPH, exact_limit=0))
    assert np.mean((found == exact).all(axis=1)) >= 0.95
    assert (squared >= exact_squared * (1 - 1e-5)).all()  # a miss is a farther photo, never a nearer one
    answered = hnsw.nearest

    def short_of_every_third(graph, queries, k, ef_search, num_threads):
        ids, distances = answered(graph, queries, k, ef_search, num_threads)
        ids[::3, 2:], distances[::3, 2:] = -1, np.inf
        return ids, distances

    monkeypatch.setattr(hnsw, "nearest", short_of_every_third)
    found, squared = collected(nearest_other_photos(vectors, photos, owners, 5, graph=GRAPH, exact_limit=0))
    assert (found[::3] == exact[::3]).all()
    assert squared[::3] == pytest.approx(exact_squared[::3], rel=1e-9)


def test_more_neighbours_than_other_peoples_photos_are_refused(gallery):
    vectors, photos, owners = gallery
    with pytest.raises(ValueError, match="nearest photos of other people"):
        next(nearest_other_photos(vectors, photos, owners, len(photos), graph=GRAPH, exact_limit=0))
