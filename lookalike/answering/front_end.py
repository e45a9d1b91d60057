"""What a front end makes to answer photos: the face pool and the services, from the answering
settings, the same way for the bot and the playground, so that their pools and limits are the
same settings' by construction."""

from __future__ import annotations

from pathlib import Path

from lookalike.answering.analytics import MatchAnalytics
from lookalike.answering.build_reload import BuildReloader
from lookalike.answering.chat_limits import ChatLimits
from lookalike.answering.face_pool import FacePool
from lookalike.answering.pseudonyms import Pseudonyms
from lookalike.answering.services import Services
from lookalike.answering.settings import AnsweringSettings
from lookalike.answering.user_limits import UserLimits


def face_pool(settings: AnsweringSettings) -> FacePool:
    """The face workers of ``settings`` (WORKERS, MAX_PENDING), not started yet."""
    return FacePool(settings.workers, settings.max_pending)


def services(
    settings: AnsweringSettings,
    reloader: BuildReloader,
    *,
    pool: FacePool | None = None,
    analytics: MatchAnalytics | None = None,
    admin_ids: frozenset[int] = frozenset(),
    pseudonyms: Pseudonyms | None = None,
    languages_file: Path | None = None,
) -> Services:
    """The services of a front end answering from ``reloader``'s builds within ``settings``'
    limits (USER_IN_FLIGHT, USER_PER_MINUTE, CHAT_PENDING, MAX_WAIT_SECONDS); ``pool``: one ``face_pool(settings)``
    made, started already."""
    return Services(
        pool=pool or face_pool(settings),
        reloader=reloader,
        limits=UserLimits(settings.user_in_flight, settings.user_per_minute),
        chats=ChatLimits(settings.chat_pending),
        analytics=analytics or MatchAnalytics(),
        admin_ids=admin_ids,
        pseudonyms=pseudonyms or Pseudonyms.of_this_run(),
        languages_file=languages_file,
        max_wait=settings.max_wait_seconds,
    )
