"""The operator's numbers as one picture: /stats sends it, the playground's operator page shows it.

Three panels, drawn with Pillow in the admin's language: answers per celebrity, most answered
first (a few long bars over a short tail is a gallery whose "hub" faces answer everyone), the
gallery's coverage (the share of its celebrities ever given as a best match), and the photos
answered in each of the last 24 hours, stacked by outcome. A pure function of the counts:
PNG bytes out, run in a thread.
"""

from __future__ import annotations

import io
from collections import Counter

from PIL import Image, ImageDraw

from lookalike.answering import shaped_text
from lookalike.answering.analytics import Coverage, MatchAnalytics
from lookalike.answering.build_reload import LoadedBuild
from lookalike.answering.pictures import text_font
from lookalike.answering.texts import say
from lookalike.answering.translations import number, percent, right_to_left

WIDTH = 1000
PAD = 24
NAME_COLUMN = 280
ROW = 26
TOP_CELEBRITIES = 15
HOURS_HEIGHT = 220

BACKGROUND, INK, FAINT, BAR = (255, 255, 255), (33, 37, 41), (134, 142, 150), (51, 102, 204)
OUTCOME_COLOURS = {
    "match": (55, 178, 77),
    "no_face": (247, 103, 7),
    "busy": (174, 62, 201),
    "chat_busy": (132, 94, 247),
    "user_rate": (92, 124, 250),
    "user_in_flight": (34, 139, 230),
    "bad_image": (240, 140, 0),
    "too_large": (250, 176, 5),
    "failed": (224, 49, 49),
    "error": (201, 42, 42),
}
OTHER_COLOURS = [(21, 170, 191), (12, 166, 120), (130, 201, 30), (230, 73, 128), (134, 142, 150)]


def draw(analytics: MatchAnalytics, build: LoadedBuild, lang: str) -> bytes:
    """The chart of ``analytics`` against ``build`` (the build answering now), as PNG bytes."""
    most = analytics.most_answered(TOP_CELEBRITIES)
    height = PAD + _celebrities_height(most) + PAD + 70 + PAD + HOURS_HEIGHT + 60 + PAD
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    canvas = ImageDraw.Draw(image)
    y = _celebrities(canvas, PAD, most, len(analytics.celebrities), lang)
    y = _coverage(canvas, y + PAD, analytics.coverage(build), lang)
    _hours(canvas, y + PAD, analytics.hours(), lang)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _celebrities_height(most: list[tuple[str, int]]) -> int:
    return 34 + max(1, len(most)) * ROW


def _celebrities(canvas: ImageDraw.ImageDraw, y: int, most: list[tuple[str, int]], answered: int, lang: str) -> int:
    title = say(lang, "chart_celebrities", shown=number(lang, len(most)), answered=number(lang, answered))
    _title(canvas, y, title, lang)
    y += 34
    if not most:
        shaped_text.draw_line(canvas, (PAD, y + 9), say(lang, "chart_empty"), 15, FAINT, align="left", language=lang)
        return y + ROW
    longest = most[0][1]
    span = WIDTH - 2 * PAD - NAME_COLUMN - 60
    for name, count in most:
        shown, size = shaped_text.fitted(name, NAME_COLUMN - 20, 14, 14, lang)
        shaped_text.draw_line(canvas, (PAD + NAME_COLUMN - 10, y + ROW / 2), shown, size, INK, "right", lang)
        right = PAD + NAME_COLUMN + max(2, round(span * count / longest))
        canvas.rectangle([PAD + NAME_COLUMN, y + 4, right, y + ROW - 4], fill=BAR)
        canvas.text((right + 6, y + ROW / 2), str(count), fill=INK, font=text_font(14), anchor="lm")
        y += ROW
    return y


def _coverage(canvas: ImageDraw.ImageDraw, y: int, coverage: Coverage, lang: str) -> int:
    share = percent(lang, round(coverage.share * 100, 1))
    answered, size = number(lang, coverage.answered), number(lang, coverage.size)
    _title(canvas, y, say(lang, "chart_coverage", answered=answered, size=size, share=share), lang)
    top, left, right = y + 34, PAD, WIDTH - PAD
    canvas.rectangle([left, top, right, top + 26], fill=(233, 236, 239))
    canvas.rectangle(
        [left, top, left + round((right - left) * coverage.share), top + 26], fill=OUTCOME_COLOURS["match"]
    )
    return top + 36


def _hours(canvas: ImageDraw.ImageDraw, y: int, hours: list[Counter[str]], lang: str) -> None:
    day = sum(counts.total() for counts in hours)
    _title(canvas, y, say(lang, "chart_hours", day=number(lang, day)), lang)
    outcomes = [name for name, _ in sum(hours, Counter()).most_common()]
    colours = _colours(outcomes)
    top, bottom = y + 34, y + 34 + HOURS_HEIGHT - 50
    left, right = PAD + 40, WIDTH - PAD
    tallest = max((counts.total() for counts in hours), default=0) or 1
    canvas.line([left, bottom, right, bottom], fill=FAINT)
    canvas.text((left - 6, top), str(tallest), fill=FAINT, font=text_font(12), anchor="ra")
    canvas.text((left - 6, bottom), "0", fill=FAINT, font=text_font(12), anchor="rs")
    slot = (right - left) / len(hours)
    for i, counts in enumerate(hours):
        x0, x1 = left + i * slot + 3, left + (i + 1) * slot - 3
        base: float = bottom
        for outcome in outcomes:
            tall = (bottom - top) * counts[outcome] / tallest
            if tall > 0:
                canvas.rectangle([x0, base - tall, x1, base], fill=colours[outcome])
                base -= tall
        ago = len(hours) - 1 - i
        if ago % 3 == 0:
            canvas.text(((x0 + x1) / 2, bottom + 4), str(ago), fill=FAINT, font=text_font(12), anchor="ma")
    shaped_text.draw_line(canvas, (right, bottom + 27), say(lang, "chart_hours_axis"), 12, FAINT, "right", lang)
    x = left
    for outcome in outcomes:
        canvas.rectangle([x, bottom + 42, x + 14, bottom + 56], fill=colours[outcome])
        label = f"{outcome} {sum(counts[outcome] for counts in hours)}"
        canvas.text((x + 20, bottom + 49), label, fill=INK, font=text_font(13), anchor="lm")
        x += 40 + round(canvas.textlength(label, font=text_font(13)))


def _colours(outcomes: list[str]) -> dict[str, tuple[int, int, int]]:
    others = iter(OTHER_COLOURS * (1 + len(outcomes) // len(OTHER_COLOURS)))
    return {name: OUTCOME_COLOURS.get(name) or next(others) for name in outcomes}


def _title(canvas: ImageDraw.ImageDraw, y: int, text: str, lang: str) -> None:
    """A panel's title, on the left (on the right in a right-to-left language)."""
    x, align = (WIDTH - PAD, "right") if right_to_left(lang) else (PAD, "left")
    shaped_text.draw_line(canvas, (x, y + 11), text, 18, INK, align, lang)
