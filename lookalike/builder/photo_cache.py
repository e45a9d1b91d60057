"""The SQLite cache of per-photo analyses (every face of a photo) and face thumbnails, keyed by
content hash and settings.

A photo is analysed again only when its bytes or the pipeline settings (``settings_key``)
change, so a rebuild after adding photos analyses only the new ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlib
import numpy as np

from lookalike.engine import face_model as model
from lookalike.engine import second_look
from lookalike.engine.exact import DIMENSION
from lookalike.engine.gender_classifier import MODEL_FILE as GENDER_MODEL_FILE

log = logging.getLogger("build_embeddings")

PIPELINE_VERSION = 6
"""2: the gender classifier's score of the main face is stored; 4: that score averages the
face's chip and its mirror image; 5: a very dark photo is analysed in a cleaned copy
(engine/low_light.py); 6: every face of a photo is stored, not only the main one (a group
photo's face is chosen at selection, against the person's other photos). Bump when
build_embeddings' per-photo analysis changes (faces found, stored figures): it is part of the cache key."""
COMMIT_EVERY = 50  # cache rows written per transaction while the pool works
OLD_TABLES = ("photos", "thumbnails")
"""The tables of pipelines 1-5 (one face a photo, thumbnails by photo alone): their rows can
never be read again (the pipeline is part of every key), so they are dropped."""


@dataclass(slots=True)
class FaceFacts:
    """One face of a photo, as the build needs it: where it is, how usable, who it looks like."""

    box: tuple[int, int, int, int]  # left, top, right, bottom, in the decoded image's pixels
    eye_distance: float
    roll: float
    score: float  # the detector's confidence
    embedding: np.ndarray = field(repr=False)  # (128,) float32
    gender_score: float = 0.0  # the gender classifier's log-odds of male (engine.gender_classifier)


@dataclass
class PhotoResult:
    """The analysis of one photo: every face found (at most the detector's MAX_FACES), and which
    of them is the photo's subject by the main-face rule; or why there is none. What the cache holds."""

    status: str  # "ok" (at least one face) or a key of build.REASONS: unreadable, no_face, failed
    faces: list[FaceFacts] = field(default_factory=list)  # largest first
    main: int | None = None  # the main face's index in ``faces`` (face_workers.choose_main_face); None: no clear one
    detail: str = ""
    second_look: bool = False  # the faces were found by the second look (engine.second_look)


def settings_key(jitters: int) -> tuple[str, dict[str, Any]]:
    """A digest of everything besides the photo that changes its analysis, and the settings themselves."""
    models = {}
    for role, path in sorted({**model.model_paths(), "gender": str(GENDER_MODEL_FILE)}.items()):
        with open(path, "rb") as file:
            models[role] = hashlib.file_digest(file, "sha256").hexdigest()
    settings = {
        "pipeline": PIPELINE_VERSION,
        "jitters": jitters,
        "models": models,
        "dlib": getattr(dlib, "__version__", "?"),
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
    """Analyses and thumbnails in SQLite, keyed by photo SHA-256 and the settings digest
    (a thumbnail also by the face's box and its size)."""

    def __init__(self, path: Path | str, settings: str):
        self.path = Path(path)
        self.settings = settings
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        old = [name for name in OLD_TABLES if self._has_table(name)]
        for name in old:
            self._db.execute(f"DROP TABLE {name}")
        if old:
            log.info("photo cache %s: an older pipeline's rows dropped; its photos are analysed again", self.path)
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS analyses (
                sha256 TEXT NOT NULL, settings TEXT NOT NULL, status TEXT NOT NULL,
                faces TEXT NOT NULL, embeddings BLOB, main INTEGER, detail TEXT NOT NULL, second_look INTEGER NOT NULL,
                PRIMARY KEY (sha256, settings));
            CREATE TABLE IF NOT EXISTS face_thumbnails (
                sha256 TEXT NOT NULL, settings TEXT NOT NULL, box TEXT NOT NULL, size INTEGER NOT NULL,
                jpeg BLOB NOT NULL, PRIMARY KEY (sha256, settings, box, size));
            """
        )
        self._pending = 0

    def _has_table(self, name: str) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self._db.execute(query, (name,)).fetchone() is not None

    def get(self, sha256: str) -> PhotoResult | None:
        row = self._db.execute(
            "SELECT status, faces, embeddings, main, detail, second_look FROM analyses WHERE sha256 = ? AND settings = ?",
            (sha256, self.settings),
        ).fetchone()
        if row is None:
            return None
        status, faces, embeddings, main, detail, second_look = row
        facts = json.loads(faces)
        vectors = np.frombuffer(embeddings or b"", dtype=np.float32).reshape(len(facts), DIMENSION)
        return PhotoResult(
            status=status,
            faces=[
                FaceFacts(
                    box=(box[0], box[1], box[2], box[3]),
                    eye_distance=eye_distance,
                    roll=roll,
                    score=score,
                    embedding=vector.copy(),
                    gender_score=gender_score,
                )
                for (box, eye_distance, roll, score, gender_score), vector in zip(facts, vectors)
            ],
            main=main,
            detail=detail,
            second_look=bool(second_look),
        )

    def put(self, sha256: str, result: PhotoResult) -> None:
        facts = [[list(f.box), f.eye_distance, f.roll, f.score, f.gender_score] for f in result.faces]
        embeddings = b"".join(np.asarray(f.embedding, np.float32).tobytes() for f in result.faces)
        self._db.execute(
            "INSERT OR REPLACE INTO analyses (sha256, settings, status, faces, embeddings, main, detail, second_look)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sha256,
                self.settings,
                result.status,
                json.dumps(facts),
                embeddings,
                result.main,
                result.detail,
                int(result.second_look),
            ),
        )
        self._pending += 1
        if self._pending >= COMMIT_EVERY:
            self.commit()

    def get_thumbnail(self, sha256: str, box: tuple[int, int, int, int], size: int) -> bytes | None:
        """The thumbnail of the face at ``box`` in the photo ``sha256``: a photo of several people
        has one per face shown."""
        row = self._db.execute(
            "SELECT jpeg FROM face_thumbnails WHERE sha256 = ? AND settings = ? AND box = ? AND size = ?",
            (sha256, self.settings, json.dumps(list(box)), size),
        ).fetchone()
        return None if row is None else bytes(row[0])

    def put_thumbnail(self, sha256: str, box: tuple[int, int, int, int], size: int, jpeg: bytes) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO face_thumbnails VALUES (?, ?, ?, ?, ?)",
            (sha256, self.settings, json.dumps(list(box)), size, jpeg),
        )
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

    def __exit__(self, *exc_info: object) -> None:
        self.close()
