"""bot.py's webhook listener against what the internet may send it (issue #28 items 1 and 3):
slow-loris clients cut off without a thread each, a slow body 408, a large one 413, a body
that is no update 400 without its content in the log, and every other path or method refused;
the real update beside them answered. (Exactly once, the secret and the 503 while stopping:
test_bot, test_bot_failures, test_bot_operation.)"""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from lookalike.answering.listener import BODY_SECONDS, HEADER_SECONDS
from lookalike.bot.webhook import MAX_UPDATE_BYTES
from tests.support.bot_api import FakeBotApi
from tests.support.bot_harness import TOKEN, new_user, only_reply, run_bot, say
from tests.support.listeners import SlowLoris, threads
from tests.support.processes import free_port

pytestmark = pytest.mark.e2e  # starts bot.py

SECRET = "webhook-s3cret"


@pytest.fixture(scope="module")
def hooked(assets, tmp_path_factory):
    """(the fake Bot API, the bot process, the webhook's URL, its port)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    with FakeBotApi(token=TOKEN) as api:
        bot = run_bot(
            api,
            assets,
            tmp_path_factory.mktemp("webhook") / "bot.log",
            WEBHOOK_URL=url,
            WEBHOOK_SECRET=SECRET,
            PORT=str(port),
            LISTEN="127.0.0.1",
            WORKERS="1",
        )
        try:
            _wait_listening(port)
            yield api, bot, url, port
        finally:
            assert bot.stop() == 0, bot.log()[-3000:]


def _wait_listening(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except ConnectionRefusedError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def _start(api: FakeBotApi) -> tuple[int, dict]:
    user = new_user()
    return user, api.send_text_update(user, "/start")


def _post(url: str, update: dict) -> httpx.Response:
    return httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=30)


def test_slow_loris_clients_hold_no_thread_and_are_cut_off_while_updates_are_answered(hooked):
    api, bot, url, port = hooked
    before = threads(bot.pid)
    with SlowLoris(port, b"POST /telegram/hook HTTP/1.1\r\nHost: bot\r\n", count=40) as loris:
        time.sleep(2)
        assert threads(bot.pid) < before + 5, "the slow clients hold threads"
        user, update = _start(api)
        assert _post(url, update).status_code == 200
        assert only_reply(api, user).params["text"] == say("start")
        assert loris.wait_cut_off(timeout=HEADER_SECONDS + 10) < HEADER_SECONDS + 5


def test_a_slow_body_is_answered_408_and_a_large_one_413_unread(hooked):
    api, bot, url, port = hooked
    head = (
        f"POST /telegram/hook HTTP/1.1\r\nHost: bot\r\nX-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n"
        "Content-Type: application/json\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=BODY_SECONDS + 10) as slow:
        started = time.monotonic()
        slow.sendall(head + b"Content-Length: 100\r\n\r\n{")
        answer = slow.recv(1024)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert time.monotonic() - started < BODY_SECONDS + 3
    with socket.create_connection(("127.0.0.1", port), timeout=10) as large:
        large.sendall(head + f"Content-Length: {100 * MAX_UPDATE_BYTES}\r\n\r\n".encode())
        answer = large.recv(1024)
        assert answer.startswith(b"HTTP/1.1 413"), answer


def test_a_stranger_s_post_or_a_body_that_is_no_update_is_refused_and_not_logged(hooked):
    api, bot, url, port = hooked
    secret = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    assert httpx.post(url, json={"update_id": 1}, timeout=10).status_code == 403  # no secret
    private = "a user's private words"
    bodies = (
        [private],
        {"update_id": private},
        {"update_id": True},
        {"message": {"text": private}},
        b'{"update_id": 7, ',
    )
    for body in bodies:
        kind = {"content": body} if isinstance(body, bytes) else {"json": body}
        answer = httpx.post(url, headers=secret, timeout=10, **kind)  # type: ignore[arg-type]
        assert answer.status_code == 400, (body, answer.text)
    # an update_id with a message that is no message: PTB's decoding fails
    broken = {"update_id": 99_000_001, "message": {"text": private, "chat": "not a chat"}}
    assert httpx.post(url, headers=secret, json=broken, timeout=10).status_code == 400
    assert httpx.post(url.replace("/hook", "/other"), headers=secret, json={}, timeout=10).status_code == 404
    assert httpx.get(url, headers=secret, timeout=10).status_code == 405
    bot.wait_for_log("is not an update")
    assert private not in bot.log()
