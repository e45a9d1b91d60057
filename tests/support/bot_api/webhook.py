"""The fake Bot API's webhook methods: ``setWebhook``, ``deleteWebhook`` and ``getWebhookInfo``,
with what Telegram does to the pending updates (``drop_pending_updates``)."""

from __future__ import annotations

from typing import Any

from tests.support.bot_api.protocol import Request


class Webhook:
    """The webhook's settings (a part of ``FakeBotApi``)."""

    webhook_url: str
    webhook_secret_token: str | None
    _pending_updates: list[dict[str, Any]]

    def _set_webhook(self, request: Request) -> bool:
        self.webhook_url = request.params.get("url", "")
        self.webhook_secret_token = request.params.get("secret_token")
        if request.params.get("drop_pending_updates"):
            self._pending_updates.clear()
        return True

    def _delete_webhook(self, request: Request) -> bool:
        self.webhook_url = ""
        self.webhook_secret_token = None
        if request.params.get("drop_pending_updates"):
            self._pending_updates.clear()
        return True

    def _get_webhook_info(self, request: Request) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending_updates),
        }
