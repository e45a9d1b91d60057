"""Names and credits in every script: shaped by raqm in a font that has the glyphs, measured
against HarfBuzz itself, and laid out right to left where the script is."""

from __future__ import annotations

import io

import numpy as np
import pytest
import uharfbuzz as hb
from PIL import Image, ImageDraw, ImageFont

from lookalike.answering import pictures, shaped_text
from lookalike.answering.shaped_text import ARABIC, DEVANAGARI, LATIN
from tests.support.data import LFW, require

ARABIC_NAME = "محمد صلاح"
PERSIAN_NAME = "شهره آغداشلو"
HINDI_NAME = "शाहरुख़ ख़ान"
SIZE = 24


def harfbuzz_width(script: str, text: str, size: int, rtl: bool) -> float:
    """The advance of ``text`` shaped by HarfBuzz in the font ``shaped_text`` draws it with."""
    path = shaped_text.font_of(script, size).path
    with open(path, "rb") as file:
        face = hb.Face(hb.Blob(file.read()))
    font = hb.Font(face)
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    buffer.direction = "rtl" if rtl else "ltr"
    hb.shape(font, buffer)
    return sum(position.x_advance for position in buffer.glyph_positions) * size / face.upem


def drawn(text: str, font=None) -> np.ndarray:
    image = Image.new("L", (400, 60))
    draw = ImageDraw.Draw(image)
    if font is None:
        shaped_text.draw_line(draw, (200, 30), text, SIZE, 255)
    else:
        draw.text((200, 30), text, fill=255, font=font, anchor="mm")
    return np.asarray(image)


@pytest.mark.parametrize(
    ("text", "script", "rtl"),
    [(ARABIC_NAME, ARABIC, True), (PERSIAN_NAME, ARABIC, True), (HINDI_NAME, DEVANAGARI, False)],
)
def test_a_name_is_shaped_as_harfbuzz_shapes_it(text, script, rtl):
    [run] = shaped_text.layout(text, SIZE)
    assert (run.script, run.rtl) == (script, rtl)
    assert run.font.path.endswith(shaped_text.FONTS[script][0])  # the script's font, not DejaVu's boxes
    assert run.width == pytest.approx(harfbuzz_width(script, text, SIZE, rtl), abs=0.5)
    basic = ImageFont.truetype(run.font.path, SIZE, layout_engine=ImageFont.Layout.BASIC)
    assert abs(basic.getlength(text) - run.width) > 1  # unshaped: isolated forms, no conjuncts
    assert (drawn(text) != drawn(text, basic)).mean() > 0.01


def test_every_script_of_the_languages_has_its_glyphs():
    for script, letters in ((LATIN, "AzЖж"), (ARABIC, "بپ٪۸"), (DEVANAGARI, "कक़ि")):
        assert all(shaped_text.has_glyph(script, letter) for letter in letters), script
    assert not shaped_text.has_glyph(ARABIC, "A")  # the check sees a missing glyph


def test_a_right_to_left_credit_reads_from_the_right_with_the_latin_author_inside():
    runs = shaped_text.layout("\u200fالصورة: Gage Skidmore، CC BY-SA 2.0", 14)
    assert [run.text.strip() for run in runs] == ["CC BY-SA 2.0", "،", "Gage Skidmore", "الصورة:"]
    assert [run.rtl for run in runs] == [False, True, False, True]
    left_to_right = shaped_text.layout("फ़ोटो: Gage Skidmore, CC BY-SA 2.0", 14)
    assert [run.script for run in left_to_right] == [DEVANAGARI, LATIN]


def test_a_number_stays_whole_inside_a_right_to_left_line():
    runs = shaped_text.layout("عمره 87% تقريبا", SIZE)
    assert [run.text.strip() for run in runs] == ["تقريبا", "87%", "عمره"]


def test_the_picture_draws_a_devanagari_name_unlike_its_missing_glyph_boxes():
    face = require(LFW / "Angela_Merkel" / "Angela_Merkel_0001.jpg").read_bytes()

    def picture(name: str) -> np.ndarray:
        data = pictures.side_by_side(face, face, "87%", name=name, credit="फ़ोटो: Gage Skidmore", lang="hi")
        return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.int16)

    shaped, boxes = picture(HINDI_NAME), picture("\uffff" * 9)
    band = slice(-70, None)  # the strip under the faces
    assert np.abs(shaped[band] - boxes[band]).mean() > 0.5


def test_in_a_right_to_left_language_the_picture_reads_from_the_right():
    user = require(LFW / "Angela_Merkel" / "Angela_Merkel_0001.jpg").read_bytes()
    celebrity = require(LFW / "Adam_Sandler" / "Adam_Sandler_0002.jpg").read_bytes()

    def halves(lang: str) -> tuple[np.ndarray, np.ndarray]:
        data = pictures.side_by_side(user, celebrity, "87%", name="Adam Sandler", lang=lang)
        image = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.int16)
        side, margin = (image.shape[1] - 3 * pictures.MARGIN) // 2, pictures.MARGIN
        rows = slice(margin, margin + side)
        return image[rows, margin : margin + side], image[rows, 2 * margin + side : 2 * margin + 2 * side]

    english, arabic = halves("en"), halves("ar")
    assert np.abs(english[0] - arabic[1]).mean() < 3 and np.abs(english[1] - arabic[0]).mean() < 3  # swapped
    assert np.abs(english[0] - english[1]).mean() > 10  # two different faces


def test_without_raqm_names_are_drawn_unshaped_not_refused(monkeypatch, caplog):
    """Pillow's wheels load FriBiDi from the system: where it is missing (a slim image without
    libfribidi0) raqm cannot run, and every answer's picture would fail on its names; they are
    drawn with the basic layout instead, and a warning says why."""
    monkeypatch.setattr(shaped_text.features, "check", lambda feature: False)
    shaped_text.shaping.cache_clear()
    shaped_text.font_of.cache_clear()
    try:
        image = Image.new("L", (400, 60))
        width = shaped_text.draw_line(ImageDraw.Draw(image), (200, 30), "الصورة: Gage Skidmore، नमस्ते", SIZE, 255)
        assert width > 0 and np.asarray(image).any()
        assert "raqm layout is not available" in caplog.text
    finally:
        shaped_text.shaping.cache_clear()
        shaped_text.font_of.cache_clear()
