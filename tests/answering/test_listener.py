"""The bot's HTTP listeners' limits (lookalike.answering.listener), on a real aiohttp server and raw
sockets: a client trickling its headers is cut off, a slow body gets 408, a large one 413,
and neither holds the server up for anyone else. The limits are shortened here; the bot's
own listeners are tried with theirs end to end (test_deploy_bot, test_bot_webhook)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest
from aiohttp import web

from lookalike.answering import listener


@pytest.fixture
def short_limits(monkeypatch):
    monkeypatch.setattr(listener, "HEADER_SECONDS", 1.0)
    monkeypatch.setattr(listener, "BODY_SECONDS", 1.0)


async def _echo(request: web.Request) -> web.Response:
    return web.Response(text=f"{len(await listener.read_body(request))} bytes\n")


async def _serve(max_body: int = 1000) -> tuple[web.AppRunner, int]:
    app = listener.application(max_body)
    app.router.add_post("/", _echo)
    runner = await listener.start(app, "127.0.0.1", 0)
    [(_, port)] = runner.addresses
    return runner, port


async def _exchange(port: int, head: bytes, body_chunks=(), pause: float = 0.0) -> tuple[bytes, float]:
    """Send ``head``, then each chunk ``pause`` seconds apart, while reading: the server's
    answer (b"" when it closed the connection without one) and the seconds to its first byte."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def send() -> None:
        writer.write(head)
        for chunk in body_chunks:
            await asyncio.sleep(pause)
            writer.write(chunk)
            await writer.drain()

    sending = asyncio.create_task(send())
    try:
        answer = await asyncio.wait_for(reader.read(1), timeout=20)
        seconds = time.monotonic() - started
        while answer and not reader.at_eof():
            try:
                more = await asyncio.wait_for(reader.read(65536), timeout=0.3)
            except TimeoutError:
                break
            answer += more
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sending
        writer.close()
    return answer, seconds


@pytest.mark.asyncio
async def test_a_client_trickling_its_headers_is_cut_off_while_others_are_answered(short_limits):
    runner, port = await _serve()
    try:
        slow = asyncio.create_task(_exchange(port, b"POST / HTTP/1.1\r\n", [b"X-Slow: 1\r\n"] * 40, pause=0.1))
        await asyncio.sleep(0.3)
        quick, _ = await _exchange(
            port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
        )
        assert quick.startswith(b"HTTP/1.1 200") and quick.endswith(b"2 bytes\n")
        answer, seconds = await slow
        assert answer == b"" and seconds < 3.0  # closed at HEADER_SECONDS, not after its 4 s of trickle
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_a_slow_body_is_answered_408(short_limits):
    runner, port = await _serve()
    try:
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n"
        answer, seconds = await _exchange(port, head, [b"x"] * 40, pause=0.1)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert seconds < 3.0
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_a_body_over_the_limit_is_answered_413_unread_or_as_it_grows(short_limits):
    runner, port = await _serve(max_body=1000)
    try:
        said, _ = await _exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        assert said.startswith(b"HTTP/1.1 413"), said  # answered at once: the 100 MB never came
        chunk = b"100\r\n" + b"x" * 256 + b"\r\n"
        head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunked, _ = await _exchange(port, head, [chunk] * 8 + [b"0\r\n\r\n"])
        assert chunked.startswith(b"HTTP/1.1 413"), chunked
        within, _ = await _exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"y" * 1000)
        assert within.startswith(b"HTTP/1.1 200") and b"1000 bytes" in within
    finally:
        await runner.cleanup()


def test_a_threaded_listener_reports_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            listener.ThreadedListener(listener.application(10), "127.0.0.1", port, name="test")
