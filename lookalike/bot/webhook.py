"""Receiving updates by webhook, each answered exactly once, on the bot's own aiohttp server:
PTB's documented custom-webhook pattern (an ``Application`` built without its Updater, each
POSTed update decoded with ``Update.de_json`` and put in ``application.update_queue``), so
no private part of PTB is touched.

Telegram forgets a webhook update once the POST that carried it is answered 2xx, and sends it
again when that answer is late, lost, or an error. So:

- a POST is answered 200 only once its update is answered (``Deliveries``). On a stop, new
  POSTs and the ones not answered within the grace period are answered 503, and Telegram
  sends them again;
- an update sent again while it is being answered waits for that answer; one sent again after
  it (a lost 200, a restart) is acknowledged without a second answer: the last ``REMEMBERED``
  answered ids are kept in ANSWERED_FILE, as long polling keeps its own;
- the secret header is checked first, in constant time (403: a stranger learns nothing about
  the body); then a body that is not JSON, or not an update, is answered 400; the listener's
  limits (``listener``) answer a slow body 408 and a large one 413.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from pathlib import Path

from aiohttp import web
from telegram import Bot, Update

from lookalike.answering import listener
from lookalike.bot.answered_file import AnsweredFile
from lookalike.bot.delivery import Deliveries, NotAnswered, hand_over_kept

log = logging.getLogger(__name__)

REMEMBERED = 10_000
"""Answered update ids kept: a redelivery comes within seconds or minutes of the lost 200."""

MAX_UPDATE_BYTES = 1024 * 1024
"""An update is a few kilobytes (a 4096-character text, its entities, the message it replies to)."""

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Webhook:
    """The webhook's HTTP server at ``path``, feeding ``update_queue`` (the Application's)."""

    def __init__(
        self,
        bot: Bot,
        update_queue: asyncio.Queue[object],
        deliveries: Deliveries,
        answered_file: Path,
        secret: str,
        path: str,
    ):
        self.bot, self.update_queue, self.deliveries = bot, update_queue, deliveries
        self.answered = AnsweredFile(answered_file)
        self._secret = secret.encode()
        self.app = listener.application(MAX_UPDATE_BYTES)
        self.app.router.add_post(path, self._post)
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> None:
        """Recall the updates answered before the last stop, remember each answered from now on,
        and listen."""
        self.answered.load()
        self.deliveries.on_answered = self._answered
        hand_over_kept(self.answered, self.bot, self.update_queue, self.deliveries)
        self._runner = await listener.start(self.app, host, port)

    async def stop(self) -> None:
        """Once the updates in flight are answered or abandoned: keep the record, stop listening."""
        await self.answered.flush()
        self.answered.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def deliver(self, update: Update) -> None:
        """Return once ``update`` is answered (at once if it was before); HTTPServiceUnavailable
        when the bot stops first."""
        if update.update_id in self.answered.ids:
            log.info("update=%s answered already; acknowledged again without a second answer", update.update_id)
            return
        if self.deliveries.stopping:
            raise _unavailable()
        again = self.deliveries.is_pending(update.update_id)  # Telegram resent it, tired of waiting
        answered = self.deliveries.received(update.update_id)
        if not again:
            self.update_queue.put_nowait(update)
        try:
            await answered
        except NotAnswered:
            raise _unavailable() from None

    async def _post(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            raise web.HTTPForbidden(text=f"wrong or missing {SECRET_HEADER}\n")
        body = await listener.read_body(request)
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or type(data.get("update_id")) is not int:
                raise ValueError("no update_id")
            update = Update.de_json(data, self.bot)
        except Exception as exc:  # whatever de_json meets in a malformed update: the sender's fault
            log.warning("a webhook POST of %d bytes is not an update (%s); answered 400", len(body), _reason(exc))
            raise web.HTTPBadRequest(text="the body is not a Telegram update in JSON\n") from None
        await self.deliver(update)
        return web.Response(status=200)

    def _answered(self, update_id: int) -> None:
        if self.answered.release(update_id):  # kept by a run that polled: Telegram has confirmed it
            return
        self.answered.add(update_id)
        if len(self.answered.ids) > REMEMBERED:
            self.answered.drop_below(max(self.answered.ids) - REMEMBERED + 1)


def _unavailable() -> web.HTTPServiceUnavailable:
    return web.HTTPServiceUnavailable(text="stopping; send this update again later\n")


def _reason(exc: Exception) -> str:
    """Why a body is no update, for the log: the error, never the body (a user's message)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON: {exc.msg} at character {exc.pos}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"
