"""The face workers: the processes that hold a FaceModel, and what any of them does with a photo.

The answering room's pool (``answering/face_pool.py``), the builder's pool (``builder/photo_analysis.py``) and
``model.py`` (``engine/lookup.py``) all look at a photo through ``faces_in_photo``, and both
pools start their processes through ``forkserver_context`` and ``start_worker``, so the
three can no longer drift apart (a stale preload list once made every build worker load dlib
itself).

Workers fork from multiprocessing's fork server, which imports ``FORKSERVER_PRELOAD`` once:
each worker starts with dlib imported and loads its models in ``start_worker``, never at
import, so the fork server stays small and a worker pays for its models once.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import ForkServerContext
from typing import Any, Protocol

import numpy as np
from PIL import Image

from lookalike.engine import low_light, video
from lookalike.engine.face_model import MAX_FACES, Face, FaceModel
from lookalike.engine.imaging import ImageError, decode_image_scaled
from lookalike.engine.second_look import look_again

FORKSERVER_PRELOAD = ["lookalike.engine.face_workers"]
"""Imported once by the fork server (with it dlib, numpy and Pillow), so each worker starts with
them loaded. multiprocessing ignores a name that does not import: a test imports this list."""

DOMINANT_AREA_RATIO = 1.5
"""The largest face is the main one when it has at least this times the area of any other."""
CENTRAL_OFFSET = 0.5
"""Otherwise the main face is the one face, among those of comparable size, whose centre
is within this many face widths of the image centre: a news photo's subject is centred,
a bystander beside them is not (on LFW, subjects are ~0.1 face widths off centre and
comparable bystanders 0.6 or more)."""

_model: FaceModel | None = None  # the worker process's FaceModel, made by start_worker


# ---------------------------------------------------------------- the processes


def forkserver_context() -> ForkServerContext:
    """The context both pools make their workers with: forked from a fresh server process that
    preloaded the pipeline, never from the parent with its threads (fork there is unsafe)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(FORKSERVER_PRELOAD)
    return context


def start_worker(*prepare: Callable[[], object]) -> None:
    """Pool initializer: run ``prepare`` (the bot's lifeline and signals), then load one
    FaceModel for all the photos of this process. Ctrl+C is the parent's to handle."""
    global _model
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for step in prepare:
        step()
    _model = FaceModel()


def worker_model() -> FaceModel:
    """In a worker: its FaceModel."""
    if _model is None:
        raise RuntimeError("start_worker has not run in this process")
    return _model


def worker_ready() -> bool:
    """In a worker: whether its model is loaded (a pool's warm-up asks each worker once)."""
    return _model is not None


# ---------------------------------------------------------------- one photo


@dataclass
class PhotoFaces:
    """What ``faces_in_photo`` saw in one photo."""

    faces: list[Face] = field(default_factory=list)  # largest first; just the main one with main_face=True
    found: int = 0  # faces detected (at most max_faces), before the main face was chosen
    second_look: bool = False  # the faces were found by the second look (the first found none)
    image: np.ndarray | None = field(default=None, repr=False)  # the decoded RGB image the faces come from
    scale: int = 1  # the photo is this many times larger than ``image`` (a huge JPEG decoded reduced)
    error: ImageError | None = None  # the bytes are not a usable image


def faces_in_photo(
    model: FaceModel,
    data: bytes,
    *,
    max_faces: int = MAX_FACES,
    jitters: int = 1,
    main_face: bool = False,
    photo_pixels: bool = True,
    second_look: bool = True,
) -> PhotoFaces:
    """Decode untrusted ``data`` and find up to ``max_faces`` faces, largest first, each embedded
    with ``jitters`` jitters; an unusable image is reported in ``error``, never raised.

    ``main_face``: keep only the photo's subject (``choose_main_face``); none when no face is
    clearly it. ``photo_pixels``: boxes and landmarks in the photo's own pixels even where a
    large JPEG was decoded reduced; otherwise in ``image``'s, to draw on it.
    ``second_look``: where the first look finds no face, look again for rolled and dark ones
    (``second_look.look_again``; at most its ``TIME_CAP`` more). A dark, noisy photo is looked
    at, both times, in a cleaned copy (``low_light``); ``image`` stays the photo as sent.
    """
    try:
        image, scale = decode_image_scaled(data)
    except ImageError as exc:
        return PhotoFaces(error=exc)
    seen = low_light.cleaned(image) if low_light.needs_cleaning(image) else image  # same geometry
    faces = model.faces(seen, max_faces=max_faces, num_jitters=jitters)
    looked_again = second_look and not faces
    if looked_again:
        faces = look_again(model, seen, max_faces=max_faces, num_jitters=jitters)
    found = len(faces)
    if main_face:
        height, width = image.shape[:2]
        main = choose_main_face(faces, width, height)
        faces = [] if main is None else [main]
    if photo_pixels and scale > 1:
        faces = [face.enlarged(scale) for face in faces]
    return PhotoFaces(faces=faces, found=found, image=image, scale=scale, second_look=looked_again and bool(found))


