"""What the bot does with each kind of update: small async handlers, PTB style.

Every photo gets exactly one answer: the look-alike picture, or one text saying why
not (busy, over the user's limits, no face, not an image, too large, failed). The
answer is worked out first and sent once, in one place; each update leaves one log line.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from telegram import Document, File, Message, PhotoSize, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from lookalike.bot import captions, credits, metrics, replies, stats_chart
from lookalike.bot.analytics import MatchAnalytics
from lookalike.bot.chat_limits import ChatBusy, ChatLimits
from lookalike.bot.face_pool import Busy, FacePool, PhotoFailed
from lookalike.bot.index_reload import GalleryWatcher
from lookalike.bot.texts import language, say
from lookalike.bot.user_limits import TooManyInFlight, TooManyPerMinute, UserLimits
from lookalike.engine import imaging
from lookalike.engine.imaging import ImageError

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
"""Telegram lets bots download files of at most 20 MB."""

PIPELINE_SIDE = 800
"""The smallest PhotoSize whose longest side reaches this is enough: the detector looks at a
480 px copy and the embedding gains nothing from more pixels around a selfie's face."""

DOWNLOAD_TIMEOUT = 60.0

IMAGE_ERROR_TEXTS = {
    ImageError.EMPTY: "empty_file",
    ImageError.NOT_AN_IMAGE: "bad_image",
    ImageError.TRUNCATED: "damaged_image",
    ImageError.TOO_LARGE: "too_large",
    ImageError.TOO_MANY_PIXELS: "too_many_pixels",
}
"""The text that says truly why a file could not be read, by ``ImageError.reason``."""

CHAT_ACTION_DELAY = 0.5
"""Seconds before "sending a photo..." is shown: most answers come sooner, and a chat
action spends one of the 30 requests a second that answers need under load."""


@dataclass
class Services:
    """What the handlers share, kept in ``application.bot_data["services"]``."""

    pool: FacePool
    gallery: GalleryWatcher
    limits: UserLimits
    chats: ChatLimits = field(default_factory=ChatLimits)
    analytics: MatchAnalytics = field(default_factory=MatchAnalytics)
    admin_ids: frozenset[int] = frozenset()


class Refusal(Exception):
    """A photo answered with a text instead of a look-alike: ``key`` in texts, ``outcome`` for the log."""

    def __init__(self, key: str, outcome: str, **values: object):
        super().__init__(outcome)
        self.key, self.outcome, self.values = key, outcome, values


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help. In a chat with CHAT_PENDING answers waiting, the help is sent from a
    task of its own, as "busy" is for photos: a group repeating commands holds up no one."""
    chats = _services(context).chats
    try:
        with chats.admit(update.effective_chat.id):
            await _send_help(update)
    except ChatBusy:
        context.application.create_task(_send_help(update, chats.waiting(update.effective_chat.id)), update=update)


async def _send_help(update: Update, earlier: tuple[asyncio.Event, ...] = ()) -> None:
    started = time.perf_counter()
    for answered in earlier:
        await answered.wait()
    await update.effective_message.reply_text(say(_lang(update), "start"))
    _log(update, "command", "help", started)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats: the match analytics for ADMIN_IDS, a chart with the summary as its caption, in the
    admin's language; everyone else gets the help, as for /start."""
    services = _services(context)
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or user.id not in services.admin_ids:
        await start(update, context)
        return
    started = time.perf_counter()
    lang, gallery = _lang(update), services.gallery.current
    text = services.analytics.summary(gallery, lang)
    chart = await asyncio.to_thread(stats_chart.draw, services.analytics, gallery, lang)
    if len(text) <= captions.CAPTION_LIMIT:  # the summary is ~5 short lines: always, in practice
        await message.reply_photo(chart, caption=text)
    else:
        await message.reply_photo(chart)
        await message.reply_text(text)
    _log(update, "command", "stats", started)


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _answer_photo(update, context, "photo", pick_photo_size(update.effective_message.photo))


