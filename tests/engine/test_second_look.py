"""The second look for faces: a rolled head the first look misses is found; a face-free photo costs at most the cap."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from lookalike.engine import second_look
from lookalike.engine.face_workers import faces_in_photo


def rolled_jpeg(path, degrees: int) -> bytes:
    buffer = io.BytesIO()
    Image.open(path).convert("RGB").rotate(degrees, resample=Image.BICUBIC).save(buffer, "JPEG", quality=87)
    return buffer.getvalue()


@pytest.mark.parametrize("degrees", [60, -60])
def test_a_face_rolled_60_degrees_is_found_by_the_second_look(face_model, lfw_photo, degrees):
    photo = lfw_photo("Angela_Merkel", 2)
    [upright] = faces_in_photo(face_model, photo.read_bytes()).faces
    data = rolled_jpeg(photo, degrees)

    assert faces_in_photo(face_model, data, second_look=False).faces == []  # HOG alone misses it
    found = faces_in_photo(face_model, data)
    [face] = found.faces
    assert found.second_look
    assert np.linalg.norm(face.embedding - upright.embedding) < 0.6  # dlib's same-person distance
    assert face.roll == pytest.approx(-degrees, abs=10)  # landmarks mapped back into the rolled photo
    left, top, right, bottom = face.box
    centre = np.array([(left + right) / 2, (top + bottom) / 2])
    assert np.linalg.norm(centre - face.landmarks.mean(axis=0)) < 0.25 * (right - left)


def test_an_upright_face_never_takes_the_second_look(face_model, sample):
    found = faces_in_photo(face_model, sample("face_recognition/obama.jpg").read_bytes())
    assert len(found.faces) == 1 and not found.second_look


def test_a_face_free_photo_costs_at_most_the_cap(face_model, sample, monkeypatch):
    data = sample("dlib_faces/dogs.jpg").read_bytes()
    started = time.thread_time()
    found = faces_in_photo(face_model, data)
    spent = time.thread_time() - started
    assert found.faces == [] and not found.second_look
    assert spent < 1.0  # CPU seconds on one core, first look included

    passes = []
    detect = second_look._detect
    monkeypatch.setattr(second_look, "_detect", lambda *args, **kw: passes.append(1) or detect(*args, **kw))
    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    second_look.look_again(face_model, image, max_faces=5)
    assert len(passes) == len(second_look.ROLL_ANGLES) + 1  # every pass fits in the cap

    passes.clear()
    monkeypatch.setattr(second_look, "TIME_CAP", 0.0)
    assert second_look.look_again(face_model, image, max_faces=5) == []
    assert len(passes) <= 1  # no pass starts once the cap is spent


def test_the_build_report_counts_the_photos_the_second_look_found(tmp_path, lfw_photo):
    import json

    from lookalike.builder.build import build

    photos = tmp_path / "photos"
    photos.mkdir()
    for person in ("Angela_Merkel", "Andre_Agassi", "George_W_Bush", "Abdullah"):
        (photos / f"{person}.jpg").write_bytes(lfw_photo(person, 1).read_bytes())
    (photos / "Aaron_Eckhart.jpg").write_bytes(rolled_jpeg(lfw_photo("Angela_Merkel", 2), 60))
    report = build(photos, tmp_path / "assets", workers=1, jitters=1, cache=tmp_path / "cache.sqlite", progress=False)
    assert report.second_look == 1 and report.second_look_kept == 0  # found, then left out as rolled too far
    assert report.rejected == {"rolled": 1}
    saved = json.loads((tmp_path / "assets" / "build.json").read_text())
    assert saved["second_look"] == 1
