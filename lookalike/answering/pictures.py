"""The pictures the bot sends, drawn with Pillow: the side-by-side look-alike picture and a
group photo with numbered boxes (faces are framed by ``lookalike.engine.framing``). Pure
functions: arrays or JPEG bytes in, JPEG bytes out, so they run in a worker process or a
thread, never on the event loop.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from lookalike.answering import shaped_text
from lookalike.answering.translations import right_to_left
from lookalike.engine.framing import CROP_SIDE, jpeg

GROUP_SIDE = 1280
"""Longest side of the numbered group picture (Telegram's largest photo rendition)."""

BACKGROUND = (24, 26, 33)
ACCENT = (255, 196, 0)
MARGIN = 12
BAND = 56  # the strip under the two faces where the percentage is written
NAME_SIZE, NAME_COLOUR = 24, (236, 236, 236)
CREDIT_SIZE, CREDIT_COLOUR = 14, (160, 164, 172)
LABEL_SIZE = BAND - 18


def side_by_side(
    face: bytes,
    celebrity: bytes | None,
    label: str,
    height: int = CROP_SIDE,
    name: str | None = None,
    credit: str | None = None,
    lang: str | None = None,
) -> bytes:
    """The user's face and the celebrity's, equal heights, with ``label`` written under them.

    With a ``name`` or a photo ``credit``, the label goes under the user's half and the name
    and credit under the celebrity's, so that a forwarded picture still says who it is and
    whose photo it is. Each is shaped and laid out in its own script and direction
    (``shaped_text``); ``lang``, the user's language, picks its script's local forms, and in a
    right-to-left language the picture reads from the right too: the user's face on the right.
    """
    images = [_to_height(_open(face), height)]
    if celebrity is not None:
        images.append(_to_height(_open(celebrity), height))
    if lang is not None and right_to_left(lang):
        images.reverse()
    width = sum(image.width for image in images) + MARGIN * (len(images) + 1)
    canvas = Image.new("RGB", (width, height + 2 * MARGIN + BAND), BACKGROUND)
    lefts = []
    x = MARGIN
    for image in images:
        canvas.paste(image, (x, MARGIN))
        lefts.append(x)
        x += image.width + MARGIN
    draw = ImageDraw.Draw(canvas)
    middle = height + MARGIN + BAND / 2 + 4
    if len(images) == 2 and (name or credit):
        user, other = (1, 0) if lang is not None and right_to_left(lang) else (0, 1)
        user_centre = lefts[user] + images[user].width / 2
        shaped_text.draw_line(draw, (user_centre, middle), label, LABEL_SIZE, ACCENT, language=lang)
        _caption(draw, lefts[other], height + MARGIN, images[other].width, name, credit, lang)
    else:
        shaped_text.draw_line(draw, (width / 2, middle), label, LABEL_SIZE, ACCENT, language=lang)
    return jpeg(canvas)


def _caption(
    draw: ImageDraw.ImageDraw, left: int, top: int, width: int, name: str | None, credit: str | None, lang: str | None
) -> None:
    """The name, and the credit in small grey type under it, centred under the celebrity's half."""
    centre = left + width / 2
    lines = [
        (text, size, smallest, colour)
        for text, size, smallest, colour in (
            (name, NAME_SIZE, 14, NAME_COLOUR),
            (credit, CREDIT_SIZE, 10, CREDIT_COLOUR),
        )
        if text
    ]
    for (text, size, smallest, colour), middle in zip(lines, (top + 20, top + 47)):
        shown, fitted_size = shaped_text.fitted(text, width, size, smallest, lang)
        shaped_text.draw_line(draw, (centre, middle), shown, fitted_size, colour, language=lang)


def group_picture(image: np.ndarray, boxes: list[tuple[int, int, int, int]], side: int = GROUP_SIDE) -> bytes:
    """A copy of the photo, at most ``side`` px long, with boxes numbered 1, 2, ... drawn on it."""
    picture = Image.fromarray(image)
    scale = min(1.0, side / max(picture.size))
    if scale < 1.0:
        picture = picture.resize(
            (round(picture.width * scale), round(picture.height * scale)), Image.Resampling.LANCZOS
        )
    draw = ImageDraw.Draw(picture)
    line = max(2, round(max(picture.size) / 300))
    font = ImageFont.load_default(size=max(14, round(max(picture.size) / 28)))
    for number, (left, top, right, bottom) in enumerate(boxes, start=1):
        rect = [round(left * scale), round(top * scale), round(right * scale), round(bottom * scale)]
        draw.rectangle(rect, outline=ACCENT, width=line)
        tag = str(number)
        x0, y0, x1, y1 = draw.textbbox((0, 0), tag, font=font)
        pad = line * 2
        tag_w, tag_h = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
        tx = min(max(0, rect[0]), picture.width - tag_w)
        ty = rect[1] - tag_h if rect[1] - tag_h >= 0 else min(rect[3], picture.height - tag_h)
        draw.rectangle([tx, ty, tx + tag_w, ty + tag_h], fill=ACCENT)
        draw.text((tx + pad - x0, ty + pad - y0), tag, fill=BACKGROUND, font=font)
    return jpeg(picture)


def text_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The Latin and Cyrillic font at ``size``: for numbers and Latin words (``shaped_text``
    draws words in any script)."""
    return shaped_text.font_of(shaped_text.LATIN, size)


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    return ImageOps.exif_transpose(image).convert("RGB")


def _to_height(image: Image.Image, height: int) -> Image.Image:
    if image.height == height:
        return image
    width = max(1, round(image.width * height / image.height))
    return image.resize((width, height), Image.Resampling.LANCZOS)
