"""A photo's way through the bot as values, without Telegram: the one admission step and
the outcome a photo leaves."""

from __future__ import annotations

import asyncio

from lookalike.bot.admission import Admission, Pass, Refusal
from lookalike.bot.chat_limits import ChatLimits
from lookalike.bot.face_pool import FacePool
from lookalike.bot.outcome import Outcome
from lookalike.bot.user_limits import UserLimits


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
        assert (refused.reason, refused.key, refused.values) == ("user_rate", "user_rate", {"seconds": 60})

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
