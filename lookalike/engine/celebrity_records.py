"""The celebrities' records as the index holds them: their JSON Lines text, one record a line,
each parsed only when it is read.

An answer reads a dozen records (its matches' names, the shown one's link and credit); the
gallery has up to a million. Held as one text with the lines' ends beside it, a million
records are one bytes object and one array rather than tens of millions of Python objects:
a load reads the file and finds its newlines, and parses none of them (``json.loads`` of a
million records' one array held the GIL for ~1.5 s, stopping the bot's answers while a new
index loaded, bench/million_bot.py), and dropping an index frees two objects.

The text is the file's as the builder wrote it (``celebrities.jsonl``, whose SHA-256 index.json
keeps): a record read back is the record the builder checked (``lookalike.catalog.record``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import cast, overload

import numpy as np

from lookalike.records import CelebrityRecord

NEWLINE = ord("\n")
NAMES_AT_A_TIME = 1000
"""Records parsed between two hand-overs of the GIL by ``names`` (~2 ms)."""


class RecordsError(ValueError):
    """The text is not one JSON object a line, each with a name, as many as expected."""


class CelebrityRecords(Sequence[CelebrityRecord]):
    """Records by row, each parsed from its line when read (a new dict each time)."""

    def __init__(self, text: bytes, ends: np.ndarray):
        self._text = text
        self._ends = ends  # (n,) int64: where each line ends (its newline)

    @classmethod
    def of(cls, records: Iterable[CelebrityRecord]) -> CelebrityRecords:
        """The records of ``records``, each checked (a name) and written as a line."""
        lines = []
        for row, record in enumerate(records):
            if not isinstance(record.get("name"), str):
                raise RecordsError(f"celebrity {row} has no name")
            lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        return cls.parse("".join(lines).encode("utf-8"), len(lines))

    @classmethod
    def parse(cls, text: bytes, count: int) -> CelebrityRecords:
        """``count`` records from their JSON Lines ``text``: its lines found, none parsed."""
        if text and text[-1] != NEWLINE:
            raise RecordsError("the last record's line is cut short (no newline at its end)")
        ends = np.flatnonzero(np.frombuffer(text, np.uint8) == NEWLINE)
        if len(ends) != count:
            raise RecordsError(f"{len(ends)} records, expected {count}")
        return cls(text, ends)

    @classmethod
    def read(cls, path: Path, count: int, sha256: str) -> CelebrityRecords:
        """The records in the file ``path``, which must have ``count`` lines and the SHA-256 index.json keeps."""
        text = path.read_bytes()
        found = hashlib.sha256(text).hexdigest()
        if found != sha256:
            raise RecordsError(
                f"SHA-256 {found[:12]}..., but index.json says {sha256[:12]}...: another build's records"
            )
        return cls.parse(text, count)

    def write(self, path: Path) -> str:
        """Write the records to ``path``; their SHA-256, for index.json."""
        path.write_bytes(self._text)
        return self.sha256

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self._text).hexdigest()

    def name(self, row: int) -> str:
        """Celebrity ``row``'s name."""
        return self[row]["name"]

    def names(self) -> list[str]:
        """Every celebrity's name, in row order: every record parsed (~2 s at a million), the GIL
        handed over every ``NAMES_AT_A_TIME`` records, so that an event loop in another thread
        waits ~2 ms for it at most, not the 5 ms switch interval at each of its hand-backs."""
        names = []
        for row in range(len(self)):
            names.append(self.name(row))
            if row % NAMES_AT_A_TIME == NAMES_AT_A_TIME - 1:
                time.sleep(0)
        return names

    @overload
    def __getitem__(self, row: int) -> CelebrityRecord: ...

    @overload
    def __getitem__(self, rows: slice) -> Sequence[CelebrityRecord]: ...

    def __getitem__(self, row: int | slice) -> CelebrityRecord | Sequence[CelebrityRecord]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        if not -len(self) <= row < len(self):
            raise IndexError(f"no celebrity {row} among {len(self)}")
        row %= len(self)
        start = int(self._ends[row - 1]) + 1 if row else 0
        return cast(CelebrityRecord, json.loads(self._text[start : int(self._ends[row])]))

    def __iter__(self) -> Iterator[CelebrityRecord]:
        return (self[row] for row in range(len(self)))

    def __len__(self) -> int:
        return len(self._ends)
