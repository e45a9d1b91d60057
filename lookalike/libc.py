"""The C library's functions that Python does not wrap (glibc's ``malloc_trim``, ``mallopt``,
``renameat2``), looked up in the process's own symbols: None where the library lacks one."""

from __future__ import annotations

import ctypes
import functools
from typing import Any


def function(name: str) -> Any | None:
    """The C library's function ``name`` (errno kept for ``ctypes.get_errno``), or None."""
    return getattr(_library(), name, None)


@functools.cache
def _library() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except (OSError, TypeError):  # TypeError: a platform without dlopen(NULL)
        return None
