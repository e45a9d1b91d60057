"""How late the event loop runs what is due: a ticker's delay, the worst of the last few
seconds. Every step of an answer (its download, its hand-over to a worker, its send) waits for
the loop, so a loop running late makes every answer later by at least as much: the loop's own
backlog (a burst of callbacks), a thread holding the GIL (a new index's records parsed during a
reload), a stall. ``admission`` adds it to the wait it reckons for a new photo.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

TICK_SECONDS = 0.1
WINDOW_SECONDS = 5.0
"""The worst delay over this long is the figure: a stall is remembered a while, not one tick."""


class LoopLag:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._delays: collections.deque[tuple[float, float]] = collections.deque()  # (when, seconds late)

    @property
    def seconds(self) -> float:
        """The worst delay of the last WINDOW_SECONDS (0 before the first tick)."""
        self._forget(self._clock())
        return max((late for _, late in self._delays), default=0.0)

    def record(self, late: float) -> None:
        now = self._clock()
        self._forget(now)
        while self._delays and self._delays[-1][1] <= late:  # a smaller one before it never counts again
            self._delays.pop()
        self._delays.append((now, late))

    async def run(self) -> None:
        """Tick until cancelled, recording how late each tick ran."""
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + TICK_SECONDS
            await asyncio.sleep(TICK_SECONDS)
            self.record(max(0.0, loop.time() - due))

    def _forget(self, now: float) -> None:
        while self._delays and now - self._delays[0][0] > WINDOW_SECONDS:
            self._delays.popleft()
