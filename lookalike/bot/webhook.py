"""Receiving updates by webhook, each answered exactly once.

Telegram forgets a webhook update once the POST that carried it is answered 2xx, and sends it
again when that answer is late, lost, or an error. So:

- ``WebhookQueue`` is PTB's update queue whose ``put`` (awaited by PTB's webhook handler
  before it answers 200) returns only once the update is answered. On a stop, new POSTs and
  the ones not answered within the grace period fail with 503, and Telegram sends them again.
- An update sent again while it is being answered waits for that answer; one sent again after
  it (a lost 200, a restart) is acknowledged without a second answer: the last
  ``REMEMBERED`` answered ids are kept in ANSWERED_FILE, as long polling keeps its own.
- A POST whose body is not JSON is answered 400 (PTB answers 500, which says the bot failed).
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import tornado.web
from telegram import Update
from telegram.ext import _updater
from telegram.ext._utils.webhookhandler import TelegramHandler, WebhookAppClass

from lookalike.bot.answered_file import AnsweredFile
from lookalike.bot.delivery import Deliveries, NotAnswered

log = logging.getLogger(__name__)

REMEMBERED = 10_000
"""Answered update ids kept: a redelivery comes within seconds or minutes of the lost 200."""


class WebhookQueue(asyncio.Queue):
    def __init__(self, deliveries: Deliveries, answered_file: Path):
        super().__init__()
        self.deliveries = deliveries
        self.answered = AnsweredFile(answered_file)

    def start(self) -> None:
        """Recall the updates answered before the last stop; remember each answered from now on."""
        self.answered.load()
        self.deliveries.on_answered = self._answered

    async def close(self) -> None:
        await self.answered.flush()
        self.answered.close()

    async def put(self, item) -> None:
        if not isinstance(item, Update):  # PTB's own stop marker
            await super().put(item)
            return
        if item.update_id in self.answered.ids:
            log.info("update=%s answered already; acknowledged again without a second answer", item.update_id)
            return
        if self.deliveries.stopping:
            raise _unavailable()
        again = self.deliveries.is_pending(item.update_id)  # Telegram resent it, tired of waiting
        answered = self.deliveries.received(item.update_id)
        if not again:
            self.put_nowait(item)
        try:
            await answered
        except NotAnswered:
            raise _unavailable() from None

    def _answered(self, update_id: int) -> None:
        self.answered.add(update_id)
        if len(self.answered.ids) > REMEMBERED:
            self.answered.drop_below(max(self.answered.ids) - REMEMBERED + 1)


def _unavailable() -> Exception:
    return tornado.web.HTTPError(503, reason="stopping; send this update again later")


class _JsonCheckingHandler(TelegramHandler):
    """PTB's webhook handler, answering 400 to a body that is not JSON."""

    async def post(self) -> None:
        self._validate_post()  # the secret first: a stranger learns nothing about the body
        try:
            json.loads(self.request.body)
        except ValueError as exc:
            log.warning("a webhook POST of %d bytes is not JSON (%s); answered 400", len(self.request.body), exc)
            raise tornado.web.HTTPError(400, reason="the body is not JSON") from None
        await super().post()


class _WebhookApp(WebhookAppClass):
    """PTB's webhook application (its ``__init__`` made over) with ``_JsonCheckingHandler``."""

    def __init__(self, webhook_path: str, bot, update_queue: asyncio.Queue, secret_token: str | None = None):
        self.shared_objects = {"bot": bot, "update_queue": update_queue, "secret_token": secret_token}
        tornado.web.Application.__init__(self, [(rf"{webhook_path}/?", _JsonCheckingHandler, self.shared_objects)])


def answer_malformed_json_400() -> None:
    """Make PTB's Updater.start_webhook serve with ``_JsonCheckingHandler`` (PTB is pinned:
    its webhook server has no hook for its handler)."""
    _updater.WebhookAppClass = _WebhookApp  # type: ignore[misc]
