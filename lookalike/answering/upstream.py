"""When the service that carries the answers (Telegram, for the bot) last failed a call."""

from __future__ import annotations

import time
from collections.abc import Callable


class UpstreamTrouble:
    """When the front end's upstream last failed a call: for the bot, a 5xx, a 429 or a network
    error from Telegram (``bot.app.UjsonRequest`` tells it). Admission leaves such times out of
    what it reckons the answers' own capacity: an answer held up by Telegram comes once Telegram
    is back, and a "busy" would wait as long."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.last = -float("inf")
        """``time.monotonic()`` of the last failure."""

    def failed(self) -> None:
        self.last = self._clock()
