"""What the bot does with each kind of update: small async handlers, PTB style.

Every photo gets exactly one answer: the look-alike picture, or one text saying why
not (busy, over the user's limits, no face, not an image, too large, failed). A photo or a
press is let in or refused by ``admission``, answered by ``look_alike`` and ``replies``, and
sent by ``telegram_io``; each update leaves one ``Outcome`` and one log line.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time

from telegram import (
    CallbackQuery,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    PhotoSize,
    Update,
    Video,
    VideoNote,
)
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from lookalike.answering import captions, metrics, replies, stats_chart
from lookalike.answering.admission import Refusal
from lookalike.answering.look_alike import MAX_DOWNLOAD_BYTES, MAX_VIDEO_BYTES, answer_photo
from lookalike.answering.outcome import UNSENT, Outcome
from lookalike.answering.services import Services
from lookalike.answering.texts import say
from lookalike.answering.translations import native_name
from lookalike.bot.delivery import answer_later, received_at
from lookalike.bot.telegram_io import download, pick_photo_size, send_answer, show_progress
from lookalike.engine.video import MAX_SECONDS
from lookalike.languages import DEFAULT, LANGUAGES, supported

log = logging.getLogger(__name__)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help. In a chat with CHAT_PENDING answers waiting, the help is sent from a
    task of its own, as "busy" is for photos: a group repeating commands holds up no one."""
    admitted = _services(context).admission.admit(_message(update).chat.id)
    if isinstance(admitted, Refusal):
        answer_later(context, update, _send_help(update, context, admitted.earlier))
        return
    with admitted:
        await _send_help(update, context)


async def _send_help(
    update: Update, context: ContextTypes.DEFAULT_TYPE, earlier: tuple[asyncio.Event, ...] = ()
) -> None:
    started = time.perf_counter()
    for answered in earlier:
        await answered.wait()
    await _message(update).reply_text(say(_lang(update, context), "start"))
    _log(context, update, Outcome("command", "help"), started)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats: the match analytics for ADMIN_IDS, a chart with the summary as its caption, in the
    admin's language; everyone else gets the help, as for /start."""
    services = _services(context)
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or user.id not in services.admin_ids:
        await start(update, context)
        return
    started = time.perf_counter()
    lang, build = _lang(update, context), services.reloader.current
    # both in a thread: the first after a reload gathers the gallery's names (a million at 1M)
    text = await asyncio.to_thread(services.analytics.summary, build, lang)
    chart = await asyncio.to_thread(stats_chart.draw, services.analytics, build, lang)
    if len(text) <= captions.CAPTION_LIMIT:  # the summary is ~5 short lines: always, in practice
        await message.reply_photo(chart, caption=text)
    else:
        await message.reply_photo(chart)
        await message.reply_text(text)
    _log(context, update, Outcome("command", "stats"), started)


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _answer_photo(update, context, "photo", pick_photo_size(_message(update).photo))


async def image_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    document = _message(update).document
    assert document is not None, "the handler's filter passes documents only"
    if document.file_size and document.file_size > MAX_DOWNLOAD_BYTES:
        started = time.perf_counter()
        outcome = Outcome("document", "too_large", fields={"bytes": document.file_size})
        await send_answer(_message(update), say(_lang(update, context), "too_large"), outcome)
        _log(context, update, outcome, started)
        return
    await _answer_photo(update, context, "document", document)


async def video_note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A round video message: answered from its sharpest frame with a face, like a photo."""
    note = _message(update).video_note
    assert note is not None, "the handler's filter passes video notes only"
    await _answer_video(update, context, "video_note", note, note.duration, note.file_size)


async def video(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A video, or a video sent as a file: the same, within the same limits."""
    message = _message(update)
    source = message.video or message.document
    assert source is not None, "the handler's filter passes videos only"
    duration = message.video.duration if message.video else None
    await _answer_video(update, context, "video", source, duration, source.file_size)


async def _answer_video(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    kind: str,
    source: Video | VideoNote | Document,
    duration: object,
    size: int | None,
) -> None:
    """Refused at once, before its download, when Telegram says it is over the limits."""
    seconds = duration.total_seconds() if hasattr(duration, "total_seconds") else duration
    refusal = None
    if isinstance(seconds, int | float) and seconds > MAX_SECONDS:
        refusal = Outcome(kind, "too_long", fields={"seconds": round(seconds)}), "video_too_long"
    elif size and size > MAX_VIDEO_BYTES:
        refusal = Outcome(kind, "too_large", fields={"bytes": size}), "video_too_large"
    if refusal is None:
        await _answer_photo(update, context, kind, source, is_video=True)
        return
    started = time.perf_counter()
    outcome, key = refusal
    text = say(_lang(update, context), key, count=MAX_SECONDS, megabytes=MAX_VIDEO_BYTES >> 20)
    await send_answer(_message(update), text, outcome)
    _log(context, update, outcome, started)


async def other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text, stickers, voice, other files: a hint to send a photo (in private chats only)."""
    started = time.perf_counter()
    message = _message(update)
    if message.chat.type != ChatType.PRIVATE:
        _log(context, update, Outcome("other", "ignored"), started)
        return
    await message.reply_text(say(_lang(update, context), "hint"))
    _log(context, update, Outcome("other", "hint"), started)


async def _answer_photo(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    kind: str,
    source: PhotoSize | Document | Video | VideoNote,
    is_video: bool = False,
) -> None:
    started = time.perf_counter()
    services, message, lang = _services(context), _message(update), _lang(update, context)
    admitted = services.admission.admit(
        message.chat.id, _user_id(message), uses_pool=True, received=received_at(context, update)
    )
    if isinstance(admitted, Refusal):
        refused = _refuse(update, context, kind, admitted, started)
        if admitted.earlier:  # a task holds no handler while the chat's earlier answers go first
            answer_later(context, update, refused)
        else:
            await refused
        return
    outcome = Outcome(kind, "match")
    with admitted:
        progress = show_progress(message) if message.chat.type == ChatType.PRIVATE else None
        fetch = functools.partial(download, source)
        reply = await answer_photo(services, fetch, lang, admitted, outcome, is_video)
        if progress is not None:
            progress.cancel()  # the answer is here already
        await _send(services, message, reply, outcome)
    _log(context, update, outcome, started)


async def _refuse(
    update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str, refusal: Refusal, started: float
) -> None:
    for answered in refusal.earlier:
        await answered.wait()
    outcome = Outcome(kind, refusal.reason)
    await _send(
        _services(context), _message(update), say(_lang(update, context), refusal.key, **refusal.values), outcome
    )
    _log(context, update, outcome, started)


async def _send(services: Services, message: Message, reply: replies.Reply | str, outcome: Outcome) -> None:
    with metrics.STAGE_SECONDS.labels("send").time():
        await send_answer(message, reply, outcome)
    if outcome.delivery != UNSENT:
        services.analytics.photo_answered(outcome.label, outcome.best_matches)


async def runner_up(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button under a reply. Presses count against the user's limits and the chat's waiting
    answers, as photos do (each sends a photo out of the bot's 30 a second and a group's 20
    a minute); one over a limit is told so in an alert, which is no message in the chat."""
    started = time.perf_counter()
    query = _query(update)
    chat_id = update.effective_chat.id if update.effective_chat else query.from_user.id
    admitted = _services(context).admission.admit(chat_id, query.from_user.id)
    if isinstance(admitted, Refusal):
        await query.answer(say(_lang(update, context), admitted.key, **admitted.values), show_alert=True)
        _log(context, update, Outcome("button", admitted.reason), started)
        return
    with admitted:
        outcome = await show_runner_up(update, context)
    _log(context, update, outcome, started)


async def show_runner_up(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Outcome:
    """Send the pressed button's celebrity photo, by file_id once Telegram has it."""
    query = _query(update)
    lang = _lang(update, context)
    build = _services(context).reloader.current
    if query.message is None:  # a button of an inline message: there is no chat to send to
        await query.answer(say(lang, "inline_button"), show_alert=True)
        return Outcome("button", "inline")
    shown = replies.runner_up(build, query.data or "", lang)
    if shown is None:  # an old build's button
        await query.answer(say(lang, "stale_button"), show_alert=True)
        return Outcome("button", "stale")
    await query.answer()
    chat_id = query.message.chat.id
    fields: dict[str, object] = {"celebrity": shown.name}
    file_id = build.file_ids.get(shown.id)
    if file_id is not None:
        await context.bot.send_photo(chat_id, file_id, caption=shown.credited)
        return Outcome("button", "thumbnail", fields={"source": "file_id", **fields})
    thumbnail = await asyncio.to_thread(build.thumbnail, shown.id)
    if thumbnail is None:
        await context.bot.send_message(chat_id, shown.caption)
        return Outcome("button", "no_thumbnail", fields=fields)
    sent = await context.bot.send_photo(chat_id, thumbnail, caption=shown.credited, filename=f"{shown.id}.jpg")
    build.file_ids[shown.id] = max(sent.photo, key=lambda size: size.width * size.height).file_id
    return Outcome("button", "thumbnail", fields={"source": "upload", **fields})


LANGUAGE_BUTTONS_PER_ROW = 3


async def choose_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/language: the languages as buttons, each in its own name (``l:<code>``)."""
    started = time.perf_counter()
    buttons = [InlineKeyboardButton(native_name(code), callback_data=f"l:{code}") for code in LANGUAGES]
    rows = [buttons[i : i + LANGUAGE_BUTTONS_PER_ROW] for i in range(0, len(buttons), LANGUAGE_BUTTONS_PER_ROW)]
    await _message(update).reply_text(
        say(_lang(update, context), "language_choose"), reply_markup=InlineKeyboardMarkup(rows)
    )
    _log(context, update, Outcome("command", "language"), started)


async def language_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press of a /language button: the choice kept (by the user's pseudonym), and said so,
    in the language chosen, in place of the buttons."""
    started = time.perf_counter()
    query = _query(update)
    code = (query.data or "").removeprefix("l:")
    if code not in LANGUAGES:
        await unknown_button(update, context)
        return
    await asyncio.to_thread(_services(context).languages.choose, query.from_user.id, code)
    await query.answer()
    text = say(code, "language_chosen")
    if query.message is not None:
        try:
            await query.edit_message_text(text)
        except BadRequest:  # the message is too old to edit, or gone
            await context.bot.send_message(query.message.chat.id, text)
    _log(context, update, Outcome("button", "language", fields={"language": code}), started)


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forget: the user's language choice deleted; the bot follows their Telegram's language again."""
    started = time.perf_counter()
    user = update.effective_user
    if user is not None:
        await asyncio.to_thread(_services(context).languages.forget, user.id)
    await _message(update).reply_text(say(_lang(update, context), "forgotten"))
    _log(context, update, Outcome("command", "forget"), started)


async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press of a button the bot never made (other data, a game's button): a short, true
    alert, so the user's button stops spinning."""
    started = time.perf_counter()
    await _query(update).answer(say(_lang(update, context), "unknown_button"), show_alert=True)
    data = _query(update).data
    _log(context, update, Outcome("button", "unknown", fields={"data": data[:64] if data else None}), started)


async def error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    update_id = update.update_id if isinstance(update, Update) else "-"
    log.error("update=%s failed: %r", update_id, context.error, exc_info=context.error)


def _message(update: Update) -> Message:
    message = update.effective_message
    assert message is not None, "the handler's filter passes updates with a message only"
    return message


def _query(update: Update) -> CallbackQuery:
    query = update.callback_query
    assert query is not None, "the handler is for callback queries only"
    return query


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.bot_data["services"]
    return services


def _user_id(message: Message) -> int:
    return message.from_user.id if message.from_user else message.chat.id


def _lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The language the user chose with /language, else their Telegram's (a regional variant
    as its language: "pt-br" is Portuguese), else English."""
    user = update.effective_user
    if user is None:
        return DEFAULT
    return _services(context).languages.get(user.id) or supported(user.language_code)


def _log(context: ContextTypes.DEFAULT_TYPE, update: Update, outcome: Outcome, started: float) -> None:
    """The update's one log line, naming the user by their pseudonym, never their id; with
    LOG_FORMAT=json its figures are the line's fields too."""
    seconds = time.perf_counter() - started
    metrics.update_handled(outcome.kind, outcome.label, seconds)
    user = update.effective_user
    pseudonym = _services(context).pseudonyms.of(user.id) if user else "-"
    extra = {key: value for key, value in outcome.fields.items() if value is not None}
    log.info(
        "update=%s user=%s kind=%s outcome=%s%s ms=%d",
        update.update_id,
        pseudonym,
        outcome.kind,
        outcome.logged,
        outcome.fields_text,
        seconds * 1000,
        extra={
            "fields": {
                "update": update.update_id,
                "user": pseudonym,
                "kind": outcome.kind,
                "outcome": outcome.logged,
                **extra,
                "ms": int(seconds * 1000),
            }
        },
    )
