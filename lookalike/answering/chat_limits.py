"""Per-chat fairness: at most a few photos of one chat waiting for their answers.

A group gets one message every few seconds (Telegram allows ~20 a minute), so a group
sending photos faster than that piles up answers that wait for their turn to be sent,
each holding one of the bot's concurrent handlers: enough of them and everyone else's
updates wait behind one group. A chat may have ``max_pending`` photos accepted and not
yet answered; the rest are told "busy" by a task that holds no handler while it waits,
and that waits for the answers accepted before it, so a burst is answered in order: the
look-alikes first, then the "busy" notes. All state lives in the bot's single event loop,
so no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class ChatBusy(Exception):
    """The chat already has ``max_pending`` photos waiting for their answers."""


class ChatLimits:
    def __init__(self, max_pending: int = 10):
        self.max_pending = max_pending
        self._pending: dict[int, set[asyncio.Event]] = {}  # one event per answer, set once it is sent

    @contextlib.contextmanager
    def admit(self, chat_id: int) -> Iterator[None]:
        """Count one photo of ``chat_id`` until its answer is sent, or raise ChatBusy."""
        pending = self._pending.setdefault(chat_id, set())
        if len(pending) >= self.max_pending:
            raise ChatBusy()
        answered = asyncio.Event()
        pending.add(answered)
        try:
            yield
        finally:
            answered.set()
            pending.discard(answered)
            if not pending:
                del self._pending[chat_id]

    def waiting(self, chat_id: int) -> tuple[asyncio.Event, ...]:
        """The answers of ``chat_id`` not sent yet, as events set once each is (wait on them later)."""
        return tuple(self._pending.get(chat_id, ()))
