"""Updates are confirmed to Telegram only once they are answered, so a stop loses none.

Telegram forgets an update once it is confirmed: by long polling, when getUpdates is
called with an ``offset`` above its id; by webhook, when the POST that carried it is
answered 200. PTB's Updater confirms on receipt (the next getUpdates, the 200 right after
queueing), so a stop or a crash mid-answer would lose the photos in flight. Here:

- ``Deliveries`` knows which received updates are still being handled;
- ``TrackingUpdateProcessor`` (PTB's hook around each update's handlers) tells it when one is
  done; an answer a handler leaves to a task of its own (``answer_later``: a "busy" that waits
  for the chat's earlier answers) keeps its update in flight until that task ends;
- ``Poller`` long-polls with the offset held at the first unanswered update: while some are
  in flight, Telegram hands them back, the poller skips the ones it has, and polls again
  shortly for new ones (the long poll waits only when nothing is in flight). An update
  answered while others are still in flight is written to ANSWERED_FILE at once
  (``answered_file``) and leaves it once Telegram has confirmed it, so that the next start,
  which receives it again, skips it: after a stop that left some unanswered, and after a
  ``kill -9`` too. The last one in flight is not written: the poller confirms it with its
  next getUpdates, one round trip later. When the window of 100 updates a getUpdates returns
  holds nothing new (an outage of sends with 100 or more in flight, or one slow update at its
  head and 99 answered), its unanswered updates are kept whole in ANSWERED_FILE first, and only
  then confirmed, so the poll moves on to new ones; the next start answers the kept ones that
  are still unanswered. While ANSWERED_FILE cannot be written, the window is not confirmed:
  new updates wait, none is lost;
- by webhook, ``webhook.Webhook`` holds each POST's 200 until its update is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor, ContextTypes

from lookalike.bot.answered_file import AnsweredFile

log = logging.getLogger(__name__)

LONG_POLL_SECONDS = 10
BUSY_POLL_SECONDS = 0.2
"""While updates are in flight, Telegram answers every getUpdates at once (it hands the
unconfirmed ones back), so the poller looks for new ones this often instead."""
WINDOW = 100
"""getUpdates returns at most 100 updates."""
FULL_WINDOW_PAUSE = 1.0
"""Seconds before a full window whose updates could not be kept is tried again."""


class NotAnswered(Exception):
    """The bot stopped before this update was answered; Telegram will deliver it again."""


class Deliveries:
    def __init__(self) -> None:
        self._answered: dict[int, asyncio.Future[None]] = {}  # update id -> done when its handlers are
        self._received: dict[int, float] = {}  # update id -> when it came (time.monotonic())
        self._tasks: dict[int, asyncio.Task[Any]] = {}
        self._later: dict[int, set[asyncio.Task[Any]]] = {}  # update id -> its answers' own tasks
        self._handled: set[int] = set()  # handlers ended, an answer's task still running
        self._idle = asyncio.Event()
        self._idle.set()
        self.stopping = False
        self.on_answered: Callable[[int], None] | None = None
        """Called with each update answered (not with one abandoned), after it left the count."""

    def __len__(self) -> int:
        return len(self._answered)

    def received(self, update_id: int) -> asyncio.Future[None]:
        self._received.setdefault(update_id, time.monotonic())
        future = self._answered.setdefault(update_id, asyncio.get_running_loop().create_future())
        self._idle.clear()
        return future

    def running(self, update_id: int, task: asyncio.Task[Any]) -> None:
        self._tasks[update_id] = task

    def answer_later(self, update_id: int, task: asyncio.Task[Any]) -> None:
        """``task`` sends an answer of ``update_id`` after its handlers end: the update is
        answered once both have ended."""
        self._later.setdefault(update_id, set()).add(task)
        task.add_done_callback(functools.partial(self._sent_later, update_id))

    def _sent_later(self, update_id: int, task: asyncio.Task[Any]) -> None:
        tasks = self._later.get(update_id, set())
        tasks.discard(task)
        if not tasks:
            self._later.pop(update_id, None)
            if update_id in self._handled:
                self._handled.discard(update_id)
                self.done(update_id)

    def done(self, update_id: int) -> None:
        """The update's handlers have ended: it is answered, unless a task still sends its answer."""
        self._tasks.pop(update_id, None)
        if self._later.get(update_id):
            self._handled.add(update_id)
            return
        self._received.pop(update_id, None)
        future = self._answered.pop(update_id, None)
        if future is not None and not future.done():
            future.set_result(None)
            if self.on_answered is not None:
                self.on_answered(update_id)
        if not self._answered:
            self._idle.set()

    def received_at(self, update_id: int) -> float | None:
        """When an update in flight was received (``time.monotonic()``)."""
        return self._received.get(update_id)

    def is_pending(self, update_id: int) -> bool:
        return update_id in self._answered

    async def wait_idle(self, timeout: float) -> bool:
        """True once nothing is in flight, False if ``timeout`` passed first."""
        # asyncio.timeout, not wait_for: in Python 3.11 wait_for swallows a cancellation that
        # arrives as the wait ends (the poller, cancelled as the last answer went out, polled on).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        return self._idle.is_set()

    def abandon(self) -> None:
        """Stop handling what is still in flight: its handlers are cancelled, unconfirmed."""
        for task in [*self._tasks.values(), *(t for tasks in self._later.values() for t in tasks)]:
            task.cancel()
        for future in self._answered.values():
            if not future.done():
                future.set_exception(NotAnswered())
                future.exception()  # retrieved: a poller's future has no one waiting on it


