"""Per-user limits: photos in flight, photos a minute, idle users forgotten."""

from __future__ import annotations

import pytest


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_user_has_at_most_three_photos_in_flight():
    from lookalike.answering.user_limits import TooManyInFlight, UserLimits

    limits = UserLimits(max_in_flight=3, per_minute=100)
    with limits.admit(1), limits.admit(1), limits.admit(1):
        with pytest.raises(TooManyInFlight):
            with limits.admit(1):
                pass
        with limits.admit(2):  # someone else is not affected
            pass
    with limits.admit(1):
        pass


def test_a_user_sends_at_most_twelve_photos_a_minute():
    from lookalike.answering.user_limits import TooManyPerMinute, UserLimits

    clock = Clock()
    limits = UserLimits(max_in_flight=3, per_minute=12, clock=clock)
    for _ in range(12):
        with limits.admit(1):
            clock.now += 1
    with pytest.raises(TooManyPerMinute) as refused:
        with limits.admit(1):
            pass
    assert refused.value.retry_in == 48  # the first photo leaves the window 60 s after it came
    clock.now += 48
    with limits.admit(1):
        pass


def test_users_idle_for_a_minute_are_forgotten():
    from lookalike.answering.user_limits import UserLimits

    clock = Clock()
    limits = UserLimits(max_in_flight=3, per_minute=12, clock=clock)
    for user_id in range(1000):
        with limits.admit(user_id):
            pass
    clock.now += 30
    with limits.admit(1):  # user 1 is active again
        pass
    assert len(limits._recent) == 1000
    clock.now += 31
    with limits.admit(2000):
        pass
    assert set(limits._recent) == {1, 2000}