async def image_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    document = update.effective_message.document
    if document.file_size and document.file_size > MAX_DOWNLOAD_BYTES:
        started = time.perf_counter()
        await update.effective_message.reply_text(say(_lang(update), "too_large"))
        _log(update, "document", "too_large", started, bytes=document.file_size)
        return
    await _answer_photo(update, context, "document", document)


async def other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text, stickers, voice, other files: a hint to send a photo (in private chats only)."""
    started = time.perf_counter()
    message = update.effective_message
    if message.chat.type != ChatType.PRIVATE:
        _log(update, "other", "ignored", started)
        return
    await message.reply_text(say(_lang(update), "hint"))
    _log(update, "other", "hint", started)


def _limit_refusal(exc: ChatBusy | Busy | TooManyInFlight | TooManyPerMinute) -> Refusal:
    """What a photo or a press over a limit is told: the chat's or the pool's "busy", or the user's."""
    if isinstance(exc, TooManyPerMinute):
        return Refusal("user_rate", "user_rate", seconds=round(exc.retry_in))
    key = "user_in_flight" if isinstance(exc, TooManyInFlight) else "busy"
    return Refusal(key, key)


def _counted_press(handler):
    """A button handler whose presses count against the user's limits, as photos do (each
    press sends a photo out of the bot's 30 a second and a group's 20 a minute), and against
    the chat's waiting answers. A press over a limit is told so in an alert, which is no
    message in the chat."""

    @functools.wraps(handler)
    async def counted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        started = time.perf_counter()
        query, services = update.callback_query, _services(context)
        chat_id = update.effective_chat.id if update.effective_chat else query.from_user.id
        try:
            with services.chats.admit(chat_id), services.limits.admit(query.from_user.id):
                await handler(update, context)
        except (ChatBusy, TooManyInFlight, TooManyPerMinute) as exc:
            refusal = _limit_refusal(exc)
            await query.answer(say(_lang(update), refusal.key, **refusal.values), show_alert=True)
            _log(update, "button", refusal.outcome, started)

    return counted


