"""A JSON array's items parsed one by one from its text read chunk by chunk.

The bot loads a new index in a thread beside the event loop that answers (index_reload.py).
``json.loads`` of a million celebrities' records is one C call that holds the GIL for ~1.5 s,
and even decoding their 149 MB file from UTF-8 in one call (``Path.read_text``) held it for
0.1-0.7 s: the loop stopped answering for that long (bench/million_bot.py). Here each C call
decodes one chunk or parses one item, so the loop gets the GIL back between them, and the
whole text is never in memory at once.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from functools import partial
from typing import IO, Any, NoReturn

CHUNK_BYTES = 1 << 20
"""Bytes decoded in one call: ~1 ms of the GIL."""


def json_file_items(file: IO[bytes]) -> list[Any]:
    """The items of the JSON array in the UTF-8 ``file``, read ``CHUNK_BYTES`` at a time."""
    return json_array_items(codecs.iterdecode(iter(partial(file.read, CHUNK_BYTES), b""), "utf-8"))


def json_array_items(chunks: Iterable[str]) -> list[Any]:
    """The items of the JSON array whose text comes in ``chunks``, parsed one by one.

    The objects' keys are shared between items, as ``json.loads`` shares them (parsed apart,
    a million records' keys took 300 MB more). Raises ValueError where the text is not an
    array, saying at which character.
    """
    text = _ArrayText(chunks)
    decoder = json.JSONDecoder()
    keys: dict[str, str] = {}
    items: list[Any] = []
    if text.match(_OPENING) is None:
        text.fail("expected a JSON array")
    closed = text.match(_EMPTY) is not None
    while not closed:
        item = text.value(decoder)
        if isinstance(item, dict):
            item = {keys.setdefault(key, key): value for key, value in item.items()}
        items.append(item)
        separator = text.match(_SEPARATOR)
        if separator is None:
            text.fail("expected ',' or ']' after an item of the array")
        closed = separator == "]"
    if not text.ended():
        text.fail("extra data after the array")
    return items


# whitespace included, so that each item costs one match
_OPENING = re.compile(r"[ \t\n\r]*(\[)[ \t\n\r]*")
_EMPTY = re.compile(r"(\])[ \t\n\r]*")
_SEPARATOR = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")
_BLANK = re.compile(r"[ \t\n\r]*")


def _blank(text: str, at: int) -> int:
    """Where the whitespace from ``at`` on ends."""
    return _BLANK.match(text, at).end()  # type: ignore[union-attr]  # it matches the empty string


class _ArrayText:
    """The array's text as far as it has been read, from where parsing has got to."""

    def __init__(self, chunks: Iterable[str]):
        self._chunks: Iterator[str] = iter(chunks)
        self._text = ""
        self._at = 0  # where parsing has got to in _text
        self._passed = 0  # characters cut off before _text

    def match(self, pattern: re.Pattern[str]) -> str | None:
        """Consume what ``pattern`` (whitespace, a character, whitespace) matches here and
        return the character, or None if it does not match. Where the text read so far ends
        in whitespace, or within the match, the pattern is tried again with more."""
        found = pattern.match(self._text, self._at)
        while (found.end() if found else _blank(self._text, self._at)) == len(self._text) and self._read_on():
            found = pattern.match(self._text, self._at)
        if found is None:
            return None
        self._at = found.end()
        return found.group(1)

    def value(self, decoder: json.JSONDecoder) -> Any:
        """The JSON value starting here, consumed. A value that fails to parse, or ends just
        where the text read so far ends (a number may go on), is parsed again with more."""
        while True:
            try:
                value, end = decoder.raw_decode(self._text, self._at)
            except json.JSONDecodeError as exc:
                if self._read_on():
                    continue
                self.fail(exc.msg, exc.pos)
            if end < len(self._text) or not self._read_on():
                self._at = end
                return value

    def ended(self) -> bool:
        """Whether all of the text has been consumed."""
        return self._at == len(self._text) and not self._read_on()

    def fail(self, message: str, at: int | None = None) -> NoReturn:
        at = self._at if at is None else at
        raise ValueError(f"{message} at character {self._passed + at}")

    def _read_on(self) -> bool:
        """Read at least as much again as is left unparsed (so that text that never parses
        costs linear time, not quadratic); False, and nothing changed, when the text has ended."""
        left = self._text[self._at :]
        parts, wanted, read = [left], max(len(left), 1), 0
        for chunk in self._chunks:
            parts.append(chunk)
            read += len(chunk)
            if read >= wanted:
                break
        if not read:
            return False
        self._passed += self._at
        self._text, self._at = "".join(parts), 0
        return True
