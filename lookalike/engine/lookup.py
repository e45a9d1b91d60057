"""Photos on disk -> one result per face with its look-alikes: what ``model.py`` prints,
with the same names, distances and similarities, in the same order, as the bot (both
ask ``CelebrityIndex.look_alikes``): the matches, the face's predicted gender and the
other gender's best look-alike (the bot's extra button) when the catalog labels genders,
and ``this_is`` naming the celebrity when the face almost surely is that celebrity."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.engine.face_model import FaceModel
from lookalike.engine.face_workers import faces_in_photo
from lookalike.engine.index import CelebrityIndex, Match

log = logging.getLogger(__name__)


NO_FACE = "no face found"
"""The error of a photo that was read but has no usable face: an answer, not a failure."""


def photo_lines(path: str, model: FaceModel, index: CelebrityIndex, top: int) -> list[dict[str, Any]]:
    """One dict per face of the photo at ``path`` (or one with an ``error``), ready for JSON."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return _error(path, exc)
    photo = faces_in_photo(model, data)
    if photo.error is not None:
        return _error(path, photo.error)
    faces = photo.faces
    if not faces:
        return [{"photo": path, "error": NO_FACE}]
    answers = index.look_alikes(
        np.stack([face.embedding for face in faces]), k=top, gender_scores=np.array([f.gender_score for f in faces])
    )
    lines = []
    for face, answer in zip(faces, answers):
        line: dict[str, object] = {"photo": path, "box": list(face.box), "matches": [_match(m) for m in answer.matches]}
        if answer.this_is is not None:
            line["this_is"] = answer.this_is.name
        if answer.gender is not None:
            line["gender"] = answer.gender
            line["other"] = None if answer.other is None else _match(answer.other)
        lines.append(line)
    return lines


def _error(path: str, exc: Exception) -> list[dict[str, Any]]:
    log.warning("%s: %s", path, exc)
    return [{"photo": path, "error": str(exc)}]


def _match(match: Match) -> dict[str, Any]:
    return {"name": match.name, "distance": round(match.distance, 6), "similarity": round(match.similarity, 6)}
