"""A photo's way through the bot as values, without Telegram: the one admission step, the
outcome a photo leaves, retries through Telegram's failures, and the pool's queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx
import pytest
from telegram.error import BadRequest, NetworkError, TimedOut

from lookalike.answering import metrics
from lookalike.answering.admission import (
    ANSWER_SAMPLES,
    BACKLOG_TAIL,
    RELOAD_SLOWDOWN,
    TROUBLE_SECONDS,
    Admission,
    Pass,
    Refusal,
    WaitReckoning,
)
from lookalike.answering.chat_limits import ChatLimits
from lookalike.answering.face_pool import DRAIN_SAMPLES, Busy, FacePool, TooLate
from lookalike.answering.loop_lag import LoopLag
from lookalike.answering.outcome import Outcome
from lookalike.answering.user_limits import UserLimits
from lookalike.bot.telegram_retry import may_have_arrived, patiently


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _door(max_pending: int = 4, chat_pending: int = 2, in_flight: int = 1, per_minute: int = 3):
    pool = FacePool(workers=1, max_pending=max_pending)
    return Admission(ChatLimits(chat_pending), UserLimits(in_flight, per_minute, clock=Clock()), pool), pool


def test_admission_says_why_a_request_is_refused_in_order_chat_pool_user():
    async def main():
        door, pool = _door()
        first = door.admit(chat_id=1, user_id=1, uses_pool=True)
        assert isinstance(first, Pass) and pool.pending == 1
        refused = door.admit(chat_id=2, user_id=1, uses_pool=True)
        assert isinstance(refused, Refusal) and refused.reason == "user_in_flight"
        assert pool.pending == 1  # a refusal holds nothing
        second = door.admit(chat_id=1, user_id=2)
        assert isinstance(second, Pass)
        chat_full = door.admit(chat_id=1, user_id=3, uses_pool=True)
        assert chat_full.reason == "chat_busy" and chat_full.key == "busy" and len(chat_full.earlier) == 2
        first.worked()  # analysed: the pool's and the user's places are free, the chat's is not
        assert pool.pending == 0
        assert door.admit(chat_id=1, user_id=1).reason == "chat_busy"
        first.close()
        second.close()
        pool.max_pending = 0
        full = door.admit(chat_id=3, user_id=4, uses_pool=True)
        assert (full.reason, full.key) == ("busy", "busy")
        assert isinstance(door.admit(chat_id=3, user_id=4), Pass)  # a press needs no place in the pool

    asyncio.run(main())


def test_admission_tells_a_user_over_the_minute_when_to_try_again():
    async def main():
        door, _ = _door(in_flight=5, per_minute=2)
        for _ in range(2):
            with door.admit(chat_id=1, user_id=1):
                pass
        refused = door.admit(chat_id=1, user_id=1)
        assert (refused.reason, refused.key, refused.values) == ("user_rate", "user_rate", {"count": 60})

    asyncio.run(main())


def test_the_metric_label_and_the_log_are_read_from_the_outcome():
    outcome = Outcome("photo", "failed", "the photo took too long")
    assert (outcome.label, outcome.logged) == ("failed", "failed(the photo took too long)")
    outcome = Outcome("photo", "match")
    outcome.sent_as_text("BadRequest: can't parse entities")
    assert (outcome.label, outcome.logged) == ("match", "match-as-text(BadRequest: can't parse entities)")
    outcome = Outcome("photo", "chat_busy")
    outcome.not_sent("NetworkError: Bad Gateway")
    assert (outcome.label, outcome.logged) == ("chat_busy_unsent", "chat_busy-unsent(NetworkError: Bad Gateway)")


class Lag:
    seconds = 0.0


def _reckoning(reloading: list[bool] | None = None) -> tuple[WaitReckoning, FacePool, Lag, Clock]:
    pool = FacePool(workers=2, max_pending=1000)
    pool._recent_seconds.extend([0.25] * 20 + [30.0] * 4)  # 8 photos a second, a few huge ones aside
    lag, clock = Lag(), Clock()
    flags = reloading if reloading is not None else [False]
    reckoning = WaitReckoning(pool, 10.0, lag, lambda: flags[0], clock=clock)  # type: ignore[arg-type]
    return reckoning, pool, lag, clock


def test_photos_are_admitted_while_their_answer_is_reckoned_within_max_wait():
    """The photos in progress at the workers' pace (a median: huge files aside), the photo's own
    steps before and after the pool, and nothing more while nothing else slows it."""
    reckoning, pool, _, clock = _reckoning()
    reckoning.fetched(0.3, received=clock.now - 0.3)  # its download
    reckoning.admitted()
    reckoning.answered(analysed=clock.now - 0.2, received=clock.now - 0.6)  # its answer made and sent
    pool.pending = 70
    assert reckoning.expected() == pytest.approx(71 / 8 + 0.5)
    assert not reckoning.too_long()
    pool.pending = 80
    assert reckoning.too_long()


def test_the_time_since_the_bot_received_a_photo_counts_in_its_reckoning_and_its_deadline():
    """A photo that waited in the bot before its handler ran (the loop's backlog of updates) has
    that much less time; its deadline counts from its receipt, less the recent time after analysis."""

    async def main():
        door, pool = _door(max_pending=100)
        assert door.reckoning is not None
        door.reckoning.max_wait = 10.0
        pool._recent_seconds.extend([0.25] * 20)  # 4 photos a second with one worker
        pool.pending = 20  # 5.25 s
        received = door.reckoning.clock() - 6.0
        assert isinstance(door.admit(chat_id=1, user_id=1, uses_pool=True), Pass)
        assert door.admit(chat_id=2, user_id=2, uses_pool=True, received=received).reason == "busy"
        admitted = door.admit(chat_id=3, user_id=3, uses_pool=True, received=door.reckoning.clock() - 2.0)
        assert isinstance(admitted, Pass) and admitted.deadline == pytest.approx(door.reckoning.clock() + 8.0)
        door.reckoning._after.extend([1.5] * 5)
        assert admitted.analysed_by() == pytest.approx(door.reckoning.clock() + 6.5)

    asyncio.run(main())


def test_the_bot_s_own_pace_of_answers_counts_when_slower_than_the_pipeline_s_steps():
    """Answers going out slower than the pool's pace (the event loop saturated, the GIL shared
    with a reload's load, sends held up): the photos admitted before a new one at that pace."""
    reckoning, pool, _, clock = _reckoning()
    pool.pending = 10  # 1.4 s at the workers' pace
    for _ in range(200):
        reckoning.admitted()
    assert not reckoning.too_long()
    for _ in range(ANSWER_SAMPLES):  # an answer every 0.2 s while 170 and more waited
        clock.now += 0.2
        reckoning.answered(analysed=None, received=clock.now - 1.0)
    assert reckoning.in_flight == 170
    assert reckoning.expected() == pytest.approx(171 * 0.2 * BACKLOG_TAIL)
    assert reckoning.too_long()


def test_what_met_upstream_failing_is_not_the_bot_s_pace_and_is_not_let_go():
    """Answers held up by a 429 storm or a send outage: the bot's pace is not measured through
    them, nor counted while Telegram fails, and an admitted photo that met the failure keeps its
    place (its lateness is Telegram's, and a "busy" would be as late)."""
    pool = FacePool(workers=2, max_pending=1000)
    pool._recent_seconds.extend([0.25] * 20)
    clock = Clock()
    failed = [clock.now]  # Telegram's last failure
    reckoning = WaitReckoning(pool, 10.0, None, lambda: False, lambda: failed[0], clock=clock)
    pool.pending = 10
    for _ in range(200):
        reckoning.admitted()
    received = clock.now - 1.0  # before the failure
    for _ in range(ANSWER_SAMPLES):  # an answer every 0.2 s, held up by Telegram
        clock.now += 0.2
        reckoning.answered(analysed=clock.now - 8.0, received=received)
    assert not reckoning.too_long() and reckoning.after_analysis() == 0.0, "Telegram's delays were measured"
    clock.now += TROUBLE_SECONDS
    for _ in range(ANSWER_SAMPLES):  # the same pace, Telegram fine: the bot's own
        clock.now += 0.2
        reckoning.answered(analysed=clock.now - 8.0, received=clock.now - 9.0)
    assert reckoning.too_long() and reckoning.after_analysis() == 8.0
    admitted = Pass()
    admitted._timed(reckoning, clock.now)
    assert admitted.analysed_by() == pytest.approx(clock.now + 2.0)
    failed[0] = clock.now + 1.0  # Telegram fails while it waits
    assert admitted.analysed_by() is None
    assert not reckoning.too_long()  # the backlog's pace no longer counts either


def test_the_answers_let_out_after_a_telegram_outage_all_count_in_the_pace():
    """After a 429 storm the answers held up by it go out at the send limiter's pace, among them
    a few photos received since the storm: the pace is of every answer, or the few would be
    timed far apart and the bot told busy by a pace it does not have."""
    pool = FacePool(workers=2, max_pending=1000)
    pool._recent_seconds.extend([0.05] * 20)
    clock = Clock()
    storm_over = clock.now
    reckoning = WaitReckoning(pool, 10.0, None, lambda: False, lambda: storm_over, clock=clock)
    for _ in range(300):
        reckoning.admitted()
    clock.now += TROUBLE_SECONDS
    for n in range(150):  # 25 answers a second; one in five of a photo received since the storm
        clock.now += 0.04
        reckoning.answered(analysed=clock.now - 0.1, received=storm_over + (1 if n % 5 == 0 else -30))
    assert reckoning.expected() == pytest.approx(151 * 0.04 * BACKLOG_TAIL)
    assert not reckoning.too_long()


def test_the_event_loop_s_lag_counts_in_the_reckoning():
    reckoning, pool, lag, _ = _reckoning()
    pool.pending = 60  # 7.6 s
    assert not reckoning.too_long()
    lag.seconds = 3.0  # the loop runs 3 s late: every step of every answer waits for it
    assert reckoning.too_long()


def test_a_reload_slows_the_reckoning_until_its_own_pace_is_measured():
    reloading = [False]
    reckoning, pool, _, _ = _reckoning(reloading)
    pool.pending = 30  # 3.9 s at the workers' pace
    assert not reckoning.too_long()
    reloading[0] = True  # a new index loads: a core and the GIL taken
    assert reckoning.expected() == pytest.approx(31 / 8 * RELOAD_SLOWDOWN)
    assert reckoning.too_long()
    pool._drain.extend([0.2] * DRAIN_SAMPLES)  # measured during the reload: 5 photos a second
    assert reckoning.expected() == pytest.approx(31 * 0.2)
    reloading[0] = False  # over: what was measured during it no longer holds
    assert reckoning.expected() == pytest.approx(31 / 8)


def test_the_pace_measured_while_photos_queue_counts_when_slower_than_the_workers():
    """The event loop or the machine slower than the workers: the time between analyses while
    photos queued is the pace, not a worker's time per photo."""
    reckoning, pool, _, _ = _reckoning()
    pool.pending = 40
    assert not reckoning.too_long()
    pool._drain.extend([0.3] * DRAIN_SAMPLES)
    assert reckoning.expected() == pytest.approx(41 * 0.3)
    assert reckoning.too_long()


def test_a_photo_that_cannot_get_a_worker_by_its_deadline_is_let_go_too_late():
    async def main():
        pool = FacePool(workers=1, max_pending=10)
        pool._recent_seconds.append(0.1)
        await pool._slots.acquire()  # the one worker is busy for good
        started = time.monotonic()
        with pytest.raises(TooLate):
            async with asyncio.timeout(5):
                await pool.analyse(b"photo", deadline=started + 0.5)
        assert 0.3 < time.monotonic() - started < 1.0  # by its deadline, less a worker's time
        assert pool.queued == 0

    asyncio.run(main())


def test_the_loop_lag_is_how_late_a_ticker_runs():
    async def main():
        lag = LoopLag()
        ticker = asyncio.create_task(lag.run())
        await asyncio.sleep(0.3)
        assert lag.seconds < 0.1
        _hold_the_loop(0.5)  # as a thread holding the GIL does
        await asyncio.sleep(0.25)
        assert lag.seconds > 0.35
        ticker.cancel()

    asyncio.run(main())


def _hold_the_loop(seconds: float) -> None:
    time.sleep(seconds)


def test_the_pool_refuses_past_max_pending():
    pool = FacePool(workers=2, max_pending=3)
    with contextlib.ExitStack() as held:
        for _ in range(3):
            held.enter_context(pool.reserve())
        with pytest.raises(Busy):
            held.enter_context(pool.reserve())
    assert pool.pending == 0


def _failing(times: int, error: Exception):
    calls = []

    async def call():
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "sent"

    return call, calls


def test_a_call_failing_with_5xx_is_tried_again_with_back_off_until_it_goes_through(monkeypatch):
    waits = []

    async def sleep(seconds):
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    call, calls = _failing(6, NetworkError("Internal Server Error"))
    assert asyncio.run(patiently(call, "sendPhoto", 300, repeatable=False)) == "sent"
    assert len(calls) == 7
    assert waits == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_a_call_failing_for_longer_than_its_budget_is_given_up_logged_and_counted(monkeypatch, caplog):
    async def sleep(seconds):
        pass

    monkeypatch.setattr(asyncio, "sleep", sleep)
    before = metrics.TELEGRAM_GIVEN_UP.labels("download")._value.get()
    call, calls = _failing(10**6, NetworkError("Bad Gateway"))
    with caplog.at_level(logging.WARNING), pytest.raises(NetworkError):
        asyncio.run(patiently(call, "download", 0.0))
    assert len(calls) == 1
    assert "download given up" in caplog.text
    assert metrics.TELEGRAM_GIVEN_UP.labels("download")._value.get() == before + 1


def test_a_bad_request_and_a_send_that_may_have_arrived_are_not_tried_again():
    call, calls = _failing(1, BadRequest("message is too long"))
    with pytest.raises(BadRequest):
        asyncio.run(patiently(call, "sendMessage", 300))
    assert len(calls) == 1
    timed_out = TimedOut()
    timed_out.__cause__ = httpx.ReadTimeout("read")
    call, calls = _failing(1, timed_out)
    with pytest.raises(TimedOut):
        asyncio.run(patiently(call, "sendPhoto", 300, repeatable=False))
    assert len(calls) == 1


def test_what_may_have_reached_telegram():
    never = NetworkError("httpx.ConnectError: refused")
    never.__cause__ = httpx.ConnectError("refused")
    dropped = NetworkError("httpx.RemoteProtocolError: closed")
    dropped.__cause__ = httpx.RemoteProtocolError("closed")
    read = TimedOut()
    read.__cause__ = httpx.ReadTimeout("read")
    pool = TimedOut()
    pool.__cause__ = httpx.PoolTimeout("pool")
    answered = NetworkError("Internal Server Error")
    assert [may_have_arrived(e) for e in (never, dropped, read, pool, answered)] == [False, True, True, False, False]
