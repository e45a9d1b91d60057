"""Files in the fake Bot API: the bytes it keeps (``StoredFile``, the renditions Telegram makes
of a photo), ``getFile``, their downloads (``{url}/file/bot<token>/<file_path>``, held back on
a test's word), and the files a test registers."""

from __future__ import annotations

import asyncio
import io
import itertools
import mimetypes
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aiohttp import web
from PIL import Image, ImageOps

from tests.support.bot_api.protocol import ApiError, Fault, Request, bad_request

#: Pseudo method name under which file downloads are recorded.
DOWNLOAD_METHOD = "downloadFile"
#: Telegram refuses ``getFile`` for files above this size (the bot's 20 MB limit).
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
#: Longest side of the JPEG renditions Telegram keeps of a photo, smallest first.
PHOTO_SIDES = (90, 320, 800, 1280)
FILE_ID_PREFIXES = {"photo": "AgAC", "document": "BQAC", "sticker": "CAAC", "video_note": "DQAC", "video": "BAAC"}
_FILE_FOLDERS = {
    "photo": "photos",
    "document": "documents",
    "sticker": "stickers",
    "video_note": "video_notes",
    "video": "videos",
}


@dataclass(frozen=True)
class StoredFile:
    kind: str
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    #: Declared size; may exceed ``len(data)`` to simulate huge files cheaply.
    file_size: int
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None

    def as_file(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }

    def as_photo_size(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.file_size,
        }

    def as_document(self) -> dict[str, Any]:
        document = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }
        if self.file_name:
            document["file_name"] = self.file_name
        if self.mime_type:
            document["mime_type"] = self.mime_type
        return document

    def as_sticker(self, emoji: str | None) -> dict[str, Any]:
        sticker = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "type": "regular",
            "width": self.width,
            "height": self.height,
            "is_animated": False,
            "is_video": False,
            "file_size": self.file_size,
        }
        if emoji:
            sticker["emoji"] = emoji
        return sticker


def photo_sizes_from_image(data: bytes) -> list[tuple[int, int, bytes]]:
    """Telegram-like JPEG renditions ``(width, height, bytes)`` of an image, smallest first.

    Renditions are scaled to a longest side of 90/320/800/1280 px, skipping those not smaller
    than the original.  An upright JPEG whose longest side fits in 1280 px is kept
    byte-for-byte as the largest rendition, so a test can compare what the bot downloads with
    the file it sent.

    Raises:
        OSError: ``data`` is not an image Pillow can read.
    """
    with Image.open(io.BytesIO(data)) as original:
        upright = original.format == "JPEG" and original.getexif().get(0x0112, 1) == 1
        image = ImageOps.exif_transpose(original).convert("RGB")
    longest = max(image.size)
    sizes = [_jpeg_rendition(image, side) for side in PHOTO_SIDES if side < longest]
    if longest <= PHOTO_SIDES[-1]:
        width, height = image.size
        sizes.append((width, height, data if upright else _encode_jpeg(image)))
    return sizes


def _jpeg_rendition(image: Image.Image, longest_side: int) -> tuple[int, int, bytes]:
    scaled = image.copy()
    scaled.thumbnail((longest_side, longest_side), Image.Resampling.LANCZOS)
    return scaled.width, scaled.height, _encode_jpeg(scaled)


def _encode_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=87)
    return buffer.getvalue()


def image_dimensions(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def default_sticker() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (512, 512), (255, 200, 0, 255)).save(buffer, format="WEBP")
    return buffer.getvalue()


