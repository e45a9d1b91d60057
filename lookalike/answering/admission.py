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

The reckoning of a new photo's answer time (``WaitReckoning``) counts from when the bot
received it (the time it waited for a handler, the loop's backlog of updates, included) and
everything ahead of it: the photos in progress, at the pace the pool lets them through (a
worker's recent time per photo, or, measured while photos queued, the time between two
analyses, which includes what else slows them); the recent time of a photo's own steps before
the pool (its download) and after it (its answer made and sent); the event loop's own lag
(``loop_lag``); and a reload in progress, during which everything runs RELOAD_SLOWDOWN times
slower until the pace is measured anew (a new index's load takes a core and shares the GIL with
the loop). When answers have lately gone out slower than that (the loop saturated), the photos
admitted before it at that pace are the reckoning instead, with a margin for the slowest of
them (``BACKLOG_TAIL``). The upstream's own failures (for the bot, Telegram's 5xx, 429 storms, a
network down: ``upstream``) are not the bot's capacity: the times of photos that met them are left
out of the paces, the backlog's pace does not count while the upstream fails (and TROUBLE_SECONDS
after), and a photo that met them is not let go by its deadline: its lateness is the upstream's,
and a "busy" would be as late.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lookalike.answering.chat_limits import ChatBusy, ChatLimits
from lookalike.answering.face_pool import RECENT_PHOTOS, Busy, FacePool
from lookalike.answering.loop_lag import LoopLag
from lookalike.answering.user_limits import TooManyInFlight, TooManyPerMinute, UserLimits

log = logging.getLogger(__name__)


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

TROUBLE_SECONDS = 10.0
"""How long after the upstream's last failure the backlog's pace still says nothing of the bot's."""

LOG_SECONDS = 10.0
"""At most one line a while when admission starts or stops telling photos busy (near the limit
it changes its mind photo by photo)."""

BACKLOG_TAIL = 1.3
"""The slowest of a backlog's answers against their mean: the photos ahead at the answers' pace
give a new photo's mean wait (Little's law), but photos overtake one another (downloads, the
threads that draw answers, the send limiter), and during a 1M reload at 20 photos a second the
slowest came 1.2x later than reckoned so (36 s against 30; bench/README.md)."""

ANSWER_SAMPLES = 30
"""Answers timed while others waited behind them: the bot's own end-to-end pace (at least this
many before it counts; the last ANSWER_SAMPLES of them)."""


