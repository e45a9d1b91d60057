"""The celebrity index: 128-d face embeddings in, nearest celebrities with true distances out.

Built once by the gallery builder, saved to a directory and loaded by the bot, in
the style of nmslib's and faiss's Python APIs::

    ranking = fit_ranking(vectors, photo_vectors, photo_owners)      # ranking.py
    probe = fit_probe(photo_vectors, photo_genders)                  # gender.py
    index = CelebrityIndex.build(vectors, celebrities, ranking=ranking, probe=probe)
    index.calibration = index.fit_calibration(photo_vectors, photo_owners)
    index.save(directory)
    ...
    index = CelebrityIndex.load(directory)
    [answer] = index.look_alikes(embedding, k=3)   # answer.matches, answer.other

The graph is nmslib's optimised HNSW in the 'l2' space: links and nmslib's own
copy of the vectors side by side in one block, searched with SIMD distances: 1.5x
faster a query than nmslib's plain graph in a paired run at 100k (bench/README.md).
Celebrities are ranked by the hub-aware rule of ranking.py, which is a Euclidean
distance between lifted 129-d vectors, so the graph is built over those: its search
proposes candidates in the rule's own order. They are re-measured exactly with numpy
and sorted, so the answer is the one an exact search under the rule gives (whenever
the graph finds the true nearest candidates), and a ``Match`` carries the true 128-d
Euclidean distance (the optimised graph reports squared float32 distances, which
never reach the caller). When the index has a gender probe (gender.py), there is one
graph per gender label (female, male, unknown) instead of one over everyone: a face is
answered from its predicted gender's graph and the unknown one, merged by the rule, and
the other gender's graph gives its best look-alike of the other gender.

Nothing is loaded at import: an index exists only once ``build`` or ``load`` ran.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

# nmslib logs at INFO each of its ~70 spaces and methods when imported, and its parameters
# whenever a graph is built or loaded: keep its warnings only, for every program and test
# that uses the index, whenever it configures logging.
logging.getLogger("nmslib").setLevel(logging.WARNING)

import nmslib  # noqa: E402

from lookalike.engine.gender import GenderProbe, codes  # noqa: E402
from lookalike.engine.ranking import Ranking  # noqa: E402

log = logging.getLogger(__name__)

DIMENSION = 128
FORMAT_VERSION = 3
"""3: the graphs are over the ranking's lifted vectors, one per gender label when there
is a gender probe (index.json's graph_bytes names them); ranking.npz and index.json hold
the ranking's statistics and the probe; the calibration is of the ranked distance
(2: optimised graph over the plain vectors; 1: the plain graph)."""

GRAPH_FILE = "hnsw.nmslib"
EMBEDDINGS_FILE = "embeddings.npy"
CELEBRITIES_FILE = "celebrities.json"
META_FILE = "index.json"
RANKING_FILE = "ranking.npz"

ALL, FEMALE, MALE, UNKNOWN = "all", "female", "male", "unknown"
"""The graphs: one over everyone without a gender probe, else one per gender label."""

# Chosen by bench/index_scaling.py (2026-11-23, 2-core shared machine, nmslib 2.1.2 built
# from source with -march=native, optimised graph), 1M vectors: 5,715 real LFW dlib
# embeddings topped up with vectors mixed from them; recall@1 of 1,000 held-out synthetic
# queries against exact numpy search, per efSearch:
#   128: 0.976   160: 0.986   192: 0.991   256: 0.994
# (an all-synthetic 1M gallery gave 0.989 / 0.994 / 0.995 / 0.996). 192 is the lowest
# setting at or above 0.99 in both; at 100k and 10k it gives 0.999 and 0.998. Single
# k=3 queries through CelebrityIndex.query at 192: median 0.61-0.73 ms back to back,
# 1.0-1.35 ms right after a numpy scan swept the caches; numpy brute force 57-83 ms (drifting).
DEFAULT_M = 32
DEFAULT_EF_CONSTRUCTION = 200
DEFAULT_EF_SEARCH = 192

DEFAULT_MIN_SIMILARITY = 0.01
"""The floor of the percentile: a face ~2.3 standard deviations beyond the typical
nearest-other distance is still shown as "more alike than 1% of people", never 0%,
which would read as a broken result rather than a weak one."""

EXACT_CALIBRATION_LIMIT = 200_000_000
"""Above this many sample x celebrity pairs ``calibrate`` asks an HNSW graph for
the two nearest instead of comparing every pair. 2e8 pairs took 2 s with numpy on
one core (2026-11-23); the LFW gallery (~6,700 photos x ~2,900 people, 2e7 pairs,
0.24 s) is far below, so real galleries are calibrated exactly, free of HNSW's misses."""

CALIBRATION_QUANTILES = 201
"""Measured ranked distances kept for the percentile: every half percent."""

MAX_CALIBRATION_SAMPLES = 20_000
"""Plenty for 201 quantiles (each within ~0.4 points of its share); a 100k gallery's
100k calibration photos took 210 s through the graph on one core, 20k take a fifth."""

MIN_EMPIRICAL_SAMPLES = 200
"""Fewer calibration samples than this (a toy gallery) and the normal fit is used: a
handful of measured distances would make a staircase of the percentile."""

_CHUNK_FLOATS = 16_000_000  # ~64 MB of float32 distances per block of exact search


class IndexFormatError(Exception):
    """An index directory is missing files, or they are corrupt or disagree."""


@dataclass(frozen=True)
class Calibration:
    """How far a face typically is from its nearest celebrity who is not that person,
    measured in the distance the index ranks by (the plain distance for a plain index).

    ``similarity(d)`` is the share of such nearest-other distances that are larger
    than ``d``: "more alike than X% of people". With ``quantiles`` (the measured
    distances at evenly spaced shares 0, ..., 1) it is read off them, otherwise off a
    normal fit. It never rises as ``d`` grows, so an answer's percentages never rise
    down the list.
    """

    mean: float
    std: float
    min_similarity: float = DEFAULT_MIN_SIMILARITY
    quantiles: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and math.isfinite(self.std) and self.std > 0):
            raise ValueError(f"calibration needs a finite mean and a positive std, got {self.mean}, {self.std}")
        if not 0.0 <= self.min_similarity <= 1.0:
            raise ValueError(f"min_similarity must be within [0, 1], got {self.min_similarity}")
        quantiles = tuple(float(q) for q in self.quantiles)
        if quantiles and (len(quantiles) < 2 or not np.isfinite(quantiles).all() or np.any(np.diff(quantiles) < 0)):
            raise ValueError("quantiles must be at least two finite, non-decreasing distances")
        object.__setattr__(self, "quantiles", quantiles)
        object.__setattr__(self, "_shares", np.linspace(0.0, 1.0, len(quantiles)))  # not a field: not saved

    def similarity(self, distances: np.ndarray | float) -> np.ndarray:
        """The share of measured distances above each of ``distances``, clamped to [min_similarity, 1]."""
        if self.quantiles:
            below = np.interp(np.asarray(distances, dtype=np.float64), self.quantiles, self._shares)
            return np.clip(1.0 - below, self.min_similarity, 1.0)
        z = (np.asarray(distances, dtype=np.float64) - self.mean) / (self.std * math.sqrt(2.0))
        # 0.5 * erfc(z) equals 1 - 0.5 * (1 + erf(z)) without the cancellation in the tail.
        # numpy has no erfc; a query brings a handful of distances, so a loop is cheapest.
        erfc = np.array([math.erfc(value) for value in z.ravel().tolist()]).reshape(z.shape)
        return np.clip(0.5 * erfc, self.min_similarity, 1.0)


