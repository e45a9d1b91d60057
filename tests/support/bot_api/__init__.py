"""The fake Telegram Bot API the bot's end-to-end tests run against (``server.FakeBotApi``, in
parts: ``updates``, ``messages``, ``files``, ``webhook``, ``calls``, ``protocol``, ``html``)."""

from tests.support.bot_api.calls import RateReport, RecordedCall, WaitTimeout, max_events_in_window
from tests.support.bot_api.files import DOWNLOAD_METHOD, MAX_DOWNLOAD_SIZE, photo_sizes_from_image
from tests.support.bot_api.protocol import UploadedFile
from tests.support.bot_api.server import DEFAULT_TOKEN, FakeBotApi

__all__ = [
    "DEFAULT_TOKEN",
    "DOWNLOAD_METHOD",
    "MAX_DOWNLOAD_SIZE",
    "FakeBotApi",
    "RateReport",
    "RecordedCall",
    "UploadedFile",
    "WaitTimeout",
    "max_events_in_window",
    "photo_sizes_from_image",
]
