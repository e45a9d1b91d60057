"""Match analytics: counts over the last 24 hours and the gallery's coverage, with a fake clock."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lookalike.answering.analytics import MatchAnalytics


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def assets(version: str, names: list[str]):
    """A stand-in for a loaded assets directory whose gallery is ``names``."""
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
    coverage = analytics.coverage(assets("v1", ["Ann", "Bob", "Cid", "Dee"]))
    assert (coverage.answered, coverage.size, coverage.share) == (2, 4, 0.5)
    assert analytics.coverage(assets("v2", ["Gone", "Eve"])).answered == 1  # a new build is looked at anew
    summary = analytics.summary(assets("v1", ["Ann", "Bob", "Cid", "Dee"]))
    assert "Photos answered: 3 since the start" in summary
    assert "Celebrities answered: 2 of 4 (50% of the gallery)" in summary
    assert "Most answered: Ann 2, Bob 1, Gone 1" in summary


def test_the_counts_survive_a_restart_and_the_store_keeps_counts_only(tmp_path):
    from lookalike.answering.count_store import CountStore

    clock = Clock()
    first = MatchAnalytics(clock, CountStore(tmp_path / "stats.sqlite"))
    first.photo_answered("match", ["Ann"])
    clock.now += 25 * 3600  # the first photo leaves the last day
    first.photo_answered("match", ["Ann", "Bob"])
    first.photo_answered("no_face")
    clock.now += 3600
    again = MatchAnalytics(clock, CountStore(tmp_path / "stats.sqlite"))
    assert again.started == first.started == 1_000_000.0
    assert again.outcomes == {"match": 2, "no_face": 1} and again.celebrities == {"Ann": 2, "Bob": 1}
    assert again.last_day() == 2 and again.answered == 3
    assert [hour.total() for hour in again.hours()][-3:] == [0, 2, 0]  # an hour ago
    import sqlite3

    with sqlite3.connect(tmp_path / "stats.sqlite") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"meta", "outcomes", "celebrities", "minutes"}
        assert db.execute("SELECT COUNT(*) FROM minutes").fetchone()[0] == 2  # the day-old minute forgotten


def test_an_unusable_stats_file_leaves_the_counts_in_memory(tmp_path, caplog):
    from lookalike.answering.count_store import CountStore

    (tmp_path / "stats.sqlite").mkdir()  # a directory where the file should be
    analytics = MatchAnalytics(Clock(), CountStore(tmp_path / "stats.sqlite"))
    analytics.photo_answered("match", ["Ann"])
    assert analytics.answered == 1
    assert "cannot be used" in caplog.text


def test_the_chart_draws_the_counts(tmp_path):
    """Bars as long as the counts, the coverage bar as wide as the share, an hour's bar as tall
    as its photos: measured on the PNG's pixels."""
    import io

    import numpy as np
    from PIL import Image

    from lookalike.answering import stats_chart

    clock = Clock()
    analytics = MatchAnalytics(clock)
    for names in (["Ann"], ["Ann"], ["Ann"], ["Ann"], ["Bob", "Ann"], ["Bob"]):
        analytics.photo_answered("match", names)
    clock.now += 5 * 3600
    analytics.photo_answered("no_face")
    png = stats_chart.draw(analytics, assets("v1", ["Ann", "Bob", "Cid", "Dee"]), "ru")
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))

    def run_lengths(colour) -> list[int]:
        """Per row, how many pixels have ``colour``; rows without any left out."""
        counts = (pixels == colour).all(axis=2).sum(axis=1)
        return [int(c) for c in counts if c]

    bars = sorted(set(run_lengths(stats_chart.BAR)), reverse=True)
    assert bars[0] / bars[-1] == pytest.approx(5 / 2, rel=0.05)  # Ann 5, Bob 2
    green = (pixels == stats_chart.OUTCOME_COLOURS["match"]).all(axis=2)
    coverage_width = max(green.sum(axis=1))
    assert coverage_width == pytest.approx(0.5 * (stats_chart.WIDTH - 2 * stats_chart.PAD), abs=2)  # 2 of 4
    orange_rows = (pixels == stats_chart.OUTCOME_COLOURS["no_face"]).all(axis=2).any(axis=1).sum()
    match_columns = green[:, : stats_chart.WIDTH].any(axis=0)
    assert orange_rows > 0 and match_columns.sum() > coverage_width  # the hours' bars too


def test_counts_read_in_other_threads_while_the_loop_counts():
    """The /stats chart is drawn in a worker thread and the metrics scraped in their server's
    while photos are counted (new names among them): reading must never meet a count
    half-changed. The GIL changes hands every 10 us here, so that a read unguarded meets one."""
    import sys
    import threading

    from lookalike.answering import stats_chart

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    analytics = MatchAnalytics(Clock())
    gallery = assets("v1", [f"Celebrity {i}" for i in range(100_000)])
    counted_many = threading.Event()
    stop = threading.Event()

    def count() -> None:
        for i in range(10**9):
            analytics.photo_answered("match", [f"Celebrity {i}"])
            analytics.photo_answered(f"outcome {i % 50}")
            if i == 20_000:
                counted_many.set()
            if stop.is_set():
                return

    counter = threading.Thread(target=count)
    counter.start()
    try:
        counted_many.wait(30)
        for _ in range(20):
            analytics.coverage(gallery)
            analytics.summary(gallery)
            analytics.last_day()
        assert stats_chart.draw(analytics, gallery, "en")[:4] == b"\x89PNG"
    finally:
        stop.set()
        counter.join()
        sys.setswitchinterval(switch_interval)
    assert analytics.coverage(gallery).answered == min(len(analytics.celebrities), 100_000)
