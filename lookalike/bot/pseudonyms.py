"""The pseudonym the log gives a user, for an operator finding the lines of a user who writes
in with their Telegram id (``lookalike.answering.pseudonyms``)::

    python -m lookalike.bot.pseudonyms USER_ID

with the bot's environment, or its ``.env``: the key is LOG_KEY_FILE's.
"""

from __future__ import annotations

import os
import sys

from lookalike.answering.pseudonyms import Pseudonyms
from lookalike.bot.config import Config, ConfigError
from lookalike.bot.env_file import with_env_file


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python -m lookalike.bot.pseudonyms USER_ID", file=sys.stderr)
        return 2
    try:
        key_file = Config.from_env(with_env_file(os.environ)).log_key_file
    except ConfigError as exc:
        print(f"pseudonyms: {exc}", file=sys.stderr)
        return 2
    if not key_file.exists():
        print(f"pseudonyms: no key in {key_file} (LOG_KEY_FILE): the bot makes it at its first start", file=sys.stderr)
        return 1
    try:
        pseudonyms = Pseudonyms.of_key_file(key_file)
    except (OSError, ValueError) as exc:
        print(f"pseudonyms: cannot read the key in {key_file} (LOG_KEY_FILE): {exc}", file=sys.stderr)
        return 1
    print(pseudonyms.of(int(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
