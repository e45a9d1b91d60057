"""The assets directory's layout: what ``build_embeddings.py --out`` writes and the bot,
the playground and ``model.py`` load, file by file. The one place that names them: the
builder writes by these names, the engine reads and writes the index's files by them, the
answering room finds thumbnails by them.

    index.json          the index's metadata (``engine/index_files.IndexMeta``), written last:
                        FORMAT_VERSION, counts, HNSW parameters, calibration, ranking scalars,
                        gender probe, the "this is X" rule, each other file's size or checksum
    celebrities.jsonl   one JSON object a line, each celebrity's record in index order
                        (``lookalike.records.CelebrityRecord``), read a line at a time as needed
    genders.npy         each celebrity's gender code (int8: 0 female, 1 male, -1 unknown), which
                        the graphs are split by, so that loading reads no record
    embeddings.npy      the celebrities' vectors (n, 128) float32
    ranking.npz         the hub-aware ranking's per-celebrity statistics
    identity.npy        the "this is X" rule's per-celebrity tail distances, with a rule
    hnsw.nmslib         the graph over everyone; or hnsw.<female|male|unknown>.nmslib, one a
                        gender label, with a gender probe
    thumbs/<i>.jpg      celebrity i's face, as the answers show it
    build.json          the build's report (``builder.build.Report``)
    rejected.jpg, gallery.jpg   the build's contact sheets (``builder.contact_sheet``)

Format 4 (issue 29) holds the records as JSON Lines with their gender codes beside them;
format 3 held them as one JSON array, ``celebrities.json``: a load of an older format is
refused in one line that says to rebuild (the photo cache makes that the index's fits alone).
"""

from __future__ import annotations

from pathlib import Path

FORMAT_VERSION = 4
"""4: the records as JSON Lines (celebrities.jsonl, its SHA-256 in index.json) and their
gender codes (genders.npy); 3: one JSON array (celebrities.json); the graphs are over the
ranking's lifted vectors, one per gender label with a gender probe, since 3 (2: an optimised
graph over the plain vectors; 1: the plain graph)."""

META_FILE = "index.json"
CELEBRITIES_FILE = "celebrities.jsonl"
GENDERS_FILE = "genders.npy"
EMBEDDINGS_FILE = "embeddings.npy"
RANKING_FILE = "ranking.npz"
IDENTITY_FILE = "identity.npy"
GRAPH_FILE = "hnsw.nmslib"
UNKNOWN_GRAPH_NAME = "unknown"
"""The unknown gender label's part in its graph's file name: hnsw.unknown.nmslib."""
THUMBS_DIR = "thumbs"
BUILD_REPORT_FILE = "build.json"
REJECTED_SHEET_FILE = "rejected.jpg"
GALLERY_SHEET_FILE = "gallery.jpg"


def graph_file(part: str | None, gendered: bool) -> str:
    """The file of the graph over one part of the gallery: all of it without a gender probe,
    else one gender label's (None: unknown)."""
    return f"hnsw.{part or UNKNOWN_GRAPH_NAME}.nmslib" if gendered else GRAPH_FILE


def thumbnail(row: int) -> str:
    """Celebrity ``row``'s thumbnail, relative to the assets directory."""
    return f"{THUMBS_DIR}/{row}.jpg"


def thumbnail_path(assets_dir: Path, row: int) -> Path:
    """Celebrity ``row``'s thumbnail in ``assets_dir``."""
    return assets_dir / thumbnail(row)
