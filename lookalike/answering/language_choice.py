"""The language a user chose with /language, kept across restarts in LANGUAGES_FILE (SQLite).

A user is keyed by their pseudonym (``pseudonyms``: a keyed hash of the Telegram id, as in the
log), never by the id itself, so the file says which languages were chosen, not by whom.
/forget deletes the user's row. Written with ``synchronous=FULL`` (a choice is rare and should
outlive a power loss); read at each update by primary key, ~10 µs. A file that cannot be
opened or written is logged and the choices are kept in memory until the bot stops: a
language is never a reason to fail an answer.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA = "CREATE TABLE IF NOT EXISTS languages (user TEXT PRIMARY KEY, language TEXT NOT NULL)"


class LanguageChoices:
    def __init__(self, path: Path | None, pseudonym: Callable[[int], str]):
        self.path = path
        self._pseudonym = pseudonym
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()  # the event loop reads, worker threads write
        self._db: sqlite3.Connection | None = None
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(SCHEMA)
            self._db = db
        except (sqlite3.Error, OSError) as exc:
            log.error("LANGUAGES_FILE %s cannot be used (%s): language choices are kept in memory only", path, exc)

    def get(self, user_id: int) -> str | None:
        """The language ``user_id`` chose, or None."""
        user = self._pseudonym(user_id)
        with self._lock:
            if user in self._memory or self._db is None:
                return self._memory.get(user)
            try:
                row = self._db.execute("SELECT language FROM languages WHERE user = ?", (user,)).fetchone()
            except sqlite3.Error as exc:
                log.error("LANGUAGES_FILE %s unreadable (%s)", self.path, exc)
                return None
        return row[0] if row else None

    def choose(self, user_id: int, language: str) -> None:
        user = self._pseudonym(user_id)
        with self._lock:
            if self._db is not None:
                try:
                    self._db.execute(
                        "INSERT INTO languages VALUES (?, ?) ON CONFLICT DO UPDATE SET language = excluded.language",
                        (user, language),
                    )
                    self._memory.pop(user, None)
                    return
                except sqlite3.Error as exc:
                    log.error("LANGUAGES_FILE %s not written (%s): kept in memory only", self.path, exc)
            self._memory[user] = language

    def forget(self, user_id: int) -> None:
        user = self._pseudonym(user_id)
        with self._lock:
            self._memory.pop(user, None)
            if self._db is not None:
                try:
                    self._db.execute("DELETE FROM languages WHERE user = ?", (user,))
                except sqlite3.Error as exc:
                    log.error("LANGUAGES_FILE %s not written (%s): the choice may come back", self.path, exc)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
