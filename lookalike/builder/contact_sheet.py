"""The build report to look at: contact sheets of the rejected photos and of the gallery.

Whether a photo "disagrees with the celebrity's other photos" can only be judged by looking
at it, so the build writes, beside build.json in the assets directory (``assets_layout``), ``rejected.jpg``
(each rejected photo, its file name and the reason) and ``gallery.jpg`` (each celebrity's
thumbnail and name). A sheet shows at most MAX_TILES photos (about 2,500 x 4,000 px, a few
MB at most); one with more says how many were left out: build.json lists them all.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from lookalike.engine.framing import jpeg

log = logging.getLogger(__name__)

MAX_TILES = 400
COLUMNS = 16
TILE = 144  # the photo's square, px
LABEL = 52  # the name on one line, the reason on up to two
GAP = 6
HEADER = 40
FONT = "DejaVuSans.ttf"


def write_rejected(path: Path, rejected: dict[Path, str], reasons: dict[str, str], photos_dir: Path) -> None:
    """``path``: a sheet of the rejected photos (read from ``photos_dir``) with their reasons."""
    tiles = ((photo, _relative(photo, photos_dir), reasons.get(reason, reason)) for photo, reason in rejected.items())
    _write(path, f"Rejected photos: {len(rejected)}", tiles, len(rejected), _photo)


def write_gallery(path: Path, thumbnails: list[tuple[Path, str]]) -> None:
    """``path``: a sheet of the gallery, each (thumbnail JPEG, celebrity's name)."""
    tiles = ((thumb, name, "") for thumb, name in thumbnails)
    _write(path, f"Gallery: {len(thumbnails)} celebrities", tiles, len(thumbnails), _photo)


def _write(
    path: Path,
    title: str,
    tiles: Iterable[tuple[Path, str, str]],
    count: int,
    load: Callable[[Path], Image.Image | None],
) -> None:
    shown = min(count, MAX_TILES)
    rows = max(1, -(-shown // COLUMNS))
    width = COLUMNS * (TILE + GAP) + GAP
    sheet = Image.new("RGB", (width, HEADER + rows * (TILE + LABEL + GAP) + GAP), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    if count > shown:
        title += f" (the first {shown} shown; build.json lists them all)"
    draw.text((GAP, HEADER / 2), title, fill=(33, 37, 41), font=_font(18), anchor="lm")
    for number, (photo, first, second) in enumerate(tiles):
        if number == shown:
            break
        x = GAP + (number % COLUMNS) * (TILE + GAP)
        y = HEADER + (number // COLUMNS) * (TILE + LABEL + GAP)
        tile = load(photo)
        if tile is not None:
            sheet.paste(tile, (x + (TILE - tile.width) // 2, y + (TILE - tile.height) // 2))
        else:
            draw.rectangle([x, y, x + TILE, y + TILE], outline=(173, 181, 189))
        draw.text((x, y + TILE + 2), _fit(draw, first, 11), fill=(33, 37, 41), font=_font(11))
        for line, text in enumerate(_wrap(draw, second, 11)):
            draw.text((x, y + TILE + 17 + 14 * line), text, fill=(201, 42, 42), font=_font(11))
    path.write_bytes(jpeg(sheet, quality=85))


def _photo(path: Path) -> Image.Image | None:
    """The photo fitted into a TILE square, or None when it cannot be read (as an unreadable
    rejected photo cannot)."""
    try:
        with Image.open(path) as image:
            image.draft("RGB", (TILE, TILE))  # a large JPEG is decoded at a fraction of its size
            fitted = ImageOps.exif_transpose(image).convert("RGB")
            fitted.thumbnail((TILE, TILE))
            return fitted
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        log.debug("contact sheet: %s unreadable (%s)", path, exc)
        return None


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int) -> str:
    if draw.textlength(text, font=_font(size)) <= TILE:
        return text
    while text and draw.textlength("…" + text, font=_font(size)) > TILE:
        text = text[1:]  # the end of a path says more than its start
    return "…" + text


def _wrap(draw: ImageDraw.ImageDraw, text: str, size: int) -> list[str]:
    """``text`` in at most two lines of the tile's width (the second cut to fit)."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=_font(size)) <= TILE:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return [lines[0], _fit(draw, " ".join(lines[1:]), size)] if len(lines) > 1 else lines


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


@functools.lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        return ImageFont.load_default(size=size)
