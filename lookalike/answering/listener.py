"""The bot's HTTP listeners (the webhook; /metrics with /livez and /readyz), served by aiohttp
with limits, so that a slow or oversized request costs an error or a closed connection, never a
thread or a connection held for good:

- the request line and headers must all come within ``HEADER_SECONDS`` of the connection's
  opening (or of its previous answer), else the connection is closed: aiohttp's keep-alive
  timer, which runs from the connection's start and closes one still waiting for its headers;
- the body must all come within ``BODY_SECONDS`` (``read_body``), else 408;
- a body larger than the listener's ``max_body`` is answered 413, unread when its
  Content-Length says so; a header line over 8190 bytes, or more than 128 headers, 400
  (aiohttp's limits).

aiohttp serves every connection from one event loop, so a thousand slow clients hold no
thread; ``ThreadedListener`` gives a listener a loop of its own, for the health endpoints,
which must answer while the bot's loop is stuck.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any

from aiohttp import web

HEADER_SECONDS = 10.0
"""Telegram and Prometheus send a request's head at once; a client trickling it is let go."""

BODY_SECONDS = 10.0
"""Telegram's updates are a few kilobytes, sent at once."""


def application(max_body: int) -> web.Application:
    return web.Application(client_max_size=max_body)


async def start(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app`` on ``host:port`` with the limits above; ``runner.cleanup()`` stops it."""
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=HEADER_SECONDS, shutdown_timeout=5.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


async def read_body(request: web.Request) -> bytes:
    """The request's body: 413 when it is larger than the application's ``client_max_size``
    (before reading it when Content-Length says so), 408 when it takes over ``BODY_SECONDS``."""
    limit = request.client_max_size
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    try:
        async with asyncio.timeout(BODY_SECONDS):
            return await request.read()
    except TimeoutError:
        raise web.HTTPRequestTimeout(text=f"the body did not come within {BODY_SECONDS:g} s\n") from None


class ThreadedListener:
    """``app`` served on an event loop of its own, in a daemon thread. The constructor returns
    once the port is bound, and raises what binding raised (a port in use: OSError)."""

    def __init__(self, app: web.Application, host: str, port: int, name: str):
        self._loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[web.AppRunner] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._serve, args=(app, host, port, started), name=name, daemon=True)
        self._thread.start()
        self._runner = started.result()

    def _serve(self, app: web.Application, host: str, port: int, started: concurrent.futures.Future[Any]) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            runner = self._loop.run_until_complete(start(app, host, port))
        except BaseException as exc:
            started.set_exception(exc)
            self._loop.close()
            return
        started.set_result(runner)
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
