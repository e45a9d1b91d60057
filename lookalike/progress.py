"""Progress of a long job: a tqdm bar on a terminal, log lines everywhere else.

A bar is useless in a log (Docker, systemd, ``| tail``), and tqdm draws nothing when stderr is
not a terminal, which left a 5,000-photo build silent for ~11 minutes. So without a terminal
the job logs a line every ``step`` of the total (5%) or every ``every`` seconds (30 s),
whichever comes first, with the rate and the time left, and one last line at the end.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Protocol, cast

from tqdm import tqdm

log = logging.getLogger("progress")


class Progress(Protocol):
    def update(self, n: int = 1) -> object: ...

    def close(self) -> None: ...


def progress(total: int, unit: str, desc: str, enabled: bool | None = None) -> Progress:
    """A bar when stderr is a terminal (or ``enabled``), log lines when it is not; nothing
    when ``enabled`` is False. Use it as tqdm: ``update(n)``, then ``close()``."""
    if enabled is False:
        return cast(Progress, tqdm(total=total, disable=True))
    if enabled or sys.stderr.isatty():
        return cast(Progress, tqdm(total=total, unit=unit, desc=desc))
    return LogProgress(total, unit, desc)


class LogProgress:
    def __init__(
        self,
        total: int,
        unit: str,
        desc: str,
        step: float = 0.05,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total, self.unit, self.desc = total, unit, desc
        self.step, self.every, self.clock = step, every, clock
        self.done = 0
        self.started = self.last_time = clock()
        self.last_share = 0.0
        self.closed = False

    def update(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        share = self.done / self.total if self.total else 1.0
        if share - self.last_share >= self.step or now - self.last_time >= self.every:
            if self.done < self.total:
                log.info("%s", self.line(now))
            self.last_share, self.last_time = share, now

    def line(self, now: float) -> str:
        """``analysing: 250/5000 photos (5%), 7.9 photos/s, 10 min left``."""
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        head = f"{self.desc}: {self.done}/{self.total} {self.unit}s ({100 * self.done / max(self.total, 1):.0f}%)"
        if self.done == 0:
            return f"{head}, none yet after {elapsed:.0f} s"
        return f"{head}, {rate:.1f} {self.unit}s/s, {_duration((self.total - self.done) / rate)} left"

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        elapsed = self.clock() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        log.info(
            "%s: %d/%d %ss in %s (%.1f %ss/s)",
            self.desc,
            self.done,
            self.total,
            self.unit,
            _duration(elapsed),
            rate,
            self.unit,
        )

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
