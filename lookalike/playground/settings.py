"""The playground's settings: the bot's own environment variables where they mean the same
(ASSETS_DIR, WORKERS, MAX_PENDING, USER_IN_FLIGHT, USER_PER_MINUTE, INDEX_POLL_SECONDS,
LOG_LEVEL) and its own, each also a flag of ``python bot.py --playground``:

PLAYGROUND_LISTEN       --listen       address to serve on              (127.0.0.1: this machine only)
PLAYGROUND_PORT         --port         port                             (8000)
PLAYGROUND_SECRET       --secret       the operator's secret (16 characters or more): set, the operator
                                       logs in with it, from any address; unset, the operator is this
                                       machine's browser, and only while the playground listens on
                                       loopback and the request came through no proxy
PLAYGROUND_SECRET_FILE  --secret-file  the same secret from a file (compose secrets, systemd
                                       LoadCredential=), its trailing newline dropped
PLAYGROUND_PHOTOS                      the first run's photo folder     (photos beside ASSETS_DIR)
WIKIDATA_SPARQL_URL, COMMONS_API_URL   the first run's Wikimedia endpoints (the fetcher's defaults)
WIKIMEDIA_CONTACT                      the first run's --contact, prefilled on the operator's page
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lookalike import secret_env
from lookalike.bot.config import ConfigError, _number

DEFAULT_PORT = 8000
MIN_SECRET_CHARS = 16
"""The secret is typed into a login form that anyone the playground is served to can reach:
a short one could be guessed there."""


@dataclass(frozen=True)
class Settings:
    listen: str
    port: int
    assets_dir: Path
    photos_dir: Path
    workers: int
    max_pending: int
    user_in_flight: int
    user_per_minute: int
    index_poll_seconds: float
    log_level: str
    secret: str | None = None
    sparql_url: str | None = None
    commons_api_url: str | None = None
    contact: str = ""

    @classmethod
    def from_env(cls, argv: list[str], env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        args = parser(env).parse_args(argv)
        workers = _number(env, "WORKERS", os.cpu_count() or 1, int, minimum=1)
        log_level = env.get("LOG_LEVEL", "INFO").upper()
        if not isinstance(logging.getLevelName(log_level), int):
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {log_level!r}")
        assets_dir = Path(env.get("ASSETS_DIR") or "assets")
        secret = read_secret({"PLAYGROUND_SECRET": args.secret, "PLAYGROUND_SECRET_FILE": args.secret_file})
        if secret is not None and len(secret) < MIN_SECRET_CHARS:
            raise ConfigError(
                f"PLAYGROUND_SECRET must be at least {MIN_SECRET_CHARS} characters (openssl rand -hex 16 makes one)"
            )
        return cls(
            listen=args.listen,
            port=_number({"--port": args.port}, "--port", DEFAULT_PORT, int, minimum=1, maximum=65535),
            assets_dir=assets_dir,
            photos_dir=Path(env.get("PLAYGROUND_PHOTOS") or assets_dir.absolute().parent / "photos"),
            workers=workers,
            max_pending=_number(env, "MAX_PENDING", 16 * workers, int, minimum=1),
            user_in_flight=_number(env, "USER_IN_FLIGHT", 3, int, minimum=1),
            user_per_minute=_number(env, "USER_PER_MINUTE", 12, int, minimum=1),
            index_poll_seconds=_number(env, "INDEX_POLL_SECONDS", 5.0, float, minimum=0.1),
            log_level=log_level,
            secret=secret,
            sparql_url=env.get("WIKIDATA_SPARQL_URL") or None,
            commons_api_url=env.get("COMMONS_API_URL") or None,
            contact=env.get("WIKIMEDIA_CONTACT", ""),
        )


def parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    """``bot.py --playground``'s flags, each defaulting to its environment variable."""
    parser = argparse.ArgumentParser(prog="bot.py --playground", description="The bot in a browser, no Telegram.")
    parser.add_argument("--playground", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--listen",
        default=env.get("PLAYGROUND_LISTEN") or "127.0.0.1",
        help="address to serve on (PLAYGROUND_LISTEN; default 127.0.0.1, this machine only)",
    )
    parser.add_argument(
        "--port",
        default=env.get("PLAYGROUND_PORT") or str(DEFAULT_PORT),
        help=f"port (PLAYGROUND_PORT; default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--secret",
        default=env.get("PLAYGROUND_SECRET") or None,
        help="the operator's secret, asked by a login form from any address (PLAYGROUND_SECRET; "
        "default none: the operator is this machine's browser, while listening on loopback only)",
    )
    parser.add_argument(
        "--secret-file",
        default=env.get("PLAYGROUND_SECRET_FILE") or None,
        help="the operator's secret from a file, e.g. /run/secrets/... (PLAYGROUND_SECRET_FILE)",
    )
    return parser


def read_secret(env: Mapping[str, str | None]) -> str | None:
    """PLAYGROUND_SECRET, or the content of the file PLAYGROUND_SECRET_FILE names, as the bot
    reads TELEGRAM_BOT_TOKEN_FILE (``secret_env``); each failure is one line, never the secret."""
    try:
        return secret_env.read_secret({k: v for k, v in env.items() if v is not None}, "PLAYGROUND_SECRET")
    except secret_env.SecretError as exc:
        raise ConfigError(str(exc)) from None
