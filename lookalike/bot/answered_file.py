"""ANSWERED_FILE: what the next start must know so that no update is answered twice or lost,
kept on disk as the bot runs (``delivery.Poller`` and ``webhook.Webhook`` say what changes):

- ``ids``: updates answered but not yet confirmed to Telegram, which it may hand over again:
  the next start skips them, even after a ``kill -9``, an OOM kill or a power loss;
- ``kept``: updates confirmed to Telegram before they were answered (by long polling, when
  more than getUpdates' window of 100 are in flight), each whole, as Telegram sent it: the
  next start answers them, since Telegram will not send them again.

A full disk does not stop the record. Its space is reserved when the file is made: two slots,
written in turn in place, each a header line (a sequence number, the record's length and its
CRC-32) and the record as JSON, so a kill or a power loss in the middle of a write leaves the
other slot, the previous record, whole (the newest slot whose checksum holds is the record).
Writing in place takes no new block of a file system that overwrites in place (ext4, XFS,
tmpfs; not a copy-on-write one such as btrfs or ZFS). Only a record larger than its slot
needs the file to grow; while it cannot (the disk full), the record is not written and the
caller is told (``flush`` returns False): the poller then keeps the window's updates
unconfirmed instead. The writes run on a thread of their own, one at a time, each of the latest
record: a slow disk never holds up the event loop, and a burst of answers becomes a few writes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FIRST_SLOT_BYTES = 64 * 1024
"""Each slot's size in a new file (two slots: 128 KiB); doubled when a record outgrows it."""

HEADER = re.compile(rb"lookalike-answered seq=(\d+) bytes=(\d+) crc=([0-9a-f]{8})\n")


class AnsweredFile:
    def __init__(self, path: Path):
        self.path = path
        self.ids: set[int] = set()
        self.kept: dict[int, dict[str, Any]] = {}  # update id -> the update's JSON
        self._written: tuple[frozenset[int], frozenset[int]] | None = (frozenset(), frozenset())  # None: unknown
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answered-file")
        self._writing: asyncio.Task[None] | None = None
        self._slots = _Slots(path)  # touched by the writer thread only
        self._failing = False  # likewise

    def load(self) -> set[int]:
        """The updates the last run answered but could not confirm (``kept`` gets those it had
        confirmed unanswered). A file that cannot be read is logged and ignored: answering a few
        updates twice is better than not starting."""
        try:
            record = self._slots.read()
        except FileNotFoundError:
            record = {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring %s (%s): updates answered before the last stop may be answered again", self.path, exc)
            record, self._written = {}, None
        self.ids = set(record.get("answered", []))
        self.kept = {update["update_id"]: update for update in record.get("kept", [])}
        if self._written is not None:
            self._written = self._state()
        try:
            self._slots.reserve()
        except OSError as exc:
            log.warning("could not reserve %s's space (%s): a full disk would stop its writes", self.path, exc)
        return set(self.ids)

    def add(self, *update_ids: int) -> None:
        self.ids.update(update_ids)
        self._schedule()

    def drop_below(self, offset: int) -> None:
        """Forget the ids Telegram has confirmed (below ``offset``): they never come back."""
        kept = {i for i in self.ids if i >= offset}
        if len(kept) < len(self.ids):
            self.ids = kept
            self._schedule()

    def keep(self, updates: list[dict[str, Any]]) -> None:
        """Keep these updates whole until they are answered (``release``)."""
        self.kept.update((update["update_id"], update) for update in updates)
        self._schedule()

    def release(self, update_id: int) -> bool:
        """A kept update is answered: forget it. False when it was not kept."""
        if self.kept.pop(update_id, None) is None:
            return False
        self._schedule()
        return True

    async def flush(self) -> bool:
        """Return once a write of the current record has ended: True when the file holds it."""
        self._schedule()
        while self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)
        return self._written == self._state()

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._slots.close()

    def _state(self) -> tuple[frozenset[int], frozenset[int]]:
        return frozenset(self.ids), frozenset(self.kept)

    def _schedule(self) -> None:
        if (self._writing is None or self._writing.done()) and self._written != self._state():
            self._writing = asyncio.get_running_loop().create_task(self._write_latest(), name="answered-file")

    async def _write_latest(self) -> None:
        """Write the latest record until the file holds it, or a write failed (tried again at
        the next change, or ``flush``)."""
        loop = asyncio.get_running_loop()
        while self._written != (state := self._state()):
            record = {"answered": sorted(self.ids), "kept": [self.kept[i] for i in sorted(self.kept)]}
            if not await loop.run_in_executor(self._writer, self._write, record):
                return
            self._written = state

    def _write(self, record: dict[str, Any]) -> bool:
        """The file holding ``record`` (on the writer thread); False when it could not be written."""
        try:
            self._slots.write(json.dumps(record, separators=(",", ":")).encode())
        except OSError as exc:
            if not self._failing:
                log.warning(
                    "could not write %s (%s): it is written again once it can be; until then updates answered"
                    " may be answered again after a crash, and none is confirmed unanswered",
                    self.path,
                    exc,
                )
            self._failing = True
            return False
        if self._failing:
            log.info("%s written again", self.path)
        self._failing = False
        return True


