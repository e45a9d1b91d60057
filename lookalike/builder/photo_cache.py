"""The SQLite cache of per-photo analyses and thumbnails, keyed by content hash and settings.

A photo is analysed again only when its bytes or the pipeline settings (``settings_key``)
change, so a rebuild after adding photos analyses only the new ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lookalike.engine import face_model as model
from lookalike.engine import second_look
from lookalike.engine.gender_classifier import MODEL_FILE as GENDER_MODEL_FILE

PIPELINE_VERSION = 5
"""2: the gender classifier's score of the main face is stored; 4: that score averages the
face's chip and its mirror image; 5: a very dark photo is analysed in a cleaned copy
(engine/low_light.py). Bump when build_embeddings' per-photo analysis changes (main-face rule, stored figures): it is part of the cache key."""
COMMIT_EVERY = 50  # cache rows written per transaction while the pool works


@dataclass
class PhotoResult:
    """The analysis of one photo: its main face, or why there is none. What the cache holds."""

    status: str  # "ok" or a key of build_embeddings.REASONS
    faces: int = 0
    box: tuple[int, int, int, int] | None = None  # main face: left, top, right, bottom
    eye_distance: float = 0.0
    roll: float = 0.0
    score: float = 0.0
    embedding: np.ndarray | None = field(default=None, repr=False)  # (128,) float32
    detail: str = ""
    gender_score: float = 0.0  # the gender classifier's log-odds of male (engine.gender_classifier)
    second_look: bool = False  # the face was found by the second look (engine.second_look)


def settings_key(jitters: int) -> tuple[str, dict]:
    """A digest of everything besides the photo that changes its analysis, and the settings themselves."""
    models = {}
    for role, path in sorted({**model.model_paths(), "gender": str(GENDER_MODEL_FILE)}.items()):
        with open(path, "rb") as file:
            models[role] = hashlib.file_digest(file, "sha256").hexdigest()
    settings = {
        "pipeline": PIPELINE_VERSION,
        "jitters": jitters,
        "models": models,
        "dlib": getattr(model.dlib, "__version__", "?"),
        "detect_side": model.DETECT_SIDE,
        "max_faces": model.MAX_FACES,
        "second_look": {
            "roll_angles": list(second_look.ROLL_ANGLES),
            "min_score": second_look.TURNED_MIN_SCORE,
            "time_cap": second_look.TIME_CAP,
        },
    }
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]
    return key, settings


class PhotoCache:
    """Analyses and thumbnails in SQLite, keyed by photo SHA-256 and the settings digest."""

    def __init__(self, path: Path | str, settings: str):
        self.path = Path(path)
        self.settings = settings
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS photos (
                sha256 TEXT NOT NULL, settings TEXT NOT NULL, status TEXT NOT NULL,
                faces INTEGER NOT NULL, box TEXT, eye_distance REAL, roll REAL, score REAL,
                embedding BLOB, detail TEXT, gender_score REAL, second_look INTEGER,
                PRIMARY KEY (sha256, settings));
            CREATE TABLE IF NOT EXISTS thumbnails (
                sha256 TEXT NOT NULL, settings TEXT NOT NULL, size INTEGER NOT NULL, jpeg BLOB NOT NULL,
                PRIMARY KEY (sha256, settings, size));
            """
        )
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(photos)")}
        if "gender_score" not in columns:  # a cache written before pipeline 2: its rows stay, unused
            self._db.execute("ALTER TABLE photos ADD COLUMN gender_score REAL")
        if "second_look" not in columns:  # likewise before pipeline 3
            self._db.execute("ALTER TABLE photos ADD COLUMN second_look INTEGER")
        self._pending = 0

    def get(self, sha256: str) -> PhotoResult | None:
        row = self._db.execute(
            "SELECT status, faces, box, eye_distance, roll, score, embedding, detail, gender_score, second_look"
            " FROM photos WHERE sha256 = ? AND settings = ?",
            (sha256, self.settings),
        ).fetchone()
        if row is None:
            return None
        status, faces, box, eye_distance, roll, score, embedding, detail, gender_score, second_look = row
        return PhotoResult(
            status=status,
            faces=faces,
            box=tuple(json.loads(box)) if box else None,
            eye_distance=eye_distance or 0.0,
            roll=roll or 0.0,
            score=score or 0.0,
            embedding=np.frombuffer(embedding, dtype=np.float32).copy() if embedding is not None else None,
            detail=detail or "",
            gender_score=gender_score or 0.0,
            second_look=bool(second_look),
        )

    def put(self, sha256: str, result: PhotoResult) -> None:
        embedding = None if result.embedding is None else np.asarray(result.embedding, np.float32).tobytes()
        self._db.execute(
            "INSERT OR REPLACE INTO photos (sha256, settings, status, faces, box, eye_distance, roll, score,"
            " embedding, detail, gender_score, second_look) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sha256,
                self.settings,
                result.status,
                result.faces,
                json.dumps(list(result.box)) if result.box else None,
                result.eye_distance,
                result.roll,
                result.score,
                embedding,
                result.detail,
                result.gender_score,
                int(result.second_look),
            ),
        )
        self._pending += 1
        if self._pending >= COMMIT_EVERY:
            self.commit()

    def get_thumbnail(self, sha256: str, size: int) -> bytes | None:
        row = self._db.execute(
            "SELECT jpeg FROM thumbnails WHERE sha256 = ? AND settings = ? AND size = ?", (sha256, self.settings, size)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def put_thumbnail(self, sha256: str, size: int, jpeg: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO thumbnails VALUES (?, ?, ?, ?)", (sha256, self.settings, size, jpeg))
        self._pending += 1

    def commit(self) -> None:
        self._db.commit()
        self._pending = 0

    def close(self) -> None:
        """Commit what is there (a failed build keeps its progress) and close."""
        with contextlib.suppress(sqlite3.Error):
            self.commit()
        self._db.close()

    def __enter__(self) -> PhotoCache:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
