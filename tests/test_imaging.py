"""Decoding users' bytes: every format people send works, every bad kind fails with its reason."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from lookalike.engine.imaging import ImageError, decode_image


@pytest.fixture
def portrait(sample) -> Image.Image:
    return Image.open(sample("face_recognition/obama_small.jpg")).convert("RGB")


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "mode, fmt",
    [("RGB", "JPEG"), ("RGBA", "PNG"), ("RGB", "WEBP"), ("P", "GIF"), ("L", "PNG"), ("CMYK", "JPEG"), ("LA", "PNG")],
)
def test_common_formats_decode_to_rgb(portrait, mode, fmt):
    rgb = decode_image(encode(portrait.convert(mode), fmt))
    assert rgb.dtype == np.uint8
    assert rgb.shape == (portrait.height, portrait.width, 3)
    reference = np.asarray(portrait, dtype=np.int16)
    assert np.abs(rgb.astype(np.int16) - reference).mean() < 40


def test_transparent_pixels_become_white(portrait):
    rgba = portrait.convert("RGBA")
    rgba.putalpha(0)
    assert (decode_image(encode(rgba, "PNG")) == 255).all()


def test_sixteen_bit_grayscale_keeps_its_contrast(portrait):
    gray = np.asarray(portrait.convert("L"), dtype=np.uint16) * 257
    rgb = decode_image(encode(Image.fromarray(gray), "PNG"))
    assert rgb.max() == 255 and rgb.std() > 20
    assert np.array_equal(rgb[:, :, 0], rgb[:, :, 2])


def test_exif_orientation_is_applied(portrait):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: the viewer must turn it 90 degrees clockwise
    stored = portrait.transpose(Image.Transpose.ROTATE_90)
    rgb = decode_image(encode(stored, "JPEG", exif=exif))
    assert rgb.shape == (portrait.height, portrait.width, 3)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", ImageError.EMPTY),
        (b"hello, this is a text message and not a photo\n" * 10, ImageError.NOT_AN_IMAGE),
        (b"%PDF-1.4\n" + bytes(2000), ImageError.NOT_AN_IMAGE),
    ],
)
def test_non_images_are_rejected(data, reason):
    with pytest.raises(ImageError) as caught:
        decode_image(data)
    assert caught.value.reason == reason


def test_truncated_jpeg_is_rejected(sample):
    data = sample("face_recognition/obama.jpg").read_bytes()
    with pytest.raises(ImageError) as caught:
        decode_image(data[: len(data) // 2])
    assert caught.value.reason == ImageError.TRUNCATED


def test_decompression_bomb_is_rejected_before_decoding():
    bomb = encode(Image.new("L", (10_000, 10_000)), "PNG")  # 100 megapixels in ~100 KB
    assert len(bomb) < 1_000_000
    with pytest.raises(ImageError) as caught:
        decode_image(bomb)
    assert caught.value.reason == ImageError.TOO_LARGE


def test_oversized_file_is_rejected(portrait):
    with pytest.raises(ImageError) as caught:
        decode_image(encode(portrait, "PNG"), max_bytes=1000)
    assert caught.value.reason == ImageError.TOO_LARGE
