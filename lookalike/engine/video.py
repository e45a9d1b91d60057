"""A few frames of an untrusted video, decoded in memory with PyAV (FFmpeg's libraries, in its
wheel): the frames a face is looked for in, as ``imaging`` gives a photo's pixels.

``sample_frames`` decodes from the start and keeps ``count`` frames spread over the first
``SAMPLE_SECONDS`` (or the whole of a shorter video), as RGB arrays no longer than
``MAX_SIDE``; nothing past the last sample is decoded, so a long video costs no more than a
short one. Measured against the system's ffmpeg command (bench/video_note.py, bench/README.md):
PyAV decodes in the worker's own process from the bytes in memory, where the command line
costs a process start and needs the file on disk (an MP4 whose index comes last cannot be
read from a pipe). A video that is not one, or has no picture, is a ``VideoError``; so is one
longer than ``MAX_SECONDS`` or larger than ``MAX_PIXELS``, which Telegram's own figures
(duration, size) let the bot refuse before the download too.
"""

from __future__ import annotations

import io

import av
import numpy as np
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

SAMPLE_FRAMES = 5
SAMPLE_SECONDS = 3.0
"""Where the frames are taken: a video note starts on the face, and a few seconds show it
from a few angles and blurs without decoding the whole minute."""

MAX_SECONDS = 60
"""Telegram's own limit for a video note; a longer video is refused."""

MAX_PIXELS = 3840 * 2160
MAX_SIDE = 1280
"""Frames are scaled to at most this long (a video note is 384-640 px; HOG looks at 480 px)."""

MAX_DECODED = 400
"""Frames decoded at most looking for the samples: a video of thousands of frames a second
costs no more than ~13 s of 30 fps."""


class VideoError(ValueError):
    """Why the bytes give no frames: ``reason`` is "bad_video", "too_long" or "too_large"."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def sample_frames(data: bytes, count: int = SAMPLE_FRAMES, seconds: float = SAMPLE_SECONDS) -> list[np.ndarray]:
    """Up to ``count`` RGB frames of the video in ``data``, spread over its first ``seconds``."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise VideoError("bad_video", "no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"  # one core's work: the pool already runs a worker per core
            duration = _duration(container, stream)
            if duration > MAX_SECONDS + 1:
                raise VideoError("too_long", f"{duration:.0f} s")
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > MAX_PIXELS:
                raise VideoError("too_large", f"{width}x{height}")
            span = min(seconds, duration) if duration > 0 else seconds
            wanted = [(index + 0.5) * span / count for index in range(count)]
            return _frames_at(container, stream, wanted)
    except av.FFmpegError as exc:
        raise VideoError("bad_video", f"{exc.__class__.__name__}: {exc}") from None


def _frames_at(container: InputContainer, stream: VideoStream, times: list[float]) -> list[np.ndarray]:
    """The first frame at or after each of ``times`` (seconds), decoding up to the last."""
    frames: list[np.ndarray] = []
    pending = list(times)
    for decoded, frame in enumerate(container.decode(stream)):
        if decoded >= MAX_DECODED:
            break
        if frame.time is None:
            continue
        if frame.time >= pending[0]:
            frames.append(_rgb(frame))
            while pending and frame.time >= pending[0]:
                pending.pop(0)
            if not pending:
                break
    if not frames:
        raise VideoError("bad_video", "no frame could be decoded")
    return frames


def _rgb(frame: VideoFrame) -> np.ndarray:
    scale = min(1.0, MAX_SIDE / max(frame.width, frame.height))
    width, height = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
    return frame.to_ndarray(format="rgb24", width=width, height=height)


def _duration(container: InputContainer, stream: VideoStream) -> float:
    """Seconds, from the stream's header or the container's (0 when neither says)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0
