"""The one door every photo and button press goes through: admitted, or refused and why.

Four things can turn a request away, checked in this order:

- its chat already has CHAT_PENDING answers waiting (``chat_busy``): a group sending faster
  than Telegram lets the bot answer it must not hold up everyone else;
- the face pool is full (``busy``, photos only): checked before the user's limits, so a
  photo turned away for load does not count against the user's minute;
- the user has USER_IN_FLIGHT photos or presses in progress (``user_in_flight``);
- the user sent USER_PER_MINUTE in the last minute (``user_rate``).

``Admission.admit`` returns a ``Refusal`` (a value: its reason, the text to say, and the
chat's earlier answers to let go first) or a ``Pass`` that holds the places it took: the
pool's and the user's until the work is done (``Pass.worked``), the chat's until the answer
is sent (``Pass.close``). Nothing here knows Telegram: any front end asks the same door.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from lookalike.answering.chat_limits import ChatBusy, ChatLimits
from lookalike.answering.face_pool import Busy, FacePool
from lookalike.answering.user_limits import TooManyInFlight, TooManyPerMinute, UserLimits


@dataclass(frozen=True)
class Refusal:
    """Why a request was turned away: ``reason`` is the outcome (log and metrics), ``key``
    and ``values`` the text the user is told (``texts.say``)."""

    reason: str
    key: str
    values: dict[str, object] = field(default_factory=dict)
    earlier: tuple[asyncio.Event, ...] = ()
    """The chat's answers accepted before this one: tell the refusal after them, in order."""


class Pass:
    """An admitted request's places; a context manager that gives them all back on exit."""

    def __init__(self) -> None:
        self._work = contextlib.ExitStack()  # the pool's and the user's
        self._answer = contextlib.ExitStack()  # the chat's

    def worked(self) -> None:
        """The work is done (the photo analysed): free the pool's and the user's places."""
        self._work.close()

    def close(self) -> None:
        self._work.close()
        self._answer.close()

    def __enter__(self) -> Pass:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Admission:
    def __init__(self, chats: ChatLimits, limits: UserLimits, pool: FacePool | None = None):
        self.chats, self.limits, self.pool = chats, limits, pool

    def admit(self, chat_id: int, user_id: int | None = None, *, uses_pool: bool = False) -> Pass | Refusal:
        """Take the places a request needs, all at once, or none and say why not. ``user_id``
        None: nothing counts against a user (a command); ``uses_pool``: a photo to analyse."""
        admitted = Pass()
        try:
            admitted._answer.enter_context(self.chats.admit(chat_id))
            if uses_pool and self.pool is not None:
                admitted._work.enter_context(self.pool.reserve())
            if user_id is not None:
                admitted._work.enter_context(self.limits.admit(user_id))
        except ChatBusy:
            admitted.close()
            return Refusal("chat_busy", "busy", earlier=self.chats.waiting(chat_id))
        except Busy:
            admitted.close()
            return Refusal("busy", "busy")
        except TooManyInFlight:
            admitted.close()
            return Refusal("user_in_flight", "user_in_flight")
        except TooManyPerMinute as exc:
            admitted.close()
            return Refusal("user_rate", "user_rate", {"count": max(1, round(exc.retry_in))})
        return admitted
