"""Turn untrusted image bytes into an upright 8-bit RGB array, or a typed error.

Users send anything: phone JPEGs of 12 to 200 megapixels stored rotated (EXIF
orientation), iPhone HEIC, AVIF, PNGs with alpha, WebP, GIF, CMYK, grayscale, 16-bit
scans, truncated uploads, text files and decompression bombs. Everything that reaches
dlib goes through here.

Memory stays bounded: a large JPEG is decoded at 1/2, 1/4 or 1/8 scale straight from
its DCT coefficients (Pillow's draft mode), never held at full size; other formats are
decoded whole, so they have a lower pixel cap. Both caps are checked on the declared
size, before any pixel is decoded.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, JpegImagePlugin

pillow_heif.register_heif_opener()  # HEIC/HEIF; Pillow reads AVIF itself

MAX_BYTES = 20 * 1024 * 1024
"""Telegram lets bots download at most 20 MB, so nothing larger can reach us."""

WORK_PIXELS = 16_000_000
"""A JPEG larger than this is decoded at the largest of 1/2, 1/4, 1/8 scale that fits
in it: a 48 MP phone photo at 1/2 (12 MP), 200 MP at 1/4. More pixels only slow the
pipeline down: faces are found on a 480 px copy and embedded from a 150 px chip."""

MAX_JPEG_PIXELS = 256_000_000
"""Above the 200 MP of today's largest phone sensors; at 1/8 scale at most 4 MP are decoded."""

MAX_PIXELS = 64_000_000
"""Formats decoded whole (HEIC, AVIF, PNG, WebP, ...): an iPhone's 48 MP HEIF fits,
a decompression bomb does not (64 MP is 192 MB as RGB)."""

_JPEG_SIGNATURE = b"\xff\xd8\xff"


class ImageError(ValueError):
    """The bytes are not a usable image. ``reason`` is a short machine-readable code."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"  # more bytes than Telegram lets a bot download
    TOO_MANY_PIXELS = "too_many_pixels"
    NOT_AN_IMAGE = "not_an_image"
    TRUNCATED = "truncated"  # a known format, damaged or cut short

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def decode_image(data: bytes, **limits: int) -> np.ndarray:
    """Decode ``data`` into an upright ``(height, width, 3)`` uint8 RGB array (reduced if
    a JPEG over ``WORK_PIXELS``: see ``decode_image_scaled``)."""
    return decode_image_scaled(data, **limits)[0]


def decode_image_scaled(
    data: bytes,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    max_jpeg_pixels: int = MAX_JPEG_PIXELS,
    work_pixels: int = WORK_PIXELS,
) -> tuple[np.ndarray, int]:
    """The upright RGB array and the factor (1, 2, 4 or 8) it was reduced by: a JPEG over
    ``work_pixels`` is decoded at a power-of-two fraction of its size."""
    if not data:
        raise ImageError(ImageError.EMPTY, "the file is empty")
    if len(data) > max_bytes:
        raise ImageError(ImageError.TOO_LARGE, f"the file is larger than {max_bytes // 2**20} MB")
    image = _open(data)
    scale = 1
    if isinstance(image, JpegImagePlugin.JpegImageFile):
        _check_pixels(image, max_jpeg_pixels)
        scale = _reduce_while_decoding(image, work_pixels)
    else:
        _check_pixels(image, max_pixels)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(ImageError.TRUNCATED, f"the image is damaged or incomplete ({exc})") from exc
    image = ImageOps.exif_transpose(image)
    return _to_rgb(image), scale


def _open(data: bytes) -> Image.Image:
    """Open lazily: only the header is read.

    JPEGs are opened by their own plugin, since Pillow's generic open refuses
    anything over 179 MP, a size a JPEG reaches safely in draft mode; every other
    format gets Pillow's check on top of ours.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our caps decide
        try:
            if data.startswith(_JPEG_SIGNATURE):
                return JpegImagePlugin.jpeg_factory(io.BytesIO(data))
            return Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise ImageError(ImageError.TOO_MANY_PIXELS, f"the image has too many pixels ({exc})") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(ImageError.NOT_AN_IMAGE, "the file is not an image") from exc


def _check_pixels(image: Image.Image, cap: int) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(ImageError.NOT_AN_IMAGE, "the image has no pixels")
    if width * height > cap:
        raise ImageError(
            ImageError.TOO_MANY_PIXELS,
            f"the {image.format} image has {width}x{height} pixels, more than {cap // 1_000_000} MP",
        )


def _reduce_while_decoding(image: JpegImagePlugin.JpegImageFile, work_pixels: int) -> int:
    """Ask the JPEG decoder for the smallest power-of-two reduction that fits ``work_pixels``."""
    width, height = image.size
    scale = next((s for s in (1, 2, 4) if width * height <= work_pixels * s * s), 8)
    if scale > 1:
        image.draft(None, (width // scale, height // scale))
    return scale


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Flatten alpha onto white, widen grayscale, convert CMYK, scale 16-bit down to 8."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        top = values.max() or 1.0
        gray = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if image.mode in {"P", "PA"}:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
