"""The index's files in an assets directory: writing them, reading them back, and checking
that they belong together (``IndexFormatError`` when anything is missing, corrupt or disagrees).

    index.json        IndexMeta: format, HNSW parameters, calibration, ranking's scalars, gender probe,
                      the "this is X" rule's form and limit (absent, or of an older form: no rule)
    embeddings.npy    the celebrities' vectors (n, 128) float32
    celebrities.json  each celebrity's record as the builder gave it
    ranking.npz       the ranking's per-celebrity statistics
    identity.npy      the "this is X" rule's per-celebrity tail distances (n,) float32, with a rule
    hnsw*.nmslib      the graphs: hnsw.nmslib over everyone, or hnsw.<gender>.nmslib per gender label
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.engine import hnsw
from lookalike.engine.calibration import Calibration
from lookalike.engine.exact import DIMENSION
from lookalike.engine.gender import GenderProbe
from lookalike.engine.hnsw import Graph, HnswParameters
from lookalike.engine.identity import IdentityRule, Limits, rule_json, rule_limits
from lookalike.engine.json_array import json_file_items
from lookalike.engine.ranking import Ranking
from lookalike.engine.search import GraphParts, partitions

log = logging.getLogger(__name__)

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
IDENTITY_FILE = "identity.npy"
UNKNOWN_GRAPH_NAME = "unknown"
"""The unknown gender label's part in its graph's file name: hnsw.unknown.nmslib."""

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
    identity_limits: Limits | None = None  # the "this is X" rule's (its tails are in IDENTITY_FILE)

    def to_json(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "graph_bytes": self.graph_bytes,
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
                    f"{path}: format version {meta['format_version']}, expected {FORMAT_VERSION}: "
                    "rebuild it with build_embeddings.py (photos it has analysed come from its cache)"
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
                identity_limits=rule_limits(meta.get("identity_rule")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IndexFormatError(f"{path}: malformed index metadata ({exc!r})") from exc


@dataclass(frozen=True)
class StoredIndex:
    """An assets directory's index as read and checked: its metadata, celebrities and graphs."""

    meta: IndexMeta
    celebrities: list[dict]
    graph_parts: GraphParts
    identity: IdentityRule | None


def graph_file(part: str | None, gendered: bool) -> str:
    """The file of the graph over one part of the gallery: all of it without a probe, else
    one gender label's (None: unknown)."""
    return f"hnsw.{part or UNKNOWN_GRAPH_NAME}.nmslib" if gendered else GRAPH_FILE


def write_index(
    directory: Path,
    graph_parts: GraphParts,
    celebrities: list[dict],
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
    np.savez(directory / RANKING_FILE, photos=graph_parts.ranking.photos, reach=graph_parts.ranking.reach)
    if identity is not None:
        np.save(directory / IDENTITY_FILE, identity.tails, allow_pickle=False)
    _write_json(directory / CELEBRITIES_FILE, celebrities)
    meta = IndexMeta(
        count=len(graph_parts),
        parameters=graph_parts.parameters,
        calibration=calibration,
        ranking=graph_parts.ranking.parameters(),
        probe=graph_parts.probe,
        graph_bytes=graph_bytes,
        identity_limits=None if identity is None else identity.limits,
    )
    _write_json(directory / META_FILE, meta.to_json())


def read_index(directory: Path, num_threads: int, beside_a_loop: bool = False) -> StoredIndex:
    """Read what ``write_index`` wrote, raising ``IndexFormatError`` if anything is missing or disagrees.

    ``beside_a_loop``: read in a thread while an event loop answers in another, so the
    celebrities' records are decoded and parsed a chunk and an item at a time (json_array.py:
    ~2.5x the time of one ``json.loads``, without holding the GIL for seconds at a million)."""
    meta = IndexMeta.from_json(_read_json(directory / META_FILE), directory / META_FILE)
    celebrities = _read_celebrities(directory / CELEBRITIES_FILE, meta.count, beside_a_loop)
    ranking = _read_ranking(directory / RANKING_FILE, meta.ranking, meta.count)
    lifted = _read_lifted(directory / EMBEDDINGS_FILE, meta.count, ranking)
    parts = partitions(celebrities, meta.probe)
    gendered = meta.probe is not None
    if set(meta.graph_bytes) != {graph_file(part, gendered) for part in parts}:
        raise IndexFormatError(
            f"{directory / META_FILE}: graphs {sorted(meta.graph_bytes)} do not fit the catalog's genders"
        )
    graphs = {}
    for part, rows in parts.items():
        name = graph_file(part, gendered)
        graphs[part] = _read_graph(directory / name, meta.graph_bytes[name], lifted, rows, meta.parameters.ef_search)
    graph_parts = GraphParts(ranking, meta.probe, lifted, parts, graphs, meta.parameters, num_threads)
    identity = None
    if meta.identity_limits is not None:
        identity = IdentityRule(meta.identity_limits, _read_tails(directory / IDENTITY_FILE, meta.count))
    return StoredIndex(meta, celebrities, graph_parts, identity)


def check_celebrities(celebrities: list[dict], count: int) -> None:
    """Raise ValueError unless there are ``count`` celebrities, each with a name."""
    if len(celebrities) != count:
        raise ValueError(f"{count} vectors but {len(celebrities)} celebrities")
    unnamed = [i for i, celebrity in enumerate(celebrities) if not isinstance(celebrity.get("name"), str)]
    if unnamed:
        raise ValueError(f"celebrities without a name: rows {unnamed[:10]}")


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
        tails = np.load(path, allow_pickle=False)
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


def _read_celebrities(path: Path, count: int, item_by_item: bool) -> list[dict]:
    try:
        if item_by_item:
            with path.open("rb") as file:
                celebrities = json_file_items(file)
        else:
            celebrities = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise IndexFormatError(f"{path}: cannot read ({exc})") from exc
    if not isinstance(celebrities, list) or len(celebrities) != count:
        raise IndexFormatError(f"{path}: expected a list of {count} celebrities")
    try:
        check_celebrities(celebrities, count)
    except (AttributeError, ValueError) as exc:
        raise IndexFormatError(f"{path}: {exc}") from exc
    return celebrities


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
