"""The gallery's graphs, searched under the ranking rule: faces in, rows and distances out.

Celebrities are ranked by the hub-aware rule of ranking.py, which is a Euclidean
distance between lifted 129-d vectors, so the graphs are built over those: their search
proposes candidates in the rule's own order. The candidates are re-measured exactly
with numpy and sorted, so the answer is the one an exact search under the rule gives
(whenever the graph finds the true nearest candidates), with the true 128-d distance
beside the ranked one.

When there is a gender probe (gender.py), there is one graph per gender label (female,
male, unknown) instead of one over everyone: a face is searched in its predicted
gender's graph and the unknown one, merged by the rule, and the other gender's graph
gives its best look-alike of the other gender. Without a probe every celebrity counts
as of unknown gender and every face is searched in that one graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lookalike.engine import gender, hnsw
from lookalike.engine.exact import DIMENSION, celebrity_array, distances
from lookalike.engine.gender import GenderProbe
from lookalike.engine.hnsw import Graph, HnswParameters
from lookalike.engine.ranking import Ranking

Rows = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Gallery rows, their ranked distances and their true distances, best first."""


@dataclass
class Found:
    """One face's search result in rows, before it becomes Matches."""

    gender: str | None  # predicted by the probe; None without one
    best: Rows
    other: Rows  # the other gender's best (empty without a probe)


