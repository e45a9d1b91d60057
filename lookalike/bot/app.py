"""The celebrity look-alike bot for Telegram: send a selfie, get your celebrity twin.

Configuration comes from the environment, read in one place (``Config.from_env``):

    TELEGRAM_BOT_TOKEN   required; never logged
    TELEGRAM_API_URL     Bot API server root            (https://api.telegram.org)
    ASSETS_DIR           index built by build_embeddings (assets)
    WORKERS              face-pipeline processes         (number of cores)
    MAX_PENDING          photos waiting for the workers before "busy" (16 per worker)
    USER_IN_FLIGHT       photos one user may have in progress (3)
    USER_PER_MINUTE      photos one user may send a minute    (12)
    INDEX_POLL_SECONDS   how often to look for a new index    (5)
    WEBHOOK_URL          set: receive updates by webhook at this URL; unset: long polling
    WEBHOOK_SECRET       X-Telegram-Bot-Api-Secret-Token     (random per start)
    LISTEN, PORT         webhook server address              (0.0.0.0, 8443)
    LOG_LEVEL            (INFO)

Run: ``python bot.py``. A missing token or a missing/corrupt index prints one line
and exits with status 2.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

import handlers
from face_pool import FacePool
from gallery import Gallery, GalleryWatcher, load_gallery
from index import IndexFormatError
from ujson_request import UjsonRequest
from user_limits import UserLimits

log = logging.getLogger("bot")

MESSAGES_PER_SECOND = 25
"""Telegram's flood limit is ~30 messages a second overall. Sent evenly at 25 a second,
every 1 s window stays within 30 even when network delays bunch a few up (at 28 a
second, windows of 30 were measured on a loaded 2-core machine)."""

SECONDS_PER_GROUP_MESSAGE = 3.1
"""~20 messages a minute per group, evenly spaced (60 s / 20 = 3 s, plus margin)."""

MAX_RETRIES = 5
"""Retries of a request Telegram answered with 429 RetryAfter, so no answer is dropped."""

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


class ConfigError(Exception):
    """The environment does not describe a runnable bot."""


@dataclass(frozen=True)
class Config:
    token: str
    api_url: str
    assets_dir: Path
    workers: int
    max_pending: int
    user_in_flight: int
    user_per_minute: int
    index_poll_seconds: float
    webhook_url: str | None
    webhook_secret: str | None
    listen: str
    port: int
    log_level: str

    @classmethod
    def from_env(cls, env: dict[str, str] = os.environ) -> Config:
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and export it")
        workers = _number(env, "WORKERS", os.cpu_count() or 1, int, minimum=1)
        secret = env.get("WEBHOOK_SECRET") or None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ConfigError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        log_level = env.get("LOG_LEVEL", "INFO").upper()
        if not isinstance(logging.getLevelName(log_level), int):
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {log_level!r}")
        return cls(
            token=token,
            api_url=env.get("TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/"),
            assets_dir=Path(env.get("ASSETS_DIR", "assets")),
            workers=workers,
            max_pending=_number(env, "MAX_PENDING", 16 * workers, int, minimum=1),
            user_in_flight=_number(env, "USER_IN_FLIGHT", 3, int, minimum=1),
            user_per_minute=_number(env, "USER_PER_MINUTE", 12, int, minimum=1),
            index_poll_seconds=_number(env, "INDEX_POLL_SECONDS", 5.0, float, minimum=0.1),
            webhook_url=env.get("WEBHOOK_URL") or None,
            webhook_secret=secret,
            listen=env.get("LISTEN", "0.0.0.0"),
            port=_number(env, "PORT", 8443, int, minimum=1),
            log_level=log_level,
        )


def _number(env: dict[str, str], name: str, default, kind, minimum):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {raw}")
    return value


class RedactingFormatter(logging.Formatter):
    """Formats records with every occurrence of the bot token replaced, tracebacks included."""

    def __init__(self, fmt: str, secret: str):
        super().__init__(fmt)
        self.secret = secret

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace(self.secret, "<TOKEN>")


class ShortStartupErrors(logging.Filter):
    """PTB logs a start-up failure (bad token, unreachable server) with its whole traceback;
    main() says what happened in one line, so the log keeps only PTB's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "telegram.ext" and "(Bootstrap" in record.getMessage():
            record.exc_info, record.exc_text = None, None
        return True


