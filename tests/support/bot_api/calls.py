"""What the fake Bot API records and how a test reads it: every request as a ``RecordedCall``,
waits for calls (``WaitTimeout`` when they do not come), and the message rates Telegram limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from tests.support.bot_api.protocol import UploadedFile


class WaitTimeout(AssertionError):
    """Raised by the ``wait_for*`` helpers; an AssertionError so pytest shows the message."""


@dataclass(frozen=True)
class RecordedCall:
    """One request the bot made, successful or not."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    #: ``time.monotonic()`` when the request arrived.
    timestamp: float
    chat_id: int | str | None
    status: int = 200
    #: True when the answer came from :meth:`FakeBotApi.fail_next` rather than the method.
    injected: bool = False
    #: For sendPhoto/sendDocument: ``"upload"``, ``"file_id"`` or ``"url"``.
    media_source: str | None = None
    #: The ``result`` returned to the bot, or the error description.
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == HTTPStatus.OK

    @property
    def failed(self) -> bool:
        return not self.ok

    @property
    def is_message(self) -> bool:
        """Whether the call sends a chat message (every ``send*`` but sendChatAction)."""
        return self.method.startswith("send") and self.method != "sendChatAction"

    def describe(self, origin: float) -> str:
        """One line for failure messages; ``origin`` is the monotonic time shown as 0."""
        detail = self.params.get("text") or self.params.get("caption") or ""
        extra = f" text={detail[:60]!r}" if detail else ""
        if self.media_source:
            extra += f" {self.media_source}"
        outcome = "ok" if self.ok else f"{self.status}{' injected' if self.injected else ''}"
        return f"+{self.timestamp - origin:7.3f}s {self.method} chat={self.chat_id} {outcome}{extra}"


@dataclass(frozen=True)
class RateReport:
    """Peak message rates, to compare with Telegram's 30/s overall and 20/min per group."""

    max_per_second: int
    max_per_minute_by_chat: dict[int | str, int]

    @property
    def max_per_minute_in_groups(self) -> int:
        return max(
            (n for chat, n in self.max_per_minute_by_chat.items() if is_group_chat(chat)),
            default=0,
        )


def max_events_in_window(timestamps: Iterable[float], window: float) -> int:
    """Largest number of timestamps inside any half-open interval ``[t, t + window)``."""
    ordered = sorted(timestamps)
    best = 0
    start = 0
    for end, stamp in enumerate(ordered):
        while stamp - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def is_group_chat(chat_id: int | str | None) -> bool:
    return isinstance(chat_id, int) and chat_id < 0


class Calls:
    """The recorded calls, as a test reads and waits for them (a part of ``FakeBotApi``)."""

    _lock: threading.RLock
    _calls_changed: threading.Condition
    _calls: list[RecordedCall]
    _pending_updates: list[dict[str, Any]]
    _polls_waiting: int
    _started_at: float

    def calls(self, method: str | None = None, chat_id: int | str | None = None) -> list[RecordedCall]:
        """Recorded calls in arrival order, optionally filtered by method and chat."""
        with self._lock:
            return [
                call
                for call in self._calls
                if (method is None or call.method == method) and (chat_id is None or call.chat_id == chat_id)
            ]

    def calls_since(self, cursor: int) -> tuple[list[RecordedCall], int]:
        """The calls recorded after the first ``cursor`` ones, and the cursor for the next look."""
        with self._lock:
            return self._calls[cursor:], len(self._calls)

    def replies(self, chat_id: int | str | None = None) -> list[RecordedCall]:
        """Successful message-sending calls (``send*`` except sendChatAction)."""
        return [call for call in self.calls(chat_id=chat_id) if call.ok and call.is_message]

    def wait_for(
        self,
        predicate: Callable[[RecordedCall], bool],
        timeout: float = 10.0,
        *,
        count: int = 1,
        description: str = "matching call",
    ) -> list[RecordedCall]:
        """Block until ``count`` recorded calls satisfy ``predicate``; return all matches.

        Raises:
            WaitTimeout: listing every call received, if ``timeout`` passes first.
        """
        deadline = time.monotonic() + timeout
        with self._calls_changed:
            while True:
                matches = [call for call in self._calls if predicate(call)]
                remaining = deadline - time.monotonic()
                if len(matches) >= count:
                    return matches
                if remaining <= 0:
                    raise WaitTimeout(
                        f"waited {timeout:.1f} s for {count} x {description}, got {len(matches)}.\n{self.call_log()}"
                    )
                self._calls_changed.wait(remaining)

    def wait_for_replies(
        self, chat_ids: Iterable[int], timeout: float = 10.0, *, method: str | None = None
    ) -> dict[int, list[RecordedCall]]:
        """Block until every chat got a reply (of ``method``, if given); return them by chat."""
        wanted = set(chat_ids)

        def is_reply(call: RecordedCall) -> bool:
            return call.ok and call.is_message and call.chat_id in wanted and (method is None or call.method == method)

        def all_answered(calls: list[RecordedCall]) -> bool:
            return {call.chat_id for call in calls} >= wanted

        deadline = time.monotonic() + timeout
        with self._calls_changed:
            while True:
                replies = [call for call in self._calls if is_reply(call)]
                if all_answered(replies):
                    return {chat: [call for call in replies if call.chat_id == chat] for chat in wanted}
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    silent = sorted(wanted - {call.chat_id for call in replies})
                    raise WaitTimeout(
                        f"waited {timeout:.1f} s for {method or 'any'} replies to chats "
                        f"{sorted(wanted)}; no reply to {silent}.\n{self.call_log()}"
                    )
                self._calls_changed.wait(remaining)

    def call_log(self) -> str:
        """Human-readable list of received calls; getUpdates polls are only counted."""
        with self._lock:
            calls = list(self._calls)
            pending = len(self._pending_updates)
            waiting = self._polls_waiting
        polls = [call for call in calls if call.method == "getUpdates"]
        others = [call.describe(self._started_at) for call in calls if call.method != "getUpdates"]
        never = not polls and not waiting
        hint = " (the bot never polled: did it start, with the right URL?)" if never else ""
        lines = [
            f"{len(polls)} getUpdates answered, {waiting} waiting{hint}; "
            f"{pending} updates unconfirmed; {len(others)} other calls:",
            *others,
        ]
        return "\n".join(lines)

    def max_messages_in_window(self, window: float, chat_id: int | str | None = None) -> int:
        """Most successful messages sent within any ``window`` seconds (to one chat, if given)."""
        return max_events_in_window((call.timestamp for call in self.replies(chat_id)), window)

    def rate_report(self) -> RateReport:
        """Peak messages in any 1 s window overall and in any 60 s window per chat."""
        replies = self.replies()
        chats = {call.chat_id for call in replies}
        return RateReport(
            max_per_second=max_events_in_window((c.timestamp for c in replies), 1.0),
            max_per_minute_by_chat={
                chat: max_events_in_window((c.timestamp for c in replies if c.chat_id == chat), 60.0) for chat in chats
            },
        )
