"""The celebrity index the bot answers from, and its reload when a new one is built.

``LoadedBuild`` is one build of the assets directory (ASSETS_DIR) as loaded: the index,
a version string (for buttons that refer to it) and the Telegram file_ids of the
thumbnails already sent from it. ``BuildReloader`` polls ASSETS_DIR/index.json and, when
the builder has swapped in a new directory, loads it in a thread and replaces ``current``
in one assignment. While it loads, the GIL changes hands every ``LOADING_SWITCH_INTERVAL``
instead of Python's 5 ms: each time the event loop gives the GIL up for I/O it waits that
long for the loading thread to give it back, dozens of times an answer (a million records
parsed at load made answers ~1 s slow for as long as it ran; they are read as text now and
parsed one by one when an answer needs them, ``engine/celebrity_records``).
Handlers read ``current`` once per request, so a request in flight finishes with the build
it started with; a failed load logs and keeps the old one.

Thumbnails are read through a descriptor of the directory the index was loaded from,
so an old build never shows a thumbnail from the new one that replaced its path.

Once the last request on a replaced build has finished, the poll frees its index in a
worker thread, not wherever its last request ends, and hands the memory back to the system
(``release_free_memory``): glibc keeps freed heap for reuse, and a million-celebrity
index's graphs are many small allocations, so without it the bot would hold two indexes'
worth of memory from its first reload on (bench/million_bot.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import sys
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from lookalike import libc
from lookalike.assets_layout import META_FILE
from lookalike.engine.index import CelebrityIndex
from lookalike.engine.index_files import IndexFormatError

log = logging.getLogger(__name__)

Stamp = tuple[int, int, int, int]
"""What tells one build of the directory from the next: its build file's device, inode, size and mtime."""


class BuildChanged(Exception):
    """The directory was swapped while it was being loaded; try again."""


class LoadedBuild:
    """One build of the assets directory, loaded: what a request answers from, start to end."""

    def __init__(self, index: CelebrityIndex, directory: Path, directory_fd: int, stamp: Stamp):
        self.index = index
        self.directory = directory
        self.stamp = stamp
        self.version = hashlib.sha1(repr(stamp).encode()).hexdigest()[:8]
        self.file_ids: dict[int, str] = {}  # celebrity id -> Telegram file_id of its thumbnail
        self._fd = directory_fd
        weakref.finalize(self, os.close, directory_fd)

    def __len__(self) -> int:
        return len(self.index)

    def link(self, i: int) -> str | None:
        link = self.index.celebrity(i).get("link")
        return link if isinstance(link, str) and link.startswith(("https://", "http://")) else None

    def thumbnail(self, i: int) -> bytes | None:
        """Celebrity ``i``'s thumbnail JPEG from this build, or None if it is gone or missing."""
        path = self.index.thumbnail_path(i)
        if path is None or self.index.directory is None:
            return None
        relative = path.relative_to(self.index.directory)
        try:
            fd = os.open(relative, os.O_RDONLY, dir_fd=self._fd)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as file:
            return file.read()


def load_build(directory: Path) -> LoadedBuild:
    """Load the assets directory; raises IndexFormatError (or OSError) when it is missing or corrupt."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise IndexFormatError(f"{directory}: no assets directory ({exc.strerror})") from exc
    try:
        stamp = _stamp(os.stat(META_FILE, dir_fd=fd))
        index = CelebrityIndex.load(directory)
        if stamp_of(directory) != stamp:
            raise BuildChanged(f"{directory} changed while it was being loaded")
        return LoadedBuild(index, directory, fd, stamp)
    except FileNotFoundError as exc:
        os.close(fd)
        raise IndexFormatError(
            f"{directory}: no {META_FILE}: is this an assets directory built by build_embeddings.py?"
        ) from exc
    except BaseException:
        os.close(fd)
        raise


def load_build_at_start(directory: Path, attempts: int = 5, pause: float = 0.5) -> LoadedBuild:
    """``load_build``, tried again when a new build was swapped in while it loaded.

    At start-up there is no old build to keep answering from, so the bot waits for a
    stable one instead of failing; BuildChanged after ``attempts`` tries is raised.
    """
    for _ in range(attempts - 1):
        try:
            return load_build(directory)
        except BuildChanged:
            log.info("%s changed while it was being loaded; loading it again", directory)
            time.sleep(pause)
    return load_build(directory)


def stamp_of(directory: Path) -> Stamp:
    """What changes when the builder writes a new index: index.json's inode, size and time."""
    return _stamp(os.stat(directory / META_FILE))


def _stamp(stat: os.stat_result) -> Stamp:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


class BuildReloader:
    """The assets directory's current build, and the polling that swaps a new one in."""

    def __init__(self, assets: LoadedBuild, poll_seconds: float = 5.0):
        self.current = assets
        self.directory = assets.directory
        self.poll_seconds = poll_seconds
        self.reloads = 0
        self.loading = False  # a new build is being loaded beside the answers
        self._failed_stamp: Stamp | None = None
        # the build the last reload replaced, while requests may hold it, and its index, held
        # here so that it is freed in a worker thread, not wherever its last request ends
        self._replaced: tuple[weakref.ref[LoadedBuild], CelebrityIndex] | None = None

    async def run(self) -> None:
        """Poll forever (until cancelled)."""
        while True:
            await asyncio.sleep(self.poll_seconds)
            await self.release_replaced()
            await self.check()

    async def release_replaced(self) -> bool:
        """Once no request holds the build the last reload replaced, free its index in a
        worker thread and return the memory to the system; True when that happened now."""
        if self._replaced is None or self._replaced[0]() is not None:
            return False
        held = [self._replaced[1]]  # the worker takes it out, so the last reference ends there
        self._replaced = None
        await asyncio.to_thread(_release, held)
        log.info("the replaced index is released: no request answers from it any more")
        return True

    async def check(self) -> bool:
        """Load the index if it changed since the current one; True when it was swapped in."""
        try:
            stamp = stamp_of(self.directory)
        except OSError:
            return False  # mid-swap, or removed: keep answering from the current build
        if stamp in (self.current.stamp, self._failed_stamp):
            return False
        self.loading = True
        try:
            with _gil_handed_over_often():
                assets = await asyncio.to_thread(load_build, self.directory)
        except BuildChanged:
            return False  # the next poll loads the finished one
        except Exception as exc:
            self._failed_stamp = stamp
            log.error("new index in %s not loaded, still answering from the old one: %s", self.directory, exc)
            return False
        finally:
            self.loading = False
        old, self.current = self.current, assets
        self._replaced = (weakref.ref(old), old.index)
        self.reloads += 1
        log.info(
            "index reloaded from %s: %d celebrities (version %s, was %d, version %s)",
            self.directory,
            len(assets),
            assets.version,
            len(old),
            old.version,
        )
        return True


LOADING_SWITCH_INTERVAL = 0.0005
"""Seconds a thread may hold the GIL while another waits for it, during a reload (``sys.setswitchinterval``)."""


@contextlib.contextmanager
def _gil_handed_over_often() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(LOADING_SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _release(held: list[CelebrityIndex]) -> None:
    """Free the index in ``held`` (its only holder) in this thread, then trim the heap."""
    index = held.pop()
    del index  # the last reference: its graphs, arrays and records are freed here, in this thread
    release_free_memory()


def release_free_memory() -> None:
    """Give the heap's free pages back to the system (glibc's ``malloc_trim``; nothing elsewhere)."""
    trim = libc.function("malloc_trim")
    if trim is not None:
        trim(0)
