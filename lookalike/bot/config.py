"""The bot's configuration, read from the environment in one place (``Config.from_env``): the
settings both front ends answer with (``lookalike.answering.settings``: ASSETS_DIR, WORKERS, the
limits...) and the bot's own, ``VARIABLES`` below, each with its meaning and default as README's
table shows them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lookalike.answering.settings import AnsweringSettings, ConfigError, Variable, ids, number, switch
from lookalike.secret_env import SecretError, read_secret

__all__ = ["VARIABLES", "Config", "ConfigError"]

LOG_FORMATS = ("text", "json")

TOKEN_SHAPE = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
"""A bot token as @BotFather gives it: the bot's id, a colon, a secret of URL-safe characters."""


VARIABLES = (
    Variable("TELEGRAM_BOT_TOKEN", "the bot's token (required; never logged)"),
    Variable(
        "TELEGRAM_BOT_TOKEN_FILE",
        "a file holding the token instead (its trailing newline ignored): a compose secret (`/run/secrets/...`) or "
        "systemd's `LoadCredential=` (`%d/...`), which keep it out of the process's environment; setting both is an "
        "error",
        "unset",
    ),
    Variable(
        "TELEGRAM_API_URL",
        "root of the Bot API server; the bot calls `{root}/bot<token>/<method>` and downloads from "
        "`{root}/file/bot<token>/<path>`, which is also how a self-hosted Bot API server is used",
        "`https://api.telegram.org`",
    ),
    Variable(
        "TELEGRAM_LOCAL_MODE",
        "`1` for a self-hosted Bot API server started with `--local`: it gives files as absolute paths on its disk, "
        "which the bot reads directly, so the bot must run where that disk is mounted (same path)",
        "`0`",
    ),
    Variable("WEBHOOK_URL", "set: receive updates by webhook at this public URL; unset: long polling", "unset"),
    Variable(
        "WEBHOOK_SECRET", "checked against Telegram's `X-Telegram-Bot-Api-Secret-Token` header", "random per start"
    ),
    Variable("PORT", "the webhook server's port (1-65535)", "`8443`"),
    Variable(
        "LISTEN",
        "the address the webhook server listens on (`127.0.0.1` when the TLS proxy is on the same host)",
        "`0.0.0.0`",
    ),
    Variable("LOG_FORMAT", '`text`: plain lines; `json`: one JSON object a line (see "Logs")', "`text`"),
    Variable(
        "LOG_KEY_FILE",
        "the key of the pseudonyms that name users in the log (never their Telegram id), made at the first start; "
        "keep it across restarts to keep the pseudonyms",
        "`log-key` beside `ANSWERED_FILE`",
    ),
    Variable(
        "METRICS_PORT",
        "set: serve Prometheus metrics at `http://METRICS_LISTEN:METRICS_PORT/metrics`, and the health endpoints "
        '`/livez` and `/readyz` (see "Health"); unset: nothing listens',
        "unset (the container image: 9100)",
    ),
    Variable(
        "METRICS_LISTEN",
        "the address metrics and health are served on: this machine only by default; `0.0.0.0` (or `::`) for a "
        "Prometheus or a probe elsewhere, e.g. inside a container whose port is published (they have no "
        "authentication: publish the port to a private network only)",
        "`127.0.0.1`",
    ),
    Variable(
        "READY_TELEGRAM_SECONDS",
        "`/readyz` answers 503 when the Bot API has not answered for this long (at least 10)",
        "120",
    ),
    Variable(
        "ADMIN_IDS",
        "Telegram user ids, comma-separated, who may send `/stats` (everyone else gets the help)",
        "none",
    ),
    Variable(
        "SHUTDOWN_GRACE_SECONDS",
        "on SIGTERM/SIGINT, how long the bot waits for the photos in flight before it exits anyway",
        "20",
    ),
    Variable(
        "ENV_FILE",
        "the env file to read; without it, `.env` in the working directory when there is one",
        "`.env`",
    ),
    Variable(
        "ANSWERED_FILE",
        "the updates answered that Telegram may send again: by long polling, those answered while an earlier one is "
        "still in flight (Telegram sends them again until that one is answered); by webhook, the last 10,000 "
        "answered (Telegram sends one again when its 200 was lost); and, when more than getUpdates' 100 are in "
        "flight, the unanswered ones confirmed early, whole. Kept up to date as the bot runs, so that the next start "
        "skips the first and answers the last after a stop, a crash or a `kill -9` alike (keep it across restarts, "
        "e.g. on a volume). Its space (128 KiB) is reserved when it is made, so a full disk does not stop its writes",
        "`answered-updates.json`",
    ),
    Variable(
        "STATS_FILE",
        "the operator's counts for `/stats` (counts only: never a user id, photo or embedding), kept across restarts",
        "`stats.sqlite` beside `ANSWERED_FILE`",
    ),
    Variable(
        "LANGUAGES_FILE",
        "the languages users chose with `/language`, keyed by their pseudonym (never their Telegram id), kept across "
        "restarts; `/forget` deletes a user's",
        "`languages.sqlite` beside `ANSWERED_FILE`",
    ),
    Variable(
        "TELEGRAM_RETRY_SECONDS",
        "how long a Bot API call or a download that fails with a 5xx or a network error is tried again (back-off "
        "from 0.5 s to 5 s) before it is given up, logged at WARNING and counted; at start `getMe` too, as long as "
        "the failures look like Telegram's (5xx, timeouts, an unreachable network): a `TELEGRAM_API_URL` that cannot "
        "be a Bot API is told within seconds (see below)",
        "300",
    ),
)
"""The bot's own variables, in README's order (``ENV_FILE`` is read by ``env_file``)."""


