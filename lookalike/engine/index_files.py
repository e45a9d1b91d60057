"""The index's files in an assets directory (their names and format: ``lookalike.assets_layout``):
writing them, reading them back, and checking that they belong together (``IndexFormatError``
when anything is missing, corrupt or disagrees). index.json, written last, holds ``IndexMeta``:
enough to read every other file and check it against it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.assets_layout import (
    CELEBRITIES_FILE,
    EMBEDDINGS_FILE,
    FORMAT_VERSION,
    GENDERS_FILE,
    IDENTITY_FILE,
    META_FILE,
    RANKING_FILE,
    graph_file,
)
from lookalike.engine import hnsw
from lookalike.engine.calibration import Calibration
from lookalike.engine.celebrity_records import CelebrityRecords, RecordsError
from lookalike.engine.exact import DIMENSION
from lookalike.engine.gender import CODES, UNKNOWN_CODE, GenderProbe
from lookalike.engine.hnsw import Graph, HnswParameters
from lookalike.engine.identity import IdentityRule, Limits, rule_json, rule_limits
from lookalike.engine.ranking import Ranking
from lookalike.engine.search import GraphParts, partitions

log = logging.getLogger(__name__)

_RANKING_SCALARS = ("spread", "spread_weight", "reach_neighbours", "reach_weight")
_GRAPH_PROBES = 8


class IndexFormatError(Exception):
    """An assets directory is missing the index's files, or they are corrupt or disagree."""