class Files:
    """The files, their getFile and downloads (a part of ``FakeBotApi``)."""

    token: str
    local_files: Path | None
    _lock: threading.RLock
    _file_numbers: itertools.count[int]
    _files: dict[str, StoredFile]
    _files_by_path: dict[str, StoredFile]
    _photo_sets: dict[str, tuple[str, ...]]
    _held_files: set[str]
    _downloads_released: asyncio.Event | None
    _loop: asyncio.AbstractEventLoop | None
    _closing: bool
    _take_fault: Callable[[str], Fault | None]
    _answer_error: Callable[..., web.Response]
    _record: Callable[..., None]
    _download_delay: Callable[[], float]
    renditions: bool

    async def _handle_download(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        file_path = request.match_info["file_path"]
        decoded = Request({"file_path": file_path}, {})
        if request.match_info["token"] != self.token:
            error = ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized")
            return self._answer_error(DOWNLOAD_METHOD, decoded, arrived, error)
        fault = self._take_fault(DOWNLOAD_METHOD)
        if fault is not None:
            return self._answer_error(DOWNLOAD_METHOD, decoded, arrived, fault.error(), injected=True)
        with self._lock:
            stored = self._files_by_path.get(file_path)
        if stored is None:
            error = ApiError(HTTPStatus.NOT_FOUND, "Not Found")
            return self._answer_error(DOWNLOAD_METHOD, decoded, arrived, error)
        released = self._downloads_released
        while stored.file_name in self._held_files and not self._closing:
            await released.wait()
            released = self._downloads_released
        delay = self._download_delay()
        if delay:
            await asyncio.sleep(delay)
        self._record(DOWNLOAD_METHOD, decoded, arrived, HTTPStatus.OK, stored.file_id)
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)

    def _get_file(self, request: Request) -> dict[str, Any]:
        stored = self._files.get(request.params.get("file_id", ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if self.local_files is not None:
            path = self.local_files / stored.file_path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(stored.data)
            return {**stored.as_file(), "file_path": str(path.resolve())}
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise bad_request("file is too big")
        return stored.as_file()

    def _register_uploaded_photo(self, data: bytes) -> list[dict[str, Any]]:
        try:
            width, height = image_dimensions(data)
            sizes = photo_sizes_from_image(data) if self.renditions else [(width, height, data)]
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise bad_request("IMAGE_PROCESS_FAILED") from exc
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        return self._register_photo_set(sizes)

    def _register_photo_set(self, sizes: Sequence[tuple[int, int, bytes]]) -> list[dict[str, Any]]:
        stored = [
            self._store_file("photo", data, mime_type="image/jpeg", width=width, height=height)
            for width, height, data in sizes
        ]
        file_ids = tuple(item.file_id for item in stored)
        for file_id in file_ids:
            self._photo_sets[file_id] = file_ids
        return [item.as_photo_size() for item in stored]

    def _store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        number = next(self._file_numbers)
        extension = _file_extension(kind, file_name, mime_type)
        stored = StoredFile(
            kind=kind,
            file_id=FILE_ID_PREFIXES[kind] + secrets.token_urlsafe(36),
            file_unique_id="AQAD" + secrets.token_urlsafe(9),
            file_path=f"{_FILE_FOLDERS[kind]}/file_{number}{extension}",
            data=data,
            file_size=len(data) if file_size is None else file_size,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def add_file(
        self,
        data: bytes,
        *,
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
    ) -> str:
        """Register bytes for getFile/download and return their file_id.

        ``kind`` is ``"document"``, ``"photo"`` (a one-size photo) or ``"sticker"``;
        ``file_size`` overrides the declared size (e.g. 25 MB) without allocating it.
        """
        if kind not in FILE_ID_PREFIXES:
            raise ValueError(f"kind must be one of {sorted(FILE_ID_PREFIXES)}, not {kind!r}")
        with self._lock:
            if kind == "photo":
                width, height = image_dimensions(data)
                photo = self._register_photo_set([(width, height, data)])
                return photo[0]["file_id"]
            width = height = None
            if kind == "sticker":
                width, height = image_dimensions(data)
            stored = self._store_file(
                kind,
                data,
                file_name=file_name,
                mime_type=guess_mime_type(file_name, mime_type),
                file_size=file_size,
                width=width,
                height=height,
            )
            return stored.file_id

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes stored under a file_id (e.g. of a photo the bot uploaded)."""
        with self._lock:
            return self._files[file_id].data

    def hold_downloads(self, file_name: str) -> None:
        """Make downloads of documents named ``file_name``, sent before or after, wait (and the
        bot's answer with them) until release_downloads()."""
        with self._lock:
            self._held_files.add(file_name)

    def release_downloads(self) -> None:
        with self._lock:
            self._held_files.clear()
        self._loop.call_soon_threadsafe(self._release_held_downloads)

    def _release_held_downloads(self) -> None:
        """Wake every held download; runs on the server loop."""
        self._downloads_released.set()
        self._downloads_released = asyncio.Event()


def guess_mime_type(file_name: str | None, declared: str | None) -> str | None:
    if declared and declared != "application/octet-stream":
        return declared
    if file_name:
        return mimetypes.guess_type(file_name)[0] or declared
    return declared


def _file_extension(kind: str, file_name: str | None, mime_type: str | None) -> str:
    if kind == "photo":
        return ".jpg"
    if kind == "sticker":
        return ".webp"
    if file_name and "." in file_name:
        return "." + file_name.rsplit(".", 1)[1]
    return (mime_type and mimetypes.guess_extension(mime_type)) or ""
