"""A small, real HTTP fake of the Telegram Bot API for end-to-end tests of the bot.

Telegram is unreachable from the test machine, so the tests run ``bot.py`` unmodified as a
subprocess pointed at this server (``TELEGRAM_API_URL``/``TELEGRAM_BOT_TOKEN``, see
:meth:`FakeBotApi.bot_environment`).  The server speaks the subset of the Bot API the bot
uses, with Telegram's URL layout, envelope and error texts:

* ``{url}/bot<token>/<method>`` answers API calls sent as query string, form, JSON or
  multipart (PTB sends form fields whose non-string values are JSON-encoded);
* ``{url}/file/bot<token>/<file_path>`` serves the bytes of registered files.

Like Telegram it parses ``parse_mode=HTML`` markup before measuring a text (1024 parsed
characters for a caption, 4096 for a message) and refuses broken markup in Telegram's
words (:mod:`tests.support.telegram_html`); a reply to a deleted message (:meth:`FakeBotApi.delete_message`)
fails with "message to be replied not found" unless ``allow_sending_without_reply``.

Updates reach the bot as Telegram hands them over: by ``getUpdates`` (at most ``limit``, 100,
from ``offset``; an update is forgotten once a getUpdates carries an offset above it), or, once
``setWebhook`` names a URL, POSTed to it with the secret header, up to ``max_connections`` at a
time, each sent again after a pause until a POST is answered 2xx (:attr:`FakeBotApi.webhook_posts`).

The aiohttp server runs in a background thread with its own event loop, so synchronous
pytest tests can queue updates (``send_*_update``), inject faults (:meth:`FakeBotApi.fail_next`,
and for a while: :meth:`FakeBotApi.fail_for` with 5xx or 429s, :meth:`FakeBotApi.slow_downloads_for`)
and block until the bot has answered (:meth:`FakeBotApi.wait_for`).  Every request the bot
makes is recorded as a :class:`RecordedCall`.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import mimetypes
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from PIL import Image, ImageOps

from tests.support.telegram_html import HtmlError, parse_html, telegram_length

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123:ABC"
#: Pseudo method name under which file downloads are recorded.
DOWNLOAD_METHOD = "downloadFile"
#: Telegram refuses ``getFile`` for files above this size (the bot's 20 MB limit).
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
#: Longest side of the JPEG renditions Telegram keeps of a photo, smallest first.
PHOTO_SIDES = (90, 320, 800, 1280)
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
#: Update types Telegram leaves out unless ``allowed_updates`` names them explicitly.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

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
_FILE_ID_PREFIXES = {"photo": "AgAC", "document": "BQAC", "sticker": "CAAC", "video_note": "DQAC", "video": "BAAC"}
_FILE_FOLDERS = {
    "photo": "photos",
    "document": "documents",
    "sticker": "stickers",
    "video_note": "video_notes",
    "video": "videos",
}
_CHAT_TYPES = frozenset({"private", "group", "supergroup"})
#: Telegram's default ``max_connections`` for a webhook.
WEBHOOK_CONNECTIONS = 40
#: Seconds before an update whose POST failed is sent again: the first pause, and the longest.
WEBHOOK_RETRY_FIRST, WEBHOOK_RETRY_MAX = 0.5, 8.0


class WaitTimeout(AssertionError):
    """Raised by the ``wait_for*`` helpers; an AssertionError so pytest shows the message."""


class _ApiError(Exception):
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


def _bad_request(description: str) -> _ApiError:
    return _ApiError(HTTPStatus.BAD_REQUEST, f"Bad Request: {description}")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class RecordedCall:
    """One request the bot made, successful or not."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    #: ``time.monotonic()`` when the request arrived.
    timestamp: float
    chat_id: int | str | None
    status: int = 200
    #: True when the answer came from :meth:`FakeBotApi.fail_next` rather than the method.
    injected: bool = False
    #: For sendPhoto/sendDocument: ``"upload"``, ``"file_id"`` or ``"url"``.
    media_source: str | None = None
    #: The ``result`` returned to the bot, or the error description.
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == HTTPStatus.OK

    @property
    def failed(self) -> bool:
        return not self.ok

    @property
    def is_message(self) -> bool:
        """Whether the call sends a chat message (every ``send*`` but sendChatAction)."""
        return self.method.startswith("send") and self.method != "sendChatAction"

    def describe(self, origin: float) -> str:
        """One line for failure messages; ``origin`` is the monotonic time shown as 0."""
        detail = self.params.get("text") or self.params.get("caption") or ""
        extra = f" text={detail[:60]!r}" if detail else ""
        if self.media_source:
            extra += f" {self.media_source}"
        outcome = "ok" if self.ok else f"{self.status}{' injected' if self.injected else ''}"
        return f"+{self.timestamp - origin:7.3f}s {self.method} chat={self.chat_id} {outcome}{extra}"


@dataclass(frozen=True)
class RateReport:
    """Peak message rates, to compare with Telegram's 30/s overall and 20/min per group."""

    max_per_second: int
    max_per_minute_by_chat: dict[int | str, int]

    @property
    def max_per_minute_in_groups(self) -> int:
        return max(
            (n for chat, n in self.max_per_minute_by_chat.items() if _is_group_chat(chat)),
            default=0,
        )


