"""The fake Bot API's webhook: ``setWebhook``, ``deleteWebhook`` and ``getWebhookInfo``, with
what Telegram does to the pending updates (``drop_pending_updates``), and Telegram's side of it:
once ``setWebhook`` names a URL, every pending update is POSTed to it with the secret header, up
to ``max_connections`` at a time, each sent again after a pause until a POST is answered 2xx
(:attr:`Webhook.webhook_posts`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession, ClientTimeout

from tests.support.bot_api.protocol import Request, int_param

#: Telegram's default ``max_connections`` for a webhook.
WEBHOOK_CONNECTIONS = 40
#: Seconds before an update whose POST failed is sent again: the first pause, and the longest.
WEBHOOK_RETRY_FIRST, WEBHOOK_RETRY_MAX = 0.5, 8.0


@dataclass(frozen=True)
class WebhookPost:
    """One POST of an update to the bot's webhook: its answer's status, or the error (``status`` 0)."""

    update_id: int
    started: float
    status: int
    error: str | None = None


class Webhook:
    """The webhook's settings and its deliveries (a part of ``FakeBotApi``)."""

    webhook_url: str
    webhook_secret_token: str | None
    webhook_max_connections: int
    webhook_timeout: float
    webhook_posts: list[WebhookPost]
    _webhook_task: asyncio.Task[None] | None
    _lock: threading.RLock
    _closing: bool
    _pending_updates: list[dict[str, Any]]
    _allowed_updates: list[str]
    _updates_changed: asyncio.Event | None
    _is_allowed: Callable[[dict[str, Any]], bool]
    _wake_long_polls: Callable[[], None]

    def _set_webhook(self, request: Request) -> bool:
        self.webhook_url = request.params.get("url", "")
        self.webhook_secret_token = request.params.get("secret_token")
        self.webhook_max_connections = int_param(request.params, "max_connections", WEBHOOK_CONNECTIONS)
        if "allowed_updates" in request.params:
            self._allowed_updates = list(request.params["allowed_updates"] or [])
        if request.params.get("drop_pending_updates"):
            self._pending_updates.clear()
        if self.webhook_url and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_by_webhook())
        self._wake_long_polls()
        return True

    def _delete_webhook(self, request: Request) -> bool:
        self.webhook_url = ""
        self.webhook_secret_token = None
        if request.params.get("drop_pending_updates"):
            self._pending_updates.clear()
        self._wake_long_polls()
        return True

    def _get_webhook_info(self, request: Request) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending_updates),
        }

    async def _deliver_by_webhook(self) -> None:
        """Telegram's side of a webhook: every pending update POSTed to the URL, at most
        ``max_connections`` at a time; one answered 2xx is forgotten, one whose POST failed
        (an error status, a refused connection, no answer within ``webhook_timeout``) is sent
        again after a pause that doubles up to WEBHOOK_RETRY_MAX. Runs on the server loop
        until the webhook is deleted (updates being POSTed then are left to getUpdates)."""
        loop = asyncio.get_running_loop()
        posting: dict[int, asyncio.Task[None]] = {}
        retry_at: dict[int, tuple[float, float]] = {}  # update id -> (when, the pause after that)
        async with ClientSession(timeout=ClientTimeout(total=self.webhook_timeout)) as session:
            while self.webhook_url and not self._closing:
                changed = self._updates_changed
                assert changed is not None
                now = loop.time()
                with self._lock:
                    free = self.webhook_max_connections - len(posting)
                    due = [
                        update
                        for update in self._pending_updates
                        if update["update_id"] not in posting
                        and retry_at.get(update["update_id"], (0.0, 0.0))[0] <= now
                        and self._is_allowed(update)
                    ][: max(free, 0)]
                for update in due:
                    task = loop.create_task(self._post_update(session, update, retry_at))
                    posting[update["update_id"]] = task
                    task.add_done_callback(lambda _, update_id=update["update_id"]: posting.pop(update_id, None))
                waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(changed.wait()), *posting.values()]
                later = [when for update_id, (when, _) in retry_at.items() if update_id not in posting]
                timeout = max(min(later) - loop.time(), 0.01) if later else None
                await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                waits[0].cancel()
            for task in posting.values():
                task.cancel()

    async def _post_update(
        self, session: ClientSession, update: dict[str, Any], retry_at: dict[int, tuple[float, float]]
    ) -> None:
        update_id = update["update_id"]
        started = time.monotonic()
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret_token} if self.webhook_secret_token else {}
        status, error = 0, None
        try:
            async with session.post(self.webhook_url, json=update, headers=headers) as answer:
                status = answer.status
                await answer.read()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a refused connection, a reset, no answer in time: sent again
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.webhook_posts.append(WebhookPost(update_id, started, status, error))
            if 200 <= status < 300:
                self._pending_updates = [u for u in self._pending_updates if u["update_id"] != update_id]
                retry_at.pop(update_id, None)
                return
            last = retry_at.get(update_id, (0.0, 0.0))[1]
            pause = min(max(2 * last, WEBHOOK_RETRY_FIRST), WEBHOOK_RETRY_MAX)
            retry_at[update_id] = (asyncio.get_running_loop().time() + pause, pause)
