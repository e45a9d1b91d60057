"""Lines of text in any of the bot's scripts, drawn by Pillow with complex text layout.

Pillow's raqm layout (its wheels carry raqm, FriBiDi and HarfBuzz) shapes a run of text in
one font: Arabic and Persian letters joined in their contextual forms and laid out right to
left, Devanagari's conjuncts formed and its vowel signs placed. No font has every script and
Pillow has no font fallback, so a line is cut into runs, each drawn in a font that has its
glyphs (``FONTS``: DejaVu Sans for Latin and Cyrillic, Debian's Noto fonts for Arabic and
Devanagari), and the runs are placed as the Unicode bidirectional algorithm orders them,
at the level of runs: in a right-to-left line (its first strong letter Arabic or Persian,
or a right-to-left mark) the runs read from the right, a left-to-right run keeping its own
order inside. Spaces, digits and punctuation between letters join the neighbouring run of
the line's direction when its font has them, else the other neighbour's, else a run of
their own in the first font that has them; within a run raqm orders them itself ("87%"
stays "87%" in an Arabic sentence).
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageFont, features

log = logging.getLogger(__name__)

LATIN, ARABIC, DEVANAGARI = "latin", "arabic", "devanagari"
FONTS = {
    LATIN: ("DejaVuSans.ttf", "NotoSans-Regular.ttf"),
    ARABIC: ("NotoSansArabic-Regular.ttf", "NotoNaskhArabic-Regular.ttf"),
    DEVANAGARI: ("NotoSansDevanagari-Regular.ttf",),
}
"""Each script's fonts, by file name (Pillow finds them in the system's font folders), best first:
Debian's fonts-dejavu-core and fonts-noto-core, which install.sh and the image install."""

BIDI_CONTROLS = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Marks and embeddings that only steer the layout: read for the line's direction, never drawn."""


@dataclass(frozen=True)
class Run:
    """Part of a line drawn in one font and one direction."""

    text: str
    script: str
    rtl: bool
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    width: float


def layout(text: str, size: int, language: str | None = None) -> list[Run]:
    """``text``'s runs at ``size`` px, in the order they are drawn from left to right."""
    rtl = _right_to_left(text)
    text = "".join(char for char in text if char not in BIDI_CONTROLS)
    runs = []
    for part, script in _itemised(text, rtl):
        run_rtl = _strong_direction(part, default=rtl)
        font = font_of(script, size)
        options = _options(font, run_rtl, language if _language_script(language) == script else None)
        runs.append(Run(part, script, run_rtl, font, font.getlength(part, **options)))
    return _visual_order(runs, rtl)


def draw_line(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    size: int,
    fill: tuple[int, int, int],
    align: str = "centre",
    language: str | None = None,
) -> float:
    """Draw ``text`` with its middle line at ``xy``'s y and its centre (or left or right end,
    by ``align``) at ``xy``'s x; its width."""
    runs = layout(text, size, language)
    total = sum(run.width for run in runs)
    x = {"centre": xy[0] - total / 2, "left": xy[0], "right": xy[0] - total}[align]
    base = font_of(LATIN, size)
    ascent, descent = base.getmetrics() if isinstance(base, ImageFont.FreeTypeFont) else (size, 0)
    baseline = xy[1] + (ascent - descent) / 2
    for run in runs:
        run_language = language if _language_script(language) == run.script else None
        options = _options(run.font, run.rtl, run_language)
        draw.text((x, baseline), run.text, fill=fill, font=run.font, anchor="ls", **options)
        x += run.width
    return total


def line_width(text: str, size: int, language: str | None = None) -> float:
    return sum(run.width for run in layout(text, size, language))


def fitted(text: str, width: float, size: int, smallest: int, language: str | None = None) -> tuple[str, int]:
    """``text`` and a size no larger than ``size`` at which it fits ``width``: smaller type down
    to ``smallest``, then the text cut with an ellipsis."""
    while size > smallest and line_width(text, size, language) > width:
        size -= 1
    while len(text) > 1 and line_width(text, size, language) > width:
        text = text[:-2].rstrip() + "…"
    return text, size


@functools.cache
def shaping() -> bool:
    """Whether Pillow's raqm layout can run here. Pillow's wheels carry raqm and HarfBuzz but load
    FriBiDi from the system (libfribidi0, which install.sh and the image install); without it every
    name is drawn with the basic layout, unshaped, and a warning says so once."""
    if features.check("raqm"):
        return True
    log.warning(
        "Pillow's raqm layout is not available (is libfribidi0 installed?): Arabic, Persian and Devanagari names are drawn unshaped"
    )
    return False