@dataclass(frozen=True)
class _StoredFile:
    kind: str
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    #: Declared size; may exceed ``len(data)`` to simulate huge files cheaply.
    file_size: int
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None

    def as_file(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }

    def as_photo_size(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.file_size,
        }

    def as_document(self) -> dict[str, Any]:
        document = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }
        if self.file_name:
            document["file_name"] = self.file_name
        if self.mime_type:
            document["mime_type"] = self.mime_type
        return document

    def as_sticker(self, emoji: str | None) -> dict[str, Any]:
        sticker = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "type": "regular",
            "width": self.width,
            "height": self.height,
            "is_animated": False,
            "is_video": False,
            "file_size": self.file_size,
        }
        if emoji:
            sticker["emoji"] = emoji
        return sticker


@dataclass
class _Request:
    """Decoded API request handed to a method handler."""

    params: dict[str, Any]
    files: dict[str, UploadedFile]
    media_source: str | None = None


@dataclass(frozen=True)
class _Fault:
    status: int
    retry_after: int
    description: str | None

    def error(self) -> _ApiError:
        if self.status == HTTPStatus.TOO_MANY_REQUESTS:
            return _ApiError(
                self.status,
                self.description or f"Too Many Requests: retry after {self.retry_after}",
                {"retry_after": self.retry_after},
            )
        return _ApiError(self.status, self.description or HTTPStatus(self.status).phrase)


@dataclass(frozen=True)
class _Outage:
    """Calls of ``methods`` (None: every method and download) fail with ``status`` until ``until``."""

    until: float
    methods: frozenset[str] | None
    status: int
    retry_after: int

    def covers(self, method: str, now: float) -> bool:
        return now < self.until and (self.methods is None or method.lower() in self.methods)


@dataclass(frozen=True)
class WebhookPost:
    """One POST of an update to the bot's webhook: its answer's status, or the error (``status`` 0)."""

    update_id: int
    started: float
    status: int
    error: str | None = None


@dataclass
class _Method:
    name: str
    handler: Callable[[_Request], Any]
    #: Handlers that wait (getUpdates) are coroutines and must not run under the state lock.
    is_async: bool = False


def max_events_in_window(timestamps: Iterable[float], window: float) -> int:
    """Largest number of timestamps inside any half-open interval ``[t, t + window)``."""
    ordered = sorted(timestamps)
    best = 0
    start = 0
    for end, stamp in enumerate(ordered):
        while stamp - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def photo_sizes_from_image(data: bytes) -> list[tuple[int, int, bytes]]:
    """Telegram-like JPEG renditions ``(width, height, bytes)`` of an image, smallest first.

    Renditions are scaled to a longest side of 90/320/800/1280 px, skipping those not smaller
    than the original.  An upright JPEG whose longest side fits in 1280 px is kept
    byte-for-byte as the largest rendition, so a test can compare what the bot downloads with
    the file it sent.

    Raises:
        OSError: ``data`` is not an image Pillow can read.
    """
    with Image.open(io.BytesIO(data)) as original:
        upright = original.format == "JPEG" and original.getexif().get(0x0112, 1) == 1
        image = ImageOps.exif_transpose(original).convert("RGB")
    longest = max(image.size)
    sizes = [_jpeg_rendition(image, side) for side in PHOTO_SIDES if side < longest]
    if longest <= PHOTO_SIDES[-1]:
        width, height = image.size
        sizes.append((width, height, data if upright else _encode_jpeg(image)))
    return sizes


def _jpeg_rendition(image: Image.Image, longest_side: int) -> tuple[int, int, bytes]:
    scaled = image.copy()
    scaled.thumbnail((longest_side, longest_side), Image.Resampling.LANCZOS)
    return scaled.width, scaled.height, _encode_jpeg(scaled)


def _encode_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=87)
    return buffer.getvalue()


def _image_dimensions(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def _default_sticker() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (512, 512), (255, 200, 0, 255)).save(buffer, format="WEBP")
    return buffer.getvalue()


def _is_group_chat(chat_id: int | str | None) -> bool:
    return isinstance(chat_id, int) and chat_id < 0


def _normalize_chat_id(value: Any) -> int | str | None:
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
        return _normalize_chat_id(value)
    return value


async def _read_request(request: web.Request) -> _Request:
    params: dict[str, Any] = {k: _decode_form_value(k, v) for k, v in request.query.items()}
    files: dict[str, UploadedFile] = {}
    if not request.can_read_body:
        return _Request(params, files)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise _bad_request("can't parse JSON object") from exc
        params.update(body)
        if "chat_id" in params:
            params["chat_id"] = _normalize_chat_id(params["chat_id"])
        return _Request(params, files)
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files[name] = UploadedFile(name, value.filename, value.content_type, value.file.read())
        else:
            params[name] = _decode_form_value(name, value)
    return _Request(params, files)


