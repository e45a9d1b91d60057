"""What the bot's answers share, whatever front end asks: the face pool, the index answering
now, the limits that admit requests (and MAX_WAIT_SECONDS, reckoned with the event loop's lag
and a reload in progress), the match analytics, the users' pseudonyms for the log, and the
languages users chose."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lookalike.bot.admission import Admission, WaitReckoning
from lookalike.bot.analytics import MatchAnalytics
from lookalike.bot.chat_limits import ChatLimits
from lookalike.bot.face_pool import FacePool
from lookalike.bot.index_reload import AssetsWatcher
from lookalike.bot.language_choice import LanguageChoices
from lookalike.bot.loop_lag import LoopLag
from lookalike.bot.pseudonyms import Pseudonyms
from lookalike.bot.telegram_retry import TelegramTrouble
from lookalike.bot.user_limits import UserLimits


@dataclass
class Services:
    pool: FacePool
    assets: AssetsWatcher
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
    telegram: TelegramTrouble = field(default_factory=TelegramTrouble)
    """When Telegram last failed a call (the bot's requests tell it)."""

    @cached_property
    def admission(self) -> Admission:
        reckoning = WaitReckoning(
            self.pool, self.max_wait, self.loop_lag, lambda: self.assets.loading, lambda: self.telegram.last
        )
        return Admission(self.chats, self.limits, self.pool, reckoning)

    @cached_property
    def languages(self) -> LanguageChoices:
        """The languages users chose, by their pseudonyms."""
        return LanguageChoices(self.languages_file, self.pseudonyms.of)