@functools.lru_cache(maxsize=64)
def font_of(script: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The first of the script's ``FONTS`` installed, at ``size``, laid out by raqm (by the basic
    layout where raqm cannot run); for a script with none installed, the Latin font (logged
    once), and for Latin, Pillow's own."""
    engine = ImageFont.Layout.RAQM if shaping() else ImageFont.Layout.BASIC
    for name in FONTS[script]:
        try:
            return ImageFont.truetype(name, size, layout_engine=engine)
        except OSError:
            continue
    if script != LATIN:
        log.warning("no font for %s (%s): its letters are drawn as boxes", script, ", ".join(FONTS[script]))
        return font_of(LATIN, size)
    return ImageFont.load_default(size=size)


def script_of(char: str) -> str | None:
    """The script whose font draws the letter ``char``; None for a space, digit or punctuation
    (ARABIC for Arabic digits, signs and punctuation, which only its fonts have)."""
    name = unicodedata.name(char, "")
    if name.startswith(("ARABIC", "EXTENDED ARABIC")):
        return ARABIC
    if name.startswith(("DEVANAGARI", "VEDIC")):
        return DEVANAGARI
    return LATIN if unicodedata.category(char)[0] in "LM" else None


@functools.lru_cache(maxsize=4096)
def has_glyph(script: str, char: str) -> bool:
    """Whether the script's font draws ``char`` as itself, not as its missing-glyph box."""
    return _ink(script, char) != _ink(script, "\uffff")  # a noncharacter: no font has it


@functools.lru_cache(maxsize=4096)
def _ink(script: str, char: str) -> bytes:
    font = font_of(script, 24)
    image = Image.new("L", (48, 48))
    ImageDraw.Draw(image).text((8, 8), char, fill=255, font=font)
    return image.tobytes()


def _itemised(text: str, rtl: bool) -> list[tuple[str, str]]:
    """``text`` cut into (part, script) runs in logical order (see the module's docstring)."""
    scripts = [script_of(char) if unicodedata.category(char)[0] in "LM" else None for char in text]
    for index, char in enumerate(text):  # Arabic digits and signs: letters' fonts only
        if scripts[index] is None and script_of(char) == ARABIC:
            scripts[index] = ARABIC
    start = 0
    while start < len(text):
        if scripts[start] is not None:
            start += 1
            continue
        end = start
        while end < len(text) and scripts[end] is None:
            end += 1
        chosen = _neutral_script(
            text[start:end], scripts[start - 1] if start else None, scripts[end] if end < len(text) else None, rtl
        )
        scripts[start:end] = [chosen] * (end - start)
        start = end
    parts: list[tuple[str, str]] = []
    for char, script in zip(text, scripts):
        assert script is not None
        if parts and parts[-1][1] == script:
            parts[-1] = (parts[-1][0] + char, script)
        else:
            parts.append((char, script))
    return parts


def _neutral_script(neutrals: str, before: str | None, after: str | None, rtl: bool) -> str:
    """The script whose run takes ``neutrals``: the neighbour of the line's direction first."""
    neighbours = [script for script in (before, after) if script is not None]
    neighbours.sort(key=lambda script: (script == ARABIC) != rtl)  # stable: before wins a tie
    for script in [*neighbours, LATIN, ARABIC, DEVANAGARI]:
        if all(has_glyph(script, char) for char in neutrals if not char.isspace()):
            return script
    return LATIN


def _right_to_left(text: str) -> bool:
    """The line's direction: that of its first strong character (the algorithm's P2-P3)."""
    return _strong_direction(text, default=False)


def _strong_direction(text: str, default: bool) -> bool:
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return default


def _visual_order(runs: list[Run], rtl: bool) -> list[Run]:
    """Runs from left to right: reversed in a right-to-left line, where consecutive
    left-to-right runs keep their order (rule L2 at the level of runs)."""
    if not rtl:
        ordered: list[Run] = []
        pending: list[Run] = []  # right-to-left runs read from the right
        for run in runs:
            if run.rtl:
                pending.insert(0, run)
            else:
                ordered += [*pending, run]
                pending = []
        return ordered + pending
    groups: list[list[Run]] = []
    for run in runs:
        if not run.rtl and groups and not groups[-1][0].rtl:
            groups[-1].append(run)
        else:
            groups.append([run])
    return [run for group in reversed(groups) for run in group]


def _options(font: ImageFont.ImageFont | ImageFont.FreeTypeFont, rtl: bool, language: str | None) -> dict[str, Any]:
    if not isinstance(font, ImageFont.FreeTypeFont) or not shaping():
        return {}
    options: dict[str, str] = {"direction": "rtl" if rtl else "ltr"}
    if language:
        options["language"] = language
    return options


def _language_script(language: str | None) -> str | None:
    return {"ar": ARABIC, "fa": ARABIC, "hi": DEVANAGARI}.get(language or "")
