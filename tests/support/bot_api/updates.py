"""Updates in the fake Bot API: what a test queues (a chat's message of any kind, a button's
press, any raw update) and ``getUpdates``, the long poll that hands them to the bot, confirmed
by its offset as Telegram confirms them."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from tests.support.bot_api.files import default_sticker, image_dimensions, photo_sizes_from_image
from tests.support.bot_api.protocol import ApiError, Request, int_param

#: Update types Telegram leaves out unless ``allowed_updates`` names them explicitly.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CHAT_TYPES = frozenset({"private", "group", "supergroup"})


def _utf16_length(text: str) -> int:
    """Telegram measures entity offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]]:
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": _utf16_length(command)}]


class Updates:
    """The updates a test queues and the bot polls for (a part of ``FakeBotApi``)."""

    webhook_url: str
    _lock: threading.RLock
    _pending_updates: list[dict[str, Any]]
    _allowed_updates: list[str]
    _update_ids: itertools.count[int]
    _message_ids: itertools.count[int]
    _chats: dict[int, dict[str, Any]]
    _messages: dict[tuple[int, int], dict[str, Any]]
    _loop: asyncio.AbstractEventLoop | None
    _closing: bool
    _updates_changed: asyncio.Event | None
    _polls_waiting: int

    async def _get_updates(self, request: Request) -> list[dict[str, Any]]:
        """Long polling: answer as soon as updates at or after ``offset`` exist, or at timeout."""
        if self.webhook_url:
            raise ApiError(
                HTTPStatus.CONFLICT,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        params = request.params
        offset = int_param(params, "offset", 0)
        limit = min(max(int_param(params, "limit", 100), 1), 100)
        timeout = max(int_param(params, "timeout", 0), 0)
        if "allowed_updates" in params:
            with self._lock:
                self._allowed_updates = list(params["allowed_updates"] or [])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with self._lock:
            self._polls_waiting += 1
        try:
            return await self._poll_until(offset, limit, deadline)
        finally:
            with self._lock:
                self._polls_waiting -= 1

    async def _poll_until(self, offset: int, limit: int, deadline: float) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        while True:
            # Grab the event before looking, so an update queued in between still wakes us.
            changed = self._updates_changed
            with self._lock:
                self._confirm_updates(offset)
                batch = [dict(update) for update in self._pending_updates[:limit]]
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                return batch
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return []

    def _confirm_updates(self, offset: int) -> None:
        """Forget updates like Telegram: below a positive offset, or all but the last -offset."""
        pending = self._pending_updates
        if offset > 0:
            pending = [u for u in pending if u["update_id"] >= offset]
        elif offset < 0:
            pending = pending[offset:]
        self._pending_updates = [u for u in pending if self._is_allowed(u)]

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in OPT_IN_UPDATE_TYPES

    def _wake_long_polls(self) -> None:
        """Wake every waiting getUpdates; runs on the server loop."""
        if self._updates_changed is not None:
            self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    def add_chat(self, chat_id: int, chat_type: str = "private", **fields: Any) -> dict:
        """Make a chat known, so the bot may send to it (unknown chats get "chat not found")."""
        if chat_type not in CHAT_TYPES:
            raise ValueError(f"chat_type must be one of {sorted(CHAT_TYPES)}, not {chat_type!r}")
        if (chat_type == "private") != (chat_id > 0):
            raise ValueError(
                f"{chat_type} chat id {chat_id} has the wrong sign: private chats use the "
                "user's positive id, group chats negative ids"
            )
        chat = {"id": chat_id, "type": chat_type, **fields}
        if chat_type != "private":
            chat.setdefault("title", f"Test {chat_type} {-chat_id}")
        with self._lock:
            self._chats.setdefault(chat_id, {}).update(chat)
            return dict(self._chats[chat_id])

    def add_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue any raw update; it gets the next (monotonically increasing) update_id."""
        with self._lock:
            queued = {**update, "update_id": next(self._update_ids)}
            self._pending_updates.append(queued)
        if self._loop is not None and not self._closing:
            self._loop.call_soon_threadsafe(self._wake_long_polls)
        return queued

    def send_message_update(
        self,
        user_id: int,
        content: dict[str, Any],
        chat_id: int | None = None,
        *,
        language_code: str | None = "en",
        chat_type: str = "private",
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """Queue a message from ``user_id`` whose content fields (text, photo, ...) are given.

        Private chats use the user's id; group and supergroup chats need an explicit
        negative ``chat_id``.
        """
        if chat_type == "private":
            if chat_id not in (None, user_id):
                raise ValueError(f"a private chat's id is the user's id {user_id}, not {chat_id}")
            chat_id = user_id
        elif chat_id is None:
            raise ValueError(f"{chat_type} chats need an explicit negative chat_id")
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"Tester{user_id}",
            "username": f"tester{user_id}",
        }
        if language_code:
            user["language_code"] = language_code
        profile = {k: user[k] for k in ("first_name", "username")}
        chat = self.add_chat(chat_id, chat_type, **(profile if chat_type == "private" else {}))
        with self._lock:
            message = {
                "message_id": next(self._message_ids),
                "from": user,
                "chat": chat,
                "date": int(time.time()),
                **content,
            }
            self._messages[(chat_id, message["message_id"])] = message
        return self.add_update({"message": message})

    def send_text_update(self, user_id: int, text: str, chat_id: int | None = None, **kwargs: Any) -> dict[str, Any]:
        """Queue a text message; a leading ``/command`` gets its ``bot_command`` entity."""
        content: dict[str, Any] = {"text": text}
        if entities := command_entities(text):
            content["entities"] = entities
        return self.send_message_update(user_id, content, chat_id, **kwargs)

    def send_photo_update(
        self,
        user_id: int,
        chat_id: int | None = None,
        *,
        sizes: bytes | Sequence[tuple[int, int, bytes]],
        caption: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Queue a photo message; ``sizes`` is one image (renditions made with Pillow, see
        :func:`photo_sizes_from_image`) or explicit ``(width, height, bytes)``, smallest first."""
        renditions = photo_sizes_from_image(sizes) if isinstance(sizes, bytes) else sizes
        with self._lock:
            content: dict[str, Any] = {"photo": self._register_photo_set(renditions)}
        if caption is not None:
            content["caption"] = caption
        return self.send_message_update(user_id, content, chat_id, **kwargs)

    def send_document_update(
        self,
        user_id: int,
        data: bytes,
        mime_type: str,
        file_name: str,
        file_size: int | None = None,
        chat_id: int | None = None,
        *,
        caption: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Queue a document message; ``file_size`` may claim more than ``len(data)``."""
        with self._lock:
            stored = self._store_file("document", data, file_name=file_name, mime_type=mime_type, file_size=file_size)
        content: dict[str, Any] = {"document": stored.as_document()}
        if caption is not None:
            content["caption"] = caption
        return self.send_message_update(user_id, content, chat_id, **kwargs)

    def send_sticker_update(
        self,
        user_id: int,
        chat_id: int | None = None,
        *,
        data: bytes | None = None,
        emoji: str | None = "😀",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Queue a (static, 512x512 WEBP by default) sticker message."""
        data = data if data is not None else default_sticker()
        width, height = image_dimensions(data)
        with self._lock:
            stored = self._store_file("sticker", data, mime_type="image/webp", width=width, height=height)
        content = {"sticker": stored.as_sticker(emoji)}
        return self.send_message_update(user_id, content, chat_id, **kwargs)

    def send_video_note_update(
        self,
        user_id: int,
        data: bytes,
        *,
        duration: int,
        length: int = 384,
        file_size: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Queue a round video message (MP4, ``length`` px square); ``file_size`` may claim more."""
        with self._lock:
            stored = self._store_file("video_note", data, mime_type="video/mp4", file_size=file_size)
        note = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "length": length,
            "duration": duration,
            "file_size": stored.file_size,
        }
        return self.send_message_update(user_id, {"video_note": note}, **kwargs)

    def send_video_update(
        self,
        user_id: int,
        data: bytes,
        *,
        duration: int,
        width: int,
        height: int,
        file_size: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Queue a video message (MP4); ``file_size`` may claim more than ``len(data)``."""
        with self._lock:
            stored = self._store_file("video", data, mime_type="video/mp4", file_size=file_size)
        clip = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "duration": duration,
            "mime_type": "video/mp4",
            "file_size": stored.file_size,
        }
        return self.send_message_update(user_id, {"video": clip}, **kwargs)