def _int_param(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise _bad_request(f"invalid {name} specified: {value!r}") from exc


def _utf16_length(text: str) -> int:
    """Telegram measures entity offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _command_entities(text: str) -> list[dict[str, Any]]:
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": _utf16_length(command)}]


class FakeBotApi:
    """Fake Telegram Bot API server; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        shutdown_timeout: float = 1.0,
        local_files: Path | None = None,
        renditions: bool = True,
    ):
        """``local_files``: act as a self-hosted server in ``--local`` mode, whose getFile
        writes the file under this folder and answers with its absolute path (no size limit).
        ``renditions`` False: a photo the bot uploads is kept as one size, without the smaller
        renditions Telegram makes (a long soak's server spends no CPU scaling its answers)."""
        self.token = token
        self.local_files = local_files
        self.renditions = renditions
        self.bot_user = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Look-alike Test Bot",
            "username": "lookalike_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.webhook_url = ""
        self.webhook_secret_token: str | None = None
        self._shutdown_timeout = shutdown_timeout
        self._lock = threading.RLock()
        self._calls_changed = threading.Condition(self._lock)
        self._calls: list[RecordedCall] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._outages: list[_Outage] = []
        self._slow_downloads: list[tuple[float, float]] = []  # (until, seconds each download waits)
        self._pending_updates: list[dict[str, Any]] = []
        self._allowed_updates: list[str] = []
        self._update_ids = itertools.count(100_000_001)
        self._message_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._photo_sets: dict[str, tuple[str, ...]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        #: Every message in a chat, by (chat_id, message_id): incoming ones and the bot's.
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._methods = {m.name.lower(): m for m in self._method_table()}
        self._started_at = time.monotonic()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._updates_changed: asyncio.Event | None = None
        #: Names of files whose downloads wait until release_downloads(); the event is set then.
        self._held_files: set[str] = set()
        self._downloads_released: asyncio.Event | None = None
        self._closing = False
        self._port: int | None = None
        #: getUpdates requests still waiting; they are recorded only once answered.
        self._polls_waiting = 0
        self.webhook_max_connections = WEBHOOK_CONNECTIONS
        #: How long a webhook POST may take before it counts as failed (and the update is sent again).
        self.webhook_timeout = 60.0
        #: Every POST of an update to the webhook, in the order they ended.
        self.webhook_posts: list[WebhookPost] = []
        self._webhook_task: asyncio.Task | None = None

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        if self._port is None:
            raise RuntimeError("FakeBotApi is not running; call start() first")
        return f"http://127.0.0.1:{self._port}"

    def bot_environment(self) -> dict[str, str]:
        """Environment variables that point ``bot.py`` at this server."""
        return {"TELEGRAM_API_URL": self.url, "TELEGRAM_BOT_TOKEN": self.token}

    def start(self) -> FakeBotApi:
        """Start serving on a free port of 127.0.0.1; returns self once it accepts requests."""
        if self._thread is not None:
            raise RuntimeError("FakeBotApi already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, args=(ready, failure), name="fake-bot-api", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError("FakeBotApi did not start within 10 s")
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError("FakeBotApi failed to start") from failure[0]
        self._started_at = time.monotonic()
        logger.info("Fake Bot API listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Answer pending long polls, close the server and join its thread."""
        if self._thread is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        logger.info("Fake Bot API on port %s stopped", self._port)

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start_site())
        except BaseException as exc:  # reported to start() in the caller's thread
            failure.append(exc)
            loop.close()
            ready.set()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _start_site(self) -> None:
        self._updates_changed = asyncio.Event()
        self._downloads_released = asyncio.Event()
        # Telegram accepts uploads of up to 50 MB; aiohttp's default body limit is 1 MB.
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api_call)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=self._shutdown_timeout)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        self._closing = True
        self._wake_long_polls()
        self._downloads_released.set()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
        await self._runner.cleanup()

    # ------------------------------------------------------------ HTTP handlers

    async def _handle_api_call(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        requested = request.match_info["method"]
        method = self._methods.get(requested.lower())
        name = method.name if method else requested
        try:
            decoded = await _read_request(request)
        except _ApiError as error:
            return self._answer_error(name, _Request({}, {}), arrived, error)
        except ConnectionResetError:  # the bot went away mid-request (a kill -9): nothing to answer
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        if request.match_info["token"] != self.token:
            return self._answer_error(name, decoded, arrived, _ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized"))
        fault = self._take_fault(name)
        if fault is not None:
            return self._answer_error(name, decoded, arrived, fault.error(), injected=True)
        if method is None:
            return self._answer_error(name, decoded, arrived, _ApiError(HTTPStatus.NOT_FOUND, "Not Found"))
        try:
            if method.is_async:
                result = await method.handler(decoded)
            else:
                with self._lock:
                    result = method.handler(decoded)
        except _ApiError as error:
            return self._answer_error(name, decoded, arrived, error)
        self._record(name, decoded, arrived, HTTPStatus.OK, result)
        return web.json_response({"ok": True, "result": result})

    def _answer_error(
        self,
        method: str,
        request: _Request,
        arrived: float,
        error: _ApiError,
        *,
        injected: bool = False,
    ) -> web.Response:
        self._record(method, request, arrived, error.status, error.description, injected)
        return web.json_response(error.payload(), status=error.status)

    async def _handle_download(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        file_path = request.match_info["file_path"]
        decoded = _Request({"file_path": file_path}, {})
        if request.match_info["token"] != self.token:
            error = _ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized")
            return self._answer_error(DOWNLOAD_METHOD, decoded, arrived, error)
        fault = self._take_fault(DOWNLOAD_METHOD)
        if fault is not None:
            return self._answer_error(DOWNLOAD_METHOD, decoded, arrived, fault.error(), injected=True)
        with self._lock:
            stored = self._files_by_path.get(file_path)
        if stored is None:
            error = _ApiError(HTTPStatus.NOT_FOUND, "Not Found")
            return self._answer_error(DOWNLOAD_METHOD, decoded, arrived, error)
        released = self._downloads_released
        while stored.file_name in self._held_files and not self._closing:
            await released.wait()
            released = self._downloads_released
        delay = self._download_delay()
        if delay:
            await asyncio.sleep(delay)
        self._record(DOWNLOAD_METHOD, decoded, arrived, HTTPStatus.OK, stored.file_id)
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)

    def _record(
        self,
        method: str,
        request: _Request,
        arrived: float,
        status: int,
        result: Any,
        injected: bool = False,
    ) -> None:
        call = RecordedCall(
            method=method,
            params=request.params,
            files=request.files,
            timestamp=arrived,
            chat_id=request.params.get("chat_id"),
            status=int(status),
            injected=injected,
            media_source=request.media_source,
            result=result,
        )
        logger.debug("%s", call.describe(self._started_at))
        with self._calls_changed:
            self._calls.append(call)
            self._calls_changed.notify_all()

    # ------------------------------------------------------------ API methods

    def _method_table(self) -> list[_Method]:
        acknowledged = [
            _Method(name, lambda request: True)
            for name in (
                "setMyCommands",
                "deleteMyCommands",
                "setMyDescription",
                "setMyShortDescription",
                "answerCallbackQuery",
            )
        ]
        return [
            _Method("getMe", lambda request: dict(self.bot_user)),
            _Method("getUpdates", self._get_updates, is_async=True),
            _Method("setWebhook", self._set_webhook),
            _Method("deleteWebhook", self._delete_webhook),
            _Method("getWebhookInfo", self._get_webhook_info),
            _Method("getFile", self._get_file),
            _Method("sendMessage", self._send_message),
            _Method("sendPhoto", self._send_photo),
            _Method("sendDocument", self._send_document),
            _Method("sendChatAction", self._send_chat_action),
            _Method("editMessageText", self._edit_message_text),
            _Method("deleteMessage", self._delete_message),
            *acknowledged,
        ]

    async def _get_updates(self, request: _Request) -> list[dict[str, Any]]:
        """Long polling: answer as soon as updates at or after ``offset`` exist, or at timeout."""
        if self.webhook_url:
            raise _ApiError(
                HTTPStatus.CONFLICT,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        params = request.params
        offset = _int_param(params, "offset", 0)
        limit = min(max(_int_param(params, "limit", 100), 1), 100)
        timeout = max(_int_param(params, "timeout", 0), 0)
        if "allowed_updates" in params:
            with self._lock:
                self._allowed_updates = list(params["allowed_updates"] or [])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with self._lock:
            self._polls_waiting += 1
        try:
            return await self._poll_until(offset, limit, deadline)
        finally:
            with self._lock:
                self._polls_waiting -= 1

    async def _poll_until(self, offset: int, limit: int, deadline: float) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        while True:
            # Grab the event before looking, so an update queued in between still wakes us.
            changed = self._updates_changed
            with self._lock:
                self._confirm_updates(offset)
                batch = [dict(update) for update in self._pending_updates[:limit]]
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                return batch
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return []

    def _confirm_updates(self, offset: int) -> None:
        """Forget updates like Telegram: below a positive offset, or all but the last -offset."""
        pending = self._pending_updates
        if offset > 0:
            pending = [u for u in pending if u["update_id"] >= offset]
        elif offset < 0:
            pending = pending[offset:]
        self._pending_updates = [u for u in pending if self._is_allowed(u)]

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in OPT_IN_UPDATE_TYPES

    def _set_webhook(self, request: _Request) -> bool:
        self.webhook_url = request.params.get("url", "")
        self.webhook_secret_token = request.params.get("secret_token")
        self.webhook_max_connections = _int_param(request.params, "max_connections", WEBHOOK_CONNECTIONS)
        if "allowed_updates" in request.params:
            self._allowed_updates = list(request.params["allowed_updates"] or [])
        if request.params.get("drop_pending_updates"):
            self._pending_updates.clear()
        if self.webhook_url and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_by_webhook())
        self._wake_long_polls()
        return True

    def _delete_webhook(self, request: _Request) -> bool:
        self.webhook_url = ""
        self.webhook_secret_token = None
        if request.params.get("drop_pending_updates"):
            self._pending_updates.clear()
        self._wake_long_polls()
        return True

    async def _deliver_by_webhook(self) -> None:
        """Telegram's side of a webhook: every pending update POSTed to the URL, at most
        ``max_connections`` at a time; one answered 2xx is forgotten, one whose POST failed
        (an error status, a refused connection, no answer within ``webhook_timeout``) is sent
        again after a pause that doubles up to WEBHOOK_RETRY_MAX. Runs on the server loop
        until the webhook is deleted (updates being POSTed then are left to getUpdates)."""
        loop = asyncio.get_running_loop()
        posting: dict[int, asyncio.Task] = {}
        retry_at: dict[int, tuple[float, float]] = {}  # update id -> (when, the pause after that)
        async with ClientSession(timeout=ClientTimeout(total=self.webhook_timeout)) as session:
            while self.webhook_url and not self._closing:
                changed = self._updates_changed
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
                waits = [asyncio.ensure_future(changed.wait()), *posting.values()]
                later = [when for update_id, (when, _) in retry_at.items() if update_id not in posting]
                timeout = max(min(later) - loop.time(), 0.01) if later else None
                await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                waits[0].cancel()
            for task in posting.values():
                task.cancel()

    async def _post_update(self, session: ClientSession, update: dict[str, Any], retry_at: dict) -> None:
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

    def _get_webhook_info(self, request: _Request) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending_updates),
        }

    def _get_file(self, request: _Request) -> dict[str, Any]:
        stored = self._files.get(request.params.get("file_id", ""))
        if stored is None:
            raise _bad_request("invalid file_id")
        if self.local_files is not None:
            path = self.local_files / stored.file_path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(stored.data)
            return {**stored.as_file(), "file_path": str(path.resolve())}
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise _bad_request("file is too big")
        return stored.as_file()

    def _send_message(self, request: _Request) -> dict[str, Any]:
        chat = self._target_chat(request)
        text = request.params.get("text", "")
        if not text.strip():
            raise _bad_request("message text is empty")
        if telegram_length(_parsed(request, text)) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return self._bot_message(chat, request, {"text": text})

    def _send_photo(self, request: _Request) -> dict[str, Any]:
        chat = self._target_chat(request)
        caption = self._caption(request)
        source = self._resolve_media(request, "photo")
        if isinstance(source, UploadedFile):
            photo = self._register_uploaded_photo(source.data)
        else:
            photo_set = self._photo_sets[source.file_id]
            photo = [self._files[file_id].as_photo_size() for file_id in photo_set]
        return self._bot_message(chat, request, {"photo": photo, **caption})

    def _send_document(self, request: _Request) -> dict[str, Any]:
        chat = self._target_chat(request)
        caption = self._caption(request)
        source = self._resolve_media(request, "document")
        if isinstance(source, UploadedFile):
            source = self._store_file(
                "document",
                source.data,
                file_name=source.filename,
                mime_type=_guess_mime_type(source.filename, source.content_type),
            )
        return self._bot_message(chat, request, {"document": source.as_document(), **caption})

    def _send_chat_action(self, request: _Request) -> bool:
        self._target_chat(request)
        if request.params.get("action") not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _edit_message_text(self, request: _Request) -> dict[str, Any]:
        chat = self._target_chat(request)
        message = self._messages.get((chat["id"], request.params.get("message_id")))
        if message is None or message["from"]["id"] != self.bot_user["id"]:
            raise _bad_request("message to edit not found")
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        text = request.params.get("text", "")
        if not text.strip():
            raise _bad_request("message text is empty")
        if text == message["text"]:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a content and reply markup of the current message"
            )
        message.update(text=text, edit_date=int(time.time()))
        return dict(message)

    def _delete_message(self, request: _Request) -> bool:
        chat = self._target_chat(request)
        if self._messages.pop((chat["id"], request.params.get("message_id")), None) is None:
            raise _bad_request("message to delete not found")
        return True

    # ------------------------------------------------------- method helpers

    def _target_chat(self, request: _Request) -> dict[str, Any]:
        chat_id = request.params.get("chat_id")
        if chat_id in (None, ""):
            raise _bad_request("chat_id is empty")
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _bad_request("chat not found")
        return chat

    @staticmethod
    def _caption(request: _Request) -> dict[str, str]:
        caption = request.params.get("caption")
        if not caption:
            return {}
        if telegram_length(_parsed(request, caption)) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        return {"caption": caption}

    def _resolve_media(self, request: _Request, field_name: str) -> UploadedFile | _StoredFile:
        """Find the upload or the stored file a send method refers to; sets media_source."""
        value = request.params.get(field_name)
        upload = request.files.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = request.files.get(value.removeprefix("attach://"))
        if upload is not None:
            request.media_source = "upload"
            return upload
        if not value:
            raise _bad_request(f"there is no {field_name} in the request")
        if value.startswith(("http://", "https://")):
            request.media_source = "url"
            raise _bad_request("failed to get HTTP URL content")
        request.media_source = "file_id"
        stored = self._files.get(value)
        if stored is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != field_name:
            raise _bad_request(f"can't use file of type {stored.kind.title()} as {field_name.title()}")
        return stored

    def _register_uploaded_photo(self, data: bytes) -> list[dict[str, Any]]:
        try:
            width, height = _image_dimensions(data)
            sizes = photo_sizes_from_image(data) if self.renditions else [(width, height, data)]
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise _bad_request("IMAGE_PROCESS_FAILED") from exc
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise _bad_request("PHOTO_INVALID_DIMENSIONS")
        return self._register_photo_set(sizes)

    def _register_photo_set(self, sizes: Sequence[tuple[int, int, bytes]]) -> list[dict[str, Any]]:
        stored = [
            self._store_file("photo", data, mime_type="image/jpeg", width=width, height=height)
            for width, height, data in sizes
        ]
        file_ids = tuple(item.file_id for item in stored)
        for file_id in file_ids:
            self._photo_sets[file_id] = file_ids
        return [item.as_photo_size() for item in stored]

    def _store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> _StoredFile:
        number = next(self._file_numbers)
        extension = _file_extension(kind, file_name, mime_type)
        stored = _StoredFile(
            kind=kind,
            file_id=_FILE_ID_PREFIXES[kind] + secrets.token_urlsafe(36),
            file_unique_id="AQAD" + secrets.token_urlsafe(9),
            file_path=f"{_FILE_FOLDERS[kind]}/file_{number}{extension}",
            data=data,
            file_size=len(data) if file_size is None else file_size,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _bot_message(self, chat: dict[str, Any], request: _Request, content: dict[str, Any]) -> dict[str, Any]:
        replied = self._replied_message(chat, request)
        message = {
            "message_id": next(self._message_ids),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(time.time()),
            **content,
        }
        if replied is not None:
            message["reply_to_message"] = dict(replied)
        markup = request.params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes only inline keyboards
        self._messages[(chat["id"], message["message_id"])] = message
        return dict(message)

    def _replied_message(self, chat: dict[str, Any], request: _Request) -> dict[str, Any] | None:
        """The message a send quotes, if any. One that is gone (deleted by its sender or an
        admin) fails the send unless ``allow_sending_without_reply`` lets it go unquoted."""
        parameters = request.params.get("reply_parameters")
        if isinstance(parameters, dict):
            message_id = parameters.get("message_id")
            unquoted_ok = bool(parameters.get("allow_sending_without_reply"))
        else:
            message_id = request.params.get("reply_to_message_id")
            unquoted_ok = bool(request.params.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        replied = self._messages.get((chat["id"], int(message_id)))
        if replied is None and not unquoted_ok:
            raise _bad_request("message to be replied not found")
        return replied

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            now = time.monotonic()
            for outage in self._outages:
                if outage.covers(method, now):
                    return _Fault(outage.status, outage.retry_after, None)
            queue = self._faults.get(method.lower())
            return queue.popleft() if queue else None

    def _wake_long_polls(self) -> None:
        """Wake every waiting getUpdates; runs on the server loop."""
        if self._updates_changed is not None:
            self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    # ------------------------------------------------------- test helpers: input

    def add_chat(self, chat_id: int, chat_type: str = "private", **fields: Any) -> dict:
        """Make a chat known, so the bot may send to it (unknown chats get "chat not found")."""
        if chat_type not in _CHAT_TYPES:
            raise ValueError(f"chat_type must be one of {sorted(_CHAT_TYPES)}, not {chat_type!r}")
        if (chat_type == "private") != (chat_id > 0):
            raise ValueError(
                f"{chat_type} chat id {chat_id} has the wrong sign: private chats use the "
                "user's positive id, group chats negative ids"
            )
        chat = {"id": chat_id, "type": chat_type, **fields}
        if chat_type != "private":
            chat.setdefault("title", f"Test {chat_type} {-chat_id}")
        with self._lock:
            self._chats.setdefault(chat_id, {}).update(chat)
            return dict(self._chats[chat_id])

    def add_file(
        self,
        data: bytes,
        *,
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
    ) -> str:
        """Register bytes for getFile/download and return their file_id.

        ``kind`` is ``"document"``, ``"photo"`` (a one-size photo) or ``"sticker"``;
        ``file_size`` overrides the declared size (e.g. 25 MB) without allocating it.
        """
        if kind not in _FILE_ID_PREFIXES:
            raise ValueError(f"kind must be one of {sorted(_FILE_ID_PREFIXES)}, not {kind!r}")
        with self._lock:
            if kind == "photo":
                width, height = _image_dimensions(data)
                photo = self._register_photo_set([(width, height, data)])
                return photo[0]["file_id"]
            width = height = None
            if kind == "sticker":
                width, height = _image_dimensions(data)
            stored = self._store_file(
                kind,
                data,
                file_name=file_name,
                mime_type=_guess_mime_type(file_name, mime_type),
                file_size=file_size,
                width=width,
                height=height,
            )
            return stored.file_id

    def add_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue any raw update; it gets the next (monotonically increasing) update_id."""
        with self._lock:
            queued = {**update, "update_id": next(self._update_ids)}
            self._pending_updates.append(queued)
        if self._loop is not None and not self._closing:
            self._loop.call_soon_threadsafe(self._wake_long_polls)
        return queued

    def send_message_update(
        self,
        user_id: int,
        content: dict[str, Any],
        chat_id: int | None = None,
        *,
        language_code: str | None = "en",
        chat_type: str = "private",
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """Queue a message from ``user_id`` whose content fields (text, photo, ...) are given.

        Private chats use the user's id; group and supergroup chats need an explicit
        negative ``chat_id``.
        """
        if chat_type == "private":
            if chat_id not in (None, user_id):
                raise ValueError(f"a private chat's id is the user's id {user_id}, not {chat_id}")
            chat_id = user_id
        elif chat_id is None:
            raise ValueError(f"{chat_type} chats need an explicit negative chat_id")
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"Tester{user_id}",
            "username": f"tester{user_id}",
        }
        if language_code:
            user["language_code"] = language_code
        profile = {k: user[k] for k in ("first_name", "username")}
        chat = self.add_chat(chat_id, chat_type, **(profile if chat_type == "private" else {}))
        with self._lock:
            message = {
                "message_id": next(self._message_ids),
                "from": user,
                "chat": chat,
                "date": int(time.time()),
                **content,
            }
            self._messages[(chat_id, message["message_id"])] = message
        return self.add_update({"message": message})

    def send_text_update(self, user_id: int, text: str, chat_id: int | None = None, **kwargs: Any) -> dict[str, Any]:
        """Queue a text message; a leading ``/command`` gets its ``bot_command`` entity."""
        content: dict[str, Any] = {"text": text}
        if entities := _command_entities(text):
            content["entities"] = entities
        return self.send_message_update(user_id, content, chat_id, **kwargs)

    def send_photo_update(
        self,
        user_id: int,
        chat_id: int | None = None,
        *,
        sizes: bytes | Sequence[tuple[int, int, bytes]],
        caption: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Queue a photo message; ``sizes`` is one image (renditions made with Pillow, see
        :func:`photo_sizes_from_image`) or explicit ``(width, height, bytes)``, smallest first."""
        renditions = photo_sizes_from_image(sizes) if isinstance(sizes, bytes) else sizes
        with self._lock:
            content: dict[str, Any] = {"photo": self._register_photo_set(renditions)}
        if caption is not None:
            content["caption"] = caption
        return self.send_message_update(user_id, content, chat_id, **kwargs)

    def send_document_update(
        self,
        user_id: int,
        data: bytes,
        mime_type: str,
        file_name: str,
        file_size: int | None = None,
        chat_id: int | None = None,
        *,
        caption: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Queue a document message; ``file_size`` may claim more than ``len(data)``."""
        with self._lock:
            stored = self._store_file("document", data, file_name=file_name, mime_type=mime_type, file_size=file_size)
        content: dict[str, Any] = {"document": stored.as_document()}
        if caption is not None:
            content["caption"] = caption
        return self.send_message_update(user_id, content, chat_id, **kwargs)

    def send_sticker_update(
        self,
        user_id: int,
        chat_id: int | None = None,
        *,
        data: bytes | None = None,
        emoji: str | None = "😀",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Queue a (static, 512x512 WEBP by default) sticker message."""
        data = data if data is not None else _default_sticker()
        width, height = _image_dimensions(data)
        with self._lock:
            stored = self._store_file("sticker", data, mime_type="image/webp", width=width, height=height)
        content = {"sticker": stored.as_sticker(emoji)}
        return self.send_message_update(user_id, content, chat_id, **kwargs)

    def send_video_note_update(
        self,
        user_id: int,
        data: bytes,
        *,
        duration: int,
        length: int = 384,
        file_size: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Queue a round video message (MP4, ``length`` px square); ``file_size`` may claim more."""
        with self._lock:
            stored = self._store_file("video_note", data, mime_type="video/mp4", file_size=file_size)
        note = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "length": length,
            "duration": duration,
            "file_size": stored.file_size,
        }
        return self.send_message_update(user_id, {"video_note": note}, **kwargs)

    def send_video_update(
        self,
        user_id: int,
        data: bytes,
        *,
        duration: int,
        width: int,
        height: int,
        file_size: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Queue a video message (MP4); ``file_size`` may claim more than ``len(data)``."""
        with self._lock:
            stored = self._store_file("video", data, mime_type="video/mp4", file_size=file_size)
        clip = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "duration": duration,
            "mime_type": "video/mp4",
            "file_size": stored.file_size,
        }
        return self.send_message_update(user_id, {"video": clip}, **kwargs)

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """Delete a message, as its sender or an anti-spam bot does: replies to it now fail."""
        with self._lock:
            del self._messages[(chat_id, message_id)]

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes stored under a file_id (e.g. of a photo the bot uploaded)."""
        with self._lock:
            return self._files[file_id].data

    # ------------------------------------------------------- test helpers: faults

    def fail_next(
        self,
        method: str,
        count: int = 1,
        status: int = HTTPStatus.TOO_MANY_REQUESTS,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail with ``status``.

        429 answers Telegram's flood-control error with ``parameters.retry_after``; other
        statuses (e.g. 500) answer their HTTP phrase unless ``description`` is given.
        """
        fault = _Fault(int(status), retry_after, description)
        with self._lock:
            self._faults.setdefault(method.lower(), deque()).extend([fault] * count)

    def fail_for(
        self, seconds: float, methods: Iterable[str] | None = None, status: int = 500, retry_after: int = 1
    ) -> None:
        """An outage: for the next ``seconds``, every call of ``methods`` (None: every method
        and every file download, ``DOWNLOAD_METHOD``) fails with ``status``, as Telegram's
        API does during its incidents; with 429, a flood-control storm asking to retry after
        ``retry_after`` seconds."""
        chosen = None if methods is None else frozenset(m.lower() for m in methods)
        with self._lock:
            self._outages.append(_Outage(time.monotonic() + seconds, chosen, int(status), retry_after))

    def slow_downloads_for(self, seconds: float, delay: float) -> None:
        """For the next ``seconds``, every file download waits ``delay`` seconds before its
        bytes come (a slow network between the bot and Telegram's file servers)."""
        with self._lock:
            self._slow_downloads.append((time.monotonic() + seconds, delay))

    def _download_delay(self) -> float:
        now = time.monotonic()
        with self._lock:
            return max((delay for until, delay in self._slow_downloads if now < until), default=0.0)

    def hold_downloads(self, file_name: str) -> None:
        """Make downloads of documents named ``file_name``, sent before or after, wait (and the
        bot's answer with them) until release_downloads()."""
        with self._lock:
            self._held_files.add(file_name)

    def release_downloads(self) -> None:
        with self._lock:
            self._held_files.clear()
        self._loop.call_soon_threadsafe(self._release_held_downloads)

    def _release_held_downloads(self) -> None:
        """Wake every held download; runs on the server loop."""
        self._downloads_released.set()
        self._downloads_released = asyncio.Event()

    # ------------------------------------------------------- test helpers: inspection

    def calls(self, method: str | None = None, chat_id: int | str | None = None) -> list[RecordedCall]:
        """Recorded calls in arrival order, optionally filtered by method and chat."""
        with self._lock:
            return [
                call
                for call in self._calls
                if (method is None or call.method == method) and (chat_id is None or call.chat_id == chat_id)
            ]

    def calls_since(self, cursor: int) -> tuple[list[RecordedCall], int]:
        """The calls recorded after the first ``cursor`` ones, and the cursor for the next look."""
        with self._lock:
            return self._calls[cursor:], len(self._calls)

    def replies(self, chat_id: int | str | None = None) -> list[RecordedCall]:
        """Successful message-sending calls (``send*`` except sendChatAction)."""
        return [call for call in self.calls(chat_id=chat_id) if call.ok and call.is_message]

    def wait_for(
        self,
        predicate: Callable[[RecordedCall], bool],
        timeout: float = 10.0,
        *,
        count: int = 1,
        description: str = "matching call",
    ) -> list[RecordedCall]:
        """Block until ``count`` recorded calls satisfy ``predicate``; return all matches.

        Raises:
            WaitTimeout: listing every call received, if ``timeout`` passes first.
        """
        deadline = time.monotonic() + timeout
        with self._calls_changed:
            while True:
                matches = [call for call in self._calls if predicate(call)]
                remaining = deadline - time.monotonic()
                if len(matches) >= count:
                    return matches
                if remaining <= 0:
                    raise WaitTimeout(
                        f"waited {timeout:.1f} s for {count} x {description}, got {len(matches)}.\n{self.call_log()}"
                    )
                self._calls_changed.wait(remaining)

    def wait_for_replies(
        self, chat_ids: Iterable[int], timeout: float = 10.0, *, method: str | None = None
    ) -> dict[int, list[RecordedCall]]:
        """Block until every chat got a reply (of ``method``, if given); return them by chat."""
        wanted = set(chat_ids)

        def is_reply(call: RecordedCall) -> bool:
            return call.ok and call.is_message and call.chat_id in wanted and (method is None or call.method == method)

        def all_answered(calls: list[RecordedCall]) -> bool:
            return {call.chat_id for call in calls} >= wanted

        deadline = time.monotonic() + timeout
        with self._calls_changed:
            while True:
                replies = [call for call in self._calls if is_reply(call)]
                if all_answered(replies):
                    return {chat: [call for call in replies if call.chat_id == chat] for chat in wanted}
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    silent = sorted(wanted - {call.chat_id for call in replies})
                    raise WaitTimeout(
                        f"waited {timeout:.1f} s for {method or 'any'} replies to chats "
                        f"{sorted(wanted)}; no reply to {silent}.\n{self.call_log()}"
                    )
                self._calls_changed.wait(remaining)

    def call_log(self) -> str:
        """Human-readable list of received calls; getUpdates polls are only counted."""
        with self._lock:
            calls = list(self._calls)
            pending = len(self._pending_updates)
            waiting = self._polls_waiting
        polls = [call for call in calls if call.method == "getUpdates"]
        others = [call.describe(self._started_at) for call in calls if call.method != "getUpdates"]
        never = not polls and not waiting
        hint = " (the bot never polled: did it start, with the right URL?)" if never else ""
        lines = [
            f"{len(polls)} getUpdates answered, {waiting} waiting{hint}; "
            f"{pending} updates unconfirmed; {len(others)} other calls:",
            *others,
        ]
        return "\n".join(lines)

    def max_messages_in_window(self, window: float, chat_id: int | str | None = None) -> int:
        """Most successful messages sent within any ``window`` seconds (to one chat, if given)."""
        return max_events_in_window((call.timestamp for call in self.replies(chat_id)), window)

    def rate_report(self) -> RateReport:
        """Peak messages in any 1 s window overall and in any 60 s window per chat."""
        replies = self.replies()
        chats = {call.chat_id for call in replies}
        return RateReport(
            max_per_second=max_events_in_window((c.timestamp for c in replies), 1.0),
            max_per_minute_by_chat={
                chat: max_events_in_window((c.timestamp for c in replies if c.chat_id == chat), 60.0) for chat in chats
            },
        )


def _parsed(request: _Request, text: str) -> str:
    """The text as Telegram counts it: after parsing its markup, which must be sound."""
    if str(request.params.get("parse_mode", "")).upper() != "HTML":
        return text
    try:
        return parse_html(text)
    except HtmlError as exc:
        raise _bad_request(f"can't parse entities: {exc}") from exc


def _guess_mime_type(file_name: str | None, declared: str | None) -> str | None:
    if declared and declared != "application/octet-stream":
        return declared
    if file_name:
        return mimetypes.guess_type(file_name)[0] or declared
    return declared


def _file_extension(kind: str, file_name: str | None, mime_type: str | None) -> str:
    if kind == "photo":
        return ".jpg"
    if kind == "sticker":
        return ".webp"
    if file_name and "." in file_name:
        return "." + file_name.rsplit(".", 1)[1]
    return (mime_type and mimetypes.guess_extension(mime_type)) or ""
