"""The fake Bot API's wire: a request decoded as PTB sends it (query string, form, JSON or
multipart; form values JSON-encoded), Telegram's error envelope, and the method table's rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web

_JSON_FIELDS = frozenset(
    {
        "allowed_updates",
        "reply_markup",
        "entities",
        "caption_entities",
        "reply_parameters",
        "link_preview_options",
        "commands",
        "scope",
    }
)
_INT_FIELDS = frozenset({"offset", "limit", "timeout", "message_id", "message_thread_id"})
_BOOL_FIELDS = frozenset(
    {
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "has_spoiler",
        "show_caption_above_media",
        "allow_sending_without_reply",
        "disable_content_type_detection",
    }
)


class ApiError(Exception):
    """A Telegram error answer: HTTP status plus Telegram's ``description``."""

    def __init__(self, status: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, f"Bad Request: {description}")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Request:
    """Decoded API request handed to a method handler."""

    params: dict[str, Any]
    files: dict[str, UploadedFile]
    media_source: str | None = None


@dataclass(frozen=True)
class Fault:
    status: int
    retry_after: int
    description: str | None

    def error(self) -> ApiError:
        if self.status == HTTPStatus.TOO_MANY_REQUESTS:
            return ApiError(
                self.status,
                self.description or f"Too Many Requests: retry after {self.retry_after}",
                {"retry_after": self.retry_after},
            )
        return ApiError(self.status, self.description or HTTPStatus(self.status).phrase)


@dataclass(frozen=True)
class Outage:
    """Calls of ``methods`` (None: every method and download) fail with ``status`` until ``until``."""

    until: float
    methods: frozenset[str] | None
    status: int
    retry_after: int

    def covers(self, method: str, now: float) -> bool:
        return now < self.until and (self.methods is None or method.lower() in self.methods)


@dataclass
class Method:
    name: str
    handler: Callable[[Request], Any]
    #: Handlers that wait (getUpdates) are coroutines and must not run under the state lock.
    is_async: bool = False


def normalize_chat_id(value: Any) -> int | str | None:
    """Chat ids arrive as ints (JSON) or strings (forms); ``@channel`` names stay strings."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def _decode_form_value(name: str, value: str) -> Any:
    """Undo PTB's form encoding, which JSON-encodes every non-string parameter."""
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if name in _INT_FIELDS and value.lstrip("-").isdigit():
        return int(value)
    if name in _BOOL_FIELDS and value in ("true", "false"):
        return value == "true"
    if name == "chat_id":
        return normalize_chat_id(value)
    return value


async def read_request(request: web.Request) -> Request:
    params: dict[str, Any] = {k: _decode_form_value(k, v) for k, v in request.query.items()}
    files: dict[str, UploadedFile] = {}
    if not request.can_read_body:
        return Request(params, files)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise bad_request("can't parse JSON object") from exc
        params.update(body)
        if "chat_id" in params:
            params["chat_id"] = normalize_chat_id(params["chat_id"])
        return Request(params, files)
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files[name] = UploadedFile(name, value.filename, value.content_type, value.file.read())
        else:
            params[name] = _decode_form_value(name, value)
    return Request(params, files)


def int_param(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"invalid {name} specified: {value!r}") from exc
