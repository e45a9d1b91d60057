"""Video notes and videos: a few frames decoded in memory, the sharpest face kept and answered
like a photo; no face, a broken file and the limits each get their own answer."""

from __future__ import annotations

import pytest

from lookalike.answering.analysis import analyse, analyse_video
from lookalike.engine import video
from lookalike.engine.face_workers import face_sharpness, faces_in_video
from tests.support.data import LFW, SAMPLES, require
from tests.support.videos import video_of

PERSON = "Angela_Merkel"


@pytest.fixture(scope="module")
def face_video() -> bytes:
    return video_of(require(LFW / PERSON / f"{PERSON}_0001.jpg"))


def test_frames_are_sampled_over_the_first_seconds(face_video):
    frames = video.sample_frames(face_video)
    assert len(frames) == video.SAMPLE_FRAMES
    assert all(frame.shape == (384, 384, 3) for frame in frames)
    assert len({frame.tobytes() for frame in frames}) == len(frames)  # the zoom moves: five moments


def test_a_video_note_of_a_face_is_answered_from_its_frame_like_the_photo(face_model, face_video):
    from_video = analyse_video(face_model, face_video)
    from_photo = analyse(face_model, require(LFW / PERSON / f"{PERSON}_0001.jpg").read_bytes())
    assert from_video.error is None and len(from_video.faces) == 1
    distance = float(((from_video.faces[0].embedding - from_photo.faces[0].embedding) ** 2).sum() ** 0.5)
    assert distance < 0.35  # the same person (dlib's threshold is 0.6)


def test_the_sharpest_face_is_kept(face_model):
    sharp_at = 1.5  # the third of five samples over 3 s
    blurry = video_of(
        require(LFW / PERSON / f"{PERSON}_0002.jpg"), blur=lambda t: 0 if abs(t - sharp_at) < 0.3 else 2.5
    )
    frames = video.sample_frames(blurry)
    sharpness = [face_sharpness(frame, face_model.detect(frame)[0][0]) for frame in frames]
    assert sharpness.index(max(sharpness)) == 2 and max(sharpness) > 2 * sorted(sharpness)[-2]
    chosen = faces_in_video(face_model, blurry)
    assert chosen.image is not None and (chosen.image == frames[2]).all()


def test_a_video_without_a_face_finds_none(face_model):
    dogs = video_of(require(SAMPLES / "dlib_faces" / "dogs.jpg"), seconds=2)
    analysis = analyse_video(face_model, dogs)
    assert analysis.error is None and analysis.faces == []


def test_a_file_that_is_no_video_is_said_so(face_model):
    for data in (
        b"",
        b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200,
        require(SAMPLES / "dlib_faces" / "dogs.jpg").read_bytes()[:5000],
    ):
        assert analyse_video(face_model, data).error == "bad_video"


def test_a_video_over_the_duration_limit_is_refused_without_decoding(face_model, monkeypatch):
    clip = video_of(require(LFW / PERSON / f"{PERSON}_0001.jpg"), seconds=2)
    monkeypatch.setattr(video, "MAX_SECONDS", 0)
    assert analyse_video(face_model, clip).error == "too_long"
