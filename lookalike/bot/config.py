"""The bot's configuration, read from the environment in one place (``Config.from_env``):

TELEGRAM_BOT_TOKEN   required; never logged
TELEGRAM_BOT_TOKEN_FILE  a file holding the token instead (compose secrets, systemd LoadCredential=)
TELEGRAM_API_URL     Bot API server root            (https://api.telegram.org)
TELEGRAM_LOCAL_MODE  1: the server is a self-hosted Bot API server in --local mode (0)
ASSETS_DIR           the assets directory build_embeddings.py wrote (assets)
WORKERS              face-pipeline processes         (number of cores)
MAX_PENDING          photos accepted, not yet analysed: a ceiling on the memory they hold (64 per worker)
MAX_WAIT_SECONDS     "busy" once a new photo would be answered later than this after its receipt (30)
USER_IN_FLIGHT       photos one user may have in progress (3)
USER_PER_MINUTE      photos one user may send a minute    (12)
CHAT_PENDING         photos one chat may have waiting for their answers before "busy" (10)
INDEX_POLL_SECONDS   how often to look for a new index    (5)
WEBHOOK_URL          set: receive updates by webhook at this URL; unset: long polling
WEBHOOK_SECRET       X-Telegram-Bot-Api-Secret-Token     (random per start)
LISTEN, PORT         webhook server address              (0.0.0.0, 8443)
LOG_LEVEL            (INFO)
LOG_FORMAT           text: plain lines; json: one JSON object a line   (text)
LOG_KEY_FILE         the key of users' pseudonyms in the log, made at the first start (log-key beside ANSWERED_FILE)
METRICS_PORT         set: serve /metrics (Prometheus), /livez and /readyz on it; unset: nothing listens
METRICS_LISTEN       the address they are served on     (127.0.0.1: this machine only)
READY_TELEGRAM_SECONDS  /readyz fails when the Bot API has not answered for this long (120)
ADMIN_IDS            Telegram user ids (comma-separated) who may send /stats
SHUTDOWN_GRACE_SECONDS  how long a stop waits for the photos in flight (20)
ANSWERED_FILE        updates answered but not yet confirmed (long polling) or answered lately (webhook),
                     kept as the bot runs (answered-updates.json)
TELEGRAM_RETRY_SECONDS  how long a Bot API call or download is tried again through Telegram's 5xx and
                     network failures before it is given up (300)
STATS_FILE           the operator's counts (/stats), kept across restarts (stats.sqlite beside ANSWERED_FILE)
LANGUAGES_FILE       the languages users chose with /language, by pseudonym (languages.sqlite beside ANSWERED_FILE)
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lookalike.secret_env import SecretError, read_secret

LOG_FORMATS = ("text", "json")

TOKEN_SHAPE = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
"""A bot token as @BotFather gives it: the bot's id, a colon, a secret of URL-safe characters."""


class ConfigError(Exception):
    """The environment does not describe a runnable bot."""


@dataclass(frozen=True)
class Config:
    token: str
    api_url: str
    local_mode: bool
    assets_dir: Path
    workers: int
    max_pending: int
    user_in_flight: int
    user_per_minute: int
    chat_pending: int
    index_poll_seconds: float
    webhook_url: str | None
    webhook_secret: str | None
    listen: str
    port: int
    log_level: str
    metrics_port: int | None = None
    metrics_listen: str = "127.0.0.1"
    admin_ids: frozenset[int] = frozenset()
    shutdown_grace_seconds: float = 20.0
    answered_file: Path = Path("answered-updates.json")
    stats_file: Path = Path("stats.sqlite")
    ready_telegram_seconds: float = 120.0
    max_wait_seconds: float = 30.0
    telegram_retry_seconds: float = 300.0
    log_format: str = "text"
    log_key_file: Path = Path("log-key")
    languages_file: Path = Path("languages.sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Config:
        try:
            token = (read_secret(env, "TELEGRAM_BOT_TOKEN") or "").strip()
        except SecretError as exc:
            raise ConfigError(str(exc)) from None
        if not token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and export it"
                " (or name a file holding it in TELEGRAM_BOT_TOKEN_FILE)"
            )
        if not TOKEN_SHAPE.fullmatch(token):
            # Never shown: a mistyped token is still most of a secret.
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token: @BotFather gives digits, a colon, "
                "then letters, digits, _ and -"
            )
        workers = _number(env, "WORKERS", os.cpu_count() or 1, int, minimum=1)
        secret = env.get("WEBHOOK_SECRET") or None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ConfigError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        log_level = env.get("LOG_LEVEL", "INFO").upper()
        if not isinstance(logging.getLevelName(log_level), int):
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {log_level!r}")
        log_format = (env.get("LOG_FORMAT") or "text").lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be text or json, not {env['LOG_FORMAT']!r}")
        answered_file = Path(env.get("ANSWERED_FILE") or "answered-updates.json")
        return cls(
            token=token,
            api_url=env.get("TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/"),
            local_mode=_switch(env, "TELEGRAM_LOCAL_MODE"),
            assets_dir=Path(env.get("ASSETS_DIR", "assets")),
            workers=workers,
            max_pending=_number(env, "MAX_PENDING", 64 * workers, int, minimum=1),
            user_in_flight=_number(env, "USER_IN_FLIGHT", 3, int, minimum=1),
            user_per_minute=_number(env, "USER_PER_MINUTE", 12, int, minimum=1),
            chat_pending=_number(env, "CHAT_PENDING", 10, int, minimum=1),
            index_poll_seconds=_number(env, "INDEX_POLL_SECONDS", 5.0, float, minimum=0.1),
            webhook_url=env.get("WEBHOOK_URL") or None,
            webhook_secret=secret,
            listen=env.get("LISTEN", "0.0.0.0"),
            port=_number(env, "PORT", 8443, int, minimum=1, maximum=65535),
            log_level=log_level,
            metrics_port=_number(env, "METRICS_PORT", None, int, minimum=1, maximum=65535),
            metrics_listen=env.get("METRICS_LISTEN") or "127.0.0.1",
            admin_ids=_ids(env, "ADMIN_IDS"),
            shutdown_grace_seconds=_number(env, "SHUTDOWN_GRACE_SECONDS", 20.0, float, minimum=0),
            answered_file=answered_file,
            stats_file=Path(env.get("STATS_FILE") or answered_file.with_name("stats.sqlite")),
            ready_telegram_seconds=_number(env, "READY_TELEGRAM_SECONDS", 120.0, float, minimum=10),
            max_wait_seconds=_number(env, "MAX_WAIT_SECONDS", 30.0, float, minimum=0.1),
            telegram_retry_seconds=_number(env, "TELEGRAM_RETRY_SECONDS", 300.0, float, minimum=0),
            log_format=log_format,
            log_key_file=Path(env.get("LOG_KEY_FILE") or answered_file.with_name("log-key")),
            languages_file=Path(env.get("LANGUAGES_FILE") or answered_file.with_name("languages.sqlite")),
        )


def _number(env: Mapping[str, str], name: str, default, kind, minimum, maximum=None):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {raw}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, not {raw}")
    return value


def _switch(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1 or 0, not {env[name]!r}")


def _ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    raw = env.get(name, "")
    try:
        return frozenset(int(part) for part in re.split(r"[,\s]+", raw.strip()) if part)
    except ValueError:
        raise ConfigError(f"{name} must be Telegram user ids separated by commas, not {raw!r}") from None
