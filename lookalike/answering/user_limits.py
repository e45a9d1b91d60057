"""Per-user fairness: at most a few photos in flight and a few dozen a minute per user.

One user sending a hundred photos must not take the workers from everyone else; they
get a polite answer instead. All state lives in the bot's single event loop, so no locks.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from collections.abc import Callable, Iterator


class TooManyInFlight(Exception):
    """The user already has ``max_in_flight`` photos being processed."""


class TooManyPerMinute(Exception):
    """The user sent ``per_minute`` photos in the last minute."""

    def __init__(self, retry_in: float):
        super().__init__(f"retry in {retry_in:.0f} s")
        self.retry_in = retry_in


class UserLimits:
    WINDOW = 60.0

    def __init__(self, max_in_flight: int = 3, per_minute: int = 12, clock: Callable[[], float] = time.monotonic):
        self.max_in_flight = max_in_flight
        self.per_minute = per_minute
        self._clock = clock
        self._in_flight: dict[int, int] = {}
        self._recent: dict[int, deque[float]] = {}
        self._swept = clock()

    @contextlib.contextmanager
    def admit(self, user_id: int) -> Iterator[None]:
        """Count one photo of ``user_id`` while the block runs, or raise if over a limit."""
        now = self._clock()
        recent = self._recent.setdefault(user_id, deque())
        while recent and now - recent[0] >= self.WINDOW:
            recent.popleft()
        if self._in_flight.get(user_id, 0) >= self.max_in_flight:
            raise TooManyInFlight()
        if len(recent) >= self.per_minute:
            raise TooManyPerMinute(max(1, math.ceil(recent[0] + self.WINDOW - now)))
        recent.append(now)
        self._in_flight[user_id] = self._in_flight.get(user_id, 0) + 1
        try:
            yield
        finally:
            self._in_flight[user_id] -= 1
            if not self._in_flight[user_id]:
                del self._in_flight[user_id]
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        """Once a minute, drop users with nothing in the last minute, so the dict doesn't grow forever."""
        if now - self._swept < self.WINDOW:
            return
        self._swept = now
        for user_id, recent in list(self._recent.items()):
            if not recent or now - recent[-1] >= self.WINDOW:
                del self._recent[user_id]
