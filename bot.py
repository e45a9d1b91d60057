"""The celebrity look-alike bot for Telegram: send a selfie, get your celebrity twin.

    python bot.py
    python bot.py --playground      # the same answers in a browser, no Telegram (lookalike.playground)

Configured by environment variables (README, and ``lookalike.bot.config``), and by the
file ``.env`` when there is one (``.env.example``; the environment wins); the bot itself
is ``lookalike.bot.app``. A missing token or a missing or corrupt assets directory
(ASSETS_DIR) prints one line and exits with status 2.
"""

from __future__ import annotations

import os
import sys

from lookalike.bot.config import Config, ConfigError
from lookalike.bot.env_file import with_env_file


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--playground" in argv:
        from lookalike.playground import cli

        return cli.main(argv)
    try:
        config = Config.from_env(with_env_file(os.environ))
    except ConfigError as exc:
        print(f"bot.py: {exc}", file=sys.stderr)
        return 2
    from lookalike.bot import app  # after the configuration is known good: it imports PTB and nmslib

    return app.main(config)


if __name__ == "__main__":
    sys.exit(main())
