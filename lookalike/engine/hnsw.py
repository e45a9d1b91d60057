"""The HNSW graph (nmslib): its parameters, building, saving, loading and searching.

nmslib's optimised HNSW in the 'l2' space: links and nmslib's own copy of the vectors
side by side in one block, searched with SIMD distances, faster than nmslib's plain graph
(bench/README.md, "Index scaling"). The optimised graph reports squared float32
distances; callers re-measure its candidates exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# nmslib logs at INFO each of its ~70 spaces and methods when imported, and its parameters
# whenever a graph is built or loaded: keep its warnings only, for every program and test
# that uses the index, whenever it configures logging.
logging.getLogger("nmslib").setLevel(logging.WARNING)

import nmslib  # noqa: E402

DEFAULT_M = 32
DEFAULT_EF_CONSTRUCTION = 200
DEFAULT_EF_SEARCH = 192
"""The lowest efSearch with recall@1 at or above 0.99 at 1M (bench/README.md, "Index scaling")."""

Graph = Any
"""An nmslib HNSW index (nmslib has no type stubs)."""


@dataclass(frozen=True)
class HnswParameters:
    """How a graph is built (``m``, ``ef_construction``) and searched (``ef_search``)."""

    m: int = DEFAULT_M
    ef_construction: int = DEFAULT_EF_CONSTRUCTION
    ef_search: int = DEFAULT_EF_SEARCH

    def to_json(self) -> dict[str, int]:
        """nmslib's names, as index.json holds them."""
        return {"M": self.m, "efConstruction": self.ef_construction, "efSearch": self.ef_search}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> HnswParameters:
        return cls(int(value["M"]), int(value["efConstruction"]), int(value["efSearch"]))


def build_graph(vectors: np.ndarray, parameters: HnswParameters, num_threads: int) -> Graph:
    """An optimised HNSW graph over ``vectors`` (float32, contiguous)."""
    graph = _empty()
    graph.addDataPointBatch(vectors)
    graph.createIndex(
        {
            "M": parameters.m,
            "efConstruction": parameters.ef_construction,
            "skip_optimized_index": 0,
            "indexThreadQty": num_threads,
        },
        print_progress=False,
    )
    return graph


def save_graph(graph: Graph, path: Path) -> int:
    """Write the graph without its vectors (the optimised graph keeps its own copy); returns its size in bytes."""
    graph.saveIndex(str(path), save_data=False)
    return path.stat().st_size


def load_graph(path: Path) -> Graph:
    """The graph ``save_graph`` wrote; nmslib raises RuntimeError when its own checks of the file fail."""
    graph = _empty()
    graph.loadIndex(str(path), load_data=False)
    return graph


def nearest(
    graph: Graph, queries: np.ndarray, k: int, ef_search: int, num_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """The graph's (up to) ``k`` candidates of each query, searched with ``ef_search``, as two
    (m, k) arrays: their point ids (-1 past what the graph found) and squared distances
    (float32, inf there), nearest first."""
    graph.setQueryTimeParams({"efSearch": ef_search})  # ~3 us; one graph serves searches of both widths
    ids = np.full((len(queries), k), -1, np.int64)
    squared = np.full((len(queries), k), np.inf, np.float32)
    for row, (found, distances) in enumerate(graph.knnQueryBatch(queries, k=k, num_threads=num_threads)):
        ids[row, : len(found)] = found
        squared[row, : len(found)] = distances
    return ids, squared


def _empty() -> Graph:
    return nmslib.init(method="hnsw", space="l2", data_type=nmslib.DataType.DENSE_VECTOR)
