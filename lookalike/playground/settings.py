"""The playground's settings: the bot's own answering settings (``lookalike.answering.settings``:
ASSETS_DIR, WORKERS, MAX_PENDING, MAX_WAIT_SECONDS, USER_IN_FLIGHT, USER_PER_MINUTE,
CHAT_PENDING, INDEX_POLL_SECONDS, LOG_LEVEL), read as the bot reads them, and its own,
``VARIABLES`` below, each also a flag of ``python bot.py --playground`` where it has one.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lookalike import secret_env
from lookalike.answering.settings import AnsweringSettings, ConfigError, Variable, number

DEFAULT_PORT = 8000
MIN_SECRET_CHARS = 16
"""The secret is typed into a login form that anyone the playground is served to can reach:
a short one could be guessed there."""

VARIABLES = (
    Variable(
        "PLAYGROUND_LISTEN",
        "address to serve on (`0.0.0.0` for your phone on the same network)",
        "`127.0.0.1`",
        "--listen",
    ),
    Variable("PLAYGROUND_PORT", "port", f"`{DEFAULT_PORT}`", "--port"),
    Variable(
        "PLAYGROUND_SECRET",
        f"the operator's secret, {MIN_SECRET_CHARS} characters or more: set, the operator logs in with it at "
        "`/operator/login`, from any address; unset, the operator is this machine's browser (listening on loopback, "
        "no proxy header)",
        "unset",
        "--secret",
    ),
    Variable(
        "PLAYGROUND_SECRET_FILE",
        "the same secret from a file (compose secrets, systemd `LoadCredential=`), its trailing newline dropped; not "
        "with `PLAYGROUND_SECRET`",
        "unset",
        "--secret-file",
    ),
    Variable("PLAYGROUND_PHOTOS", "the first run's photo folder", "`photos` beside `ASSETS_DIR`"),
    Variable("WIKIDATA_SPARQL_URL", "the first run's Wikidata Query Service", "Wikimedia's"),
    Variable("COMMONS_API_URL", "the first run's Wikimedia Commons API", "Wikimedia's"),
    Variable("WIKIMEDIA_CONTACT", "the first run's `--contact`, prefilled on the operator's page"),
)
"""The playground's own variables, in README's order."""


@dataclass(frozen=True)
class Settings:
    listen: str
    port: int
    answering: AnsweringSettings
    photos_dir: Path
    secret: str | None = None
    sparql_url: str | None = None
    commons_api_url: str | None = None
    contact: str = ""

    @classmethod
    def from_env(cls, argv: list[str], env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        args = parser(env).parse_args(argv)
        answering = AnsweringSettings.from_env(env)
        secret = read_secret({"PLAYGROUND_SECRET": args.secret, "PLAYGROUND_SECRET_FILE": args.secret_file})
        if secret is not None and len(secret) < MIN_SECRET_CHARS:
            raise ConfigError(
                f"PLAYGROUND_SECRET must be at least {MIN_SECRET_CHARS} characters (openssl rand -hex 16 makes one)"
            )
        return cls(
            listen=args.listen,
            port=number({"--port": args.port}, "--port", DEFAULT_PORT, int, minimum=1, maximum=65535),
            answering=answering,
            photos_dir=Path(env.get("PLAYGROUND_PHOTOS") or answering.assets_dir.absolute().parent / "photos"),
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
