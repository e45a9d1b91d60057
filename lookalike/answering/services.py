"""What the answers share, whatever front end asks: the face pool, the build answering now (its
reloader), the limits that admit requests, the match analytics, the users' pseudonyms for the log,
and the languages users chose; ``front_end.services`` makes them from the settings."""

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
from lookalike.answering.user_limits import UserLimits


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

    @cached_property
    def admission(self) -> Admission:
        return Admission(self.chats, self.limits, self.pool)

    @cached_property
    def languages(self) -> LanguageChoices:
        """The languages users chose, by their pseudonyms."""
        return LanguageChoices(self.languages_file, self.pseudonyms.of)
