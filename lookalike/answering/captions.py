"""Fitting an HTML caption into Telegram's 1024 characters without breaking its markup.

Telegram counts a caption after parsing it: tags cost nothing, ``&amp;`` is one
character, and the limit is on what the user sees. A caption cut by its raw length
either loses text it had room for or is cut inside a tag or an entity (an unclosed
``<b>`` or ``<a href=...>``), which Telegram refuses with a 400, losing the answer.
So whole lines are dropped from the end first, and only a single line still too long
is cut, in its text, with every tag it opened closed again.
"""

from __future__ import annotations

import html
import re

CAPTION_LIMIT = 1024
ELLIPSIS = "…"

_TOKEN = re.compile(r"<[^>]*>|&(?:#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z-]+)")


def fit(lines: list[str], limit: int = CAPTION_LIMIT) -> str:
    """Join the HTML ``lines``, dropping trailing ones while the text shown is over ``limit``."""
    while len(lines) > 1 and shown_length("\n".join(lines)) > limit:
        lines = lines[:-1]
    return cut("\n".join(lines), limit)


def shown_length(markup: str) -> int:
    """The length Telegram checks: of the parsed text, in UTF-16 code units (its entity
    unit, never fewer than the characters, so a caption within it is within Telegram's)."""
    return sum(_width(token) for token in _TOKEN.findall(markup))


def cut(markup: str, limit: int = CAPTION_LIMIT) -> str:
    """``markup`` unchanged if it fits, else its text cut to ``limit`` with an ellipsis and
    every tag still open closed, so the markup stays whole."""
    if shown_length(markup) <= limit:
        return markup
    room = limit - _width(ELLIPSIS)
    kept: list[str] = []
    open_tags: list[str] = []
    for token in _TOKEN.findall(markup):
        if token.startswith("<") and len(token) > 1:
            name = _TAG_NAME.match(token)
            if token.startswith("</") and open_tags:
                open_tags.pop()
            elif name:
                open_tags.append(name.group(1).lower())
            kept.append(token)
            continue
        room -= _width(token)
        if room < 0:
            break
        kept.append(token)
    return "".join(kept) + ELLIPSIS + "".join(f"</{name}>" for name in reversed(open_tags))


def cut_text(text: str, limit: int = CAPTION_LIMIT) -> str:
    """Plain ``text`` (sent without a parse mode) unchanged if Telegram's count of it fits
    ``limit``, else cut with an ellipsis where it does: a long photo credit must not make
    Telegram refuse the photo it credits."""
    if _utf16_units(text) <= limit:
        return text
    room = limit - _utf16_units(ELLIPSIS)
    kept = []
    for char in text:
        room -= _utf16_units(char)
        if room < 0:
            break
        kept.append(char)
    return "".join(kept) + ELLIPSIS


def plain(markup: str) -> str:
    """The text the markup shows, for a message sent without parse mode."""
    return html.unescape(re.sub(r"<[^>]*>", "", markup))


def _width(token: str) -> int:
    if token.startswith("<") and len(token) > 1:
        return 0
    text = html.unescape(token) if token.startswith("&") else token
    return _utf16_units(text)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
