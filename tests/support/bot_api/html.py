"""Telegram's HTML parse mode, as the fake Bot API applies it to ``parse_mode=HTML`` texts.

Telegram parses the markup before it checks a text's length (1024 characters for a
caption, 4096 for a message, both counted on the parsed text) and refuses markup it
cannot parse with 400 "Bad Request: can't parse entities: <reason>". The reasons and
their byte offsets (in the UTF-8 of the text as sent) follow TDLib's parser, which
is what the Bot API runs; only what the checks need is kept: the tags Telegram
supports, attributes, quoted values, the five entities it decodes, and the stack of
open tags.
"""

from __future__ import annotations

import re

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "pre",
        "code",
        "blockquote",
    }
)
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_ENTITY = re.compile(rb"&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);?")
_SPACE = b" \t\r\n\f\v"


class HtmlError(ValueError):
    """Markup Telegram refuses; the message is Telegram's reason, word for word."""


def parse_html(text: str) -> str:
    """The text as Telegram shows it (tags removed, entities decoded), or HtmlError."""
    data = text.encode("utf-8")
    size = len(data)
    shown = bytearray()
    open_tags: list[str] = []
    i = 0
    while i < size:
        char = data[i : i + 1]
        if char == b"&":
            decoded, i = _entity(data, i)
            shown += decoded
        elif char != b"<":
            shown += char
            i += 1
        elif data[i + 1 : i + 2] == b"/":
            i = _end_tag(data, i, open_tags)
        else:
            i = _start_tag(data, i, open_tags)
    if open_tags:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return shown.decode("utf-8")


def telegram_length(text: str) -> int:
    """A parsed text's length in UTF-16 code units, the unit of Telegram's entity offsets:
    never fewer than its characters, so a text within the limit here is within it there."""
    return len(text.encode("utf-16-le")) // 2


def _entity(data: bytes, at: int) -> tuple[bytes, int]:
    """Decode ``&name;`` or ``&#number;``; anything else stays as it was written."""
    found = _ENTITY.match(data, at)
    if found is None:
        return b"&", at + 1
    name = found.group(1).decode()
    if name.startswith("#"):
        number = int(name[2:], 16) if name[1:2] in ("x", "X") else int(name[1:])
        if 0 < number < 0x110000 and not 0xD800 <= number <= 0xDFFF:
            return chr(number).encode("utf-8"), found.end()
    elif name in _ENTITIES:
        return _ENTITIES[name].encode("utf-8"), found.end()
    return b"&", at + 1


def _start_tag(data: bytes, begin: int, open_tags: list[str]) -> int:
    size = len(data)
    i = begin + 1
    while i < size and data[i] not in _SPACE and data[i : i + 1] != b">":
        i += 1
    if i >= size:
        raise HtmlError(f"Unclosed start tag at byte offset {begin}")
    name = data[begin + 1 : i].decode("utf-8", "replace").lower()
    if name not in SUPPORTED_TAGS:
        raise HtmlError(f'Unsupported start tag "{name}" at byte offset {begin}')
    while data[i : i + 1] != b">":
        while i < size and data[i] in _SPACE:
            i += 1
        if data[i : i + 1] == b">":
            break
        i = _attribute(data, begin, i, name)
    open_tags.append(name)
    return i + 1


def _attribute(data: bytes, begin: int, i: int, tag: str) -> int:
    """Skip one ``name=value`` inside the tag that starts at ``begin``; return where it ends."""
    size = len(data)
    name_begin = i
    while i < size and data[i] not in _SPACE and data[i : i + 1] not in (b"=", b">"):
        i += 1
    if i == name_begin:
        raise HtmlError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
    while i < size and data[i] in _SPACE:
        i += 1
    if i >= size:
        raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {begin}')
    if data[i : i + 1] != b"=":
        raise HtmlError(f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte offset {begin}')
    i += 1
    while i < size and data[i] in _SPACE:
        i += 1
    if i >= size:
        raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {begin}')
    quote = data[i : i + 1]
    if quote in (b'"', b"'"):
        closing = data.find(quote, i + 1)
        if closing < 0:
            raise HtmlError(f"Unclosed start tag at byte offset {begin}")
        return closing + 1
    value_begin = i
    while i < size and (chr(data[i]).isalnum() or data[i : i + 1] in (b"-", b".", b"_")):
        i += 1
    if i >= size or (data[i] not in _SPACE and data[i : i + 1] != b">"):
        raise HtmlError(f"Unexpected end of name token at byte offset {value_begin}")
    return i


def _end_tag(data: bytes, begin: int, open_tags: list[str]) -> int:
    closing = data.find(b">", begin)
    if not open_tags:
        raise HtmlError(f"Unexpected end tag at byte offset {begin}")
    if closing < 0:
        raise HtmlError(f"Unclosed end tag at byte offset {begin}")
    name = data[begin + 2 : closing].decode("utf-8", "replace").strip().lower()
    expected = open_tags.pop()
    if name and name != expected:
        raise HtmlError(f'Unmatched end tag at byte offset {begin}, expected "</{expected}>", found "</{name}>"')
    return closing + 1
