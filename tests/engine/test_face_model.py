"""The face pipeline on real photos: detection, quality figures and embeddings."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from lookalike.engine.face_workers import faces_in_photo
from tests.support.data import LFW, require

SINGLE_PORTRAITS = [
    "face_recognition/obama.jpg",
    "face_recognition/obama-240p.jpg",
    "face_recognition/obama-1080p.jpg",
    "face_recognition/obama3.jpg",
    "face_recognition/biden.jpg",
    "face_recognition/alex-lacamoire.png",
    "dlib_faces/Tom_Cruise_avp_2014_4.jpg",
]


@pytest.mark.parametrize("name", SINGLE_PORTRAITS)
def test_one_face_in_a_portrait(face_model, sample, name):
    faces = faces_in_photo(face_model, sample(name).read_bytes()).faces
    assert len(faces) == 1
    face = faces[0]
    assert face.embedding.shape == (128,) and face.embedding.dtype == np.float32
    left, top, right, bottom = face.box
    assert 0 <= left < right and 0 <= top < bottom
    assert face.eye_distance > 20 and abs(face.roll) < 20


def test_no_face_among_dogs(face_model, sample):
    assert faces_in_photo(face_model, sample("dlib_faces/dogs.jpg").read_bytes()).faces == []


def test_group_photo_finds_every_face_largest_first(face_model, sample):
    faces = faces_in_photo(face_model, sample("dlib_faces/bald_guys.jpg").read_bytes(), max_faces=50).faces
    assert len(faces) >= 10
    areas = [face.area for face in faces]
    assert areas == sorted(areas, reverse=True)


def test_small_faces_are_found_by_upsampling(face_model, sample):
    """Faces of ~40 px: too small for the detector's first, fast look."""
    faces = faces_in_photo(face_model, sample("dlib_faces/2008_004176.jpg").read_bytes()).faces
    assert len(faces) >= 5
    assert max(face.box[2] - face.box[0] for face in faces) < 80


def test_max_faces_limits_the_answer(face_model, sample):
    faces = faces_in_photo(face_model, sample("dlib_faces/bald_guys.jpg").read_bytes(), max_faces=3).faces
    assert len(faces) == 3


def test_boxes_map_back_to_the_full_image(face_model, sample):
    """The same face at 240p and 1080p: the box scales with the image."""
    small = faces_in_photo(face_model, sample("face_recognition/obama-240p.jpg").read_bytes()).faces[0]
    large = faces_in_photo(face_model, sample("face_recognition/obama-1080p.jpg").read_bytes()).faces[0]
    ratio = np.array(large.box) / np.array(small.box)
    assert np.allclose(ratio, 1080 / 240, rtol=0.15)
    assert np.linalg.norm(small.embedding - large.embedding) < 0.4


def test_rotated_head_reports_its_roll(face_model, sample):
    upright = Image.open(sample("face_recognition/obama-480p.jpg"))
    tilted = upright.rotate(-20, resample=Image.BICUBIC)  # clockwise: the right eye drops
    buffer = io.BytesIO()
    tilted.save(buffer, "JPEG")
    face = faces_in_photo(face_model, buffer.getvalue()).faces[0]
    assert 12 < face.roll < 28


def test_exif_rotated_phone_photo_is_found(face_model, sample):
    upright = Image.open(sample("face_recognition/obama-480p.jpg"))
    exif = Image.Exif()
    exif[0x0112] = 8  # stored turned; the viewer turns it back 90 degrees counter-clockwise
    buffer = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_270).save(buffer, "JPEG", exif=exif)
    assert len(faces_in_photo(face_model, buffer.getvalue()).faces) == 1


def _pairs(limit_each: int) -> tuple[list, list]:
    same, different = [], []
    for line in require(LFW / "pairs.txt").read_text().splitlines():
        fields = line.split()
        if len(fields) == 3 and len(same) < limit_each:
            same.append(((fields[0], int(fields[1])), (fields[0], int(fields[2]))))
        elif len(fields) == 4 and len(different) < limit_each:
            different.append(((fields[0], int(fields[1])), (fields[2], int(fields[3]))))
    return same, different


def test_same_person_is_closer_than_different_people_on_lfw(face_model):
    same, different = _pairs(limit_each=40)
    cache = {}

    def embedding(person, number):
        if (person, number) not in cache:
            faces = faces_in_photo(face_model, (LFW / person / f"{person}_{number:04d}.jpg").read_bytes()).faces
            cache[person, number] = faces[0].embedding if faces else None
        return cache[person, number]

    def distances(pairs):
        found = [(embedding(*a), embedding(*b)) for a, b in pairs]
        return np.array([np.linalg.norm(a - b) for a, b in found if a is not None and b is not None])

    same_d, different_d = distances(same), distances(different)
    assert sum(vector is None for vector in cache.values()) <= 0.05 * len(cache)
    assert np.median(same_d) < 0.5 < np.median(different_d)
    accuracy = ((same_d < 0.6).sum() + (different_d >= 0.6).sum()) / (len(same_d) + len(different_d))
    assert accuracy >= 0.95


def test_a_48_megapixel_jpeg_reports_boxes_in_its_own_pixels(face_model, sample):
    """It is decoded at half scale; its boxes and landmarks are not."""
    face = Image.open(sample("face_recognition/obama.jpg")).convert("RGB")
    face = face.resize((face.width * 3, face.height * 3), Image.BICUBIC)
    canvas = Image.new("RGB", (8064, 6048), (96, 110, 124))
    canvas.paste(face, (4000, 2000))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=90)
    [found] = faces_in_photo(face_model, buffer.getvalue()).faces
    [alone] = faces_in_photo(face_model, sample("face_recognition/obama.jpg").read_bytes()).faces
    left, top, right, bottom = found.box
    assert (right - left) == pytest.approx(3 * (alone.box[2] - alone.box[0]), rel=0.15)
    assert (left + right) / 2 == pytest.approx(4000 + 3 * (alone.box[0] + alone.box[2]) / 2, abs=150)
    assert (top + bottom) / 2 == pytest.approx(2000 + 3 * (alone.box[1] + alone.box[3]) / 2, abs=150)
    assert found.eye_distance == pytest.approx(3 * alone.eye_distance, rel=0.15)