def setup_logging(config: Config) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", config.token))
    handler.addFilter(ShortStartupErrors())
    logging.basicConfig(level=config.log_level, handlers=[handler], force=True)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def build_application(config: Config, services: handlers.Services) -> Application:
    application = (
        Application.builder()
        .token(config.token)
        .base_url(f"{config.api_url}/bot")
        .base_file_url(f"{config.api_url}/file/bot")
        .request(UjsonRequest(connection_pool_size=256, pool_timeout=30.0, read_timeout=30.0, write_timeout=30.0))
        .get_updates_request(UjsonRequest(connection_pool_size=1, read_timeout=10.0))
        .rate_limiter(
            AIORateLimiter(
                overall_max_rate=1,
                overall_time_period=1 / MESSAGES_PER_SECOND,
                group_max_rate=1,
                group_time_period=SECONDS_PER_GROUP_MESSAGE,
                max_retries=MAX_RETRIES,
            )
        )
        # Enough concurrent handlers that the pool's MAX_PENDING, not PTB's queue, decides who waits.
        .concurrent_updates(max(256, 4 * config.max_pending))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data["services"] = services
    application.add_handler(CommandHandler(["start", "help"], handlers.start))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.PHOTO, handlers.photo))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.Document.IMAGE, handlers.image_document))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, handlers.other))
    application.add_handler(CallbackQueryHandler(handlers.runner_up, pattern=r"^t:"))
    application.add_error_handler(handlers.error)
    return application


async def _post_init(application: Application) -> None:
    services: handlers.Services = application.bot_data["services"]
    await services.pool.start()
    application.bot_data["watcher_task"] = asyncio.create_task(services.gallery.run(), name="index-watcher")
    log.info("ready: %d celebrities, %d workers", len(services.gallery.current), services.pool.workers)


async def _post_shutdown(application: Application) -> None:
    task = application.bot_data.get("watcher_task")
    if task is not None:
        task.cancel()
    application.bot_data["services"].pool.shutdown()
    log.info("stopped")


def run(config: Config, gallery: Gallery) -> None:
    log.info("index: %d celebrities from %s (version %s)", len(gallery), config.assets_dir, gallery.version)
    services = handlers.Services(
        pool=FacePool(config.workers, config.max_pending),
        gallery=GalleryWatcher(gallery, config.index_poll_seconds),
        limits=UserLimits(config.user_in_flight, config.user_per_minute),
    )
    application = build_application(config, services)
    if config.webhook_url:
        secret = config.webhook_secret or secrets.token_urlsafe(32)
        log.info("receiving updates by webhook on %s:%d", config.listen, config.port)
        application.run_webhook(
            listen=config.listen,
            port=config.port,
            url_path=urlsplit(config.webhook_url).path.lstrip("/"),
            webhook_url=config.webhook_url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        log.info("receiving updates by long polling")
        application.run_polling(allowed_updates=ALLOWED_UPDATES)


def main() -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"bot.py: {exc}", file=sys.stderr)
        return 2
    setup_logging(config)
    try:
        gallery = load_gallery(config.assets_dir)
    except (IndexFormatError, OSError) as exc:
        print(f"bot.py: cannot load the index (ASSETS_DIR): {exc}", file=sys.stderr)
        return 2
    try:
        run(config, gallery)
    except InvalidToken:
        print("bot.py: the Bot API rejected TELEGRAM_BOT_TOKEN", file=sys.stderr)
        return 2
    except (TelegramError, RuntimeError, OSError) as exc:
        print(f"bot.py: {str(exc).replace(config.token, '<TOKEN>')}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
