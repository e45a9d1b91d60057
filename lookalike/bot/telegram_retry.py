"""Bot API calls that outlive Telegram's failures, and a rate limiter whose 429 pauses hold up
only the sends they were for.

Telegram answers 500 and 502 during its incidents, and networks drop connections; PTB raises
``NetworkError`` for both and does not try again, so an answer would be lost. Here a call
that fails so is tried again with back-off (0.5 s, doubling, at most ``MAX_DELAY`` apart) for
up to TELEGRAM_RETRY_SECONDS, then given up: logged at WARNING and counted in
``lookalike_telegram_given_up_total``. A ``BadRequest`` (400) is Telegram's final word and is
never tried again.

A send is tried again only when Telegram cannot have delivered it: it answered with an error
status (5xx), or the connection was never made. A send whose request went out and whose
answer never came (a read timeout, a connection dropped mid-way) may have been delivered;
the Bot API has no idempotency key to ask, so it is given up rather than risk a second
answer. Calls that change nothing (getFile, downloads) are tried again after any network failure.

``BotRateLimiter`` is PTB's ``AIORateLimiter`` (30 messages a second overall, 20 a minute per
group, 429s retried after Telegram's wait) for messages to chats only. Calls to no chat
(getFile, answerCallbackQuery, setWebhook...) pass outside its pauses: a 429 for a send no
longer stops downloads, and a 429 for one of them waits out only that call. A 429 storm that
outlasts the limiter's ``max_retries`` waits is waited out too, for up to TELEGRAM_RETRY_SECONDS
like an outage (the limiter gave up, and the answer was lost, after 5 waits: 25 s at Telegram's
"retry after 5").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter

from lookalike.answering import metrics

log = logging.getLogger(__name__)

FIRST_DELAY = 0.5
MAX_DELAY = 5.0
"""The longest pause between two tries: an answer goes out at most this long after Telegram is back."""

SENDS = ("send", "copy", "forward", "edit")
"""Bot API methods (by prefix) that put something in a chat: a second try may show it twice.
sendChatAction is a courtesy that shows nothing twice, so it is tried again like a read."""

T = TypeVar("T")

_NEVER_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def may_have_arrived(exc: NetworkError) -> bool:
    """Whether Telegram may have acted on a request that failed with ``exc``: it went out and
    no answer came back. An error status (a 5xx: Telegram answered) or a connection never
    made says it did not."""
    cause = exc.__cause__
    if isinstance(cause, _NEVER_CONNECTED):
        return False
    return isinstance(exc, TimedOut) or isinstance(cause, httpx.HTTPError)


def seconds(period: float | dt.timedelta) -> float:
    """A time period as PTB gives it: seconds, or a timedelta (PTB_TIMEDELTA=true, and PTB 23)."""
    return period.total_seconds() if isinstance(period, dt.timedelta) else float(period)


def is_send(method: str) -> bool:
    return method.startswith(SENDS) and method != "sendChatAction"


async def patiently(call: Callable[[], Awaitable[T]], what: str, budget: float, repeatable: bool = True) -> T:
    """``call()``, tried again after network failures and 5xx answers for up to ``budget`` seconds
    (``repeatable`` False: only when the request cannot have been acted on)."""
    deadline = time.monotonic() + budget
    delay = FIRST_DELAY
    while True:
        try:
            return await call()
        except RetryAfter as exc:  # the limiter's own waits are spent: a storm
            wait = seconds(exc.retry_after) + 0.1
            if time.monotonic() + wait > deadline:
                _give_up(what, f"Telegram still asks to wait after {budget:g} s (429: retry after {wait:.0f} s)")
                raise
            log.info("%s: Telegram still asks to wait (429); waiting %.1f s more", what, wait)
            await asyncio.sleep(wait)
        except NetworkError as exc:
            if isinstance(exc, BadRequest):
                raise
            if not repeatable and may_have_arrived(exc):
                _give_up(what, f"it may have been delivered, so it is not sent again ({exc.__class__.__name__}: {exc})")
                raise
            if time.monotonic() + delay > deadline:
                _give_up(what, f"still failing after {budget:g} s ({exc.__class__.__name__}: {exc})")
                raise
            log.info("%s failed (%s: %s); trying again in %.1f s", what, exc.__class__.__name__, exc, delay)
            await asyncio.sleep(delay)
            delay = min(2 * delay, MAX_DELAY)


def _give_up(what: str, why: str) -> None:
    log.warning("%s given up: %s", what, why)
    metrics.TELEGRAM_GIVEN_UP.labels(what).inc()


class BotRateLimiter(AIORateLimiter):
    """AIORateLimiter for messages to chats, every call tried again through Telegram's failures."""

    def __init__(self, retry_seconds: float, max_retries: int = 0, **limits: Any):
        super().__init__(max_retries=max_retries, **limits)
        self.retry_seconds = retry_seconds
        self.max_retries = max_retries

    async def process_request(
        self,
        callback: Callable[..., Any],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if data.get("chat_id") is None:  # no message to a chat: outside the sends' pauses

            async def call() -> Any:
                return await self._outside_pauses(callback, args, kwargs, endpoint, rate_limit_args)

        else:

            async def call() -> Any:
                return await super(BotRateLimiter, self).process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )

        return await patiently(call, endpoint, self.retry_seconds, repeatable=not is_send(endpoint))

    async def _outside_pauses(
        self, callback: Callable[..., Any], args: Any, kwargs: dict[str, Any], endpoint: str, retries: int | None
    ) -> Any:
        """The call, waiting out a 429 that was for it, and only that."""
        max_retries = retries or self.max_retries
        for attempt in range(max_retries + 1):
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == max_retries:
                    raise
                wait = seconds(exc.retry_after) + 0.1  # a margin, as PTB's own limiter adds
                log.info("%s: Telegram asked to wait %.1f s", endpoint, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")