@_counted_press
async def runner_up(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button under a reply: send that celebrity's photo, by file_id once Telegram has it."""
    started = time.perf_counter()
    query = update.callback_query
    lang = _lang(update)
    gallery = _services(context).gallery.current
    parsed = replies.parse_button(query.data or "")
    stale = parsed is None or parsed[0] != gallery.version or not 0 <= parsed[1] < len(gallery)
    if stale or query.message is None:  # an old gallery's button, or a message Telegram no longer has
        await query.answer(say(lang, "stale_button"), show_alert=True)
        _log(update, "button", "stale", started)
        return
    _, celebrity, percent = parsed
    await query.answer()
    entry = gallery.index.celebrity(celebrity)
    name = credits.shown_name(entry, lang)
    caption = say(lang, "thumbnail", name=name, percent=percent)
    credit = credits.photo_credit(entry, lang)
    credited = captions.cut_text(f"{caption}\n{credit}" if credit else caption)  # wherever the photo is shown
    chat_id = query.message.chat.id
    file_id = gallery.file_ids.get(celebrity)
    if file_id is not None:
        await context.bot.send_photo(chat_id, file_id, caption=credited)
        _log(update, "button", "thumbnail", started, source="file_id", celebrity=repr(name))
        return
    thumbnail = await asyncio.to_thread(gallery.thumbnail, celebrity)
    if thumbnail is None:
        await context.bot.send_message(chat_id, caption)
        _log(update, "button", "no_thumbnail", started, celebrity=repr(name))
        return
    sent = await context.bot.send_photo(chat_id, thumbnail, caption=credited, filename=f"{celebrity}.jpg")
    gallery.file_ids[celebrity] = max(sent.photo, key=lambda size: size.width * size.height).file_id
    _log(update, "button", "thumbnail", started, source="upload", celebrity=repr(name))


async def error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    update_id = update.update_id if isinstance(update, Update) else "-"
    log.error("update=%s failed: %r", update_id, context.error, exc_info=context.error)


def pick_photo_size(sizes: tuple[PhotoSize, ...], side: int = PIPELINE_SIDE) -> PhotoSize:
    """The smallest rendition whose longest side is at least ``side``, else the largest."""
    big_enough = [size for size in sizes if max(size.width, size.height) >= side]
    if big_enough:
        return min(big_enough, key=lambda size: size.width * size.height)
    return max(sizes, key=lambda size: size.width * size.height)


def _within_the_chat_s_share(answer):
    """Answer a photo only while its chat has fewer than CHAT_PENDING photos waiting for
    their answers; otherwise say "busy" from a task of its own, which (unlike a handler)
    holds none of the bot's concurrent updates while the chat's rate limit delays it, and
    which lets the answers accepted before it go first."""

    @functools.wraps(answer)
    async def shared(update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str, source) -> None:
        chats = _services(context).chats
        try:
            with chats.admit(update.effective_chat.id):
                await answer(update, context, kind, source)
        except ChatBusy:
            earlier = chats.waiting(update.effective_chat.id)
            context.application.create_task(_answer_chat_busy(update, kind, earlier), update=update)

    return shared


async def _answer_chat_busy(update: Update, kind: str, earlier: tuple[asyncio.Event, ...]) -> None:
    started = time.perf_counter()
    for answered in earlier:
        await answered.wait()
    try:
        await update.effective_message.reply_text(say(_lang(update), "busy"))
        outcome = "chat_busy"
    except TelegramError as exc:
        outcome = f"chat_busy-unsent({exc.__class__.__name__}: {exc})"
    _log(update, kind, outcome, started)


@_within_the_chat_s_share
async def _answer_photo(
    update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str, source: PhotoSize | Document
) -> None:
    started = time.perf_counter()
    message = update.effective_message
    lang = _lang(update)
    details: dict[str, object] = {}
    try:
        reply = await _look_alike(context, message, source, lang, details)
    except Refusal as refusal:
        reply, outcome = say(lang, refusal.key, **refusal.values), refusal.outcome
    except Exception:  # a bug must still get the user an answer
        log.exception("update=%s: unexpected failure", update.update_id)
        reply, outcome = say(lang, "failed"), "error"
    else:
        outcome = "match"
        details.update(top=repr(reply.top.name), percent=replies.percent(reply.top))
    action = details.pop("action", None)
    best_matches = details.pop("best_matches", [])
    if action is not None and not action.done():
        action.cancel()  # the answer is here already
    sending = time.perf_counter()
    try:
        outcome += await _send_answer(message, reply)
    except TelegramError as exc:
        outcome = f"{outcome}-unsent({exc.__class__.__name__}: {exc})"
    else:
        label = metrics.outcome_label(outcome)
        _services(context).analytics.photo_answered(label, best_matches if label == "match" else [])
    metrics.STAGE_SECONDS.labels("send").observe(time.perf_counter() - sending)
    _log(update, kind, outcome, started, **details)


async def _send_answer(message: Message, reply: replies.Reply | str) -> str:
    """Send the answer. A picture answer Telegram refuses (a 400: its caption, its picture,
    its buttons) goes again as plain text without buttons; returns what the log should add."""
    if isinstance(reply, str):
        await message.reply_text(reply)
        return ""
    try:
        await message.reply_photo(
            reply.picture, caption=reply.caption, parse_mode=ParseMode.HTML, reply_markup=reply.keyboard
        )
    except BadRequest as exc:
        await message.reply_text(captions.plain(reply.caption))
        return f"-as-text(BadRequest: {exc})"
    return ""


async def _look_alike(
    context: ContextTypes.DEFAULT_TYPE, message: Message, source: PhotoSize | Document, lang: str, details: dict
) -> replies.Reply:
    services = _services(context)
    user_id = message.from_user.id if message.from_user else message.chat.id
    try:
        # Busy first: a photo turned away for load does not count against the user's minute.
        with services.pool.reserve(), services.limits.admit(user_id):
            if message.chat.type == ChatType.PRIVATE:  # a group's 20 messages a minute are for answers
                details["action"] = asyncio.create_task(_chat_action(message))
            with metrics.STAGE_SECONDS.labels("download").time():
                data = await _download(source)
            details["bytes"] = len(data)
            with metrics.STAGE_SECONDS.labels("faces").time():
                analysis = await services.pool.analyse(data)
    except (TooManyInFlight, TooManyPerMinute, Busy) as exc:
        raise _limit_refusal(exc) from exc
    except PhotoFailed as exc:
        raise Refusal("failed", f"failed({exc})") from exc
    if analysis.error is not None:
        raise Refusal(
            IMAGE_ERROR_TEXTS.get(analysis.error, "bad_image"),
            f"bad_image({analysis.error})",
            jpeg_mp=imaging.MAX_JPEG_PIXELS // 1_000_000,
            other_mp=imaging.MAX_PIXELS // 1_000_000,
        )
    details["faces"] = len(analysis.faces)
    metrics.FACES.observe(len(analysis.faces))
    if not analysis.faces:
        raise Refusal("no_face", "no_face")
    gallery = services.gallery.current  # one gallery for the whole answer, even across a reload
    answers = gallery.index.look_alikes(analysis.embeddings, k=3)  # what model.py prints, too
    details["best_matches"] = [answer.matches[0].name for answer in answers if answer.matches]
    if len(analysis.faces) == 1:
        answer = answers[0]
        return await asyncio.to_thread(replies.one_face, lang, analysis, answer.matches, gallery, answer.other)
    return replies.several_faces(lang, analysis, [answer.matches for answer in answers], gallery)


async def _download(source: PhotoSize | Document) -> bytes:
    """The file's bytes, in memory only."""
    try:
        file = await source.get_file()
        if file.get_bot().local_mode and Path(file.file_path).is_absolute():
            return await _read_local(file.file_path)
        file = _remote(file)
        return bytes(await file.download_as_bytearray(read_timeout=DOWNLOAD_TIMEOUT))
    except BadRequest as exc:
        if "too big" in str(exc).lower():
            raise Refusal("too_large", "too_large") from exc
        raise Refusal("download_failed", f"download_failed({exc})") from exc
    except TelegramError as exc:
        raise Refusal("download_failed", f"download_failed({exc.__class__.__name__}: {exc})") from exc


async def _read_local(path: str) -> bytes:
    """A file on the disk of a self-hosted Bot API server in --local mode (TELEGRAM_LOCAL_MODE=1),
    which gives absolute paths and serves no downloads; read in a thread, off the event loop."""
    try:
        return await asyncio.to_thread(Path(path).read_bytes)
    except OSError as exc:
        raise Refusal("download_failed", f"download_failed({exc.__class__.__name__}: {exc.strerror})") from exc


def _remote(file: File) -> File:
    """The file as a download URL, never a local path.

    PTB keeps Telegram's relative path (e.g. ``photos/file_7.jpg``) when a file of that
    name exists under the working directory, and would then read that file instead.
    """
    if file.file_path.startswith(("http://", "https://")):
        return file
    url = f"{file.get_bot().base_file_url}/{file.file_path}"
    remote = File(file.file_id, file.file_unique_id, file_size=file.file_size, file_path=url)
    remote.set_bot(file.get_bot())
    return remote


async def _chat_action(message: Message) -> None:
    await asyncio.sleep(CHAT_ACTION_DELAY)  # cancelled if the answer is ready by then
    try:
        await message.reply_chat_action(ChatAction.UPLOAD_PHOTO)
    except TelegramError as exc:  # only a courtesy: never fails the answer
        log.debug("chat action failed: %s", exc)


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data["services"]


def _lang(update: Update) -> str:
    user = update.effective_user
    return language(user.language_code if user else None)


def _log(update: Update, kind: str, outcome: str, started: float, **details: object) -> None:
    metrics.update_handled(kind, outcome, time.perf_counter() - started)
    user = update.effective_user
    extra = "".join(f" {key}={value}" for key, value in details.items() if value is not None)
    log.info(
        "update=%s user=%s kind=%s outcome=%s%s ms=%d",
        update.update_id,
        user.id if user else "-",
        kind,
        outcome,
        extra,
        (time.perf_counter() - started) * 1000,
    )