def read_record(path: Path) -> dict[str, Any]:
    """The record in ``path`` (``{"answered": [ids], "kept": [updates]}``, {} for none), as
    the next start reads it; FileNotFoundError or ValueError."""
    return _Slots(path).read()


class _Slots:
    """The file's two slots (see the module's docstring)."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None
        self._slot = 0  # bytes per slot (0: not opened yet)
        self._seq = 0
        self._current: tuple[int, int] | None = None  # (offset, length) of the valid record on disk
        self._whole_file = False  # the record is the whole file, as older versions wrote it

    def read(self) -> dict[str, Any]:
        """The newest whole record; {} for a file with none (new, or a record of no ids)."""
        data = self.path.read_bytes()
        best: tuple[int, Any] | None = None
        torn = 0
        for header in HEADER.finditer(data):
            seq, length, crc = int(header[1]), int(header[2]), int(header[3], 16)
            body = data[header.end() : header.end() + length]
            if len(body) != length or zlib.crc32(body) != crc:
                torn += 1
            elif best is None or seq > best[0]:
                best = (seq, json.loads(body))
                self._seq, self._current = seq, (header.start(), header.end() - header.start() + length)
        if best is not None:
            record = best[1]
        elif data.lstrip().startswith(b"{"):  # the whole file, as the versions before slots wrote it
            record = json.loads(data)
            self._whole_file, self._current = True, (0, len(data))
        elif torn or data.strip(b"\0"):
            raise ValueError("no whole record in it")
        else:
            return {}
        if not isinstance(record, dict) or not all(isinstance(i, int) for i in record.get("answered", [])):
            raise ValueError("'answered' is not a list of update ids")
        return record

    def write(self, body: bytes) -> None:
        self._seq += 1
        text = b"lookalike-answered seq=%d bytes=%d crc=%08x\n" % (self._seq, len(body), zlib.crc32(body)) + body
        fd = self.reserve()
        slot = self._slot
        while len(text) > slot:
            slot *= 2
        if slot > self._slot:  # the only write that needs new blocks
            os.posix_fallocate(fd, 0, 2 * slot)
            self._slot = slot
        offset = next(o for o in (0, self._slot) if not self._overlaps(o, len(text)))
        os.pwrite(fd, text, offset)
        os.fdatasync(fd)
        self._current = (offset, len(text))

    def _overlaps(self, offset: int, length: int) -> bool:
        if self._current is None:
            return False
        start, size = self._current
        return offset < start + size and start < offset + length

    def reserve(self) -> int:
        """The file open, its space reserved: two slots of FIRST_SLOT_BYTES, or as large as the
        file's, or (a whole-file record) each at least as large as the record."""
        if self._fd is None:
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                needed = size if self._whole_file else size // 2
                slot = max(FIRST_SLOT_BYTES, 1 << max(needed - 1, 1).bit_length())
                os.posix_fallocate(fd, 0, 2 * slot)
                os.fsync(fd)
                if created:  # the new name survives a power loss too
                    _fsync_directory(self.path.parent)
            except BaseException:
                os.close(fd)
                raise
            self._fd, self._slot = fd, slot
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