@dataclass(frozen=True)
class IndexMeta:
    """What index.json holds: enough to read the other files and check them against it."""

    count: int
    parameters: HnswParameters
    calibration: Calibration
    ranking: dict[str, Any]  # Ranking's scalars (``Ranking.parameters``)
    probe: GenderProbe | None
    graph_bytes: dict[str, int]  # each graph file's size
    celebrities_sha256: str  # CELEBRITIES_FILE's
    identity_limits: Limits | None = None  # the "this is X" rule's (its tails are in IDENTITY_FILE)

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "graph_bytes": self.graph_bytes,
            "celebrities_sha256": self.celebrities_sha256,
            "method": "hnsw",
            "space": "l2",
            "dimension": DIMENSION,
            "count": self.count,
            "parameters": self.parameters.to_json(),
            "calibration": asdict(self.calibration),
            "ranking": self.ranking,
            "gender_probe": None if self.probe is None else self.probe.to_json(),
            "identity_rule": None if self.identity_limits is None else rule_json(self.identity_limits),
        }

    @classmethod
    def from_json(cls, meta: Any, path: Path) -> IndexMeta:
        """Check and type index.json's content, raising ``IndexFormatError``."""
        try:
            if meta["format_version"] != FORMAT_VERSION:
                raise IndexFormatError(
                    f"{path.parent}: an index of format {meta['format_version']}, this version reads format "
                    f"{FORMAT_VERSION}: rebuild it with build_embeddings.py (the photos come from its cache)"
                )
            if meta["dimension"] != DIMENSION:
                raise IndexFormatError(f"{path}: dimension {meta['dimension']}, expected {DIMENSION}")
            return cls(
                count=int(meta["count"]),
                parameters=HnswParameters.from_json(meta["parameters"]),
                calibration=Calibration(**meta["calibration"]),
                ranking={key: meta["ranking"][key] for key in _RANKING_SCALARS},
                probe=None if meta["gender_probe"] is None else GenderProbe.from_json(meta["gender_probe"]),
                graph_bytes={str(name): int(size) for name, size in meta["graph_bytes"].items()},
                celebrities_sha256=str(meta["celebrities_sha256"]),
                identity_limits=rule_limits(meta.get("identity_rule")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IndexFormatError(f"{path}: malformed index metadata ({exc!r})") from exc


@dataclass(frozen=True)
class StoredIndex:
    """An assets directory's index as read and checked: its metadata, celebrities and graphs."""

    meta: IndexMeta
    celebrities: CelebrityRecords
    graph_parts: GraphParts
    identity: IdentityRule | None


def write_index(
    directory: Path,
    graph_parts: GraphParts,
    celebrities: CelebrityRecords,
    calibration: Calibration,
    identity: IdentityRule | None = None,
) -> None:
    """Write the index into the existing ``directory``; index.json goes last.

    The graph files hold nmslib's search copy of the vectors (reading needs nothing else
    to search); embeddings.npy keeps them as a plain array, for exact distances and for
    anyone who wants the gallery's vectors.
    """
    if not directory.is_dir():
        raise FileNotFoundError(f"no such directory: {directory}")
    gendered = graph_parts.probe is not None
    graph_bytes = {}
    for part, graph in graph_parts.graphs.items():
        name = graph_file(part, gendered)
        graph_bytes[name] = hnsw.save_graph(graph, directory / name)
    np.save(directory / EMBEDDINGS_FILE, graph_parts.vectors, allow_pickle=False)
    np.save(directory / GENDERS_FILE, graph_parts.genders, allow_pickle=False)
    np.savez(directory / RANKING_FILE, photos=graph_parts.ranking.photos, reach=graph_parts.ranking.reach)
    if identity is not None:
        np.save(directory / IDENTITY_FILE, identity.tails, allow_pickle=False)
    celebrities_sha256 = celebrities.write(directory / CELEBRITIES_FILE)
    meta = IndexMeta(
        count=len(graph_parts),
        parameters=graph_parts.parameters,
        calibration=calibration,
        ranking=graph_parts.ranking.parameters(),
        probe=graph_parts.probe,
        graph_bytes=graph_bytes,
        celebrities_sha256=celebrities_sha256,
        identity_limits=None if identity is None else identity.limits,
    )
    _write_json(directory / META_FILE, meta.to_json())


def read_index(directory: Path, num_threads: int) -> StoredIndex:
    """Read what ``write_index`` wrote, raising ``IndexFormatError`` if anything is missing or disagrees.

    The celebrities' records are read as their text and parsed one by one as they are asked
    for (``CelebrityRecords``); the graphs are split by the gender codes beside them."""
    meta = IndexMeta.from_json(_read_json(directory / META_FILE), directory / META_FILE)
    celebrities = _read_celebrities(directory / CELEBRITIES_FILE, meta)
    genders = _read_genders(directory / GENDERS_FILE, meta.count)
    ranking = _read_ranking(directory / RANKING_FILE, meta.ranking, meta.count)
    lifted = _read_lifted(directory / EMBEDDINGS_FILE, meta.count, ranking)
    parts = partitions(genders, meta.probe)
    gendered = meta.probe is not None
    if set(meta.graph_bytes) != {graph_file(part, gendered) for part in parts}:
        raise IndexFormatError(
            f"{directory / META_FILE}: graphs {sorted(meta.graph_bytes)} do not fit the catalog's genders"
        )
    graphs = {}
    for part, rows in parts.items():
        name = graph_file(part, gendered)
        graphs[part] = _read_graph(directory / name, meta.graph_bytes[name], lifted, rows, meta.parameters.ef_search)
    graph_parts = GraphParts(ranking, meta.probe, lifted, genders, parts, graphs, meta.parameters, num_threads)
    identity = None
    if meta.identity_limits is not None:
        identity = IdentityRule(meta.identity_limits, _read_tails(directory / IDENTITY_FILE, meta.count))
    return StoredIndex(meta, celebrities, graph_parts, identity)


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFormatError(f"{path}: cannot read ({exc})") from exc


def _read_ranking(path: Path, scalars: dict[str, Any], count: int) -> Ranking:
    try:
        with np.load(path, allow_pickle=False) as stored:
            photos, reach = stored["photos"], stored["reach"]
    except (OSError, ValueError, EOFError, KeyError) as exc:
        raise IndexFormatError(f"{path}: cannot read the ranking's statistics ({exc})") from exc
    if photos.shape != (count,) or reach.shape != (count,) or (photos < 1).any() or not np.isfinite(reach).all():
        raise IndexFormatError(
            f"{path}: ranking statistics of shapes {photos.shape}, {reach.shape}, expected ({count},)"
        )
    return Ranking(photos, reach, **scalars)


def _read_tails(path: Path, count: int) -> np.ndarray:
    try:
        tails: np.ndarray = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise IndexFormatError(f"{path}: cannot read the 'this is X' rule's tails ({exc})") from exc
    if tails.shape != (count,) or not (np.isfinite(tails) & (tails >= 0)).all():
        raise IndexFormatError(f"{path}: tails of shape {tails.shape}, expected ({count},) finite distances")
    return tails


def _read_lifted(path: Path, count: int, ranking: Ranking) -> np.ndarray:
    """The lifted vectors (``search.lift``), embeddings.npy read straight into their first
    128 columns a block of rows at a time: no second copy of a million celebrities' vectors
    (512 MB) beside them while the bot reloads. Read, not mapped: a file replaced in place
    under a mapping (``cp`` over it) would kill the bot with SIGBUS."""
    lifted = np.empty((count, DIMENSION + 1), np.float32)
    try:
        with path.open("rb") as file:
            version = np.lib.format.read_magic(file)
            header = _NPY_HEADERS.get(version)
            if header is None:
                raise ValueError(f"an .npy file of version {version}")
            shape, fortran_order, dtype = header(file)
            if dtype != np.float32 or shape != (count, DIMENSION) or fortran_order:
                raise IndexFormatError(f"{path}: {dtype} {shape}, expected float32 ({count}, {DIMENSION})")
            block = np.empty((min(count, _READ_ROWS), DIMENSION), np.float32)
            for start in range(0, count, _READ_ROWS):
                rows = block[: min(_READ_ROWS, count - start)]
                if file.readinto(rows.data.cast("B")) != rows.nbytes:
                    raise EOFError("the file ends before its last vector")
                lifted[start : start + len(rows), :DIMENSION] = rows
    except (OSError, ValueError, EOFError) as exc:
        raise IndexFormatError(f"{path}: cannot read the embeddings ({exc})") from exc
    lifted[:, DIMENSION] = ranking.lifts
    return lifted


_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_READ_ROWS = 65_536
"""Embeddings per read: 32 MB."""


def _read_celebrities(path: Path, meta: IndexMeta) -> CelebrityRecords:
    try:
        return CelebrityRecords.read(path, meta.count, meta.celebrities_sha256)
    except (OSError, RecordsError) as exc:
        raise IndexFormatError(f"{path}: cannot read ({exc})") from exc


def _read_genders(path: Path, count: int) -> np.ndarray:
    try:
        genders: np.ndarray = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise IndexFormatError(f"{path}: cannot read the gender codes ({exc})") from exc
    if (
        genders.shape != (count,)
        or genders.dtype != np.int8
        or not np.isin(genders, [*CODES.values(), UNKNOWN_CODE]).all()
    ):
        raise IndexFormatError(f"{path}: {genders.dtype} {genders.shape}, expected ({count},) int8 gender codes")
    return genders


def _read_graph(path: Path, expected_bytes: int, lifted: np.ndarray, rows: np.ndarray, ef_search: int) -> Graph:
    """Load the graph over ``lifted[rows]`` and check that it belongs with them.

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
    try:
        graph = hnsw.load_graph(path)
    except RuntimeError as exc:  # nmslib's own checks of the file
        raise IndexFormatError(f"{path}: {exc}") from exc
    _check_graph(graph, lifted, rows, ef_search, path)
    return graph


def _check_graph(graph: Graph, lifted: np.ndarray, rows: np.ndarray, ef_search: int, path: Path) -> None:
    """Search for ``_GRAPH_PROBES`` of the graph's vectors (``lifted[rows]``); most must come back at distance 0.

    "Most", not all: HNSW is approximate, and a false alarm would stop the bot
    from loading a sound index. A graph over other vectors finds none.
    """
    points = np.unique(np.linspace(0, len(rows) - 1, _GRAPH_PROBES).astype(np.int64))
    probes = np.ascontiguousarray(lifted[rows[points]])
    nearest = hnsw.nearest(graph, probes, 1, ef_search, num_threads=1)[0][:, 0]
    if nearest.max() >= len(rows):
        raise IndexFormatError(f"{path}: the graph has point {nearest.max()}, the embeddings only {len(rows)}")
    hit = nearest >= 0
    found = int(np.all(lifted[rows[nearest[hit]]] == probes[hit], axis=1).sum())
    if found * 2 <= len(points):
        raise IndexFormatError(f"{path}: the graph doesn't match the embeddings ({found} of {len(points)} found)")
