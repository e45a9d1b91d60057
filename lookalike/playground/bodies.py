"""Request bodies read within limits: every field has a size cap, every body a time cap.

A body that is too large is answered 413 and a field that is 413 naming it, before more of it
is read; a body that does not arrive in time (a slow client, or one that holds the connection
on purpose) is answered 408. The limits of the server itself (a request's headers, an idle
connection) are ``Limits`` too, applied where the server starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from aiohttp import BodyPartReader, web


@dataclass(frozen=True)
class Limits:
    small_body_bytes: int = 16 * 1024  # a JSON question, the login form (aiohttp's client_max_size)
    small_body_seconds: float = 10.0
    photo_body_seconds: float = 120.0  # 20 MB from a phone at ~1.5 Mbit/s
    headers_seconds: float = 15.0  # a connection that has not sent a whole request is closed
    refused_body_seconds: float = 10.0  # the rest of a refused body, read and dropped so that the browser,
    # still sending it, reads the answer; then the connection is closed (aiohttp's lingering time)


LIMITS = web.AppKey("limits", Limits)


async def json_fields(request: web.Request, caps: Mapping[str, int]) -> dict[str, str]:
    """The JSON object's ``caps`` fields (each at most so many characters; absent: ""). Only
    ``application/json`` is read: a form another site posts gets no further (415)."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="Send JSON (Content-Type: application/json).\n")
    limits = request.app[LIMITS]
    async with within(limits.small_body_seconds):
        raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError:
        raise web.HTTPBadRequest(text="The body is not JSON.\n") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="The body is not a JSON object.\n")
    return {name: _capped(name, body.get(name, ""), cap) for name, cap in caps.items()}


async def form_fields(request: web.Request, caps: Mapping[str, int]) -> dict[str, str]:
    """A posted form's ``caps`` fields, as ``json_fields`` reads a JSON object's."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise web.HTTPUnsupportedMediaType(text="Post the form (application/x-www-form-urlencoded).\n")
    limits = request.app[LIMITS]
    async with within(limits.small_body_seconds):
        form = await request.post()
    return {name: _capped(name, form.get(name, ""), cap) for name, cap in caps.items()}


async def read_part(part: BodyPartReader, cap: int) -> bytes:
    """A multipart field's bytes, at most ``cap`` (one more, read, says that it is larger)."""
    kept = bytearray()
    while len(kept) <= cap and (chunk := await part.read_chunk(1 << 16)):
        kept += chunk
    return bytes(kept[: cap + 1])


def text_part(name: str, data: bytes, cap: int) -> str:
    if len(data) > cap:
        raise _too_large(name, cap)
    return data.decode(errors="replace")


@contextlib.asynccontextmanager
async def within(seconds: float) -> AsyncIterator[None]:
    """``async with within(s):`` reading a body, answered 408 when it takes longer."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise web.HTTPRequestTimeout(text=f"The request's body did not arrive within {seconds:g} s.\n") from None


def _capped(name: str, value: object, cap: int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise web.HTTPBadRequest(text=f"The field {name!r} must be text or a number.\n")
    text = str(value)
    if len(text) > cap:
        raise _too_large(name, cap)
    return text


def _too_large(name: str, cap: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(
        max_size=cap, actual_size=cap + 1, text=f"The field {name!r} is longer than {cap} characters.\n"
    )
