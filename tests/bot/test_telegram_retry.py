"""bot.py when Telegram fails: outages of 500s, a backlog after one, 429 pauses, webhook
redeliveries, buttons the bot never made, and files without a MIME type.

One bot process (WORKERS=2, the defaults otherwise: MAX_PENDING, MAX_WAIT_SECONDS,
TELEGRAM_RETRY_SECONDS) answers the long-polling tests; the webhook test starts its own.
"""

from __future__ import annotations

import socket
import time
from collections import Counter

import httpx
import pytest

from tests.support.bot_api import DOWNLOAD_METHOD, FakeBotApi
from tests.support.bot_harness import (
    TOKEN,
    new_user,
    only_reply,
    press,
    replies_to,
    run_bot,
    running_bot,
    say,
    selfie,
)

pytestmark = pytest.mark.e2e  # starts bot.py

OUTAGE = 10.0


@pytest.fixture(scope="module")
def bot(api, assets, tmp_path_factory):
    with running_bot(api, assets, tmp_path_factory.mktemp("failures") / "bot.log") as process:
        yield process


def _answered_once_after(api: FakeBotApi, bot, users: list[int], update_ids: list[int], ended: float) -> None:
    """Each user has exactly one answer, a look-alike sent once the outage ``ended``, and one log line."""
    for user in users:
        replies_to(api, user, timeout=90)
    time.sleep(1.5)  # a second answer would show up by now
    for user in users:
        [reply] = api.replies(user)
        assert reply.method == "sendPhoto", reply.params.get("text")
        assert reply.timestamp >= ended - 0.2
    log = bot.log()
    for update_id in update_ids:
        [line] = [line for line in log.splitlines() if f"update={update_id} " in line and "kind=photo" in line]
        assert "outcome=match " in line, line


def test_photos_sent_through_a_10_s_outage_of_sends_are_each_answered_once_after_it(api, bot, people):
    users = [new_user() for _ in range(10)]
    api.fail_for(OUTAGE, ["sendPhoto", "sendMessage"])
    ended = time.monotonic() + OUTAGE
    sent = []
    for number, user in enumerate(users):  # a steady stream through the outage
        sent.append(api.send_photo_update(user, sizes=selfie(people[number]))["update_id"])
        time.sleep(0.6)
    _answered_once_after(api, bot, users, sent, ended)
    failed = [c for c in api.calls("sendPhoto") if c.injected and c.chat_id in users]
    assert len({c.chat_id for c in failed}) >= len(users) // 2  # most answers met the outage
    assert "given up" not in bot.log()


def test_photos_fetched_as_every_call_starts_failing_are_answered_once_after_it(api, bot, people):
    before, during = [new_user() for _ in range(4)], [new_user() for _ in range(4)]
    # The files fail from the start, so the photos meet the outage however fast the bot fetches them
    # (on a quiet machine it had downloaded all four before the test could start the outage).
    api.fail_for(OUTAGE, ["getFile", DOWNLOAD_METHOD])
    fetched = {api.send_photo_update(user, sizes=selfie(people[10 + n]))["update_id"] for n, user in enumerate(before)}
    deadline = time.monotonic() + 20
    while not fetched <= {u["update_id"] for c in api.calls("getUpdates") if c.ok for u in c.result}:
        assert time.monotonic() < deadline, "the bot did not fetch the photos"
        time.sleep(0.01)
    api.fail_for(OUTAGE)  # getUpdates, getFile, downloads and sends, just as the bot has the photos
    ended = time.monotonic() + OUTAGE
    later = [api.send_photo_update(user, sizes=selfie(people[14 + n]))["update_id"] for n, user in enumerate(during)]
    _answered_once_after(api, bot, before + during, sorted(fetched) + later, ended)
    failed = Counter(c.method for c in api.calls() if c.injected)
    assert failed["getFile"] or failed[DOWNLOAD_METHOD], failed  # the photos fetched before it met it


def test_a_backlog_of_64_photos_after_an_outage_is_answered_in_full(api, bot, people):
    users = [new_user() for _ in range(64)]
    api.fail_for(5.0, ["getUpdates"])
    time.sleep(0.5)
    for number, user in enumerate(users):
        api.send_photo_update(user, sizes=selfie(people[number % len(people)]))
    started = time.monotonic()
    for user in users:
        replies_to(api, user, timeout=90)
    print(f"64 photos answered {time.monotonic() - started:.1f} s after they were sent")
    time.sleep(1.0)
    answers = [reply for user in users for reply in api.replies(user)]
    assert len(answers) == 64
    texts = Counter(r.params["text"] for r in answers if r.method == "sendMessage")
    assert not texts, texts  # no "busy": the pool clears the queue in seconds


