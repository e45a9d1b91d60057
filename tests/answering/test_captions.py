"""Captions fitted to Telegram's 1024 characters: whole lines dropped from the end, a line too long
alone cut in its text with its markup whole."""

from __future__ import annotations

import pytest

from tests.support.bot_api.html import parse_html, telegram_length


def test_a_long_caption_loses_whole_lines_from_the_end():
    from lookalike.answering.captions import fit

    lines = [
        f'{n}. <b><a href="https://www.wikidata.org/wiki/Q{n}">{"Ω" * 280}</a></b> &amp; more' for n in range(1, 6)
    ]
    caption = fit(lines)
    assert caption == "\n".join(lines[:3])  # 3 x 290 characters shown; a 4th line would pass 1024
    assert telegram_length(parse_html(caption)) == 3 * 290 + 2


@pytest.mark.parametrize("name", ["Maria " * 400, "🎬" * 700, "Tom &amp; Jerry " * 100])
def test_a_line_too_long_alone_is_cut_in_its_text_with_its_markup_whole(name):
    from lookalike.answering.captions import fit

    link = "https://commons.wikimedia.org/wiki/File:" + "x" * 300
    line = f'You look like <b><a href="{link}">{name}</a></b>: 97%'
    caption = fit([line, "Also like: Bob (50%)"])
    shown = parse_html(caption)  # raises, as Telegram refuses, if a tag or an entity was cut
    assert 1000 <= telegram_length(shown) <= 1024 and shown.endswith("…")
    assert f'<a href="{link}">' in caption and caption.endswith("…</a></b>")
