"""What the answers share, whatever front end asks: the face pool, the build answering now (its
reloader), the limits that admit requests, the match analytics, the users' pseudonyms for the
log, and the languages users chose. ``Services.from_settings`` is the one way both front ends
make them, so that the bot's and the playground's pool and limits are the same settings'."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lookalike.answering.admission import Admission
from lookalike.answering.analytics import MatchAnalytics
from lookalike.answering.build_reload import BuildReloader
from lookalike.answering.chat_limits import ChatLimits
from lookalike.answering.face_pool import FacePool
from lookalike.answering.language_choice import LanguageChoices
from lookalike.answering.pseudonyms import Pseudonyms
from lookalike.answering.settings import AnsweringSettings
from lookalike.answering.user_limits import UserLimits


def face_pool(settings: AnsweringSettings) -> FacePool:
    """The face workers of ``settings`` (WORKERS, MAX_PENDING, MAX_WAIT_SECONDS), not started yet."""
    return FacePool(settings.workers, settings.max_pending, max_wait=settings.max_wait_seconds)


@dataclass
class Services:
    pool: FacePool
    reloader: BuildReloader
    limits: UserLimits
    chats: ChatLimits = field(default_factory=ChatLimits)
    analytics: MatchAnalytics = field(default_factory=MatchAnalytics)
    admin_ids: frozenset[int] = frozenset()
    pseudonyms: Pseudonyms = field(default_factory=Pseudonyms.of_this_run)
    """How the log names users (never by their id)."""
    languages_file: Path | None = None
    """Where users' /language choices are kept (None: in memory)."""

    @classmethod
    def from_settings(
        cls,
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
        limits; ``pool``: one made by ``face_pool(settings)`` and started already."""
        return cls(
            pool=pool or face_pool(settings),
            reloader=reloader,
            limits=UserLimits(settings.user_in_flight, settings.user_per_minute),
            chats=ChatLimits(settings.chat_pending),
            analytics=analytics or MatchAnalytics(),
            admin_ids=admin_ids,
            pseudonyms=pseudonyms or Pseudonyms.of_this_run(),
            languages_file=languages_file,
        )

    @cached_property
    def admission(self) -> Admission:
        return Admission(self.chats, self.limits, self.pool)

    @cached_property
    def languages(self) -> LanguageChoices:
        """The languages users chose, by their pseudonyms."""
        return LanguageChoices(self.languages_file, self.pseudonyms.of)
