"""The face-worker pool on its own: a photo that takes too long fails alone and its worker is replaced."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.support.processes import running


def enlarged(path: Path, factor: int = 3) -> bytes:
    """bald_guys.jpg 3x (27 MP): ~1.3 s in a worker, far over the test's job timeout. WebP:
    a JPEG that large is decoded at half scale, in a quarter of the time."""
    image = Image.open(path)
    buffer = io.BytesIO()
    image.resize((image.width * factor, image.height * factor), Image.BICUBIC).save(
        buffer, "WEBP", quality=80, method=0
    )
    return buffer.getvalue()


def test_a_photo_over_the_job_timeout_fails_its_worker_is_killed_and_the_next_photo_works(sample):
    from lookalike.answering.face_pool import FacePool, PhotoFailed

    slow = enlarged(sample("dlib_faces/bald_guys.jpg"))
    quick = sample("face_recognition/obama.jpg").read_bytes()

    async def scenario() -> None:
        pool = FacePool(workers=1, max_pending=4, job_timeout=0.4)
        await pool.start()
        try:
            [stuck] = list(pool._executor._processes)
            with pytest.raises(PhotoFailed, match="too long"):
                await pool.analyse(slow)
            assert pool.restarts == 1
            deadline = time.monotonic() + 0.5  # killed, not left to finish the photo (~1 s more)
            while running(stuck) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert not running(stuck)
            pool.job_timeout = 30.0  # the new worker loads its model first
            analysis = await pool.analyse(quick)
            assert analysis.error is None and len(analysis.faces) == 1
            assert pool.restarts == 1
        finally:
            pool.shutdown()

    asyncio.run(scenario())
