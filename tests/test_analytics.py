"""Match analytics: counts over the last 24 hours and the gallery's coverage, with a fake clock."""

from __future__ import annotations

from types import SimpleNamespace

from lookalike.bot.analytics import MatchAnalytics


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def gallery(version: str, names: list[str]):
    return SimpleNamespace(version=version, index=SimpleNamespace(names=names))


def test_the_last_day_forgets_photos_older_than_24_hours():
    clock = Clock()
    analytics = MatchAnalytics(clock)
    analytics.photo_answered("match", ["Ann"])
    clock.now += 23 * 3600
    analytics.photo_answered("no_face")
    analytics.photo_answered("match", ["Bob"])
    assert analytics.last_day() == 3
    clock.now += 2 * 3600  # the first photo is 25 h old now
    assert analytics.last_day() == 2
    analytics.photo_answered("busy")
    assert analytics.last_day() == 3 and analytics.answered == 4
    clock.now += 24 * 3600 + 60
    assert analytics.last_day() == 0


def test_coverage_counts_names_of_the_current_gallery_only():
    analytics = MatchAnalytics(Clock())
    for names in (["Ann", "Bob"], ["Ann"], ["Gone"]):
        analytics.photo_answered("match", names)
    coverage = analytics.coverage(gallery("v1", ["Ann", "Bob", "Cid", "Dee"]))
    assert (coverage.answered, coverage.size, coverage.share) == (2, 4, 0.5)
    assert analytics.coverage(gallery("v2", ["Gone", "Eve"])).answered == 1  # a new build is looked at anew
    summary = analytics.summary(gallery("v1", ["Ann", "Bob", "Cid", "Dee"]))
    assert "Photos answered: 3 since the start" in summary
    assert "Celebrities answered: 2 of 4 (50.0% of the gallery)" in summary
    assert "Most answered: Ann 2, Bob 1, Gone 1" in summary
