"""Which celebrities users get, for the operator: counts since the first start.

Never a user id, a photo or an embedding: photos answered (since the start and in the last
24 hours, by minute and outcome), outcomes, and how often each celebrity was a face's best
match, by name (ids change when the index is rebuilt). From these: how many distinct
celebrities users have been shown, what share of the gallery that is (a gallery where a few
"hub" faces answer everyone covers little of itself), and the most-answered ones. With a
``CountStore`` the counts survive restarts.

The event loop counts while other threads read: the /stats chart is drawn in a worker
thread and the metrics are scraped in the metrics server's, so the counts change under a
lock and are read under it (iterated while another thread added a name, a Counter raises
"dictionary changed size during iteration").
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lookalike.answering.build_reload import LoadedBuild
from lookalike.answering.count_store import CountStore
from lookalike.answering.texts import say
from lookalike.answering.translations import number, percent

DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class Coverage:
    answered: int  # distinct celebrities of the gallery given as a best match
    size: int  # celebrities in the gallery
    share: float  # answered / size


class MatchAnalytics:
    def __init__(self, clock: Callable[[], float] = time.time, store: CountStore | None = None):
        self._clock = clock
        self._store = store
        self._lock = threading.Lock()
        now = clock()
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.celebrities: collections.Counter[str] = collections.Counter()
        # [minute, Counter(outcome -> photos)], oldest first
        self._minutes: collections.deque[tuple[int, collections.Counter[str]]] = collections.deque()
        self._names: tuple[str, frozenset[str]] | None = None  # (the build's version, the gallery's names)
        self.started = now
        if store is not None:
            counts = store.load(now, self._minute() - DAY_MINUTES)
            self.started = counts.started
            self.outcomes, self.celebrities = counts.outcomes, counts.celebrities
            for minute, outcome, photos in counts.minutes:
                self._count_minute(minute, outcome, photos)

    def photo_answered(self, outcome: str, best_matches: Sequence[str] = ()) -> None:
        """One photo answered with ``outcome``; ``best_matches``: each face's best match's name."""
        minute = self._minute()
        with self._lock:
            self.outcomes[outcome] += 1
            self.celebrities.update(best_matches)
            self._count_minute(minute, outcome, 1)
            while self._minutes[0][0] <= minute - DAY_MINUTES:
                self._minutes.popleft()
        if self._store is not None:
            self._store.add(minute, outcome, list(best_matches), forget_before=minute - DAY_MINUTES)

    @property
    def answered(self) -> int:
        """Photos answered since the start, whatever the answer."""
        with self._lock:
            return self.outcomes.total()

    def most_answered(self, top: int) -> list[tuple[str, int]]:
        """The ``top`` celebrities most often a best match, with their counts, most first."""
        with self._lock:
            return self.celebrities.most_common(top)

    def last_day(self) -> int:
        """Photos answered in the last 24 hours (to the minute)."""
        return sum(counts.total() for counts in self.hours())

    def hours(self) -> list[collections.Counter[str]]:
        """Outcomes in each of the last 24 hours, oldest first: hour 23 is the 60 minutes up to now."""
        now = self._minute()
        hours: list[collections.Counter[str]] = [collections.Counter() for _ in range(24)]
        with self._lock:
            for minute, counts in self._minutes:
                ago = now - minute
                if 0 <= ago < DAY_MINUTES:
                    hours[23 - ago // 60].update(counts)
        return hours

    def coverage(self, build: LoadedBuild) -> Coverage:
        """How many celebrities of the gallery ``build`` answers from have been a best match since the start."""
        known = self._names  # read once: the chart's thread and the metrics' may each set it
        if known is None or known[0] != build.version:
            known = self._names = (build.version, frozenset(build.index.names))
        names = known[1]
        with self._lock:
            answered = sum(1 for name in self.celebrities if name in names)
        return Coverage(answered, len(names), answered / len(names) if names else 0.0)

    def summary(self, build: LoadedBuild, lang: str = "en", top: int = 5) -> str:
        """The short /stats message for admins, in ``lang``."""
        hours = (self._clock() - self.started) / 3600
        coverage = self.coverage(build)
        with self._lock:
            outcomes = ", ".join(f"{name} {number(lang, count)}" for name, count in self.outcomes.most_common())
        lines = [
            say(
                lang,
                "stats_answered",
                answered=number(lang, self.answered),
                hours=number(lang, round(hours, 1)),
                day=number(lang, self.last_day()),
            ),
            say(lang, "stats_outcomes", outcomes=outcomes or say(lang, "stats_none")),
            say(
                lang,
                "stats_coverage",
                answered=number(lang, coverage.answered),
                size=number(lang, coverage.size),
                share=percent(lang, round(coverage.share * 100, 1)),
            ),
        ]
        most = self.most_answered(top)
        if most:
            names = ", ".join(f"{name} {number(lang, count)}" for name, count in most)
            lines.append(say(lang, "stats_most", names=names))
        return "\n".join(lines)

    def _minute(self) -> int:
        return int(self._clock() // 60)

    def _count_minute(self, minute: int, outcome: str, photos: int) -> None:
        if not self._minutes or self._minutes[-1][0] != minute:
            self._minutes.append((minute, collections.Counter()))
        self._minutes[-1][1][outcome] += photos
