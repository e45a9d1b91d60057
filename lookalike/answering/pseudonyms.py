"""Users named in the log by a keyed pseudonym, never by their Telegram id: the first 12 hex
digits of HMAC-SHA256(key, id). The same user gets the same pseudonym in every line and across
restarts, so an operator can follow one user's photos through the log, and tell users apart,
without the log saying who they are; without the key, a pseudonym cannot be turned back into
the id (ids are few enough to try them all, which is why it is keyed, not a plain hash).

The key is 32 random bytes kept in LOG_KEY_FILE (``log-key`` beside ANSWERED_FILE, which is
kept across restarts anyway), made at the first start, readable by the bot's user only.
Deleting it gives everyone new pseudonyms from the next start. A key file that cannot be read
or made is logged, and the bot runs on with a key of this run's own.

    python -m lookalike.answering.pseudonyms USER_ID      # the pseudonym the log gives a user

(with the bot's environment, or ``.env``), to find the lines of a user who writes in with
their id.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

KEY_BYTES = 32
DIGITS = 12
"""48 bits: two of a million users share a pseudonym with odds of about 1 in 500."""


class Pseudonyms:
    def __init__(self, key: bytes):
        self._key = key

    def of(self, user_id: int) -> str:
        return hmac.new(self._key, str(user_id).encode(), hashlib.sha256).hexdigest()[:DIGITS]

    @classmethod
    def of_this_run(cls) -> Pseudonyms:
        """A key of this process's own: pseudonyms stable until it stops."""
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def of_key_file(cls, path: Path) -> Pseudonyms:
        """The key in ``path``, which must exist; OSError or ValueError when it cannot be read."""
        return cls(_read_key(path))

    @classmethod
    def from_key_file(cls, path: Path) -> Pseudonyms:
        """The key in ``path``, made there if it does not exist yet."""
        try:
            return cls(_read_or_make_key(path))
        except (OSError, ValueError) as exc:
            log.warning(
                "LOG_KEY_FILE %s cannot be used (%s): users' pseudonyms in the log change at each start", path, exc
            )
            return cls.of_this_run()


def _read_or_make_key(path: Path) -> bytes:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key.hex() + "\n")
        file.flush()
        os.fsync(file.fileno())
    return key


def _read_key(path: Path) -> bytes:
    key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    if len(key) != KEY_BYTES:
        raise ValueError(f"not {KEY_BYTES} bytes in hex")
    return key
