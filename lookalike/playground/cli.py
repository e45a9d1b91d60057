"""``python bot.py --playground [--listen ADDR] [--port N] [--secret S]``: settings, logging, serve."""

from __future__ import annotations

import logging
import sys

from lookalike.answering.settings import ConfigError
from lookalike.playground.settings import Settings


def main(argv: list[str]) -> int:
    try:
        settings = Settings.from_env(argv)
    except ConfigError as exc:
        print(f"bot.py --playground: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.answering.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from lookalike.playground import server  # after the settings are known good: it loads PTB and nmslib

    return server.serve(settings)
