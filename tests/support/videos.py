"""Videos made at test time from real photos (never committed): a phone's round video message
of a face, as H.264 in MP4, encoded by PyAV."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageFilter


def video_of(
    photo: Path,
    seconds: float = 3.0,
    side: int = 384,
    fps: int = 15,
    blur: Callable[[float], float] = lambda t: 0.0,
    preset: str = "ultrafast",
) -> bytes:
    """An MP4 of ``photo`` filling a ``side`` px square, slowly zooming, its frame at time t
    blurred with a Gaussian of radius ``blur(t)``; ``preset`` is x264's (a phone's encoder
    compresses harder than "ultrafast", which keeps the tests quick)."""
    source = Image.open(photo).convert("RGB")
    square = min(source.size)
    left, top = (source.width - square) // 2, (source.height - square) // 2
    source = source.crop((left, top, left + square, top + square))
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": preset})
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        for index in range(round(seconds * fps)):
            t = index / fps
            zoom = 1.0 + 0.04 * np.sin(t * 2)
            inset = round(square * (1 - 1 / zoom) / 2)
            frame = source.crop((inset, inset, square - inset, square - inset)).resize((side, side))
            if blur(t) > 0:
                frame = frame.filter(ImageFilter.GaussianBlur(blur(t)))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()