def answer_later(
    context: ContextTypes.DEFAULT_TYPE, update: Update, answer: Coroutine[Any, Any, None]
) -> asyncio.Task[None]:
    """Send ``answer`` from a task of its own, which holds none of the handlers' places while it
    waits; its update stays in flight (unconfirmed to Telegram) until the task ends."""
    task = context.application.create_task(answer, update=update)
    processor = context.application.update_processor
    if isinstance(processor, TrackingUpdateProcessor):
        processor.deliveries.answer_later(update.update_id, task)
    return task


def received_at(context: ContextTypes.DEFAULT_TYPE, update: Update) -> float | None:
    """When the bot received ``update`` (``time.monotonic()``): what its answer's time counts from."""
    processor = context.application.update_processor
    if isinstance(processor, TrackingUpdateProcessor):
        return processor.deliveries.received_at(update.update_id)
    return None


class TrackingUpdateProcessor(BaseUpdateProcessor):
    """Runs up to ``max_concurrent_updates`` updates at once, like PTB's SimpleUpdateProcessor,
    and reports each update's end to ``deliveries``."""

    def __init__(self, max_concurrent_updates: int, deliveries: Deliveries):
        super().__init__(max_concurrent_updates)
        self.deliveries = deliveries

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        task = asyncio.current_task()
        assert task is not None  # PTB runs each update in a task of its own
        self.deliveries.running(update.update_id, task)
        try:
            await coroutine
        finally:
            self.deliveries.done(update.update_id)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class Poller:
    """Long polling that confirms only answered updates (see the module's docstring)."""

    def __init__(
        self,
        bot: Bot,
        queue: asyncio.Queue[object],
        deliveries: Deliveries,
        allowed_updates: list[str],
        answered_file: Path,
    ):
        self.bot, self.queue, self.deliveries = bot, queue, deliveries
        self.allowed_updates = allowed_updates
        self.answered = AnsweredFile(answered_file)
        self.offset = 0  # every update below it is answered (0: none seen yet)
        self._confirmed = 0  # the highest offset Telegram has acknowledged
        self._seen: set[int] = set()  # ids at or above the offset already handed to the bot
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self._seen = self.answered.load()
        self.deliveries.on_answered = self._answered
        hand_over_kept(self.answered, self.bot, self.queue, self.deliveries)
        await self.bot.delete_webhook()
        self._task = asyncio.create_task(self._run(), name="poller")

    async def stop(self) -> None:
        """Stop fetching; updates Telegram sent in a poll cut short stay unconfirmed."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def confirm(self) -> None:
        """Tell Telegram which updates are answered: all below the first unanswered one. The
        answered ones above it stay in ANSWERED_FILE for the next start."""
        self._advance()
        unanswered = sum(1 for i in self._seen if self.deliveries.is_pending(i))
        answered = [i for i in self._seen if not self.deliveries.is_pending(i)]
        if unanswered:
            log.warning(
                "%d updates not answered will come again on the next start; %d answered after the first of them"
                " are kept in %s so as not to be answered twice",
                unanswered,
                len(answered),
                self.answered.path,
            )
        if self.answered.kept:
            log.warning(
                "%d updates confirmed to Telegram before they were answered are kept in %s: the next start answers them",
                len(self.answered.kept),
                self.answered.path,
            )
        self.answered.add(*answered)
        await self.answered.flush()
        if self.offset:
            try:
                await self.bot.get_updates(offset=self.offset, limit=1, timeout=0, allowed_updates=self.allowed_updates)
                self._acknowledged(self.offset)
            except TelegramError as exc:
                log.warning("could not confirm the last answered updates (they may be answered again): %s", exc)
        await self.answered.flush()
        self.answered.close()

    def _answered(self, update_id: int) -> None:
        """Put an update answered while others are in flight in ANSWERED_FILE: Telegram may hand
        it back for a while (each getUpdates holds at the first unanswered one). The last one
        in flight is confirmed by the next poll at once instead. A kept update leaves the file."""
        if self.answered.release(update_id):
            return
        if len(self.deliveries) > 0 and update_id >= self._confirmed:
            self.answered.add(update_id)

    def _acknowledged(self, offset: int) -> None:
        """Telegram has confirmed every update below ``offset``: they never come back."""
        if offset > self._confirmed:
            self._confirmed = offset
            self.answered.drop_below(offset)

    async def _run(self) -> None:
        while not self._stopping:
            offset = self.offset
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=LONG_POLL_SECONDS, allowed_updates=self.allowed_updates
                )
            except TelegramError as exc:
                log.warning("getUpdates failed, trying again in 1 s: %s", exc)
                await asyncio.sleep(1)
                continue
            self._acknowledged(offset)
            new = [update for update in updates if update.update_id not in self._seen]
            for update in new:
                self._seen.add(update.update_id)
                self.deliveries.received(update.update_id)
                self.queue.put_nowait(update)
            if len(updates) >= WINDOW and not new:
                await self._keep_window(updates)
            else:
                self._advance()
            if updates and not new:  # only updates still in flight came back
                await self.deliveries.wait_idle(BUSY_POLL_SECONDS)
                self._advance()  # the next poll confirms those answered meanwhile

    async def _keep_window(self, window: Sequence[Update]) -> None:
        """A window of updates all handed over already: keep its unanswered ones whole in
        ANSWERED_FILE, then move the offset past it (a slow one must not hold up everyone's new
        photos, nor 100 in flight during an outage the rest). While the file cannot be written,
        the offset stays: new updates wait, and none is confirmed unanswered."""
        unanswered = [update for update in window if self.deliveries.is_pending(update.update_id)]
        self.answered.keep([json.loads(update.to_json()) for update in unanswered])
        if not await self.answered.flush():
            log.warning(
                "%d updates in flight fill getUpdates' window and %s cannot be written: new updates wait",
                len(unanswered),
                self.answered.path,
            )
            await asyncio.sleep(FULL_WINDOW_PAUSE)
            self._advance()
            return
        log.info(
            "%d updates in flight fill getUpdates' window: kept in %s and confirmed, so that new ones come",
            len(unanswered),
            self.answered.path,
        )
        self.offset = max(self.offset, window[-1].update_id + 1)
        self._seen = {i for i in self._seen if i >= self.offset}

    def _advance(self) -> None:
        """Move the offset up to the first unanswered update Telegram still holds (kept ones are
        below the offset), or past every update handed over when all are answered. It never
        moves down: updates below it were confirmed by the poll that carried it."""
        first = min((i for i in self._seen if self.deliveries.is_pending(i)), default=None)
        if first is None:
            if self._seen:
                self.offset = max(self.offset, max(self._seen) + 1)
            self._seen.clear()
        else:
            self.offset = max(self.offset, first)
            self._seen = {i for i in self._seen if i >= self.offset}


def hand_over_kept(answered: AnsweredFile, bot: Bot, queue: asyncio.Queue[object], deliveries: Deliveries) -> None:
    """The updates the last run confirmed before answering them, handed to the bot first."""
    if answered.kept:
        log.info("answering %d updates kept in %s by the last run", len(answered.kept), answered.path)
    for update_id, data in sorted(answered.kept.items()):
        deliveries.received(update_id)
        queue.put_nowait(Update.de_json(data, bot))
