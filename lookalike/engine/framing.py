"""How a face is framed wherever it is shown: the user's crop and the celebrity thumbnails
alike, so the two halves of the look-alike picture match. Pure functions, arrays in,
JPEG bytes or images out.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

CROP_SIDE = 320
"""Height of a face crop and of each half of the side-by-side picture."""

FACE_MARGIN = 2.0
"""A face picture (the user's crop, a celebrity's thumbnail) is this many face-box sides square."""
FACE_RAISE = 0.15
"""The square's centre sits this many face-box sides above the box's centre: the
detector's box runs from the brows to the chin, so the hair needs more room than the neck."""


def jpeg(image: Image.Image, quality: int = 88) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def face_crop(image: np.ndarray, box: tuple[int, int, int, int], side: int = CROP_SIDE) -> bytes:
    """The user's face framed as the celebrity thumbnails are, ``side`` px square."""
    return jpeg(face_square(image, box).resize((side, side), Image.Resampling.LANCZOS))


def face_square(image: np.ndarray, box: tuple[int, int, int, int], margin: float = FACE_MARGIN) -> Image.Image:
    """The square of ``margin`` box sides around the face in ``box``, raised by ``FACE_RAISE``.

    Where it would stick out of the image it is moved inside, and shrunk if the
    image is smaller, so the face keeps its framing without black borders.
    """
    height, width = image.shape[:2]
    x0, y0, side = square_bounds(width, height, box, margin)
    return Image.fromarray(image[y0 : y0 + side, x0 : x0 + side])


def square_bounds(
    width: int, height: int, box: tuple[int, int, int, int], margin: float = FACE_MARGIN
) -> tuple[int, int, int]:
    """Where ``face_square`` cuts a ``width`` x ``height`` image: the square's left, top and side."""
    left, top, right, bottom = box
    box_side = max(right - left, bottom - top)
    side = int(round(max(1.0, min(box_side * margin, width, height))))
    cx, cy = (left + right) / 2, (top + bottom) / 2 - FACE_RAISE * box_side
    x0 = int(round(min(max(cx - side / 2, 0), width - side)))
    y0 = int(round(min(max(cy - side / 2, 0), height - side)))
    return x0, y0, side
