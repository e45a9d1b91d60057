"""A small, real HTTP fake of the Telegram Bot API for end-to-end tests of the bot: its server
(``FakeBotApi``: start and stop, the HTTP handlers, the method table, the faults a test injects),
over its parts: ``updates`` (what a test queues, getUpdates), ``messages`` (what the bot sends),
``files`` (getFile, downloads, photo renditions), ``webhook``, ``calls`` (what was recorded, and
the waits for it), ``protocol`` (requests and errors on the wire) and ``html`` (Telegram's HTML
checks).

Telegram is unreachable from the test machine, so the tests run ``bot.py`` unmodified as a
subprocess pointed at this server (``TELEGRAM_API_URL``/``TELEGRAM_BOT_TOKEN``, see
:meth:`FakeBotApi.bot_environment`).  The server speaks the subset of the Bot API the bot
uses, with Telegram's URL layout, envelope and error texts:

* ``{url}/bot<token>/<method>`` answers API calls sent as query string, form, JSON or
  multipart (PTB sends form fields whose non-string values are JSON-encoded);
* ``{url}/file/bot<token>/<file_path>`` serves the bytes of registered files.

Like Telegram it parses ``parse_mode=HTML`` markup before measuring a text (1024 parsed
characters for a caption, 4096 for a message) and refuses broken markup in Telegram's
words (:mod:`tests.support.bot_api.html`); a reply to a deleted message (:meth:`FakeBotApi.delete_message`)
fails with "message to be replied not found" unless ``allow_sending_without_reply``.

The aiohttp server runs in a background thread with its own event loop, so synchronous
pytest tests can queue updates (``send_*_update``), inject faults (:meth:`FakeBotApi.fail_next`,
and for a while: :meth:`FakeBotApi.fail_for` with 5xx or 429s, :meth:`FakeBotApi.slow_downloads_for`)
and block until the bot has answered (:meth:`FakeBotApi.wait_for`).  Every request the bot
makes is recorded as a :class:`RecordedCall`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.support.bot_api.calls import Calls, RecordedCall
from tests.support.bot_api.files import Files, StoredFile
from tests.support.bot_api.messages import Messages
from tests.support.bot_api.protocol import ApiError, Fault, Method, Outage, Request, read_request
from tests.support.bot_api.updates import Updates
from tests.support.bot_api.webhook import WEBHOOK_CONNECTIONS, Webhook, WebhookPost

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123:ABC"


class FakeBotApi(Updates, Files, Messages, Webhook, Calls):
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
        self._faults: dict[str, deque[Fault]] = {}
        self._outages: list[Outage] = []
        self._slow_downloads: list[tuple[float, float]] = []  # (until, seconds each download waits)
        self._pending_updates: list[dict[str, Any]] = []
        self._allowed_updates: list[str] = []
        self._update_ids = itertools.count(100_000_001)
        self._message_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
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
        self._webhook_task: asyncio.Task[None] | None = None

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
            decoded = await read_request(request)
        except ApiError as error:
            return self._answer_error(name, Request({}, {}), arrived, error)
        except ConnectionResetError:  # the bot went away mid-request (a kill -9): nothing to answer
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        if request.match_info["token"] != self.token:
            return self._answer_error(name, decoded, arrived, ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized"))
        fault = self._take_fault(name)
        if fault is not None:
            return self._answer_error(name, decoded, arrived, fault.error(), injected=True)
        if method is None:
            return self._answer_error(name, decoded, arrived, ApiError(HTTPStatus.NOT_FOUND, "Not Found"))
        try:
            if method.is_async:
                result = await method.handler(decoded)
            else:
                with self._lock:
                    result = method.handler(decoded)
        except ApiError as error:
            return self._answer_error(name, decoded, arrived, error)
        self._record(name, decoded, arrived, HTTPStatus.OK, result)
        return web.json_response({"ok": True, "result": result})

    def _answer_error(
        self,
        method: str,
        request: Request,
        arrived: float,
        error: ApiError,
        *,
        injected: bool = False,
    ) -> web.Response:
        self._record(method, request, arrived, error.status, error.description, injected)
        return web.json_response(error.payload(), status=error.status)

    def _record(
        self,
        method: str,
        request: Request,
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

    def _method_table(self) -> list[Method]:
        acknowledged = [
            Method(name, lambda request: True)
            for name in (
                "setMyCommands",
                "deleteMyCommands",
                "setMyDescription",
                "setMyShortDescription",
                "answerCallbackQuery",
            )
        ]
        return [
            Method("getMe", lambda request: dict(self.bot_user)),
            Method("getUpdates", self._get_updates, is_async=True),
            Method("setWebhook", self._set_webhook),
            Method("deleteWebhook", self._delete_webhook),
            Method("getWebhookInfo", self._get_webhook_info),
            Method("getFile", self._get_file),
            Method("sendMessage", self._send_message),
            Method("sendPhoto", self._send_photo),
            Method("sendDocument", self._send_document),
            Method("sendChatAction", self._send_chat_action),
            Method("editMessageText", self._edit_message_text),
            Method("deleteMessage", self._delete_message),
            *acknowledged,
        ]

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            now = time.monotonic()
            for outage in self._outages:
                if outage.covers(method, now):
                    return Fault(outage.status, outage.retry_after, None)
            queue = self._faults.get(method.lower())
            return queue.popleft() if queue else None

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
        fault = Fault(int(status), retry_after, description)
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
            self._outages.append(Outage(time.monotonic() + seconds, chosen, int(status), retry_after))

    def slow_downloads_for(self, seconds: float, delay: float) -> None:
        """For the next ``seconds``, every file download waits ``delay`` seconds before its
        bytes come (a slow network between the bot and Telegram's file servers)."""
        with self._lock:
            self._slow_downloads.append((time.monotonic() + seconds, delay))

    def _download_delay(self) -> float:
        now = time.monotonic()
        with self._lock:
            return max((delay for until, delay in self._slow_downloads if now < until), default=0.0)
