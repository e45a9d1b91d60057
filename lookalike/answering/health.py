"""Is the bot alive, and is it ready to answer? What ``/livez`` and ``/readyz`` say.

Alive: the event loop runs (a task ticks every second; a loop stuck in one callback stops
it). A supervisor restarts a bot that is not alive.

Ready: started and not stopping, the index loaded (its version is in the answer), the face
workers alive, and the Bot API answered within ``telegram_silence`` seconds. By long polling
the bot asks Telegram something every few seconds anyway; by webhook an idle bot may ask
nothing for long, so ``beat`` calls getMe when Telegram has been quiet for a while. A load
balancer (Kubernetes' readiness probe) sends no traffic to a bot that is not ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

LOOP_STALL_SECONDS = 30.0
"""The event loop is reported dead after this long without a tick (a photo's analysis runs
in a worker process, so nothing legitimate holds the loop for seconds)."""


class Workers(Protocol):
    workers: int

    def check_workers(self) -> int: ...


class Reloader(Protocol):
    @property
    def current(self) -> Any: ...


@dataclass
class Health:
    pool: Workers
    reloader: Reloader
    telegram_silence: float = 120.0
    clock: Callable[[], float] = time.monotonic
    started: bool = False
    stopping: bool = False
    telegram_answered_at: float | None = None
    loop_tick_at: float | None = None
    workers_alive: int = 0  # counted by ``beat`` on the event loop (the pool is not thread-safe)
    _last_failure: str = field(default="", repr=False)

    def telegram_answered(self) -> None:
        """The Bot API answered a request (any answer: it is reachable and knows the token)."""
        self.telegram_answered_at = self.clock()

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        if self.loop_tick_at is None:
            return True, {"alive": True, "loop": "starting"}
        stalled = self.clock() - self.loop_tick_at
        alive = stalled < LOOP_STALL_SECONDS
        return alive, {"alive": alive, "loop_seconds_since_tick": round(stalled, 1)}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether the bot can answer now, and each check's figure (the JSON of /readyz)."""
        now = self.clock()
        current = self.reloader.current
        alive = self.workers_alive
        quiet = None if self.telegram_answered_at is None else now - self.telegram_answered_at
        checks = {
            "started": self.started,
            "stopping": self.stopping,
            "index_version": getattr(current, "version", None),
            "index_celebrities": len(current),
            "workers_alive": alive,
            "workers": self.pool.workers,
            "telegram_seconds_since_answer": None if quiet is None else round(quiet, 1),
        }
        ready = (
            self.started
            and not self.stopping
            and len(current) > 0
            and alive == self.pool.workers
            and quiet is not None
            and quiet <= self.telegram_silence
        )
        return bool(ready), {"ready": bool(ready), **checks}

    async def beat(self, ask_telegram: Callable[[], Awaitable[object]], every: float = 1.0) -> None:
        """Tick for liveness; ask Telegram (getMe) when it has been quiet for a third of
        ``telegram_silence``, so that an idle webhook bot stays ready while Telegram is up."""
        asking: asyncio.Task[None] | None = None
        while True:
            self.loop_tick_at = now = self.clock()
            self.workers_alive = self.pool.check_workers()
            quiet = None if self.telegram_answered_at is None else now - self.telegram_answered_at
            if (quiet is None or quiet > self.telegram_silence / 3) and (asking is None or asking.done()):
                asking = asyncio.create_task(self._ask(ask_telegram))
            await asyncio.sleep(every)
            if asking is not None and not asking.done() and self.stopping:
                asking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asking

    async def _ask(self, ask_telegram: Callable[[], Awaitable[object]]) -> None:
        try:
            await ask_telegram()
        except Exception as exc:  # any failure is a readiness figure, logged once
            failure = f"{type(exc).__name__}: {exc}"
            if failure != self._last_failure:
                log.warning("the Bot API did not answer the health check: %s", failure)
            self._last_failure = failure
        else:
            self._last_failure = ""
