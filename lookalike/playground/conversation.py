"""What the playground answers: the bot's own answers, as the page draws them.

A photo goes through the bot's door (``Admission``) and way (``look_alike.answer_photo``)
exactly as a Telegram photo does, with the same limits: a file over the bot's 20 MB is
"too large" before it is read, the decoder's pixel limits and the face pool are the same.
Its bytes come from the upload, in memory, and are never written. A button press is the
bot's runner-up (``replies.runner_up``) after the same admission. Each answer is a
``Message``: what Telegram would show, as JSON for the page (the picture as a data: URL,
the caption as the bot's HTML, the buttons with the data a press sends back).
"""

from __future__ import annotations

import asyncio
import base64
import html
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lookalike.answering import metrics, replies
from lookalike.answering.admission import Refusal
from lookalike.answering.look_alike import MAX_DOWNLOAD_BYTES, answer_photo
from lookalike.answering.outcome import Outcome
from lookalike.answering.services import Services
from lookalike.answering.texts import say

log = logging.getLogger(__name__)


@dataclass
class Message:
    """One message of the bot, as the page shows it. ``alert``: a pop-up, as Telegram shows a
    refused button press, not a message in the chat."""

    text: str = ""  # plain text
    caption: str = ""  # the picture's caption, HTML as Telegram reads it (<b>, <a href>)
    picture: str | None = None  # a data: URL
    buttons: list[list[dict[str, str]]] = field(default_factory=list)  # rows of {"label", "data"}
    alert: str | None = None
    outcome: str = ""  # what the bot's log says of it: match, no_face, busy...

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def photo(services: Services, visitor: int, data: bytes, lang: str) -> Message:
    """The answer to a photo sent by ``visitor`` (a browser's id, standing for a Telegram user
    and their private chat)."""
    started = time.perf_counter()
    if len(data) > MAX_DOWNLOAD_BYTES:  # what Telegram would not let the bot download
        return too_large(len(data), lang)
    admitted = services.admission.admit(visitor, visitor, uses_pool=True)
    if isinstance(admitted, Refusal):
        services.analytics.photo_answered(admitted.reason)
        return _done(Outcome("document", admitted.reason), say(lang, admitted.key, **admitted.values), started)
    outcome = Outcome("document", "match")
    with admitted:
        reply = await answer_photo(services, _bytes(data), lang, admitted, outcome)
    services.analytics.photo_answered(outcome.label, outcome.best_matches)
    if isinstance(reply, str):
        return _done(outcome, reply, started)
    message = Message(
        caption=reply.caption,
        picture=_data_url(reply.picture),
        buttons=[[{"label": button.label, "data": button.data} for button in row] for row in reply.buttons],
    )
    return _done(outcome, message, started)


def too_large(size: int, lang: str) -> Message:
    """The bot's answer to a file larger than Telegram lets it download (``size`` bytes or more)."""
    return _done(Outcome("document", "too_large", fields={"bytes": size}), say(lang, "too_large"), time.perf_counter())


async def press(services: Services, visitor: int, data: str, lang: str) -> Message:
    """The answer to a button press: the runner-up's photo and credited name, or an alert."""
    started = time.perf_counter()
    admitted = services.admission.admit(visitor, visitor)
    if isinstance(admitted, Refusal):
        return _done(
            Outcome("button", admitted.reason), Message(alert=say(lang, admitted.key, **admitted.values)), started
        )
    with admitted:
        build = services.reloader.current
        shown = replies.runner_up(build, data, lang)
        if shown is None:  # an older build's button
            return _done(Outcome("button", "stale"), Message(alert=say(lang, "stale_button")), started)
        thumbnail = await asyncio.to_thread(build.thumbnail, shown.id)
    outcome = Outcome("button", "thumbnail" if thumbnail else "no_thumbnail", fields={"celebrity": shown.name})
    if thumbnail is None:
        return _done(outcome, shown.caption, started)
    return _done(outcome, Message(caption=html.escape(shown.credited), picture=_data_url(thumbnail)), started)


def _bytes(data: bytes) -> Callable[[], Awaitable[bytes]]:
    async def fetch() -> bytes:
        return data

    return fetch


def _data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def _done(outcome: Outcome, answer: Message | str, started: float) -> Message:
    """The answer, with the log line and metrics the bot leaves for the same outcome."""
    message = answer if isinstance(answer, Message) else Message(text=answer)
    message.outcome = outcome.label
    metrics.update_handled(outcome.kind, outcome.label, time.perf_counter() - started)
    log.info(
        "playground kind=%s outcome=%s%s ms=%d",
        outcome.kind,
        outcome.logged,
        outcome.fields_text,
        (time.perf_counter() - started) * 1000,
    )
    return message
