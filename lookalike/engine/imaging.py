"""Turn untrusted image bytes into an upright 8-bit RGB array, or a typed error.

Users send anything: phone JPEGs stored rotated (EXIF orientation), PNGs with
alpha, WebP, GIF, CMYK, grayscale, 16-bit scans, truncated uploads, text files
and decompression bombs. Everything that reaches dlib goes through here.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps

MAX_BYTES = 20 * 1024 * 1024
"""Telegram lets bots download at most 20 MB, so nothing larger can reach us."""

MAX_PIXELS = 40_000_000
"""A 40-megapixel cap: larger than any phone photo, small enough to stop decompression bombs."""


class ImageError(ValueError):
    """The bytes are not a usable image. ``reason`` is a short machine-readable code."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_AN_IMAGE = "not_an_image"
    TRUNCATED = "truncated"

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Decode ``data`` into an upright ``(height, width, 3)`` uint8 RGB array."""
    if not data:
        raise ImageError(ImageError.EMPTY, "the file is empty")
    if len(data) > max_bytes:
        raise ImageError(ImageError.TOO_LARGE, f"the file is larger than {max_bytes // 2**20} MB")
    image = _open(data, max_pixels)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(ImageError.TRUNCATED, f"the image is damaged or incomplete ({exc})") from exc
    image = ImageOps.exif_transpose(image)
    return _to_rgb(image)


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Open lazily and check the pixel count before any pixel is decoded."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(ImageError.TOO_LARGE, "the image has too many pixels") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(ImageError.NOT_AN_IMAGE, "the file is not an image") from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            ImageError.TOO_LARGE, f"the image has {width}x{height} pixels, more than {max_pixels:,}"
        )
    if width < 1 or height < 1:
        raise ImageError(ImageError.NOT_AN_IMAGE, "the image has no pixels")
    return image


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Flatten alpha onto white, widen grayscale, convert CMYK, scale 16-bit down to 8."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        top = values.max() or 1.0
        gray = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if image.mode == "P" or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
