"""The celebrity look-alike bot for Telegram: one PTB ``Application`` over the face-worker
pool, the reloading index and the per-user limits (``python bot.py`` runs ``main``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import ujson
from telegram import Message, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from lookalike.answering import front_end, metrics
from lookalike.answering.analytics import MatchAnalytics
from lookalike.answering.build_reload import BuildChanged, BuildReloader, load_build_at_start
from lookalike.answering.count_store import CountStore
from lookalike.answering.health import Health
from lookalike.answering.pseudonyms import Pseudonyms
from lookalike.answering.services import Services
from lookalike.bot import handlers, logs, telegram_menu
from lookalike.bot.api_url_check import ApiUrlCheck, NotTheBotApi
from lookalike.bot.config import Config
from lookalike.bot.delivery import Deliveries, Poller, TrackingUpdateProcessor
from lookalike.bot.telegram_retry import BotRateLimiter
from lookalike.bot.webhook import Webhook
from lookalike.engine.index_files import IndexFormatError

log = logging.getLogger("bot")

BotApplication = Application[Any, Any, Any, Any, Any, Any]
"""The bot's PTB application (its context and data types are PTB's defaults)."""

MESSAGES_PER_SECOND = 25
"""Telegram's flood limit is ~30 messages a second overall. Sent evenly at 25 a second,
every 1 s window stays within 30 even when network delays bunch a few up (at 28 a
second, windows of 30 were measured on a loaded 2-core machine)."""

SECONDS_PER_GROUP_MESSAGE = 3.1
"""~20 messages a minute per group, evenly spaced (60 s / 20 = 3 s, plus margin)."""

MAX_RETRIES = 5
"""Retries of a request Telegram answered with 429 RetryAfter, so no answer is dropped."""

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]

IMAGE_EXTENSIONS = ("jpg", "jpeg", "jpe", "png", "webp", "heic", "heif", "avif", "gif", "bmp", "tif", "tiff")


class _MimelessImage(filters.MessageFilter):
    """A file sent without a MIME type (the field is optional) or as application/octet-stream,
    named like an image or not named at all: the pipeline reads its content and says truly
    if it is no image. A named file of another kind (notes.txt) gets the hint."""

    def filter(self, message: Message) -> bool:
        document = message.document
        if document is None or document.mime_type not in (None, "", "application/octet-stream"):
            return False
        name = (document.file_name or "").lower()
        return "." not in name or name.rsplit(".", 1)[1] in IMAGE_EXTENSIONS


IMAGE_FILES = filters.Document.IMAGE | _MimelessImage()


class UjsonRequest(HTTPXRequest):
    """PTB's HTTPX networking with the Bot API's answers parsed by ujson (faster than json),
    counting Telegram's 429s (AIORateLimiter retries each after the wait Telegram asks for),
    telling ``on_answer`` when Telegram answered (readiness: ``health``), and ``url_check``
    each answer and failure until the Bot API has answered once (a wrong TELEGRAM_API_URL)."""

    def __init__(
        self,
        *args: Any,
        on_answer: Callable[[], None] | None = None,
        url_check: ApiUrlCheck | None = None,
        on_failure: Callable[[], None] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.on_answer = on_answer
        self.url_check = url_check
        self.on_failure = on_failure

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            status, payload = await super().do_request(*args, **kwargs)
        except NetworkError as exc:
            if self.on_failure is not None:
                self.on_failure()
            if self.url_check is not None:
                self.url_check.failed(exc)
            raise
        if self.url_check is not None:
            self.url_check.answer(status, payload)
        if status == 429:
            metrics.RETRY_AFTER.inc()
        if (status == 429 or status >= 500) and self.on_failure is not None:
            self.on_failure()
        # 401/404: the token is refused, so the bot cannot work; 5xx: Telegram is down.
        if self.on_answer is not None and status < 500 and status not in (401, 404):
            self.on_answer()
        return status, payload

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        try:
            parsed: dict[str, Any] = ujson.loads(payload)
            return parsed
        except ValueError as exc:
            log.error("the Bot API answered with invalid JSON (%d bytes)", len(payload))
            raise TelegramError("Invalid server response") from exc


def build_application(
    config: Config,
    services: Services,
    deliveries: Deliveries,
    on_answer: Callable[[], None] | None = None,
) -> BotApplication:
    """The Application without PTB's Updater: updates come from the bot's own receivers,
    ``delivery.Poller`` or ``webhook.Webhook``, which confirm them only once answered."""
    url_check = ApiUrlCheck()
    application = (
        Application.builder()
        .token(config.token)
        .updater(None)
        .base_url(f"{config.api_url}/bot")
        .base_file_url(f"{config.api_url}/file/bot")
        .local_mode(config.local_mode)
        .request(
            UjsonRequest(
                connection_pool_size=256,
                pool_timeout=30.0,
                read_timeout=30.0,
                write_timeout=30.0,
                on_answer=on_answer,
                url_check=url_check,
                on_failure=services.upstream.failed,
            )
        )
        .get_updates_request(
            UjsonRequest(
                connection_pool_size=1,
                read_timeout=10.0,
                on_answer=on_answer,
                url_check=url_check,
                on_failure=services.upstream.failed,
            )
        )
        # A reply whose quoted message was deleted meanwhile is sent without the quote, not lost.
        .defaults(Defaults(allow_sending_without_reply=True))
        .rate_limiter(
            BotRateLimiter(
                config.telegram_retry_seconds,
                overall_max_rate=1,
                overall_time_period=1 / MESSAGES_PER_SECOND,
                group_max_rate=1,
                group_time_period=SECONDS_PER_GROUP_MESSAGE,
                max_retries=MAX_RETRIES,
            )
        )
        # Enough concurrent handlers that the pool's MAX_PENDING, not PTB's queue, decides who waits.
        .concurrent_updates(TrackingUpdateProcessor(max(256, 4 * config.answering.max_pending), deliveries))
        .build()
    )
    application.bot_data["services"] = services
    application.add_handler(CommandHandler(["start", "help"], handlers.start))
    application.add_handler(CommandHandler("stats", handlers.stats))
    application.add_handler(CommandHandler("language", handlers.choose_language))
    application.add_handler(CommandHandler("forget", handlers.forget))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.PHOTO, handlers.photo))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & IMAGE_FILES, handlers.image_document))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.VIDEO_NOTE, handlers.video_note))
    videos = filters.VIDEO | filters.Document.VIDEO
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & videos, handlers.video))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, handlers.other))
    application.add_handler(CallbackQueryHandler(handlers.runner_up, pattern=r"^t:"))
    application.add_handler(CallbackQueryHandler(handlers.language_chosen, pattern=r"^l:"))
    application.add_handler(CallbackQueryHandler(handlers.unknown_button))
    application.add_error_handler(handlers.error)
    return application


async def _post_init(application: BotApplication) -> None:
    services: Services = application.bot_data["services"]
    await services.pool.start()
    application.bot_data["reloader_task"] = asyncio.create_task(services.reloader.run(), name="build-reloader")
    application.bot_data["loop_lag_task"] = asyncio.create_task(services.loop_lag.run(), name="loop-lag")
    # The menu and descriptions are set beside the start, not before it: a slow Telegram
    # delays no answer, and a refusal is only logged.
    application.bot_data["menu_task"] = asyncio.create_task(telegram_menu.set_up(application.bot), name="menu")
    health: Health = application.bot_data["health"]
    health.started = True
    application.bot_data["health_task"] = asyncio.create_task(health.beat(application.bot.get_me), name="health-beat")
    log.info("ready: %d celebrities, %d workers", len(services.reloader.current), services.pool.workers)


async def _post_shutdown(application: BotApplication) -> None:
    for name in ("reloader_task", "loop_lag_task", "menu_task", "health_task"):
        task = application.bot_data.get(name)
        if task is not None:
            task.cancel()
    application.bot_data["services"].pool.shutdown()
    log.info("stopped")


def run(config: Config, reloader: BuildReloader) -> None:
    """Serve until stopped. The start-up build is held by ``reloader`` alone, so that the first
    reload can let it go (a reference here would keep it, and its memory, for good)."""
    log.info(
        "index: %d celebrities from %s (version %s)",
        len(reloader.current),
        reloader.directory,
        reloader.current.version,
    )
    services = front_end.services(
        config.answering,
        reloader,
        analytics=MatchAnalytics(store=CountStore(config.stats_file)),
        admin_ids=config.admin_ids,
        pseudonyms=Pseudonyms.from_key_file(config.log_key_file),
        languages_file=config.languages_file,
    )
    health = Health(services.pool, services.reloader, telegram_silence=config.ready_telegram_seconds)
    if config.metrics_port:
        metrics.serve(
            config.metrics_listen,
            config.metrics_port,
            services.pool,
            services.reloader,
            services.analytics,
            health,
            services.admission.reckoning,
            services.loop_lag,
        )
        log.info("serving /metrics, /livez and /readyz on %s:%d", config.metrics_listen, config.metrics_port)
    asyncio.run(_serve(config, services, health))


async def _serve(config: Config, services: Services, health: Health) -> None:
    """Receive and answer updates until SIGTERM or SIGINT, then stop without losing any: stop
    receiving, give the photos in flight SHUTDOWN_GRACE_SECONDS to be answered, confirm to
    Telegram only those answered (``delivery``), then stop the workers."""
    deliveries = Deliveries()
    application = build_application(config, services, deliveries, health.telegram_answered)
    application.bot_data["health"] = health
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, stop.set)
    poller = webhook = None
    async with application:  # initialize (getMe: a wrong token fails here) ... shutdown
        try:
            await _post_init(application)
            await application.start()
            if config.webhook_url:
                log.info("receiving updates by webhook on %s:%d", config.listen, config.port)
                secret = config.webhook_secret or secrets.token_urlsafe(32)
                webhook = Webhook(
                    application.bot,
                    application.update_queue,
                    deliveries,
                    config.answered_file,
                    secret,
                    path=urlsplit(config.webhook_url).path or "/",
                )
                await webhook.start(config.listen, config.port)  # listening before Telegram is told
                await application.bot.set_webhook(
                    config.webhook_url,
                    secret_token=secret,
                    allowed_updates=ALLOWED_UPDATES,
                    max_connections=100,  # each POST is held until its update is answered
                )
            else:
                log.info("receiving updates by long polling")
                poller = Poller(
                    application.bot, application.update_queue, deliveries, ALLOWED_UPDATES, config.answered_file
                )
                await poller.start()
            await stop.wait()
            log.info(
                "stopping: %d updates in flight, waiting up to %g s for their answers",
                len(deliveries),
                config.shutdown_grace_seconds,
            )
            deliveries.stopping = True
            health.stopping = True
            if poller is not None:
                await poller.stop()
            if not await deliveries.wait_idle(config.shutdown_grace_seconds):
                log.warning("%d updates not answered within SHUTDOWN_GRACE_SECONDS; left unconfirmed", len(deliveries))
                deliveries.abandon()
            if poller is not None:
                await poller.confirm()
        finally:
            if webhook is not None:
                await webhook.stop()
            if application.running:
                await application.stop()
            await _post_shutdown(application)


def main(config: Config) -> int:
    """Run the bot until it is stopped; the exit status, with one line on stderr for a failure."""
    logs.setup(config.answering.log_level, config.log_format, config.token)
    try:
        reloader = BuildReloader(load_build_at_start(config.answering.assets_dir), config.answering.index_poll_seconds)
    except (IndexFormatError, BuildChanged, OSError) as exc:
        print(f"bot.py: cannot load the index from the assets directory (ASSETS_DIR): {exc}", file=sys.stderr)
        return 2
    try:
        run(config, reloader)
    except InvalidToken:
        print("bot.py: the Bot API rejected TELEGRAM_BOT_TOKEN", file=sys.stderr)
        return 2
    except NotTheBotApi as exc:
        reason = exc.reason.replace(config.token, "<TOKEN>")
        if exc.answered:
            print(f"bot.py: {config.api_url} (TELEGRAM_API_URL) is not a Bot API server: {reason}", file=sys.stderr)
            return 2
        print(f"bot.py: cannot reach the Bot API at {config.api_url} (TELEGRAM_API_URL): {reason}", file=sys.stderr)
        return 1
    except NetworkError as exc:
        reason = str(exc).replace(config.token, "<TOKEN>")
        print(f"bot.py: cannot reach the Bot API at {config.api_url} (TELEGRAM_API_URL): {reason}", file=sys.stderr)
        return 1
    except (TelegramError, RuntimeError, OSError) as exc:
        print(f"bot.py: {str(exc).replace(config.token, '<TOKEN>')}", file=sys.stderr)
        return 1
    return 0
