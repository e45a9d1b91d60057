"""ANSWERED_FILE: the updates answered but not yet confirmed to Telegram, kept on disk as the
bot runs, so that the next start skips them when Telegram hands them back, even after a
``kill -9``, an OOM kill or a power loss (``delivery.Poller`` says when they are answered
and when Telegram has confirmed them).

Each record replaces the previous one whole: written to a temporary file, fsynced (else a
power loss right after the rename may leave an empty file), then renamed over it, so a kill
at any instant leaves the old record or the new one, never a torn one. The writes run on a
thread of their own, one at a time, each of the latest set of ids: a slow disk never holds up
the event loop, and a burst of answers becomes a few writes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Set
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

log = logging.getLogger(__name__)


class AnsweredFile:
    def __init__(self, path: Path):
        self.path = path
        self.ids: set[int] = set()
        self._on_disk: Set[int] | None = frozenset()  # None: a file that could not be read
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answered-file")
        self._writing: asyncio.Task | None = None
        self._failing = False  # touched by the writer thread only

    def load(self) -> set[int]:
        """The updates the last run answered but could not confirm. A file that cannot be read
        is logged and ignored: answering a few updates twice is better than not starting."""
        try:
            ids = json.loads(self.path.read_text())["answered"]
            if not all(isinstance(i, int) for i in ids):
                raise ValueError("'answered' is not a list of update ids")
        except FileNotFoundError:
            ids = []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring %s (%s): updates answered before the last stop may be answered again", self.path, exc)
            ids, self._on_disk = [], None
        self.ids = set(ids)
        if self._on_disk is not None:
            self._on_disk = frozenset(self.ids)
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

    async def flush(self) -> None:
        """Return once the file holds the current ids."""
        self._schedule()
        while self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)

    def close(self) -> None:
        self._writer.shutdown(wait=True)

    def _schedule(self) -> None:
        if (self._writing is None or self._writing.done()) and self._on_disk != self.ids:
            self._writing = asyncio.get_running_loop().create_task(self._write_latest(), name="answered-file")

    async def _write_latest(self) -> None:
        loop = asyncio.get_running_loop()
        while self._on_disk != self.ids:
            ids = frozenset(self.ids)
            await loop.run_in_executor(self._writer, self._write, ids)
            self._on_disk = ids

    def _write(self, ids: frozenset[int]) -> None:
        """The file holding ``ids``, or no file when there are none (on the writer thread)."""
        try:
            if not ids:
                self.path.unlink(missing_ok=True)
            else:
                partial = self.path.with_name(self.path.name + ".tmp")
                with open(partial, "w") as out:
                    out.write(json.dumps({"answered": sorted(ids)}))
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(partial, self.path)
        except OSError as exc:
            if not self._failing:
                log.warning(
                    "could not write %s (%s): answered updates may be answered again after a restart", self.path, exc
                )
            self._failing = True
            return
        if self._failing:
            log.info("%s written again", self.path)
        self._failing = False
