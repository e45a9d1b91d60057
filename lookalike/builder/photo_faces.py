"""One photo as the builder records it: every face in it, the main one marked, or why it
cannot be used. What a pool process (``photo_analysis``) and a Dask worker (``dask_analysis``)
each do with a photo, so that neither of the two imports the other."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from lookalike.builder.photo_cache import FaceFacts, PhotoResult
from lookalike.engine import face_model as model
from lookalike.engine.face_workers import choose_main_face, faces_in_photo


def analyse_image(face_model: model.FaceModel, data: bytes, jitters: int) -> PhotoResult:
    """Decode ``data`` and describe every face in it, marking the main one (``choose_main_face``):
    which face is the person's is decided later, against their other photos (``face_choice``).
    A rejection (never an exception) for bad bytes. The boxes are in the decoded image's pixels,
    where ``thumbnail_jpeg`` frames them."""
    photo = faces_in_photo(face_model, data, jitters=jitters, photo_pixels=False)
    if photo.error is not None:
        return PhotoResult(status="unreadable", detail=f"{photo.error.reason}: {photo.error}")
    if not photo.faces or photo.image is None:
        return PhotoResult(status="no_face")
    height, width = photo.image.shape[:2]
    main = choose_main_face(photo.faces, width, height)
    return PhotoResult(
        status="ok",
        faces=[
            FaceFacts(
                box=(int(face.box[0]), int(face.box[1]), int(face.box[2]), int(face.box[3])),
                eye_distance=float(face.eye_distance),
                roll=float(face.roll),
                score=float(face.score),
                embedding=np.asarray(face.embedding, dtype=np.float32),
                gender_score=float(face.gender_score),
            )
            for face in photo.faces
        ],
        main=next((i for i, face in enumerate(photo.faces) if face is main), None),
        second_look=photo.second_look,
    )


def analyse_photo(face_model: model.FaceModel, photo: str | bytes, jitters: int) -> tuple[str | None, PhotoResult]:
    """A photo, as its bytes or a path to read them from: its SHA-256 (None if it cannot be
    read) and its analysis. Never raises: what a pool process or a Dask worker does per photo."""
    if isinstance(photo, bytes):
        data = photo
    else:
        try:
            data = Path(photo).read_bytes()
        except OSError as exc:
            return None, PhotoResult(status="unreadable", detail=str(exc))
    digest = hashlib.sha256(data).hexdigest()
    try:
        return digest, analyse_image(face_model, data, jitters)
    except Exception as exc:  # dlib's RuntimeError and the like: reject the photo, not the build
        return None, PhotoResult(status="failed", detail=f"{type(exc).__name__}: {exc}")
