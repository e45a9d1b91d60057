"""The face pipeline: image bytes in, faces with boxes, quality figures and 128-d embeddings out.

dlib's HOG detector finds faces, the 5-point shape predictor places the eyes and
nose, and the ResNet model turns the aligned face into a 128-d vector in which
the same person is usually less than 0.6 apart (Euclidean); the dedicated gender
classifier (gender_classifier.py) scores the same aligned face.

Models are loaded when a ``FaceModel`` is created, never at import: the worker
processes (``face_workers.start_worker``) and the tests decide when that cost is paid.
Photos (untrusted bytes) come in through ``face_workers.faces_in_photo``.
"""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

# Each worker process owns one core; OpenBLAS threads would only fight each other.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import dlib
import numpy as np
from PIL import Image

from lookalike.engine.gender_classifier import GenderClassifier

DETECT_SIDE = 480
"""Longest side of the grayscale copy the detector sees first. A selfie's face is
large, so a small copy finds it as surely as the full photo and several times
faster (bench/README.md, "Pipeline latency"). The landmarks and the embedding still
come from the full-resolution colour image."""

CROWD_FACE_SIDE = 100
"""A face this small (in the detector's copy) is within 1.25x of HOG's 80 px window."""

MAX_FACES = 10


@dataclass
class Face:
    """One face found in an image, in the image's own pixel coordinates."""

    box: tuple[int, int, int, int]  # left, top, right, bottom
    score: float  # HOG detector confidence; higher is surer
    landmarks: np.ndarray  # (5, 2) x, y: two points per eye, then the nose
    embedding: np.ndarray = field(repr=False)  # (128,) float32
    gender_score: float = 0.0  # the gender classifier's log-odds of male (gender_classifier.py)

    @property
    def area(self) -> int:
        left, top, right, bottom = self.box
        return (right - left) * (bottom - top)

    @property
    def eye_distance(self) -> float:
        """Pixels between the eye centres: the face's real resolution."""
        left_eye, right_eye = _eye_centres(self.landmarks)
        return float(np.linalg.norm(right_eye - left_eye))

    def enlarged(self, factor: int) -> Face:
        """The same face in an image ``factor`` times larger."""
        return Face(
            box=(self.box[0] * factor, self.box[1] * factor, self.box[2] * factor, self.box[3] * factor),
            score=self.score,
            landmarks=self.landmarks * factor,
            embedding=self.embedding,
            gender_score=self.gender_score,
        )

    @property
    def roll(self) -> float:
        """Head roll in degrees: 0 when the eyes are level."""
        first, second = sorted(_eye_centres(self.landmarks), key=lambda point: point[0])
        dx, dy = second - first
        return math.degrees(math.atan2(dy, dx))


def _eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return landmarks[0:2].mean(axis=0), landmarks[2:4].mean(axis=0)