class WaitReckoning:
    """How long a photo admitted now would take to be answered (see the module's docstring)."""

    def __init__(
        self,
        pool: FacePool,
        max_wait: float = math.inf,
        loop_lag: LoopLag | None = None,
        reloading: Callable[[], bool] = lambda: False,
        upstream_failed: Callable[[], float] = lambda: -math.inf,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.pool, self.max_wait, self.loop_lag, self.reloading = pool, max_wait, loop_lag, reloading
        self.upstream_failed, self.clock = upstream_failed, clock
        self.last = 0.0  # the latest reckoning (the metrics read it from their own thread)
        self.in_flight = 0  # photos admitted and not answered yet
        self._before: collections.deque[float] = collections.deque(maxlen=RECENT_PHOTOS)  # its download
        self._after: collections.deque[float] = collections.deque(maxlen=RECENT_PHOTOS)  # made and sent
        self._answers: collections.deque[float] = collections.deque(maxlen=ANSWER_SAMPLES)  # while others waited
        self._in_reload = False
        self._refusing = False  # as the log last said
        self._logged = -math.inf

    def expected(self, waited: float = 0.0) -> float:
        """Seconds until a photo admitted now, received ``waited`` seconds ago, would be answered,
        counted from its receipt: the larger of two reckonings, the pipeline's steps (the pool's
        queue at its pace, the photo's own steps, the loop's lag) and the bot's measured
        end-to-end pace (the photos admitted before it, at the rate answers went out lately)."""
        reloading = self.reloading()
        if reloading != self._in_reload:  # the pace measured so far no longer holds
            self._in_reload = reloading
            self.pool.restart_drain()
        measured = self.pool.drain_interval()
        slowdown = RELOAD_SLOWDOWN if reloading and measured is None else 1.0
        interval = max(self.pool.interval() * slowdown, measured or 0.0)
        pipeline = (self.pool.pending + 1) * interval + self._steps() * slowdown + self._lag()
        if self.clock() - self.upstream_failed() < TROUBLE_SECONDS:  # answers held up by Telegram
            backlog = 0.0
        else:
            backlog = (self.in_flight + 1) * (self._answer_interval() or 0.0) * BACKLOG_TAIL
        self.last = waited + max(pipeline, backlog)
        return self.last

    def too_long(self, waited: float = 0.0) -> bool:
        refusing = self.expected(waited) > self.max_wait
        if refusing != self._refusing and self.clock() - self._logged >= LOG_SECONDS:
            self._refusing, self._logged = refusing, self.clock()
            log.info(
                "%s: a new photo's answer reckoned at %.1f s (%d in progress; pool queue %d, pace %.3f s; "
                "steps %.2f s; loop lag %.2f s; answers every %.3f s lately%s)",
                "telling new photos busy" if refusing else "admitting photos again",
                self.last,
                self.in_flight,
                self.pool.pending,
                self.pool.drain_interval() or self.pool.interval(),
                self._steps(),
                self._lag(),
                self._answer_interval() or 0.0,
                "; reloading" if self._in_reload else "",
            )
        return refusing

    def deadline(self, received: float) -> float | None:
        return received + self.max_wait if math.isfinite(self.max_wait) else None

    def after_analysis(self) -> float:
        """The recent time from a photo's analysis to its answer sent."""
        return _median(self._after)

    def met_upstream_failing(self, since: float) -> bool:
        """Whether the upstream (Telegram) has failed a call since ``since`` (a photo's receipt):
        its times are the upstream's, not the answering's."""
        return self.upstream_failed() >= since

    def fetched(self, seconds: float, received: float) -> None:
        if not self.met_upstream_failing(received):
            self._before.append(seconds)

    def admitted(self) -> None:
        self.in_flight += 1

    def answered(self, analysed: float | None, received: float) -> None:
        """An admitted photo answered (``analysed``: when its analysis ended, None if it had none)."""
        now = self.clock()
        self.in_flight -= 1
        if analysed is not None and not self.met_upstream_failing(received):  # else Telegram's time
            self._after.append(now - analysed)
        if self.in_flight >= self.pool.workers:  # others waited behind it: the pace of a backlog
            self._answers.append(now)  # every answer, held up or not: a pace counts them all
        else:
            self._answers.clear()

    def _steps(self) -> float:
        """A photo's own recent time outside the pool: its download, and its answer made and sent."""
        return _median(self._before) + _median(self._after)

    def _lag(self) -> float:
        return self.loop_lag.seconds if self.loop_lag is not None else 0.0

    def _answer_interval(self) -> float | None:
        """Seconds per answer lately, while photos waited (None: not measured, or no backlog)."""
        if len(self._answers) < ANSWER_SAMPLES:
            return None
        return (self.clock() - self._answers[0]) / (len(self._answers) - 1)


def _median(values: collections.deque[float]) -> float:
    return statistics.median(values) if values else 0.0


class Pass:
    """An admitted request's places; a context manager that gives them all back on exit. A
    photo's pass also times its steps for the reckoning and carries its ``deadline``."""

    def __init__(self) -> None:
        self._work = contextlib.ExitStack()  # the pool's and the user's
        self._answer = contextlib.ExitStack()  # the chat's
        self._reckoning: WaitReckoning | None = None
        self._received = 0.0
        self._analysed: float | None = None
        self.deadline: float | None = None
        """When the photo must be answered by (``time.monotonic()``), or None."""

    def _timed(self, reckoning: WaitReckoning, received: float) -> None:
        """An admitted photo, received at ``received``: timed for ``reckoning``, with a deadline."""
        self._reckoning, self._received = reckoning, received
        self.deadline = reckoning.deadline(received)
        reckoning.admitted()

    def analysed_by(self) -> float | None:
        """When the photo's analysis must end for its answer to go out by the deadline (None
        once Telegram has failed since its receipt: its lateness is Telegram's, its answer now
        the best it can get, where a "busy" would be as late)."""
        if self.deadline is None or self._reckoning is None:
            return self.deadline
        if self._reckoning.met_upstream_failing(self._received):
            return None
        return self.deadline - self._reckoning.after_analysis()

    def fetched(self) -> None:
        """The photo's bytes are here: its analysis is asked for."""
        if self._reckoning is not None:
            self._reckoning.fetched(self._reckoning.clock() - self._received, self._received)

    def worked(self) -> None:
        """The work is done (the photo analysed): free the pool's and the user's places."""
        if self._reckoning is not None and self._analysed is None:
            self._analysed = self._reckoning.clock()
        self._work.close()

    def close(self) -> None:
        if self._reckoning is not None:
            self._reckoning.answered(self._analysed, self._received)
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

    def admit(
        self, chat_id: int, user_id: int | None = None, *, uses_pool: bool = False, received: float | None = None
    ) -> Pass | Refusal:
        """Take the places a request needs, all at once, or none and say why not. ``user_id``
        None: nothing counts against a user (a command); ``uses_pool``: a photo to analyse;
        ``received``: when the bot received it (``time.monotonic()``; None: now), the time its
        answer is reckoned from."""
        admitted = Pass()
        reckoning = self.reckoning if uses_pool and self.pool is not None else None
        now = time.monotonic() if reckoning is None else reckoning.clock()
        since = now if received is None else min(received, now)
        try:
            admitted._answer.enter_context(self.chats.admit(chat_id))
            if reckoning is not None and self.pool is not None:
                if reckoning.too_long(waited=now - since):
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
            return Refusal("user_rate", "user_rate", {"count": max(1, round(exc.retry_in))})
        if reckoning is not None:
            admitted._timed(reckoning, since)
        return admitted