@dataclass(frozen=True)
class Config:
    token: str
    api_url: str
    local_mode: bool
    answering: AnsweringSettings
    webhook_url: str | None
    webhook_secret: str | None
    listen: str
    port: int
    metrics_port: int | None = None
    metrics_listen: str = "127.0.0.1"
    admin_ids: frozenset[int] = frozenset()
    shutdown_grace_seconds: float = 20.0
    answered_file: Path = Path("answered-updates.json")
    stats_file: Path = Path("stats.sqlite")
    ready_telegram_seconds: float = 120.0
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
        secret = env.get("WEBHOOK_SECRET") or None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ConfigError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        log_format = (env.get("LOG_FORMAT") or "text").lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be text or json, not {env['LOG_FORMAT']!r}")
        answered_file = Path(env.get("ANSWERED_FILE") or "answered-updates.json")
        return cls(
            token=token,
            api_url=env.get("TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/"),
            local_mode=switch(env, "TELEGRAM_LOCAL_MODE"),
            answering=AnsweringSettings.from_env(env),
            webhook_url=env.get("WEBHOOK_URL") or None,
            webhook_secret=secret,
            listen=env.get("LISTEN", "0.0.0.0"),
            port=number(env, "PORT", 8443, int, minimum=1, maximum=65535),
            metrics_port=number(env, "METRICS_PORT", None, int, minimum=1, maximum=65535),
            metrics_listen=env.get("METRICS_LISTEN") or "127.0.0.1",
            admin_ids=ids(env, "ADMIN_IDS"),
            shutdown_grace_seconds=number(env, "SHUTDOWN_GRACE_SECONDS", 20.0, float, minimum=0),
            answered_file=answered_file,
            stats_file=Path(env.get("STATS_FILE") or answered_file.with_name("stats.sqlite")),
            ready_telegram_seconds=number(env, "READY_TELEGRAM_SECONDS", 120.0, float, minimum=10),
            telegram_retry_seconds=number(env, "TELEGRAM_RETRY_SECONDS", 300.0, float, minimum=0),
            log_format=log_format,
            log_key_file=Path(env.get("LOG_KEY_FILE") or answered_file.with_name("log-key")),
            languages_file=Path(env.get("LANGUAGES_FILE") or answered_file.with_name("languages.sqlite")),
        )
