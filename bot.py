"""The celebrity look-alike bot for Telegram: send a selfie, get your celebrity twin.

    python bot.py

Configured by environment variables (README, and ``lookalike.bot.config``); the bot
itself is ``lookalike.bot.app``. A missing token or a missing/corrupt index prints one
line and exits with status 2.
"""

from __future__ import annotations

import sys

from lookalike.bot.config import Config, ConfigError


def main() -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"bot.py: {exc}", file=sys.stderr)
        return 2
    from lookalike.bot import app  # after the configuration is known good: it imports PTB and nmslib

    return app.main(config)


if __name__ == "__main__":
    sys.exit(main())
