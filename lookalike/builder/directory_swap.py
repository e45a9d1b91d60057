"""Replacing an output directory atomically: build beside it, then swap the new one in.

Readers (the bot reloading its index) never see a half-written directory, and where Linux's
renameat2 works they see the old one or the new one at every moment.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from lookalike import libc
from lookalike.builder import BuildError

log = logging.getLogger(__name__)

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange_paths(first: Path, second: Path) -> bool:
    """Swap two existing paths atomically with Linux's renameat2(RENAME_EXCHANGE).

    False where that is unavailable (not Linux, old libc or kernel, a filesystem
    without support); raises OSError for any other failure.
    """
    if not sys.platform.startswith("linux"):
        return False
    renameat2 = libc.function("renameat2")
    if renameat2 is None:
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def replace_directory(new: Path, target: Path) -> str:
    """Put the directory ``new`` at ``target``, deleting what was there; returns the method used.

    "rename" when there was no ``target``; "exchange" when the two were swapped in one
    step (a reader sees either the old directory or the new one, never neither); else
    "rename-aside": ``target`` is renamed away, ``new`` renamed in (restoring the old
    one if that fails), leaving a moment without ``target``.
    """
    if not os.path.lexists(target):
        os.rename(new, target)
        return "rename"
    if target.is_symlink() or not target.is_dir():
        raise BuildError(f"{target} exists and is not a directory")
    if exchange_paths(new, target):
        _remove_old(new)  # ``new`` now names the old directory
        return "exchange"
    aside = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(aside, target)
        raise
    _remove_old(aside)
    return "rename-aside"


def _remove_old(path: Path) -> None:
    """Delete the replaced output; failing to is worth a warning, not a failed build."""
    try:
        shutil.rmtree(path)
    except OSError as exc:
        log.warning("could not delete the previous output at %s: %s", path, exc)


@contextlib.contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """A new empty sibling of ``target`` to build in; replaces ``target`` on success, vanishes on failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    stale = sorted(target.parent.glob(f".{target.name}.new-*")) + sorted(target.parent.glob(f".{target.name}.old-*"))
    if stale:
        log.warning("left over from an interrupted build (safe to delete): %s", ", ".join(map(str, stale)))
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        os.chmod(staging, _directory_mode(target))  # mkdtemp makes it private (0700)
        yield staging
        os.sync()  # the files' data on disk before the rename makes them the assets directory
        method = replace_directory(staging, target)
        log.info("output swapped into %s (%s)", target, method)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _directory_mode(target: Path) -> int:
    if target.is_dir():
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask
