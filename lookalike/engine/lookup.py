"""Photos on disk -> one result per face with its nearest celebrities: what ``model.py``
prints, with the same names, distances and similarities, in the same order, as the bot."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from lookalike.engine.face_model import FaceModel
from lookalike.engine.imaging import ImageError
from lookalike.engine.index import CelebrityIndex

log = logging.getLogger(__name__)


def photo_lines(path: str, model: FaceModel, celebrities: CelebrityIndex, top: int) -> list[dict]:
    """One dict per face of the photo at ``path`` (or one with an ``error``), ready for JSON."""
    try:
        faces = model.faces_in_bytes(Path(path).read_bytes())
    except (OSError, ImageError) as exc:
        log.warning("%s: %s", path, exc)
        return [{"photo": path, "error": str(exc)}]
    if not faces:
        return [{"photo": path, "error": "no face found"}]
    results = celebrities.query(np.stack([face.embedding for face in faces]), k=top)
    return [
        {
            "photo": path,
            "box": list(face.box),
            "matches": [
                {"name": m.name, "distance": round(m.distance, 6), "similarity": round(m.similarity, 6)}
                for m in matches
            ],
        }
        for face, matches in zip(faces, results)
    ]
