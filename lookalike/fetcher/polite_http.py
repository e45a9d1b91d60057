"""An HTTP client that is polite to Wikimedia's servers by construction.

- Every request carries a User-Agent naming the tool, its version and the operator's
  contact, then the library: ``<client>/<version> (<contact>) <library>/<version>``
  (Wikimedia User-Agent policy, foundation.wikimedia.org/wiki/Policy:User-Agent_policy).
- At most ``max_parallel`` requests are in flight at once (API:Etiquette on mediawiki.org
  asks for few parallel requests; the Wikidata Query Service throttles per client).
- A 429 or 503 with ``Retry-After`` (seconds or an HTTP date) pauses *every* request of
  this client until then, not just the one that got it: the server said the client is
  too fast. Other failures (502, 504, timeouts, resets) back off exponentially,
  ``backoff * 2**n`` capped at ``backoff_cap``; waits asked for are capped at
  ``max_wait`` too. A request is tried at most ``attempts`` times, then ``HttpError``;
  other statuses (404, 500...) are an ``HttpError`` at once.
- ``Accept-Encoding: gzip`` (API:Etiquette), decompressed here.

Standard library only (urllib.request): the fetcher needs GET, headers, a timeout and
gzip, which it has; the pinned aiohttp is the tests' dependency and would make the
fetcher asyncio for no gain at two parallel downloads.
"""

from __future__ import annotations

import email.utils
import gzip
import logging
import platform
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""Too many requests, and the gateway errors of a busy server. Not 500: Wikimedia's are
about the request (the query service's query timeout is one), so the same again fails again."""
WAIT_STATUSES = frozenset({429, 503})  # the statuses whose Retry-After is honoured


class HttpError(Exception):
    """A request that failed for good: a status that retrying cannot fix, or too many attempts."""

    def __init__(self, url: str, reason: str, status: int | None = None, body: bytes = b""):
        super().__init__(f"{reason} ({_short(url)})")
        self.url, self.reason, self.status = url, reason, status
        self.body = body  # the start of the error page, for the caller to explain it


class Stopped(Exception):
    """The client was stopped (Ctrl+C) while a request waited to be retried."""


@dataclass
class Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes


def user_agent(tool: str, version: str, contact: str) -> str:
    """``LookalikeFetcher/1.0 (ops@example.org) Python-urllib/3.11``, as the policy asks."""
    return f"{tool}/{version} ({contact}) Python-urllib/{'.'.join(platform.python_version_tuple()[:2])}"


class PoliteClient:
    def __init__(
        self,
        agent: str,
        *,
        max_parallel: int = 2,
        attempts: int = 5,
        backoff: float = 1.0,
        backoff_cap: float = 60.0,
        max_wait: float = 300.0,
        timeout: float = 60.0,
    ):
        if max_parallel < 1 or attempts < 1:
            raise ValueError("max_parallel and attempts must be at least 1")
        self.agent = agent
        self.attempts, self.backoff, self.backoff_cap, self.max_wait = attempts, backoff, backoff_cap, max_wait
        self.timeout = timeout
        self._slots = threading.BoundedSemaphore(max_parallel)
        self._lock = threading.Lock()
        self._resume_at = 0.0  # time.monotonic() before which no request starts (Retry-After)
        self._stop = threading.Event()
        self._opener = urllib.request.build_opener()  # honours the operator's *_proxy variables

    def stop(self) -> None:
        """Make waiting requests give up (``Stopped``) instead of sleeping out their back-off."""
        self._stop.set()

    def get(self, url: str, params: dict[str, str] | None = None, accept: str = "*/*") -> Response:
        """GET ``url`` (with ``params`` as its query string), retried as the module says."""
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode(params)}"
        return self._retried(url, None, accept)

    def post(self, url: str, form: dict[str, str], accept: str = "*/*") -> Response:
        """POST ``form`` (application/x-www-form-urlencoded) to ``url``, retried the same way."""
        return self._retried(url, urllib.parse.urlencode(form).encode(), accept)

    def _retried(self, url: str, body: bytes | None, accept: str) -> Response:
        headers = {"User-Agent": self.agent, "Accept": accept, "Accept-Encoding": "gzip"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(1, self.attempts + 1):
            self._wait_for_resume()
            try:
                with self._slots:
                    return self._once(url, headers, body)
            except urllib.error.HTTPError as exc:
                status = exc.code
                if status not in RETRY_STATUSES:
                    raise HttpError(url, f"HTTP {status}", status, _start(exc)) from exc
                reason = f"HTTP {status}"
                wait = self._retry_after(exc.headers.get("Retry-After")) if status in WAIT_STATUSES else None
            except (urllib.error.URLError, HTTPException, OSError) as exc:  # refused, reset, timed out
                status, reason, wait = None, _reason(exc), None
            if attempt == self.attempts:
                raise HttpError(url, f"{reason}, {self.attempts} attempts", status)
            if wait is not None:
                self._pause_all(wait)
                log.warning("%s: %s, everything waits %.1f s as the server asked", _where(url), reason, wait)
            else:
                delay = min(self.backoff_cap, self.backoff * 2 ** (attempt - 1))
                log.warning("%s: %s, retry %d of %d in %.1f s", _where(url), reason, attempt, self.attempts - 1, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _once(self, url: str, headers: dict[str, str], body: bytes | None) -> Response:
        request = urllib.request.Request(url, data=body, headers=headers)
        with self._opener.open(request, timeout=self.timeout) as reply:
            body = reply.read()
            found = {key.lower(): value for key, value in reply.headers.items()}
            if found.get("content-encoding", "").lower() == "gzip":
                body = gzip.decompress(body)
            return Response(reply.geturl(), reply.status, found, body)

    def _retry_after(self, value: str | None) -> float | None:
        """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped."""
        if not value:
            return None
        value = value.strip()
        if value.isdigit():
            seconds = float(value)
        else:
            try:
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                return None
        return min(self.max_wait, max(0.0, seconds))

    def _pause_all(self, seconds: float) -> None:
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def _wait_for_resume(self) -> None:
        if self._stop.is_set():
            raise Stopped("stopped")
        while True:
            with self._lock:
                left = self._resume_at - time.monotonic()
            if left <= 0:
                return
            self._sleep(left)

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise Stopped("stopped while waiting to retry")


def _start(exc: urllib.error.HTTPError, size: int = 2000) -> bytes:
    try:
        return exc.read(size)
    except (OSError, HTTPException):
        return b""


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__


def _where(url: str) -> str:
    """``query.wikidata.org/sparql``: where a request went, for a log line; its query string
    (a SPARQL query is hundreds of URL-encoded characters) would drown the reason."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."
