"""How a face is framed: the user's as the celebrities' thumbnails, more room above than below, a
square inside the photo at its edge."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image


def test_the_user_s_face_is_framed_like_the_celebrity_thumbnails(face_model, sample):
    """Square, the face re-found in its middle at 1/FACE_MARGIN of the side: the two halves match."""
    from lookalike.builder.build import thumbnail_jpeg
    from lookalike.engine import framing
    from lookalike.engine.imaging import decode_image

    data = sample("face_recognition/obama.jpg").read_bytes()
    image = decode_image(data)
    [face] = face_model.faces(image)
    crop = Image.open(io.BytesIO(framing.face_crop(image, face.box)))
    thumbnail = Image.open(io.BytesIO(thumbnail_jpeg(data, face.box, framing.CROP_SIDE)))
    assert crop.size == thumbnail.size == (framing.CROP_SIDE, framing.CROP_SIDE)
    assert np.abs(np.asarray(crop, float) - np.asarray(thumbnail, float)).mean() < 3  # JPEG noise only
    [again] = face_model.faces(np.asarray(crop))
    left, top, right, bottom = again.box
    assert right - left == pytest.approx(framing.CROP_SIDE / framing.FACE_MARGIN, rel=0.2)
    assert (left + right) / 2 == pytest.approx(framing.CROP_SIDE / 2, abs=0.1 * framing.CROP_SIDE)
    # Raised, not centred: the face sits below the middle, so the hair gets more room than the neck.
    assert (top + bottom) / 2 - framing.CROP_SIDE / 2 > 0.04 * framing.CROP_SIDE


def test_the_frame_leaves_more_room_above_the_face_than_below():
    from lookalike.engine import framing

    image = np.zeros((1000, 1000, 3), dtype=np.uint8)
    image[400:500, 400:500] = 255  # the face box, 100 px, well inside the photo
    square = np.asarray(framing.face_square(image, (400, 400, 500, 500)))
    rows = np.flatnonzero(square[:, :, 0].any(axis=1))
    above, below = rows[0], len(square) - 1 - rows[-1]
    assert len(square) == 200 and above > below + 20  # 0.15 box sides higher: 65 px above, 35 below


def test_a_face_at_the_edge_keeps_a_square_frame_inside_the_photo():
    from lookalike.engine import framing

    image = np.random.default_rng(0).integers(0, 255, size=(300, 400, 3), dtype=np.uint8)
    square = framing.face_square(image, (0, 0, 60, 60))  # 120 px wanted, centred above the top-left corner
    assert square.size == (120, 120)
    assert np.array_equal(np.asarray(square), image[:120, :120])
    assert framing.face_square(image, (100, 50, 400, 350)).size == (300, 300)  # shrunk to the photo
