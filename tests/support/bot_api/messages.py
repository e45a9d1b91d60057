"""Messages in the fake Bot API: what the bot sends (``sendMessage``, ``sendPhoto``,
``sendDocument``, ``sendChatAction``, ``editMessageText``, ``deleteMessage``), checked as Telegram
checks them (the chat exists; the text or caption within its length once its HTML markup is
parsed, which must be sound: ``html``; a reply to a message that is gone), and kept by chat."""

from __future__ import annotations

import itertools
import time
from typing import Any

from tests.support.bot_api.files import StoredFile, guess_mime_type
from tests.support.bot_api.html import HtmlError, parse_html, telegram_length
from tests.support.bot_api.protocol import Request, UploadedFile, bad_request

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


class Messages:
    """The bot's messages and the chats they go to (a part of ``FakeBotApi``)."""

    bot_user: dict[str, Any]
    _message_ids: itertools.count[int]
    _chats: dict[int, dict[str, Any]]
    _messages: dict[tuple[int, int], dict[str, Any]]
    _files: dict[str, StoredFile]
    _photo_sets: dict[str, tuple[str, ...]]

    def _send_message(self, request: Request) -> dict[str, Any]:
        chat = self._target_chat(request)
        text = request.params.get("text", "")
        if not text.strip():
            raise bad_request("message text is empty")
        if telegram_length(parsed(request, text)) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return self._bot_message(chat, request, {"text": text})

    def _send_photo(self, request: Request) -> dict[str, Any]:
        chat = self._target_chat(request)
        caption = self._caption(request)
        source = self._resolve_media(request, "photo")
        if isinstance(source, UploadedFile):
            photo = self._register_uploaded_photo(source.data)
        else:
            photo_set = self._photo_sets[source.file_id]
            photo = [self._files[file_id].as_photo_size() for file_id in photo_set]
        return self._bot_message(chat, request, {"photo": photo, **caption})

    def _send_document(self, request: Request) -> dict[str, Any]:
        chat = self._target_chat(request)
        caption = self._caption(request)
        source = self._resolve_media(request, "document")
        if isinstance(source, UploadedFile):
            source = self._store_file(
                "document",
                source.data,
                file_name=source.filename,
                mime_type=guess_mime_type(source.filename, source.content_type),
            )
        return self._bot_message(chat, request, {"document": source.as_document(), **caption})

    def _send_chat_action(self, request: Request) -> bool:
        self._target_chat(request)
        if request.params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _edit_message_text(self, request: Request) -> dict[str, Any]:
        chat = self._target_chat(request)
        message = self._messages.get((chat["id"], request.params.get("message_id")))
        if message is None or message["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message to edit not found")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text = request.params.get("text", "")
        if not text.strip():
            raise bad_request("message text is empty")
        if text == message["text"]:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a content and reply markup of the current message"
            )
        message.update(text=text, edit_date=int(time.time()))
        return dict(message)

    def _delete_message(self, request: Request) -> bool:
        chat = self._target_chat(request)
        if self._messages.pop((chat["id"], request.params.get("message_id")), None) is None:
            raise bad_request("message to delete not found")
        return True

    def _target_chat(self, request: Request) -> dict[str, Any]:
        chat_id = request.params.get("chat_id")
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        chat = self._chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    @staticmethod
    def _caption(request: Request) -> dict[str, str]:
        caption = request.params.get("caption")
        if not caption:
            return {}
        if telegram_length(parsed(request, caption)) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        return {"caption": caption}

    def _resolve_media(self, request: Request, field_name: str) -> UploadedFile | StoredFile:
        """Find the upload or the stored file a send method refers to; sets media_source."""
        value = request.params.get(field_name)
        upload = request.files.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = request.files.get(value.removeprefix("attach://"))
        if upload is not None:
            request.media_source = "upload"
            return upload
        if not value:
            raise bad_request(f"there is no {field_name} in the request")
        if value.startswith(("http://", "https://")):
            request.media_source = "url"
            raise bad_request("failed to get HTTP URL content")
        request.media_source = "file_id"
        stored = self._files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != field_name:
            raise bad_request(f"can't use file of type {stored.kind.title()} as {field_name.title()}")
        return stored

    def _bot_message(self, chat: dict[str, Any], request: Request, content: dict[str, Any]) -> dict[str, Any]:
        replied = self._replied_message(chat, request)
        message = {
            "message_id": next(self._message_ids),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(time.time()),
            **content,
        }
        if replied is not None:
            message["reply_to_message"] = dict(replied)
        markup = request.params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes only inline keyboards
        self._messages[(chat["id"], message["message_id"])] = message
        return dict(message)

    def _replied_message(self, chat: dict[str, Any], request: Request) -> dict[str, Any] | None:
        """The message a send quotes, if any. One that is gone (deleted by its sender or an
        admin) fails the send unless ``allow_sending_without_reply`` lets it go unquoted."""
        parameters = request.params.get("reply_parameters")
        if isinstance(parameters, dict):
            message_id = parameters.get("message_id")
            unquoted_ok = bool(parameters.get("allow_sending_without_reply"))
        else:
            message_id = request.params.get("reply_to_message_id")
            unquoted_ok = bool(request.params.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        replied = self._messages.get((chat["id"], int(message_id)))
        if replied is None and not unquoted_ok:
            raise bad_request("message to be replied not found")
        return replied

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """Delete a message, as its sender or an anti-spam bot does: replies to it now fail."""
        with self._lock:
            del self._messages[(chat_id, message_id)]


def parsed(request: Request, text: str) -> str:
    """The text as Telegram counts it: after parsing its markup, which must be sound."""
    if str(request.params.get("parse_mode", "")).upper() != "HTML":
        return text
    try:
        return parse_html(text)
    except HtmlError as exc:
        raise bad_request(f"can't parse entities: {exc}") from exc
