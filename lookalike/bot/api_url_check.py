"""A wrong TELEGRAM_API_URL told in one line within seconds at start, while a real outage is
still ridden out (``telegram_retry``: TELEGRAM_RETRY_SECONDS).

What tells them apart is whether something answered definitively that no Bot API is there,
before the Bot API has answered this process even once:

- no such host (the resolver's "name or service not known"; a resolver that cannot be asked
  says "temporary failure", which is ridden out), a refused connection, or a TLS handshake that
  failed (a certificate for another name): tried for ``WRONG_URL_SECONDS`` (a local Bot API
  server may be starting beside the bot), then told;
- an HTTP answer that is not the Bot API's JSON envelope (``{"ok": ...}``: a web page, a
  redirect), or 404 (Telegram's answer to a path that names no method: a URL that is not the
  server's root): told at once.

Telegram's own failures are not among them: a 5xx (with any body: Telegram's 502 is an HTML
page), a timeout, an unreachable network, a resolver that cannot be asked. After the first
Bot API answer nothing is told early: a refused connection then is a proxy restarting.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable

import ujson
from telegram.error import NetworkError, TelegramError

WRONG_URL_SECONDS = 5.0
"""How long a host that does not exist, refuses the connection or fails TLS is tried at start."""


class NotTheBotApi(TelegramError):
    """TELEGRAM_API_URL leads to no Bot API (see the module's docstring); never tried again.
    ``answered``: something answered HTTP there (else nothing could be reached)."""

    def __init__(self, reason: str, answered: bool):
        super().__init__(reason)
        self.reason, self.answered = reason, answered


class ApiUrlCheck:
    """Shared by the bot's HTTP requests: each answer and each failure, until the first Bot API answer."""

    def __init__(self, seconds: float = WRONG_URL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.seconds, self._clock = seconds, clock
        self.answered = False  # the Bot API has answered once
        self._refused_since: float | None = None

    def answer(self, status: int, payload: bytes) -> None:
        """An HTTP answer came: NotTheBotApi if it cannot be the Bot API's."""
        if self.answered or status >= 500:
            return
        if status == 404:
            raise NotTheBotApi("it answered 404 Not Found: is it the server's root?", True)
        if not _is_envelope(payload):
            raise NotTheBotApi(f"it answered HTTP {status} with {_kind(payload)}, not the Bot API's JSON", True)
        self.answered = True

    def failed(self, exc: NetworkError) -> None:
        """A request failed without an answer: NotTheBotApi once a definitive refusal has lasted
        ``seconds``; otherwise the failure is left to be tried again."""
        if self.answered:
            return
        reason = definitive(exc)
        if reason is None:
            return
        now = self._clock()
        if self._refused_since is None:
            self._refused_since = now
        if now - self._refused_since >= self.seconds:
            raise NotTheBotApi(f"{reason} (tried for {now - self._refused_since:.0f} s)", False) from exc


def definitive(exc: BaseException) -> str | None:
    """Why ``exc`` says that nothing Telegram-like is at the URL, or None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror) and seen.errno == socket.EAI_NONAME:
            return "no such host"
        if isinstance(seen, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(seen, ssl.SSLError):
            return f"TLS failed: {seen.reason or seen}"
        seen = seen.__cause__ or seen.__context__
    return None


def _is_envelope(payload: bytes) -> bool:
    try:
        data = ujson.loads(payload)
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("ok"), bool)


def _kind(payload: bytes) -> str:
    """What an answer was, in a few words, never its text (a page may echo the URL, token and all)."""
    if not payload.strip():
        return "an empty body"
    return "a web page" if payload.lstrip()[:1] == b"<" else f"{len(payload)} bytes"