SHARPNESS_SIDE = 96
"""Face crops are compared for sharpness at this size, so a near face is not sharper for its size."""


def faces_in_video(model: FaceModel, data: bytes, *, max_faces: int = MAX_FACES) -> PhotoFaces:
    """The faces of the sharpest frame among a few of the video in ``data``
    (``video.sample_frames``): each frame is looked at once (the first look), its largest
    face's sharpness measured (the variance of the Laplacian of its grey crop), and the frame
    whose face is sharpest is the one embedded, as a photo's. No face in any: none. Raises
    ``video.VideoError`` for a video that cannot be read or is over the limits."""
    best: tuple[float, np.ndarray, np.ndarray, list[Any]] | None = None
    for frame in video.sample_frames(data):
        seen = low_light.cleaned(frame) if low_light.needs_cleaning(frame) else frame
        detections = model.detect(seen)
        if not detections:
            continue
        sharpness = face_sharpness(seen, detections[0][0])
        if best is None or sharpness > best[0]:
            best = (sharpness, frame, seen, detections)
    if best is None:
        return PhotoFaces()
    _, frame, seen, detections = best
    faces = model.describe(seen, detections[:max_faces])
    return PhotoFaces(faces=faces, found=len(faces), image=frame)


class Rectangle(Protocol):
    """A dlib rectangle's corners, as ``face_sharpness`` reads them."""

    def left(self) -> int: ...

    def top(self) -> int: ...

    def right(self) -> int: ...

    def bottom(self) -> int: ...


def face_sharpness(image: np.ndarray, rect: Rectangle) -> float:
    """The variance of the Laplacian of the face's grey crop at ``SHARPNESS_SIDE`` px: low for
    a face blurred by motion or focus."""
    height, width = image.shape[:2]
    left, top = max(0, rect.left()), max(0, rect.top())
    right, bottom = min(width, rect.right()), min(height, rect.bottom())
    if right - left < 3 or bottom - top < 3:
        return 0.0
    crop = Image.fromarray(image[top:bottom, left:right]).convert("L").resize((SHARPNESS_SIDE, SHARPNESS_SIDE))
    grey = np.asarray(crop, dtype=np.float32)
    laplacian = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    return float(laplacian.var())


def choose_main_face(faces: list[Face], width: int, height: int) -> Face | None:
    """The photo's subject, or None when no face is clearly it.

    The largest face wins when it has ``DOMINANT_AREA_RATIO`` times the area of every
    other. Otherwise, among the faces of comparable size, the one centred within
    ``CENTRAL_OFFSET`` face widths of the image centre wins if it is the only one
    (a centred portrait with a bystander at the edge); two similar faces neither of
    which is centred (a couple on a red carpet) give None.
    """
    if not faces:
        return None
    faces = sorted(faces, key=lambda face: face.area, reverse=True)
    largest = faces[0]
    rivals = [face for face in faces[1:] if face.area * DOMINANT_AREA_RATIO > largest.area]
    if not rivals:
        return largest
    central = [face for face in [largest, *rivals] if centre_offset(face, width, height) <= CENTRAL_OFFSET]
    return central[0] if len(central) == 1 else None


def centre_offset(face: Face, width: int, height: int) -> float:
    """Distance from the face box's centre to the image centre, in face widths."""
    left, top, right, bottom = face.box
    side = max(1.0, math.sqrt(max(face.area, 1)))
    return math.hypot((left + right) / 2 - width / 2, (top + bottom) / 2 - height / 2) / side