@dataclass
class GraphParts:
    """The graph parts of an index and what searching them needs.

    ``rows`` maps each gender label (None: unknown) to the gallery rows of its graph in
    ``graphs``; ``lifted`` are the gallery's vectors with the ranking's 129th coordinate
    (the vectors themselves are its first 128 columns: a million celebrities' are 512 MB).
    """

    ranking: Ranking
    probe: GenderProbe | None
    lifted: np.ndarray
    genders: np.ndarray  # (n,) int8: each celebrity's gender code (gender.codes)
    rows: dict[str | None, np.ndarray]
    graphs: dict[str | None, Graph]
    parameters: HnswParameters
    num_threads: int = 1

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        genders: np.ndarray,
        ranking: Ranking,
        probe: GenderProbe | None,
        parameters: HnswParameters,
        num_threads: int,
    ) -> GraphParts:
        """Build a graph per part over the lifted ``vectors``."""
        vectors = celebrity_array(vectors)
        if len(ranking.photos) != len(vectors) or len(ranking.reach) != len(vectors):
            raise ValueError(f"{len(vectors)} vectors but a ranking of {len(ranking.photos)} celebrities")
        if genders.shape != (len(vectors),):
            raise ValueError(f"{len(vectors)} vectors but {len(genders)} gender codes")
        lifted = lift(vectors, ranking)
        parts = partitions(genders, probe)
        graphs = {part: hnsw.build_graph(lifted[rows], parameters, num_threads) for part, rows in parts.items()}
        return cls(ranking, probe, lifted, genders, parts, graphs, parameters, num_threads)

    @property
    def vectors(self) -> np.ndarray:
        """The gallery's (n, 128) vectors: a view into ``lifted``."""
        return self.lifted[:, :DIMENSION]

    def __len__(self) -> int:
        return len(self.lifted)

    @property
    def other_ef_search(self) -> int:
        """Candidates for the other gender's best look-alike: half of ``ef_search``.

        It is one celebrity on a button, and a face searched among the other gender is far
        from all of them, which makes that search the slower of the two; half the candidates
        cost little of its exactness (bench/README.md, "Look-alikes for strangers").
        """
        return max(1, self.parameters.ef_search // 2)

    def search(self, queries: np.ndarray, k: int, exact: bool, gender_scores: np.ndarray | None = None) -> list[Found]:
        """Each face's k best (within its gender's and the unknown graphs) and the other gender's best.

        ``exact`` ranks every row of the parts instead of asking the graphs; ``gender_scores``,
        the gender classifier's of the faces, are fused with the probe's where it has a fusion.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if len(queries) == 0:
            return []
        genders = _predicted(self.probe, queries, gender_scores)
        lifted = np.hstack([queries, np.zeros((len(queries), 1), np.float32)])
        answers: list[list[np.ndarray]] = [[] for _ in queries]
        others: list[list[np.ndarray]] = [[] for _ in queries]
        for part, rows in self.rows.items():
            serves = [i for i, face in enumerate(genders) if part in _answer_parts(face)]
            opposes = [i for i, face in enumerate(genders) if face is not None and part == gender.other(face)]
            ef_search = self.parameters.ef_search
            for i, ids in zip(serves, self._candidates(part, rows, lifted[serves], k, ef_search, exact)):
                answers[i].append(ids)
            for i, ids in zip(opposes, self._candidates(part, rows, lifted[opposes], 1, self.other_ef_search, exact)):
                others[i].append(ids)
        return [
            Found(face, self._best(query, found, k), self._best(query, opposite, 1))
            for query, face, found, opposite in zip(lifted, genders, answers, others)
        ]

    def _candidates(
        self, part: str | None, rows: np.ndarray, lifted: np.ndarray, k: int, ef_search: int, exact: bool
    ) -> list[np.ndarray]:
        """Gallery rows of the graph ``part``'s k nearest to each lifted face, searched with
        ``ef_search`` candidates: the rule's k best in that part. Exact: all its rows; so too
        when the graph finds fewer than k (a tiny part)."""
        if len(lifted) == 0:
            return []
        if exact:
            return [rows] * len(lifted)
        wanted = min(k, len(rows))
        found, _ = hnsw.nearest(self.graphs[part], lifted, wanted, ef_search, self.num_threads)
        return [rows[ids] if ids[-1] >= 0 else rows for ids in found]

    def _best(self, lifted: np.ndarray, candidates: list[np.ndarray], k: int) -> Rows:
        """The k best of the candidates by the rule: rows, ranked distances and true distances."""
        ids = np.concatenate(candidates) if candidates else np.empty(0, np.int64)
        ranked = distances(self.lifted, lifted, ids)
        order = np.lexsort((ids, ranked))  # ties by row
        ids, ranked = ids[order][:k], ranked[order][:k]
        return ids, ranked, distances(self.vectors, lifted[:DIMENSION], ids)


def lift(vectors: np.ndarray, ranking: Ranking) -> np.ndarray:
    """The graph's vectors: each celebrity's embedding with its ranking lift as a 129th coordinate."""
    return np.ascontiguousarray(np.hstack([vectors, ranking.lifts[:, None]]), dtype=np.float32)


def partitions(genders: np.ndarray, probe: GenderProbe | None) -> dict[str | None, np.ndarray]:
    """Which rows each graph holds, by the celebrities' gender codes: everyone (as unknown)
    without a probe, else one graph per gender label (female, male, unknown), so that a face's
    gender and the other one are each searched exactly. Parts without a celebrity are left out."""
    if probe is None:
        return {gender.UNKNOWN: np.arange(len(genders))}
    codes = {part: gender.CODES.get(part, gender.UNKNOWN_CODE) for part in (*gender.GENDERS, gender.UNKNOWN)}
    parts = {part: np.flatnonzero(genders == code) for part, code in codes.items()}
    return {part: rows for part, rows in parts.items() if len(rows)}


def _predicted(probe: GenderProbe | None, queries: np.ndarray, gender_scores: np.ndarray | None) -> list[str | None]:
    if probe is None:
        return [gender.UNKNOWN] * len(queries)
    return [gender.of_code(code) for code in probe.predict(queries, gender_scores).tolist()]


def _answer_parts(face: str | None) -> tuple[str | None, ...]:
    """The graphs a face of predicted gender ``face`` (None: no probe) is answered from."""
    return (gender.UNKNOWN,) if face is None else (face, gender.UNKNOWN)
