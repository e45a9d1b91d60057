"""PTB's HTTPX networking with the Bot API's answers parsed by ujson (faster than json)."""
from __future__ import annotations

import logging

import ujson
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)


class UjsonRequest(HTTPXRequest):
    @staticmethod
    def parse_json_payload(payload: bytes) -> dict:
        try:
            return ujson.loads(payload)
        except ValueError as exc:
            log.error("the Bot API answered with invalid JSON (%d bytes)", len(payload))
            raise TelegramError("Invalid server response") from exc