@dataclass(frozen=True)
class Match:
    """One celebrity found for a face."""

    id: int  # row in the index
    name: str
    distance: float  # true Euclidean distance between the embeddings
    similarity: float  # Calibration.similarity of the ranked distance, a fraction in [0, 1]


@dataclass(frozen=True)
class LookAlike:
    """The answer for one face: best matches first, within the face's predicted gender
    when the index has a gender probe, and then the best match of the other gender."""

    matches: list[Match]
    gender: str | None = None  # "female", "male", or None without a probe
    other: Match | None = None


@dataclass
class _Found:
    """One face's search result in rows and ranked distances, before it becomes Matches."""

    group: int  # predicted gender code, -1 without a probe
    best: tuple[np.ndarray, np.ndarray, np.ndarray]  # ids, ranked distances, true distances
    other: tuple[np.ndarray, np.ndarray, np.ndarray]  # the same for the other gender's best


class CelebrityIndex:
    """Celebrity embeddings with their metadata, searchable by face embedding.

    Create with ``build`` or ``load``, never directly.
    """

    def __init__(
        self,
        graphs: dict[str, Any],
        vectors: np.ndarray,
        celebrities: list[dict],
        calibration: Calibration,
        parameters: dict[str, int],
        num_threads: int,
        ranking: Ranking,
        probe: GenderProbe | None,
        lifted: np.ndarray,
        parts: dict[str, np.ndarray],
        directory: Path | None = None,
    ):
        """``lifted`` and ``parts`` are ``_lift(vectors, ranking)`` and ``_partitions(celebrities,
        probe)``, which ``build`` and ``load`` have already made for the graphs."""
        self._graphs = graphs
        self._vectors = vectors
        self._celebrities = celebrities
        self.calibration = calibration
        self._parameters = parameters
        self._num_threads = num_threads
        self.ranking = ranking
        self.probe = probe
        self.directory = directory
        self._lifted = lifted
        self._parts = parts

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        celebrities: list[dict],
        calibration: Calibration = Calibration(mean=0.6, std=0.1),
        *,
        ranking: Ranking | None = None,
        probe: GenderProbe | None = None,
        m: int = DEFAULT_M,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        ef_search: int = DEFAULT_EF_SEARCH,
        num_threads: int = 1,
    ) -> CelebrityIndex:
        """Index ``vectors`` (n, 128); row i is ``celebrities[i]``, a dict with at least "name".

        Without a ``ranking`` the index ranks by plain distance; without a ``probe`` it
        ignores gender. The default ``calibration`` is a placeholder: a real index gets
        ``fit_calibration``'s before it is saved.
        """
        vectors = _gallery(vectors)
        _check_celebrities(celebrities, len(vectors))
        ranking = ranking or Ranking.plain(len(vectors))
        if len(ranking.photos) != len(vectors) or len(ranking.reach) != len(vectors):
            raise ValueError(f"{len(vectors)} vectors but a ranking of {len(ranking.photos)} celebrities")
        parameters = {"M": m, "efConstruction": ef_construction, "efSearch": ef_search}
        lifted = _lift(vectors, ranking)
        parts = _partitions(celebrities, probe)
        graphs = {}
        for part, rows in parts.items():
            graphs[part] = _build_graph(lifted[rows], m, ef_construction, num_threads)
        log.info("built an index of %d celebrities (%s; graphs: %s)", len(vectors), parameters, ", ".join(graphs))
        return cls(
            graphs, vectors, list(celebrities), calibration, parameters, num_threads, ranking, probe, lifted, parts
        )

    @classmethod
    def load(cls, directory: Path | str, *, num_threads: int = 1) -> CelebrityIndex:
        """Load what ``save`` wrote, raising ``IndexFormatError`` if anything is missing or disagrees."""
        directory = Path(directory)
        meta = _read_meta(directory / META_FILE)
        vectors = _read_embeddings(directory / EMBEDDINGS_FILE, meta["count"])
        celebrities = _read_celebrities(directory / CELEBRITIES_FILE, meta["count"])
        ranking = _read_ranking(directory / RANKING_FILE, meta["ranking"], meta["count"])
        lifted = _lift(vectors, ranking)
        parts = _partitions(celebrities, meta["probe"])
        if set(meta["graph_bytes"]) != {graph_file(part) for part in parts}:
            raise IndexFormatError(
                f"{directory / META_FILE}: graphs {sorted(meta['graph_bytes'])} do not fit the catalog's genders"
            )
        graphs = {}
        for part, rows in parts.items():
            name = graph_file(part)
            graphs[part] = _read_graph(directory / name, meta["graph_bytes"][name], lifted[rows])
        log.info("loaded %d celebrities from %s", len(vectors), directory)
        return cls(
            graphs,
            vectors,
            celebrities,
            meta["calibration"],
            meta["parameters"],
            num_threads,
            ranking,
            meta["probe"],
            lifted,
            parts,
            directory,
        )

    def save(self, directory: Path | str) -> None:
        """Write the index into the existing ``directory``; index.json goes last.

        The graph file holds nmslib's search copy of the vectors (``load`` needs
        nothing else to search); embeddings.npy keeps them as a plain array, for
        exact distances and for anyone who wants the gallery's vectors.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"no such directory: {directory}")
        graph_bytes = {}
        for part, graph in self._graphs.items():
            path = directory / graph_file(part)
            graph.saveIndex(str(path), save_data=False)
            graph_bytes[path.name] = path.stat().st_size
        np.save(directory / EMBEDDINGS_FILE, self._vectors, allow_pickle=False)
        np.savez(directory / RANKING_FILE, photos=self.ranking.photos, reach=self.ranking.reach)
        _write_json(directory / CELEBRITIES_FILE, self._celebrities)
        _write_json(directory / META_FILE, self._meta(graph_bytes))
        self.directory = directory
        log.info("saved %d celebrities to %s", len(self), directory)

    def query(self, vectors: np.ndarray, k: int = 3, *, exact: bool = False) -> list[list[Match]]:
        """The ``k`` best celebrities of each face (m, 128) or (128,), best first: ``look_alikes``' matches."""
        return [answer.matches for answer in self.look_alikes(vectors, k, exact=exact)]

    def look_alikes(self, vectors: np.ndarray, k: int = 3, *, exact: bool = False) -> list[LookAlike]:
        """Each face's answer under the ranking rule; ``k`` is clipped to the celebrities allowed.

        ``exact`` scores every celebrity with numpy instead of asking the graph (for
        tests and calibration; the graph gives the same answers, much faster).
        """
        found = self._search(_queries(vectors), k, exact)
        return [
            LookAlike(
                matches=self._matches(*row.best),
                gender=None if row.group < 0 else ("female", "male")[row.group],
                other=next(iter(self._matches(*row.other)), None),
            )
            for row in found
        ]

    def fit_calibration(
        self, samples: np.ndarray, owners: np.ndarray, *, exact_limit: int = EXACT_CALIBRATION_LIMIT
    ) -> Calibration:
        """Fit the ranked distance from each sample photo to the best celebrity (for its
        predicted gender) who is not its owner: ``owners`` (s,) gallery rows, -1 for
        nobody. At most ``MAX_CALIBRATION_SAMPLES`` of them, evenly spread, are used. Exact
        up to ``exact_limit`` sample x celebrity pairs, by the graph beyond."""
        samples = _queries(samples)
        owners = np.asarray(owners)
        if owners.shape != (len(samples),):
            raise ValueError(f"owners must have shape ({len(samples)},), got {owners.shape}")
        if len(samples) > MAX_CALIBRATION_SAMPLES:
            kept = np.linspace(0, len(samples) - 1, MAX_CALIBRATION_SAMPLES).astype(np.int64)
            samples, owners = samples[kept], owners[kept]
        if len(self) < 2 or len(samples) < 2:
            raise ValueError("calibration needs at least two celebrities and two samples")
        found = self._search(samples, 2, len(samples) * len(self) <= exact_limit)
        others = np.array([_other_than(owner, *row.best) for row, owner in zip(found, owners.tolist())])
        calibration = Calibration(
            mean=float(others.mean()),
            std=float(others.std(ddof=1)),
            min_similarity=self.calibration.min_similarity,
            quantiles=tuple(np.quantile(others, np.linspace(0.0, 1.0, CALIBRATION_QUANTILES)).tolist())
            if len(others) >= MIN_EMPIRICAL_SAMPLES
            else (),
        )
        log.info("calibrated on %d samples: %s", len(others), calibration)
        return calibration

    @property
    def parameters(self) -> dict[str, int]:
        """The HNSW parameters: M, efConstruction, efSearch."""
        return dict(self._parameters)

    @property
    def ef_search(self) -> int:
        """Candidates the graph search keeps: higher is surer and slower."""
        return self._parameters["efSearch"]

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        self._parameters["efSearch"] = value

    @property
    def other_ef_search(self) -> int:
        """Candidates for the other gender's best look-alike: half of ``ef_search``.

        It is one celebrity on a button, and a face searched among the other gender is far
        from all of them, which makes that search the slower of the two: at 100k celebrities
        (bench/lookalike_quality.py --scale 100000, real strangers' faces) half the
        candidates find the exact best 98.1% of the time instead of 99.2%, in 0.16 ms
        instead of 0.36.
        """
        return max(1, self.ef_search // 2)

    @property
    def names(self) -> list[str]:
        return [celebrity["name"] for celebrity in self._celebrities]

    def celebrity(self, i: int) -> dict:
        """A copy of celebrity ``i``'s metadata as given to ``build``."""
        return dict(self._celebrities[i])

    def thumbnail_path(self, i: int) -> Path | None:
        """Where the gallery builder put celebrity ``i``'s thumbnail; None before save or load."""
        if not 0 <= i < len(self):
            raise IndexError(f"no celebrity {i} in an index of {len(self)}")
        return None if self.directory is None else self.directory / "thumbs" / f"{i}.jpg"

    def __len__(self) -> int:
        return len(self._vectors)

    def _search(self, queries: np.ndarray, k: int, exact: bool) -> list[_Found]:
        """Each face's k best (within its gender's and the unknown graphs) and the other gender's best."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if len(queries) == 0:
            return []
        groups = self.probe.predict(queries).tolist() if self.probe is not None else [-1] * len(queries)
        lifted = np.hstack([queries, np.zeros((len(queries), 1), np.float32)])
        answers: list[list[np.ndarray]] = [[] for _ in queries]
        others: list[list[np.ndarray]] = [[] for _ in queries]
        for part, rows in self._parts.items():
            serves = [i for i, group in enumerate(groups) if part in _answer_parts(group)]
            opposes = [i for i, group in enumerate(groups) if part == _other_part(group)]
            for i, ids in zip(serves, self._candidates(part, rows, lifted[serves], k, self.ef_search, exact)):
                answers[i].append(ids)
            for i, ids in zip(opposes, self._candidates(part, rows, lifted[opposes], 1, self.other_ef_search, exact)):
                others[i].append(ids)
        return [
            _Found(group, self._best(query, found, k), self._best(query, opposite, 1))
            for query, group, found, opposite in zip(lifted, groups, answers, others)
        ]

    def _candidates(
        self, part: str, rows: np.ndarray, lifted: np.ndarray, k: int, ef_search: int, exact: bool
    ) -> list[np.ndarray]:
        """Gallery rows of the graph ``part``'s k nearest to each lifted face, searched with
        ``ef_search`` candidates: the rule's k best in that part. Exact: all its rows; so too
        when the graph finds fewer than k (a tiny part)."""
        if len(lifted) == 0:
            return []
        if exact:
            return [rows] * len(lifted)
        wanted = min(k, len(rows))
        graph = self._graphs[part]
        graph.setQueryTimeParams({"efSearch": ef_search})  # ~3 us; one graph serves both searches
        found = graph.knnQueryBatch(lifted, k=wanted, num_threads=self._num_threads)
        return [rows[np.asarray(ids, np.int64)] if len(ids) >= wanted else rows for ids, _ in found]

    def _best(
        self, lifted: np.ndarray, candidates: list[np.ndarray], k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The k best of the candidates by the rule: rows, ranked distances and true distances."""
        ids = np.concatenate(candidates) if candidates else np.empty(0, np.int64)
        ids, ranked = self._ranked(lifted, ids)
        ids, ranked = ids[:k], ranked[:k]
        return ids, ranked, _distances(self._vectors, lifted[:DIMENSION], ids)

    def _ranked(self, lifted: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``ids`` sorted by ranked distance (ties by id), with those distances."""
        ranked = _distances(self._lifted, lifted, ids)
        order = np.lexsort((ids, ranked))
        return ids[order], ranked[order]

    def _matches(self, ids: np.ndarray, ranked: np.ndarray, distances: np.ndarray) -> list[Match]:
        """Matches with true distances and the similarity of the ranked distance."""
        if len(ids) == 0:
            return []
        similarities = self.calibration.similarity(ranked)
        return [
            Match(id=i, name=self._celebrities[i]["name"], distance=d, similarity=s)
            for i, d, s in zip(ids.tolist(), distances.tolist(), similarities.tolist())
        ]

    def _meta(self, graph_bytes: dict[str, int]) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "graph_bytes": graph_bytes,
            "method": "hnsw",
            "space": "l2",
            "dimension": DIMENSION,
            "count": len(self),
            "parameters": self._parameters,
            "calibration": asdict(self.calibration),
            "ranking": self.ranking.parameters(),
            "gender_probe": None if self.probe is None else self.probe.to_json(),
        }


def graph_file(part: str) -> str:
    """The file of the graph over one part of the gallery: all of it, or one gender label."""
    return GRAPH_FILE if part == ALL else f"hnsw.{part}.nmslib"


def _partitions(celebrities: list[dict], probe: GenderProbe | None) -> dict[str, np.ndarray]:
    """Which rows each graph holds: everyone without a probe, else one graph per gender label
    (female, male, unknown), so that a face's gender and the other one are each searched exactly."""
    if probe is None:
        return {ALL: np.arange(len(celebrities))}
    labels = codes(celebrities)
    parts = {
        FEMALE: np.flatnonzero(labels == 0),
        MALE: np.flatnonzero(labels == 1),
        UNKNOWN: np.flatnonzero(labels < 0),
    }
    return {part: rows for part, rows in parts.items() if len(rows)}


def _answer_parts(group: int) -> tuple[str, ...]:
    """The graphs a face of predicted gender ``group`` (-1: no probe) is answered from."""
    return (ALL,) if group < 0 else (("female", "male")[group], UNKNOWN)


def _other_part(group: int) -> str | None:
    return None if group < 0 else ("male", "female")[group]


def _other_than(owner: int, ids: np.ndarray, ranked: np.ndarray, _distances: np.ndarray) -> float:
    """The ranked distance of the best of ``ids`` that is not ``owner``."""
    return float(ranked[1] if ids[0] == owner and len(ids) > 1 else ranked[0])


def _lift(vectors: np.ndarray, ranking: Ranking) -> np.ndarray:
    """The graph's vectors: each celebrity's embedding with its ranking lift as a 129th coordinate."""
    return np.ascontiguousarray(np.hstack([vectors, ranking.lifts[:, None]]), dtype=np.float32)


def calibrate(
    gallery: np.ndarray,
    samples: np.ndarray,
    owners: np.ndarray,
    *,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    exact_limit: int = EXACT_CALIBRATION_LIMIT,
) -> Calibration:
    """Fit the distance from a face to its nearest celebrity who is not that person.

    ``gallery`` is the (n, 128) array the index will be built from, ``samples``
    (s, 128) individual photos and ``owners`` (s,) the gallery row of each
    photo's person, or -1 for people not in the gallery. Of each sample's two
    nearest celebrities the nearer one that is not its owner counts. Searching
    is exact up to ``exact_limit`` sample x celebrity pairs, approximate beyond.
    """
    gallery = _gallery(gallery)
    samples = _queries(samples)
    owners = np.asarray(owners)
    if owners.shape != (len(samples),):
        raise ValueError(f"owners must have shape ({len(samples)},), got {owners.shape}")
    if len(gallery) < 2:
        raise ValueError("calibration needs at least two celebrities")
    ids, distances = _two_nearest(gallery, samples, exact_limit)
    others = np.where(ids[:, 0] != owners, distances[:, 0], distances[:, 1])
    if len(others) < 2:
        raise ValueError("calibration needs at least two samples")
    calibration = Calibration(mean=float(others.mean()), std=float(others.std(ddof=1)), min_similarity=min_similarity)
    log.info("calibrated on %d samples: %s", len(others), calibration)
    return calibration


def _two_nearest(gallery: np.ndarray, samples: np.ndarray, exact_limit: int) -> tuple[np.ndarray, np.ndarray]:
    if len(samples) * len(gallery) <= exact_limit:
        return exact_neighbours(gallery, samples, 2)
    threads = os.cpu_count() or 1  # an offline step of the gallery builder
    graph = _build_graph(gallery, DEFAULT_M, DEFAULT_EF_CONSTRUCTION, threads)
    graph.setQueryTimeParams({"efSearch": DEFAULT_EF_SEARCH})
    rows = _graph_neighbours(graph, gallery, samples, 2, threads)
    return np.stack([ids for ids, _ in rows]), np.stack([distances for _, distances in rows])


def exact_neighbours(gallery: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force ``k`` nearest rows of ``gallery`` for each query: ids and distances (m, k), nearest first."""
    k = min(k, len(gallery))
    squared_norms = np.einsum("ij,ij->i", gallery, gallery)
    rows = max(1, min(_CHUNK_FLOATS // len(gallery), 4096))
    starts = range(0, len(queries), rows)
    blocks = [_nearest_block(gallery, squared_norms, queries[start : start + rows], k) for start in starts]
    return np.concatenate([ids for ids, _ in blocks]), np.concatenate([distances for _, distances in blocks])


def _nearest_block(
    gallery: np.ndarray, squared_norms: np.ndarray, queries: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates by ``|x|^2 - 2 x.q`` (the squared distance less ``|q|^2``), then exact distances.

    A few spare candidates absorb the float32 rounding of near ties; the exact
    float64 distances decide the final k and their order.
    """
    scores = squared_norms[None, :] - 2.0 * (queries @ gallery.T)
    spare = min(len(gallery), k + 8)
    candidates = np.argpartition(scores, spare - 1, axis=1)[:, :spare]
    distances = np.linalg.norm(gallery[candidates].astype(np.float64) - queries[:, None, :].astype(np.float64), axis=2)
    order = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(candidates, order, axis=1), np.take_along_axis(distances, order, axis=1)


def _distances(gallery: np.ndarray, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Exact Euclidean distances from ``query`` to ``gallery[ids]``, in float64."""
    differences = gallery[ids].astype(np.float64) - query.astype(np.float64)
    return np.sqrt(np.einsum("ij,ij->i", differences, differences))


def _build_graph(vectors: np.ndarray, m: int, ef_construction: int, num_threads: int) -> Any:
    """An optimised HNSW graph over ``vectors`` (see the module's docstring)."""
    graph = nmslib.init(method="hnsw", space="l2", data_type=nmslib.DataType.DENSE_VECTOR)
    graph.addDataPointBatch(vectors)
    graph.createIndex(
        {"M": m, "efConstruction": ef_construction, "skip_optimized_index": 0, "indexThreadQty": num_threads},
        print_progress=False,
    )
    return graph


def _graph_neighbours(
    graph: Any, vectors: np.ndarray, queries: np.ndarray, k: int, num_threads: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The graph's k candidates per query, re-measured exactly and sorted.

    HNSW cannot always reach k points when k is a large share of a small gallery
    (e.g. 36 of 50 with efSearch 10); such rows are answered by exact search.
    """
    if len(queries) == 0:
        return []
    found = graph.knnQueryBatch(queries, k=k, num_threads=num_threads)
    return [_sorted_row(vectors, query, ids, k) for query, (ids, _) in zip(queries, found)]


def _sorted_row(vectors: np.ndarray, query: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(ids) < k:
        exact_ids, exact_distances = exact_neighbours(vectors, query[None, :], k)
        return exact_ids[0], exact_distances[0]
    distances = _distances(vectors, query, ids)
    order = np.argsort(distances, kind="stable")
    return ids[order].astype(np.int64), distances[order]


def _gallery(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != DIMENSION or len(vectors) == 0:
        raise ValueError(f"expected a non-empty (n, {DIMENSION}) array, got shape {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise ValueError("vectors must be finite")
    return vectors


def _queries(vectors: np.ndarray) -> np.ndarray:
    queries = np.ascontiguousarray(vectors, dtype=np.float32)
    if queries.ndim == 1:
        queries = queries[None, :]
    if queries.ndim != 2 or queries.shape[1] != DIMENSION:
        raise ValueError(f"expected (m, {DIMENSION}) or ({DIMENSION},) vectors, got shape {np.shape(vectors)}")
    if not np.isfinite(queries).all():
        raise ValueError("query vectors must be finite")
    return queries


def _check_celebrities(celebrities: list[dict], count: int) -> None:
    if len(celebrities) != count:
        raise ValueError(f"{count} vectors but {len(celebrities)} celebrities")
    unnamed = [i for i, celebrity in enumerate(celebrities) if not isinstance(celebrity.get("name"), str)]
    if unnamed:
        raise ValueError(f"celebrities without a name: rows {unnamed[:10]}")


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")


def _read_meta(path: Path) -> dict:
    meta = _read_json(path)
    try:
        if meta["format_version"] != FORMAT_VERSION:
            raise IndexFormatError(
                f"{path}: format version {meta['format_version']}, expected {FORMAT_VERSION}: "
                "rebuild it with build_embeddings.py (photos it has analysed come from its cache)"
            )
        if meta["dimension"] != DIMENSION:
            raise IndexFormatError(f"{path}: dimension {meta['dimension']}, expected {DIMENSION}")
        parameters = {key: int(meta["parameters"][key]) for key in ("M", "efConstruction", "efSearch")}
        calibration = Calibration(**meta["calibration"])
        probe = None if meta["gender_probe"] is None else GenderProbe.from_json(meta["gender_probe"])
        ranking = {key: meta["ranking"][key] for key in ("spread", "spread_weight", "reach_neighbours", "reach_weight")}
        return {
            "probe": probe,
            "ranking": ranking,
            "count": int(meta["count"]),
            "graph_bytes": {str(name): int(size) for name, size in meta["graph_bytes"].items()},
            "parameters": parameters,
            "calibration": calibration,
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexFormatError(f"{path}: malformed index metadata ({exc!r})") from exc


def _read_ranking(path: Path, parameters: dict, count: int) -> Ranking:
    try:
        with np.load(path, allow_pickle=False) as stored:
            photos, reach = stored["photos"], stored["reach"]
    except (OSError, ValueError, EOFError, KeyError) as exc:
        raise IndexFormatError(f"{path}: cannot read the ranking's statistics ({exc})") from exc
    if photos.shape != (count,) or reach.shape != (count,) or (photos < 1).any() or not np.isfinite(reach).all():
        raise IndexFormatError(
            f"{path}: ranking statistics of shapes {photos.shape}, {reach.shape}, expected ({count},)"
        )
    return Ranking(photos, reach, **parameters)


def _read_embeddings(path: Path, count: int) -> np.ndarray:
    """The embeddings, read into memory rather than mapped: a file replaced in place
    under a mapping (``cp`` over it) would kill the bot with SIGBUS."""
    try:
        vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise IndexFormatError(f"{path}: cannot read the embeddings ({exc})") from exc
    if vectors.dtype != np.float32 or vectors.shape != (count, DIMENSION):
        raise IndexFormatError(f"{path}: {vectors.dtype} {vectors.shape}, expected float32 ({count}, {DIMENSION})")
    return np.ascontiguousarray(vectors)


def _read_celebrities(path: Path, count: int) -> list[dict]:
    celebrities = _read_json(path)
    if not isinstance(celebrities, list) or len(celebrities) != count:
        raise IndexFormatError(f"{path}: expected a list of {count} celebrities")
    try:
        _check_celebrities(celebrities, count)
    except (AttributeError, ValueError) as exc:
        raise IndexFormatError(f"{path}: {exc}") from exc
    return celebrities


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFormatError(f"{path}: cannot read ({exc})") from exc


def _read_graph(path: Path, expected_bytes: int, vectors: np.ndarray) -> Any:
    """Load the graph and check that it belongs with ``vectors``.

    The optimised graph loads without the vectors, so nmslib cannot compare
    counts: the size recorded in index.json catches a graph from another build,
    and a search for a few stored vectors, which must find themselves, catches
    one that is the right size but over other vectors.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IndexFormatError(f"{path}: missing ({exc})") from exc
    if size != expected_bytes:
        raise IndexFormatError(f"{path}: {size} bytes, but index.json says {expected_bytes}: the graph doesn't match")
    graph = nmslib.init(method="hnsw", space="l2", data_type=nmslib.DataType.DENSE_VECTOR)
    try:
        graph.loadIndex(str(path), load_data=False)
    except RuntimeError as exc:  # nmslib's own checks of the file
        raise IndexFormatError(f"{path}: {exc}") from exc
    _check_graph(graph, vectors, path)
    return graph


_GRAPH_PROBES = 8


def _check_graph(graph: Any, vectors: np.ndarray, path: Path) -> None:
    """Search for ``_GRAPH_PROBES`` stored vectors; most must come back at distance 0.

    "Most", not all: HNSW is approximate, and a false alarm would stop the bot
    from loading a sound index. A graph over other vectors finds none.
    """
    rows = np.unique(np.linspace(0, len(vectors) - 1, _GRAPH_PROBES).astype(np.int64))
    probes = np.ascontiguousarray(vectors[rows])
    found = 0
    for probe, (ids, _) in zip(probes, graph.knnQueryBatch(probes, k=1, num_threads=1)):
        if len(ids) and not 0 <= ids[0] < len(vectors):
            raise IndexFormatError(f"{path}: the graph has point {ids[0]}, the embeddings only {len(vectors)}")
        found += bool(len(ids)) and np.array_equal(vectors[ids[0]], probe)
    if found * 2 <= len(rows):
        raise IndexFormatError(f"{path}: the graph doesn't match the embeddings ({found} of {len(rows)} found)")
