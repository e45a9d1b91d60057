"""Per-chat fairness: at most a few photos of one chat waiting for their answers.

A group gets one message every few seconds (Telegram allows ~20 a minute), so a group
sending photos faster than that piles up answers that wait for their turn to be sent,
each holding one of the bot's concurrent handlers: enough of them and everyone else's
updates wait behind one group. A chat may have ``max_pending`` photos accepted and not
yet answered; the rest are told "busy" by a task that holds no handler while it waits.
All state lives in the bot's single event loop, so no locks.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator


class ChatBusy(Exception):
    """The chat already has ``max_pending`` photos waiting for their answers."""


class ChatLimits:
    def __init__(self, max_pending: int = 10):
        self.max_pending = max_pending
        self._pending: dict[int, int] = {}

    @contextlib.contextmanager
    def admit(self, chat_id: int) -> Iterator[None]:
        """Count one photo of ``chat_id`` until its answer is sent, or raise ChatBusy."""
        pending = self._pending.get(chat_id, 0)
        if pending >= self.max_pending:
            raise ChatBusy()
        self._pending[chat_id] = pending + 1
        try:
            yield
        finally:
            self._pending[chat_id] -= 1
            if not self._pending[chat_id]:
                del self._pending[chat_id]
