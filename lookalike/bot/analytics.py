"""Which celebrities users get, for the operator: counts in memory since the start.

Never a user id, a photo or an embedding: photos answered (since the start and in the last
24 hours, by minute), outcomes, and how often each celebrity was a face's best match, by
name (ids change when the index is rebuilt). From these: how many distinct celebrities
users have been shown, what share of the gallery that is (a gallery where a few "hub"
faces answer everyone covers little of itself), and the most-answered ones.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass

DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class Coverage:
    answered: int  # distinct celebrities of the gallery given as a best match
    size: int  # celebrities in the gallery
    share: float  # answered / size


class MatchAnalytics:
    def __init__(self, clock=time.time):
        self._clock = clock
        self.started = clock()
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.celebrities: collections.Counter[str] = collections.Counter()
        self._minutes: collections.deque[list[int]] = collections.deque()  # [minute, photos], oldest first
        self._names: tuple[str, frozenset[str]] | None = None  # (gallery version, its names)

    def photo_answered(self, outcome: str, best_matches: list[str] = ()) -> None:
        """One photo answered with ``outcome``; ``best_matches``: each face's best match's name."""
        self.outcomes[outcome] += 1
        self.celebrities.update(best_matches)
        minute = int(self._clock() // 60)
        if self._minutes and self._minutes[-1][0] == minute:
            self._minutes[-1][1] += 1
        else:
            self._minutes.append([minute, 1])
        while self._minutes[0][0] <= minute - DAY_MINUTES:
            self._minutes.popleft()

    @property
    def answered(self) -> int:
        """Photos answered since the start, whatever the answer."""
        return self.outcomes.total()

    def last_day(self) -> int:
        """Photos answered in the last 24 hours (to the minute)."""
        since = int(self._clock() // 60) - DAY_MINUTES
        return sum(count for minute, count in self._minutes if minute > since)

    def coverage(self, gallery) -> Coverage:
        """How many of ``gallery``'s celebrities have been a best match since the start."""
        if self._names is None or self._names[0] != gallery.version:
            self._names = (gallery.version, frozenset(gallery.index.names))
        names = self._names[1]
        answered = sum(1 for name in self.celebrities if name in names)
        return Coverage(answered, len(names), answered / len(names) if names else 0.0)

    def summary(self, gallery, top: int = 5) -> str:
        """The short /stats message for admins."""
        hours = (self._clock() - self.started) / 3600
        coverage = self.coverage(gallery)
        outcomes = ", ".join(f"{name} {count}" for name, count in self.outcomes.most_common()) or "none yet"
        lines = [
            f"Photos answered: {self.answered} since the start ({hours:.1f} h ago), {self.last_day()} in the last 24 h",
            f"Outcomes: {outcomes}",
            f"Celebrities answered: {coverage.answered} of {coverage.size} ({coverage.share:.1%} of the gallery)",
        ]
        most = self.celebrities.most_common(top)
        if most:
            lines.append("Most answered: " + ", ".join(f"{name} {count}" for name, count in most))
        return "\n".join(lines)