def test_downloads_go_on_while_sends_wait_out_a_429(api, bot, people):
    paused, other = new_user(), new_user()
    api.fail_next("sendPhoto", 1, retry_after=5)
    api.send_photo_update(paused, sizes=selfie(people[0]))
    api.wait_for(lambda c: c.method == "sendPhoto" and c.chat_id == paused and c.status == 429, timeout=30)
    told_to_wait = time.monotonic()
    api.send_photo_update(other, sizes=selfie(people[1]))
    only_reply(api, other, timeout=30)
    [fetched] = [c for c in api.calls("getFile") if c.ok and c.timestamp > told_to_wait]
    [downloaded] = [c for c in api.calls(DOWNLOAD_METHOD) if c.timestamp > told_to_wait]
    assert downloaded.timestamp < told_to_wait + 4.0, "the download waited for the sends' pause"
    assert fetched.timestamp < downloaded.timestamp
    assert only_reply(api, paused).method == "sendPhoto"


def test_a_button_the_bot_never_made_is_answered_with_a_short_alert(api, bot):
    user = new_user()
    api.add_chat(user)
    message = {"message_id": 1, "date": int(time.time()), "chat": {"id": user, "type": "private"}, "text": "hi"}
    pressed = press(api, user, message, "vote:42")
    query_id = pressed["callback_query"]["id"]
    [answer] = api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == query_id, timeout=20
    )
    assert answer.params["text"] == say("unknown_button")
    assert str(answer.params["show_alert"]).lower() == "true"
    bot.wait_for_log(rf"update={pressed['update_id']} .*kind=button outcome=unknown")


def test_a_button_of_an_inline_message_is_told_the_truth(api, bot, people):
    user = new_user()
    api.send_photo_update(user, sizes=selfie(people[2]))
    data = only_reply(api, user).params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    query = {
        "id": f"inline{user}",
        "from": {"id": user, "is_bot": False, "first_name": "Tester", "language_code": "en"},
        "chat_instance": str(user),
        "inline_message_id": "AAAAinline",
        "data": data,
    }
    api.add_update({"callback_query": query})
    api.wait_for(lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query["id"])
    [answer] = [c for c in api.calls("answerCallbackQuery") if c.params["callback_query_id"] == query["id"]]
    assert answer.params["text"] == say("inline_button")
    assert str(answer.params["show_alert"]).lower() == "true"
    assert len(api.replies(user)) == 1  # nothing sent to the chat


@pytest.mark.parametrize("file_name", ["IMG_0001.JPG", None])
def test_a_jpeg_sent_as_a_file_without_a_mime_type_is_answered(api, bot, people, file_name):
    user = new_user()
    api.send_document_update(user, selfie(people[3]), None, file_name)
    assert only_reply(api, user).method == "sendPhoto"


def test_a_text_file_without_a_mime_type_gets_the_hint(api, bot):
    user = new_user()
    api.send_document_update(user, b"just some notes\n", None, "notes.txt")
    assert only_reply(api, user).params["text"] == say("hint")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _post(url: str, body, secret: str) -> int:
    for _ in range(100):  # the server may still be binding
        try:
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
            if isinstance(body, bytes):
                return httpx.post(url, content=body, headers=headers, timeout=60).status_code
            return httpx.post(url, json=body, headers=headers, timeout=60).status_code
        except httpx.ConnectError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens at {url}")


def test_by_webhook_an_update_sent_again_after_its_answer_is_not_answered_twice(assets, people, tmp_path):
    port, secret = _free_port(), "s3cret"
    url = f"http://127.0.0.1:{port}/hook"
    env = {"WEBHOOK_URL": url, "WEBHOOK_SECRET": secret, "PORT": str(port), "LISTEN": "127.0.0.1", "WORKERS": "1"}
    with FakeBotApi(token=TOKEN) as api:
        user = new_user()
        update = api.send_photo_update(user, sizes=selfie(people[4]))
        bot = run_bot(api, assets, tmp_path / "first.log", **env)
        try:
            assert _post(url, update, secret) == 200
            assert only_reply(api, user).method == "sendPhoto"
            assert _post(url, update, secret) == 200  # the first 200 was lost, say
            assert _post(url, b"{not json", secret) == 400
        finally:
            assert bot.stop() == 0
        bot = run_bot(api, assets, tmp_path / "second.log", **env)
        try:
            assert _post(url, update, secret) == 200  # and again after a restart
            time.sleep(1.0)
        finally:
            assert bot.stop() == 0
        assert len(api.replies(user)) == 1
        assert f"update={update['update_id']} answered already" in bot.log()
