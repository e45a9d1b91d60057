"""Who may do what on the playground, and what every answer tells the browser.

The playground may be served beyond this machine (PLAYGROUND_LISTEN=0.0.0.0 for a phone, or
behind a reverse proxy), so, as OWASP advises:

- The operator (the /operator page, the first run, the paths and the contact in /api/state)
  is whoever logged in with PLAYGROUND_SECRET: the login form posts it once, and the answer
  sets an HttpOnly, SameSite=Strict cookie holding an expiry time and its HMAC keyed by the
  secret, never the secret itself; a script may send ``Authorization: Bearer <secret>``
  instead. The secret is never taken from a URL (URLs end up in proxy logs and the browser's
  history), and every comparison takes constant time. Without a secret the operator is this
  machine's browser, and only while the playground listens on loopback and the request
  carries no proxy header: a reverse proxy on this machine makes every request come from
  loopback, and a playground listening beyond loopback cannot tell.
- A state-changing request (anything but GET, HEAD, OPTIONS) from another site is refused:
  by the browser's Fetch Metadata (``Sec-Fetch-Site``) when it sends it, else by its Origin
  against the Host it was sent to. A request with neither is not a browser's, so it carries
  no cookie a forger could borrow.
- Every response carries a Content-Security-Policy without 'unsafe-inline' (the pages'
  scripts and styles are static files), ``X-Content-Type-Options: nosniff`` and
  ``frame-ancestors 'none'``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

log = logging.getLogger("playground")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

COOKIE = "operator"
SESSION_SECONDS = 12 * 3600
"""How long a login lasts; changing PLAYGROUND_SECRET ends every session at once."""
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-IP", "Via")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_ORIGIN_FETCHES = frozenset({"same-origin", "none"})  # "none": the user's own navigation

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; "  # the bot's pictures are data: URLs, the user's own photo a blob:
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class Operator:
    """Recognises the operator (see the module's docstring); ``secret`` is PLAYGROUND_SECRET."""

    def __init__(self, secret: str | None, listen: str, clock: Callable[[], float] = time.time):
        self.secret = secret
        self.local_listener = _is_loopback(listen)
        self.clock = clock

    @property
    def access(self) -> str:
        """How the operator gets in: "login" (the secret), "local" (this machine's browser) or
        "closed" (no secret while listening beyond loopback: nobody)."""
        if self.secret:
            return "login"
        return "local" if self.local_listener else "closed"

    def recognises(self, request: web.Request) -> bool:
        if self.secret:
            bearer = request.headers.get("Authorization", "")
            if bearer.startswith("Bearer "):
                return self.secret_matches(bearer.removeprefix("Bearer "))
            return self.token_valid(request.cookies.get(COOKIE, ""))
        return (
            self.local_listener
            and _is_loopback(request.remote or "")
            and not any(header in request.headers for header in PROXY_HEADERS)
        )

    def secret_matches(self, offered: str) -> bool:
        return bool(self.secret) and hmac.compare_digest(offered.encode(), (self.secret or "").encode())

    def token(self) -> str:
        """A session cookie's value: its expiry time and the HMAC of it."""
        expires = str(int(self.clock()) + SESSION_SECONDS)
        return f"{expires}.{self._mac(expires)}"

    def token_valid(self, token: str) -> bool:
        expires, _, mac = token.partition(".")
        if not expires.isdigit() or int(expires) <= self.clock():
            return False
        return hmac.compare_digest(mac.encode(), self._mac(expires).encode())

    def _mac(self, expires: str) -> str:
        key = (self.secret or "").encode()
        return hmac.new(key, f"playground operator until {expires}".encode(), hashlib.sha256).hexdigest()


OPERATOR = web.AppKey("operator", Operator)


def operator_only(handler: Handler) -> Handler:
    """``handler`` for the operator; a browser that is not is sent to the login form when
    there is one, and everyone else is told how the operator gets in."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        operator = request.app[OPERATOR]
        if operator.recognises(request):
            return await handler(request)
        if operator.access == "login" and request.method == "GET" and request.path == "/operator":
            raise web.HTTPSeeOther("/operator/login")
        raise web.HTTPForbidden(text=_REFUSALS[operator.access])

    return guarded


_REFUSALS = {
    "login": "This is the operator's: log in at /operator/login.\n",
    "local": "This is the operator's: this machine's browser, not through a proxy (or set PLAYGROUND_SECRET).\n",
    "closed": "This is the operator's, and the playground listens beyond this machine: set PLAYGROUND_SECRET.\n",
}


@web.middleware
async def same_site_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuses a state-changing request that another site's page made the browser send."""
    if request.method not in SAFE_METHODS and not _from_this_site(request):
        log.warning("refused a cross-site %s %s", request.method, request.path)
        raise web.HTTPForbidden(text="Refused: the request came from another site's page.\n")
    return await handler(request)


def _from_this_site(request: web.Request) -> bool:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in SAME_ORIGIN_FETCHES
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser (curl, a script): no ambient cookie to forge with
    hosts = {request.host} | {h.strip() for h in request.headers.get("X-Forwarded-Host", "").split(",") if h.strip()}
    return urlsplit(origin).netloc in hosts  # "null" (a sandboxed frame, a file:) has no netloc


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: every answer, pages, files and errors alike."""
    response.headers.update(SECURITY_HEADERS)


def _is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback
