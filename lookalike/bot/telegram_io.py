"""The Telegram edge of an answer: a photo's bytes downloaded from the Bot API, and an answer
sent back (the picture with its inline keyboard, or plain text). What is answered is decided
elsewhere (``look_alike``, ``replies``), without Telegram."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from telegram import Document, File, InlineKeyboardButton, InlineKeyboardMarkup, Message, PhotoSize, Video, VideoNote
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError

from lookalike.answering import captions, replies
from lookalike.answering.look_alike import Declined
from lookalike.answering.outcome import Outcome
from lookalike.bot.telegram_retry import patiently

log = logging.getLogger(__name__)

PIPELINE_SIDE = 800
"""The smallest PhotoSize whose longest side reaches this is enough: the detector looks at a
480 px copy and the embedding gains nothing from more pixels around a selfie's face."""

DOWNLOAD_TIMEOUT = 60.0

CHAT_ACTION_DELAY = 0.5
"""Seconds before "sending a photo..." is shown: most answers come sooner, and a chat
action spends one of the 30 requests a second that answers need under load."""


def pick_photo_size(sizes: tuple[PhotoSize, ...], side: int = PIPELINE_SIDE) -> PhotoSize:
    """The smallest rendition whose longest side is at least ``side``, else the largest."""
    big_enough = [size for size in sizes if max(size.width, size.height) >= side]
    if big_enough:
        return min(big_enough, key=lambda size: size.width * size.height)
    return max(sizes, key=lambda size: size.width * size.height)


async def download(source: PhotoSize | Document | Video | VideoNote) -> bytes:
    """The file's bytes, in memory only, tried again through Telegram's failures (getFile by
    the bot's rate limiter, the download here); a failure is ``Declined`` with its true reason."""
    try:
        file = await source.get_file()
        bot = file.get_bot()
        if file.file_path is None:
            raise Declined("download_failed", "download_failed", "getFile gave no file_path")
        if bot.local_mode and Path(file.file_path).is_absolute():
            return await _read_local(file.file_path)
        file = _remote(file, file.file_path)
        seconds = getattr(getattr(bot, "rate_limiter", None), "retry_seconds", 0.0)

        async def fetch() -> bytearray:
            return await file.download_as_bytearray(read_timeout=DOWNLOAD_TIMEOUT)

        return bytes(await patiently(fetch, "download", seconds))
    except BadRequest as exc:
        if "too big" in str(exc).lower():
            raise Declined("too_large", "too_large") from exc
        raise Declined("download_failed", "download_failed", str(exc)) from exc
    except TelegramError as exc:
        raise Declined("download_failed", "download_failed", f"{exc.__class__.__name__}: {exc}") from exc


async def _read_local(path: str) -> bytes:
    """A file on the disk of a self-hosted Bot API server in --local mode (TELEGRAM_LOCAL_MODE=1),
    which gives absolute paths and serves no downloads; read in a thread, off the event loop."""
    try:
        return await asyncio.to_thread(Path(path).read_bytes)
    except OSError as exc:
        raise Declined("download_failed", "download_failed", f"{exc.__class__.__name__}: {exc.strerror}") from exc


def _remote(file: File, path: str) -> File:
    """The file as a download URL, never a local path.

    PTB keeps Telegram's relative path (e.g. ``photos/file_7.jpg``) when a file of that
    name exists under the working directory, and would then read that file instead.
    """
    if path.startswith(("http://", "https://")):
        return file
    url = f"{file.get_bot().base_file_url}/{path}"
    remote = File(file.file_id, file.file_unique_id, file_size=file.file_size, file_path=url)
    remote.set_bot(file.get_bot())
    return remote


def keyboard(buttons: list[list[replies.Button]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in buttons])


async def send_answer(message: Message, reply: replies.Reply | str, outcome: Outcome) -> None:
    """Send the answer, and say in ``outcome`` how it went. A picture answer Telegram refuses (a
    400: its caption, its picture, its buttons) goes again as plain text without buttons."""
    try:
        if isinstance(reply, str):
            await message.reply_text(reply)
            return
        try:
            await message.reply_photo(
                reply.picture, caption=reply.caption, parse_mode=ParseMode.HTML, reply_markup=keyboard(reply.buttons)
            )
        except BadRequest as exc:
            await message.reply_text(captions.plain(reply.caption))
            outcome.sent_as_text(f"BadRequest: {exc}")
    except TelegramError as exc:
        outcome.not_sent(f"{exc.__class__.__name__}: {exc}")


def show_progress(message: Message) -> asyncio.Task[None]:
    """ "Sending a photo..." in the chat if the answer is not ready within CHAT_ACTION_DELAY;
    cancel the task once it is."""
    return asyncio.create_task(_chat_action(message))


async def _chat_action(message: Message) -> None:
    await asyncio.sleep(CHAT_ACTION_DELAY)  # cancelled if the answer is ready by then
    try:
        await message.reply_chat_action(ChatAction.UPLOAD_PHOTO)
    except TelegramError as exc:  # only a courtesy: never fails the answer
        log.debug("chat action failed: %s", exc)