def model_paths() -> dict[str, str]:
    """The model files shipped by the ``face_recognition_models`` package.

    Found without importing the package: its ``__init__`` needs ``pkg_resources``, which
    setuptools no longer ships (81 and later)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("face_recognition_models is not installed (pip install -r requirements.txt)")
    models = Path(spec.submodule_search_locations[0]) / "models"
    return {
        "predictor": str(models / "shape_predictor_5_face_landmarks.dat"),
        "recognizer": str(models / "dlib_face_recognition_resnet_model_v1.dat"),
    }


class FaceModel:
    """dlib's detector, landmark predictor and face recogniser, loaded once."""

    def __init__(
        self,
        predictor_path: str | None = None,
        recognizer_path: str | None = None,
        detect_side: int = DETECT_SIDE,
    ):
        paths = model_paths()
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(predictor_path or paths["predictor"])
        self.recognizer = dlib.face_recognition_model_v1(recognizer_path or paths["recognizer"])
        self.gender_classifier = GenderClassifier()
        self.detect_side = detect_side

    def faces(self, image: np.ndarray, max_faces: int = MAX_FACES, num_jitters: int = 1) -> list[Face]:
        """Faces in an RGB image, largest first, each with its embedding (the first look:
        ``second_look`` looks again where this finds none)."""
        return self.describe(image, self.detect(image)[:max_faces], num_jitters)

    def describe(
        self, image: np.ndarray, detections: list[tuple[dlib.rectangle, float]], num_jitters: int = 1
    ) -> list[Face]:
        """The faces in ``detections`` (rectangles in ``image`` with their scores): landmarks,
        embedding and gender score of each."""
        if not detections:
            return []
        shapes = dlib.full_object_detections([self.predictor(image, rect) for rect, _ in detections])
        embeddings = self.recognizer.compute_face_descriptor(image, shapes, num_jitters)
        gender_scores = self.gender_classifier.scores(image, list(shapes))
        return [
            Face(
                box=(rect.left(), rect.top(), rect.right(), rect.bottom()),
                score=score,
                landmarks=np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32),
                embedding=np.asarray(embedding, dtype=np.float32),
                gender_score=float(gender_score),
            )
            for (rect, score), shape, embedding, gender_score in zip(detections, shapes, embeddings, gender_scores)
        ]

    def detect(self, image: np.ndarray) -> list[tuple[dlib.rectangle, float]]:
        """Face rectangles in full-image coordinates with their scores, largest first.

        The detector first looks at a grayscale copy no longer than ``detect_side``.
        It looks again with upsampling when that finds nothing, or when it finds
        several faces and the smallest is near its 80 px window (a crowd: there may
        be smaller faces it cannot see); and, for a large image where both found
        nothing, once more at full resolution. A lone face, however small, is a
        portrait: measured on the sample portraits, the second look there never
        found anything and cost 3x the first.
        """
        height, width = image.shape[:2]
        scale = min(1.0, self.detect_side / max(height, width))
        small = gray_copy(image, scale)
        found = self._run(small, upsample=0, scale=scale)
        if not found or (len(found) > 1 and min(_side(rect) for rect, _ in found) * scale < CROWD_FACE_SIDE):
            finer = self._run(small, upsample=1, scale=scale)
            if len(finer) > len(found):
                found = finer
        if not found and scale < 0.5:
            found = self._run(gray_copy(image, 1.0), upsample=0, scale=1.0)
        found = [(_clip(rect, width, height), score) for rect, score in found]
        return sorted(found, key=lambda item: item[0].area(), reverse=True)

    def _run(self, image: np.ndarray, upsample: int, scale: float) -> list[tuple[dlib.rectangle, float]]:
        rects, scores, _ = self.detector.run(image, upsample, 0.0)
        return [(_scaled(rect, 1.0 / scale), float(score)) for rect, score in zip(rects, scores)]


def gray_copy(image: np.ndarray, scale: float) -> np.ndarray:
    """A grayscale copy scaled by ``scale``: HOG needs no colour and runs faster on one channel."""
    gray = Image.fromarray(image).convert("L")
    if scale < 1.0:
        size = (max(1, round(gray.width * scale)), max(1, round(gray.height * scale)))
        gray = gray.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(gray)


def _side(rect: dlib.rectangle) -> int:
    return int(min(rect.width(), rect.height()))


def _scaled(rect: dlib.rectangle, factor: float) -> dlib.rectangle:
    if factor == 1.0:
        return rect
    return dlib.rectangle(
        round(rect.left() * factor),
        round(rect.top() * factor),
        round(rect.right() * factor),
        round(rect.bottom() * factor),
    )


def _clip(rect: dlib.rectangle, width: int, height: int) -> dlib.rectangle:
    """Keep boxes inside the image: the HOG window can overhang the border."""
    return dlib.rectangle(
        max(0, rect.left()), max(0, rect.top()), min(width - 1, rect.right()), min(height - 1, rect.bottom())
    )
