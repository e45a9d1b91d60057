"""The second look for faces, when the first look (``FaceModel.detect``) finds none.

Phones send rolled heads and dark rooms. dlib's HOG detector looks for upright faces: on
LFW photos rolled 45 degrees it finds ~60-70% of them, rolled 60 almost none; in a dark,
noisy photo it loses a fifth. So when the first look finds nothing, the detector looks
again at the same small grayscale copy turned by ``ROLL_ANGLES`` (a face rolled 60 degrees
is upright once turned by 55), then at a copy smoothed and stretched to full contrast
with one upsampling. The first pass that finds a face ends the look. Each face is then
turned upright in a crop of the full-resolution image, where the landmarks and the
embedding are computed as usual, and mapped back, so its box, landmarks and roll are in
the photo's own pixels like any other face's.

Measured against dlib's CNN detector (``mmod_human_face_detector.dat``) on the same LFW
photos in one run (bench/selfie_robustness.py, bench/README.md): the turned HOG passes find
as many rolled faces at about a twentieth of the CPU. A photo with no face pays for every
pass, so ``TIME_CAP`` bounds the second look's CPU time: no pass starts after it.
"""

from __future__ import annotations

import math
import time

import dlib
import numpy as np
from PIL import Image, ImageFilter, ImageOps

from lookalike.engine.face_model import Face, FaceModel, gray_copy

ROLL_ANGLES = (30, -30, 55, -55, 15, -15)
"""Degrees the small copy is turned by, in order. HOG finds faces within ~20 degrees of
upright, so 30 and 55 cover rolls of 10 to 75 degrees either way; 15 catches the hard
faces the first look missed at a small roll."""

TIME_CAP = 0.5
"""CPU seconds after which no further pass starts. Every pass together takes ~0.15 s on
a 480 px copy, one core; the cap holds a face-free photo's answer under a second on a
slower or busier core."""

TURNED_MIN_SCORE = 0.3
"""HOG's confidence a face found in a turned copy needs (the first look takes any above 0).
Six turned copies offer the detector six times the windows to be wrong in: on the
face-free dogs.jpg one finds a "face" at 0.23; on 240 LFW faces rolled 30-60 degrees the
first pass to find the face scored under 0.3 in 12 (a later pass may still find them:
bench/selfie_robustness.py measures what is found in the end)."""

CROP_MARGIN = 3.0
"""The upright crop around a face is this many face sides square: room for the landmarks
and the recogniser's padded chip."""

SMOOTHING = 1.0
"""Gaussian radius (pixels of the small copy) that tames a dark photo's sensor noise."""


def look_again(model: FaceModel, image: np.ndarray, max_faces: int, num_jitters: int = 1) -> list[Face]:
    """Faces the first look missed in the RGB ``image``, largest first (none if none is found
    before ``TIME_CAP``), with boxes, landmarks and embeddings in ``image``'s pixels."""
    started = time.thread_time()
    height, width = image.shape[:2]
    scale = min(1.0, model.detect_side / max(height, width))
    small = Image.fromarray(gray_copy(image, scale))
    for angle in ROLL_ANGLES:
        if time.thread_time() - started > TIME_CAP:
            return []
        turned = small.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
        found = [(rect, score) for rect, score in _detect(model, turned, upsample=0) if score >= TURNED_MIN_SCORE]
        found = found[:max_faces]
        if found:
            centre = (turned.width / 2, turned.height / 2)
            return [
                _upright_face(model, image, _unturn(rect, angle, centre, small.size, scale), angle, score, num_jitters)
                for rect, score in found
            ]
    if time.thread_time() - started > TIME_CAP:
        return []
    clearer = ImageOps.autocontrast(small.filter(ImageFilter.GaussianBlur(SMOOTHING)), cutoff=1)
    found = _detect(model, clearer, upsample=1)[:max_faces]
    detections = [(_scaled(rect, 1.0 / scale, width, height), score) for rect, score in found]
    return model.describe(image, detections, num_jitters)


def _detect(model: FaceModel, image: Image.Image, upsample: int) -> list[tuple[dlib.rectangle, float]]:
    rects, scores, _ = model.detector.run(np.asarray(image), upsample, 0.0)
    found = [(rect, float(score)) for rect, score in zip(rects, scores)]
    return sorted(found, key=lambda item: item[0].area(), reverse=True)


def _unturn(
    rect: dlib.rectangle, angle: float, centre: tuple[float, float], size: tuple[int, int], scale: float
) -> tuple[float, float, float]:
    """Centre (x, y) and side, in the full image's pixels, of a face found in the copy turned by ``angle``."""
    x, y = _turn_point(
        ((rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2), -angle, centre, (size[0] / 2, size[1] / 2)
    )
    return x / scale, y / scale, max(rect.width(), rect.height()) / scale


def _upright_face(
    model: FaceModel,
    image: np.ndarray,
    placed: tuple[float, float, float],
    angle: float,
    score: float,
    num_jitters: int,
) -> Face:
    """Landmarks and embedding from a crop around the face turned upright, mapped back to ``image``."""
    x, y, side = placed
    crop_side = max(8, round(side * CROP_MARGIN))
    left, top = round(x - crop_side / 2), round(y - crop_side / 2)
    crop = Image.fromarray(image).crop((left, top, left + crop_side, top + crop_side))  # black beyond the edges
    upright = np.asarray(crop.rotate(angle, resample=Image.Resampling.BICUBIC))
    middle = crop_side / 2
    half = side / 2
    rect = dlib.rectangle(round(middle - half), round(middle - half), round(middle + half), round(middle + half))
    [face] = model.describe(upright, [(rect, score)], num_jitters)
    points = [_turn_point((px, py), -angle, (middle, middle), (middle, middle)) for px, py in face.landmarks]
    landmarks = np.array([(px + left, py + top) for px, py in points], dtype=np.float32)
    corners = [
        _turn_point((cx, cy), -angle, (middle, middle), (middle + left, middle + top))
        for cx in (rect.left(), rect.right())
        for cy in (rect.top(), rect.bottom())
    ]
    height, width = image.shape[:2]
    box = (
        max(0, round(min(cx for cx, _ in corners))),
        max(0, round(min(cy for _, cy in corners))),
        min(width - 1, round(max(cx for cx, _ in corners))),
        min(height - 1, round(max(cy for _, cy in corners))),
    )
    return Face(box=box, score=score, landmarks=landmarks, embedding=face.embedding, gender_score=face.gender_score)


def _turn_point(
    point: tuple[float, float], angle: float, centre: tuple[float, float], new_centre: tuple[float, float]
) -> tuple[float, float]:
    """Where ``point`` goes when its image is turned ``angle`` degrees counter-clockwise (as
    PIL's ``rotate``) about ``centre``, which lands on ``new_centre``."""
    radians = math.radians(angle)
    dx, dy = point[0] - centre[0], point[1] - centre[1]
    return (
        new_centre[0] + dx * math.cos(radians) + dy * math.sin(radians),
        new_centre[1] - dx * math.sin(radians) + dy * math.cos(radians),
    )


def _scaled(rect: dlib.rectangle, factor: float, width: int, height: int) -> dlib.rectangle:
    return dlib.rectangle(
        max(0, round(rect.left() * factor)),
        max(0, round(rect.top() * factor)),
        min(width - 1, round(rect.right() * factor)),
        min(height - 1, round(rect.bottom() * factor)),
    )
