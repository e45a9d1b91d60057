"""The operator's counts kept across restarts: a small SQLite file (STATS_FILE).

Only counts: photos answered by outcome and minute, and how often each celebrity (by name)
was a face's best match. Never a user id, a photo or an embedding. Written through at each
answer in WAL mode with ``synchronous=NORMAL``: a commit appends to the log without waiting
for the disk, so an answer costs ~0.1 ms; a power loss may forget the last few counts,
never corrupt the file. A file that cannot be opened or written is logged and the bot keeps
counting in memory: the counts are for the operator, never a reason to fail an answer.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outcomes (outcome TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS celebrities (name TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS minutes (
    minute INTEGER NOT NULL, outcome TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (minute, outcome)
);
"""


@dataclass
class Counts:
    """What a store holds: since ``started`` (a Unix time), and the minutes of the last day."""

    started: float
    outcomes: Counter[str] = field(default_factory=Counter)
    celebrities: Counter[str] = field(default_factory=Counter)
    minutes: list[tuple[int, str, int]] = field(default_factory=list)  # (minute, outcome, photos), oldest first


class CountStore:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            self._db = db
        except (sqlite3.Error, OSError) as exc:
            log.error("STATS_FILE %s cannot be used (%s): the counts are kept in memory only", self.path, exc)

    def load(self, now: float, since_minute: int) -> Counts:
        """The counts kept so far (started ``now`` for a new file), minutes after ``since_minute`` only."""
        if self._db is None:
            return Counts(started=now)
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'started'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('started', ?)", (now,))
            return Counts(
                started=row[0] if row else now,
                outcomes=Counter(dict(self._db.execute("SELECT outcome, count FROM outcomes"))),
                celebrities=Counter(dict(self._db.execute("SELECT name, count FROM celebrities"))),
                minutes=list(
                    self._db.execute(
                        "SELECT minute, outcome, count FROM minutes WHERE minute > ? ORDER BY minute", (since_minute,)
                    )
                ),
            )
        except sqlite3.Error as exc:
            log.error("STATS_FILE %s unreadable (%s): counting from zero", self.path, exc)
            return Counts(started=now)

    def add(self, minute: int, outcome: str, best_matches: list[str], forget_before: int) -> None:
        """One photo answered; minutes up to ``forget_before`` are dropped (they left the last day)."""
        if self._db is None:
            return
        try:
            with self._db:  # one transaction
                self._db.execute("BEGIN")
                self._db.execute(_BUMP.format(table="outcomes", key="outcome"), (outcome,))
                for name in best_matches:
                    self._db.execute(_BUMP.format(table="celebrities", key="name"), (name,))
                self._db.execute(
                    "INSERT INTO minutes VALUES (?, ?, 1) ON CONFLICT DO UPDATE SET count = count + 1",
                    (minute, outcome),
                )
                self._db.execute("DELETE FROM minutes WHERE minute <= ?", (forget_before,))
        except sqlite3.Error as exc:
            log.error("STATS_FILE %s not written (%s): this photo is counted in memory only", self.path, exc)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


_BUMP = "INSERT INTO {table} VALUES (?, 1) ON CONFLICT DO UPDATE SET count = count + 1"
