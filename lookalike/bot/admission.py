"""The one door every photo and button press goes through: admitted, or refused and why.

Four things can turn a request away, checked in this order:

- its chat already has CHAT_PENDING answers waiting (``chat_busy``): a group sending faster
  than Telegram lets the bot answer it must not hold up everyone else;
- the bot is full (``busy``, photos only): the photo would be answered later than
  MAX_WAIT_SECONDS (``WaitReckoning``), or MAX_PENDING photos are in progress; checked before
  the user's limits, so a photo turned away for load does not count against the user's minute;
- the user has USER_IN_FLIGHT photos or presses in progress (``user_in_flight``);
- the user sent USER_PER_MINUTE in the last minute (``user_rate``).

``Admission.admit`` returns a ``Refusal`` (a value: its reason, the text to say, and the
chat's earlier answers to let go first) or a ``Pass`` that holds the places it took: the
pool's and the user's until the work is done (``Pass.worked``), the chat's until the answer
is sent (``Pass.close``), and a photo's deadline, by which a photo still waiting for a worker
is let go as "busy" rather than answered late (the reckoning was wrong: a reload began, the
machine slowed). Nothing here knows Telegram: any front end asks the same door.

The reckoning of a new photo's answer time (``WaitReckoning``) counts everything ahead of it:
the photos in progress, at the pace the pool lets them through (a worker's recent time per
photo, or, measured while photos queued, the time between two analyses, which includes what
else slows them); the recent time of a photo's own steps before the pool (its download) and
after it (its answer made and sent); the event loop's own lag (``loop_lag``); and a reload in
progress, during which everything runs RELOAD_SLOWDOWN times slower until the pace is measured
anew (a new index's load takes a core and shares the GIL with the loop).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lookalike.bot.chat_limits import ChatBusy, ChatLimits
from lookalike.bot.face_pool import Busy, FacePool
from lookalike.bot.loop_lag import LoopLag
from lookalike.bot.user_limits import TooManyInFlight, TooManyPerMinute, UserLimits


@dataclass(frozen=True)
class Refusal:
    """Why a request was turned away: ``reason`` is the outcome (log and metrics), ``key``
    and ``values`` the text the user is told (``texts.say``)."""

    reason: str
    key: str
    values: dict[str, object] = field(default_factory=dict)
    earlier: tuple[asyncio.Event, ...] = ()
    """The chat's answers accepted before this one: tell the refusal after them, in order."""


RELOAD_SLOWDOWN = 4.0
"""How many times slower photos go through while a new index loads beside them, until the pace
is measured during the reload: at 20 photos a second on 2 cores, a million celebrities' reload
let ~7 answers a second through against well over 20 before it (bench/README.md)."""

RECENT_PHOTOS = 25


class WaitReckoning:
    """How long a photo admitted now would take to be answered (see the module's docstring)."""

    def __init__(
        self,
        pool: FacePool,
        max_wait: float = math.inf,
        loop_lag: LoopLag | None = None,
        reloading: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.pool, self.max_wait, self.loop_lag, self.reloading = pool, max_wait, loop_lag, reloading
        self.clock = clock
        self.last = 0.0  # the latest reckoning (the metrics read it from their own thread)
        self._before: collections.deque[float] = collections.deque(maxlen=RECENT_PHOTOS)  # its download
        self._after: collections.deque[float] = collections.deque(maxlen=RECENT_PHOTOS)  # made and sent
        self._in_reload = False

    def expected(self) -> float:
        """Seconds until a photo admitted now would be answered."""
        reloading = self.reloading()
        if reloading != self._in_reload:  # the pace measured so far no longer holds
            self._in_reload = reloading
            self.pool.restart_drain()
        measured = self.pool.drain_interval()
        slowdown = RELOAD_SLOWDOWN if reloading and measured is None else 1.0
        interval = max(self.pool.interval() * slowdown, measured or 0.0)
        steps = (_median(self._before) + _median(self._after)) * slowdown
        lag = self.loop_lag.seconds if self.loop_lag is not None else 0.0
        self.last = (self.pool.pending + 1) * interval + steps + lag
        return self.last

    def too_long(self) -> bool:
        return self.expected() > self.max_wait

    def deadline(self, admitted: float) -> float | None:
        return admitted + self.max_wait if math.isfinite(self.max_wait) else None

    def fetched(self, seconds: float) -> None:
        self._before.append(seconds)

    def answered(self, seconds: float) -> None:
        self._after.append(seconds)


def _median(values: collections.deque[float]) -> float:
    return statistics.median(values) if values else 0.0


class Pass:
    """An admitted request's places; a context manager that gives them all back on exit. A
    photo's pass also times its steps for the reckoning and carries its ``deadline``."""

    def __init__(self, reckoning: WaitReckoning | None = None) -> None:
        self._work = contextlib.ExitStack()  # the pool's and the user's
        self._answer = contextlib.ExitStack()  # the chat's
        self._reckoning = reckoning
        self._admitted = time.monotonic() if reckoning is None else reckoning.clock()
        self._analysed: float | None = None
        self.deadline = None if reckoning is None else reckoning.deadline(self._admitted)
        """When the photo must be answered by (``time.monotonic()``), or None."""

    def fetched(self) -> None:
        """The photo's bytes are here: its analysis is asked for."""
        if self._reckoning is not None:
            self._reckoning.fetched(self._reckoning.clock() - self._admitted)

    def worked(self) -> None:
        """The work is done (the photo analysed): free the pool's and the user's places."""
        if self._reckoning is not None and self._analysed is None:
            self._analysed = self._reckoning.clock()
        self._work.close()

    def close(self) -> None:
        if self._reckoning is not None and self._analysed is not None:
            self._reckoning.answered(self._reckoning.clock() - self._analysed)
            self._reckoning = None
        self._work.close()
        self._answer.close()

    def __enter__(self) -> Pass:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Admission:
    def __init__(
        self,
        chats: ChatLimits,
        limits: UserLimits,
        pool: FacePool | None = None,
        reckoning: WaitReckoning | None = None,
    ):
        self.chats, self.limits, self.pool = chats, limits, pool
        self.reckoning = reckoning if reckoning is not None or pool is None else WaitReckoning(pool)

    def admit(self, chat_id: int, user_id: int | None = None, *, uses_pool: bool = False) -> Pass | Refusal:
        """Take the places a request needs, all at once, or none and say why not. ``user_id``
        None: nothing counts against a user (a command); ``uses_pool``: a photo to analyse."""
        photo = uses_pool and self.pool is not None
        admitted = Pass(self.reckoning if photo else None)
        try:
            admitted._answer.enter_context(self.chats.admit(chat_id))
            if photo:
                assert self.pool is not None and self.reckoning is not None
                if self.reckoning.too_long():
                    raise Busy()
                admitted._work.enter_context(self.pool.reserve())
            if user_id is not None:
                admitted._work.enter_context(self.limits.admit(user_id))
        except ChatBusy:
            admitted.close()
            return Refusal("chat_busy", "busy", earlier=self.chats.waiting(chat_id))
        except Busy:
            admitted.close()
            return Refusal("busy", "busy")
        except TooManyInFlight:
            admitted.close()
            return Refusal("user_in_flight", "user_in_flight")
        except TooManyPerMinute as exc:
            admitted.close()
            return Refusal("user_rate", "user_rate", {"seconds": round(exc.retry_in)})
        return admitted
