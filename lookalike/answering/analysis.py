"""What a worker process does with one photo: bytes in, plain picklable results out.

Decoding, detection, embeddings and every picture that needs the full image (face crops,
the numbered group picture) happen here, in the worker; the bot's process only looks the
embeddings up in the index and sends the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lookalike.answering import pictures
from lookalike.engine import framing
from lookalike.engine.face_model import FaceModel
from lookalike.engine.face_workers import PhotoFaces, faces_in_photo, faces_in_video
from lookalike.engine.video import VideoError

MAX_FACES = 5
"""Faces answered per photo, largest first."""


@dataclass
class FoundFace:
    box: tuple[int, int, int, int]
    eye_distance: float  # pixels: a small face gets a tip about a closer selfie
    embedding: np.ndarray = field(repr=False)  # (128,) float32
    crop: bytes = field(repr=False)  # JPEG, framing.CROP_SIDE px high
    gender_score: float = 0.0  # the gender classifier's log-odds of male (engine.gender_classifier)


@dataclass
class Analysis:
    faces: list[FoundFace] = field(default_factory=list)
    group_picture: bytes | None = field(default=None, repr=False)  # JPEG, numbered boxes; only for 2+ faces
    error: str | None = None  # an ImageError reason when the bytes are not a usable image

    @property
    def embeddings(self) -> np.ndarray:
        return np.stack([face.embedding for face in self.faces])

    @property
    def gender_scores(self) -> np.ndarray:
        return np.array([face.gender_score for face in self.faces])


def analyse(model: FaceModel, data: bytes, max_faces: int = MAX_FACES) -> Analysis:
    """Find up to ``max_faces`` faces in ``data`` with a FaceModel, and draw what the reply needs."""
    photo = faces_in_photo(model, data, max_faces=max_faces, photo_pixels=False)  # boxes to draw on its image
    if photo.error is not None:
        return Analysis(error=photo.error.reason)
    return _drawn(photo)


def analyse_video(model: FaceModel, data: bytes, max_faces: int = MAX_FACES) -> Analysis:
    """The same for a video (a video note): the faces of its sharpest sampled frame; ``error``
    a ``VideoError`` reason ("bad_video", "too_long", "too_large")."""
    try:
        frame = faces_in_video(model, data, max_faces=max_faces)
    except VideoError as exc:
        return Analysis(error=exc.reason)
    return _drawn(frame)


def _drawn(photo: PhotoFaces) -> Analysis:
    """The faces found, with their crops and, for two or more, the numbered picture."""
    if not photo.faces:
        return Analysis()
    image = photo.image
    assert image is not None  # decoded whenever there is no error
    found = [
        FoundFace(
            box=(int(face.box[0]), int(face.box[1]), int(face.box[2]), int(face.box[3])),
            eye_distance=face.eye_distance,
            embedding=face.embedding,
            gender_score=face.gender_score,
            crop=framing.face_crop(image, face.box),
        )
        for face in photo.faces
    ]
    group = pictures.group_picture(image, [face.box for face in found]) if len(found) > 1 else None
    return Analysis(faces=found, group_picture=group)
