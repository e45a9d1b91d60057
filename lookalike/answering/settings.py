"""The settings both front ends answer with, read from the environment in one place, and the
way every setting of the bot and the playground is declared.

``AnsweringSettings`` holds what decides how photos are admitted and answered (the assets
directory, the face workers, the limits, the reload's poll, the log level): the bot's
``Config`` and the playground's ``Settings`` each hold one, read by the same
``AnsweringSettings.from_env``, so the playground's limits are the bot's by construction
(``front_end.services`` makes both front ends' services from it).

Each environment variable is declared once, as a ``Variable``: its name, what it means and
its default, in README's words. ``VARIABLES`` are these; the bot's own are
``lookalike.bot.config.VARIABLES``, the playground's ``lookalike.playground.settings.VARIABLES``;
README's tables are ``table`` of them (tests/answering/test_settings.py keeps them equal).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, overload


class ConfigError(Exception):
    """The environment (or the command line) does not describe a runnable bot or playground."""


@dataclass(frozen=True)
class Variable:
    """One setting, as README's tables show it: ``meaning`` and ``default`` are Markdown."""

    name: str
    meaning: str
    default: str = ""
    flag: str = ""  # the playground's command-line flag that sets it too


VARIABLES = (
    Variable(
        "ASSETS_DIR",
        "the assets directory built by `build_embeddings.py`; its index is reloaded without a restart when a new "
        "build lands (or when `ASSETS_DIR`, a symlink, is turned to another build). The new one loads beside the "
        "answers, which keep coming (a million celebrities' index in 14-27 s, the slowest answer meanwhile "
        "0.14-0.31 s at 4 photos a second on 2 cores; at 20 a second answers fall behind while it loads, up to 45 s; "
        "bench/README.md). While it loads the bot holds both, so plan memory for twice the index (about 1.9 GB a "
        "million celebrities, bench/README.md); the old one is freed, in a worker thread, once its last request is "
        "answered",
        "`assets`",
    ),
    Variable("WORKERS", "face-pipeline processes", "number of cores"),
    Variable(
        "MAX_PENDING",
        "a ceiling on the photos in progress (downloading, waiting for a worker, being analysed), for the memory "
        'they hold; over it the answer is "busy"',
        "64 per worker",
    ),
    Variable(
        "MAX_WAIT_SECONDS",
        'the photos in progress are a queue: a new photo is told "busy" at once only when its answer would come '
        "later than this, reckoned from the photos ahead of it at the pool's recent pace (a worker's time per photo, "
        "or the time between analyses measured while photos queued), its own download and send, the event loop's lag "
        "and a reload in progress (so a burst after an outage is answered in order); a photo admitted on a reckoning "
        'that proves wrong is told "busy" when it can no longer get a worker in time, never answered later than this',
        "30",
    ),
    Variable("USER_IN_FLIGHT", "one user's photos in progress (runner-up buttons count as photos)", "3"),
    Variable("USER_PER_MINUTE", "one user's photos a minute (runner-up buttons count as photos)", "12"),
    Variable(
        "CHAT_PENDING",
        "photos one chat may have waiting for their answers (a Telegram group gets ~20 a minute); the rest are told "
        '"busy" without holding up other chats',
        "10",
    ),
    Variable("INDEX_POLL_SECONDS", "how often to look for a new index", "5"),
    Variable(
        "LOG_LEVEL",
        "logging level (python-telegram-bot's own lines stay at `INFO`: its debug lines print whole updates)",
        "`INFO`",
    ),
)
"""What both front ends read, in README's order."""


@dataclass(frozen=True)
class AnsweringSettings:
    """How photos are admitted and answered, whichever front end receives them."""

    assets_dir: Path
    workers: int
    max_pending: int
    max_wait_seconds: float
    user_in_flight: int
    user_per_minute: int
    chat_pending: int
    index_poll_seconds: float
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AnsweringSettings:
        workers = number(env, "WORKERS", os.cpu_count() or 1, int, minimum=1)
        return cls(
            assets_dir=Path(env.get("ASSETS_DIR") or "assets"),
            workers=workers,
            max_pending=number(env, "MAX_PENDING", 64 * workers, int, minimum=1),
            max_wait_seconds=number(env, "MAX_WAIT_SECONDS", 30.0, float, minimum=0.1),
            user_in_flight=number(env, "USER_IN_FLIGHT", 3, int, minimum=1),
            user_per_minute=number(env, "USER_PER_MINUTE", 12, int, minimum=1),
            chat_pending=number(env, "CHAT_PENDING", 10, int, minimum=1),
            index_poll_seconds=number(env, "INDEX_POLL_SECONDS", 5.0, float, minimum=0.1),
            log_level=log_level(env),
        )


Number = TypeVar("Number", int, float)


@overload
def number(
    env: Mapping[str, str],
    name: str,
    default: Number,
    kind: Callable[[str], Number],
    minimum: Number,
    maximum: Number | None = None,
) -> Number: ...


@overload
def number(
    env: Mapping[str, str],
    name: str,
    default: None,
    kind: Callable[[str], Number],
    minimum: Number,
    maximum: Number | None = None,
) -> Number | None: ...


def number(
    env: Mapping[str, str],
    name: str,
    default: Number | None,
    kind: Callable[[str], Number],
    minimum: Number,
    maximum: Number | None = None,
) -> Number | None:
    """``env[name]`` as a number of ``kind`` within its bounds, ``default`` when unset or empty."""
    raw = env.get(name)
    if raw is None or raw == "":
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


def switch(env: Mapping[str, str], name: str) -> bool:
    """``env[name]`` as on (1, true, yes, on) or off (unset, 0, false, no, off)."""
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1 or 0, not {env[name]!r}")


def ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    """``env[name]`` as whole numbers separated by commas or blanks."""
    raw = env.get(name, "")
    try:
        return frozenset(int(part) for part in re.split(r"[,\s]+", raw.strip()) if part)
    except ValueError:
        raise ConfigError(f"{name} must be Telegram user ids separated by commas, not {raw!r}") from None


def log_level(env: Mapping[str, str]) -> str:
    level = env.get("LOG_LEVEL", "INFO").upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
    return level


def table(variables: Sequence[Variable], flags: bool = False) -> str:
    """README's Markdown table of ``variables``, with a column of their flags if ``flags``."""
    head = ["variable", *(["flag"] if flags else []), "meaning", "default"]
    rows = [
        [f"`{v.name}`", *([f"`{v.flag}`" if v.flag else ""] if flags else []), v.meaning, v.default] for v in variables
    ]
    lines = [head, ["---"] * len(head), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
