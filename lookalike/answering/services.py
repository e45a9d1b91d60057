"""What the answers share, whatever front end asks: the face pool, the build answering now (its
reloader), the limits that admit requests (and MAX_WAIT_SECONDS, reckoned with the event loop's
lag, a reload in progress and the upstream's failures), the match analytics, the users' pseudonyms
for the log, and the languages users chose; ``front_end.services`` makes them from the settings."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lookalike.answering.admission import Admission, WaitReckoning
from lookalike.answering.analytics import MatchAnalytics
from lookalike.answering.build_reload import BuildReloader
from lookalike.answering.chat_limits import ChatLimits
from lookalike.answering.face_pool import FacePool
from lookalike.answering.language_choice import LanguageChoices
from lookalike.answering.loop_lag import LoopLag
from lookalike.answering.pseudonyms import Pseudonyms
from lookalike.answering.upstream import UpstreamTrouble
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
    max_wait: float = math.inf
    """MAX_WAIT_SECONDS: a photo that would be answered later is told "busy"."""
    loop_lag: LoopLag = field(default_factory=LoopLag)
    """The event loop's lag, measured once ``loop_lag.run()`` runs on it."""
    upstream: UpstreamTrouble = field(default_factory=UpstreamTrouble)
    """When the upstream (Telegram, for the bot) last failed a call: the front end tells it."""

    @cached_property
    def admission(self) -> Admission:
        reckoning = WaitReckoning(
            self.pool, self.max_wait, self.loop_lag, lambda: self.reloader.loading, lambda: self.upstream.last
        )
        return Admission(self.chats, self.limits, self.pool, reckoning)

    @cached_property
    def languages(self) -> LanguageChoices:
        """The languages users chose, by their pseudonyms."""
        return LanguageChoices(self.languages_file, self.pseudonyms.of)
