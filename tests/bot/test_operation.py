"""Running the bot for real: its /metrics, the operator's /stats, and a stop mid-traffic.

Each test runs bot.py as a subprocess against its own local Bot API server (the fixtures
and helpers are test_bot's).
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import httpx
import pytest

from lookalike.bot.answered_file import read_record
from tests.support.bot_api import (
    FakeBotApi,
    photo_sizes_from_image,
)
from tests.support.bot_harness import (
    GALLERY_SIZE,
    TOKEN,
    new_user,
    only_reply,
    replies_to,
    run_bot,
    sample,
    say,
    selfie,
    slow_photo,
)
from tests.support.data import LFW
from tests.support.processes import free_port

pytestmark = pytest.mark.e2e  # starts bot.py


def scrape(port: int) -> dict[str, float]:
    """/metrics as {'name{labels}': value}."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return samples


def moved(before: dict[str, float], after: dict[str, float], key: str) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_metrics_count_what_the_bot_does_and_stats_answer_admins_only(assets, people, tmp_path):
    port, admin, user, dog_lover, stranger = free_port(), new_user(), new_user(), new_user(), new_user()
    with FakeBotApi(token=TOKEN) as api:
        bot = run_bot(api, assets, tmp_path / "bot.log", METRICS_PORT=str(port), ADMIN_IDS=f"7, {admin}")
        try:
            before = scrape(port)
            assert before["lookalike_index_celebrities"] == GALLERY_SIZE
            assert before["lookalike_workers"] == 2 and before["lookalike_photos_pending"] == 0
            assert before["lookalike_worker_restarts_total"] == 0
            assert any(key.startswith("lookalike_index_info{version=") for key in before)

            api.fail_next("sendPhoto", 1, retry_after=1)
            api.send_photo_update(user, sizes=selfie(people[0]))
            assert only_reply(api, user).method == "sendPhoto"
            api.send_photo_update(dog_lover, sizes=sample("dlib_faces/dogs.jpg"))
            assert only_reply(api, dog_lover).params["text"] == say("no_face")
            after = scrape(port)

            assert moved(before, after, 'lookalike_updates_total{kind="photo",outcome="match"}') == 1
            assert moved(before, after, 'lookalike_updates_total{kind="photo",outcome="no_face"}') == 1
            assert moved(before, after, 'lookalike_answer_seconds_count{kind="photo"}') == 2
            assert moved(before, after, 'lookalike_answer_seconds_bucket{kind="photo",le="0.05"}') < 2  # one waited 1 s
            for stage in ("download", "faces", "send"):
                assert moved(before, after, f'lookalike_stage_seconds_count{{stage="{stage}"}}') == 2, stage
            assert moved(before, after, "lookalike_faces_per_photo_count") == 2
            assert moved(before, after, "lookalike_faces_per_photo_sum") == 1
            assert moved(before, after, "lookalike_telegram_retry_after_total") == 1
            assert after["lookalike_celebrities_answered"] == 1
            assert after["lookalike_gallery_share_answered"] == pytest.approx(1 / GALLERY_SIZE)
            assert after["lookalike_photos_answered_24h"] == 2

            api.send_text_update(stranger, "/stats")
            assert only_reply(api, stranger).params["text"] == say("start")
            api.send_text_update(admin, "/stats")
            reply = only_reply(api, admin)
            assert reply.method == "sendPhoto" and reply.files["photo"].data.startswith(b"\x89PNG")  # the chart
            text = reply.params["caption"]
            assert "Photos answered: 2 since the start" in text and "2 in the last 24 h" in text
            assert "match 1" in text and "no_face 1" in text
            assert f"Celebrities answered: 1 of {GALLERY_SIZE}" in text
            assert re.search(r"Most answered: [^\n]+ 1$", text)
            final = scrape(port)
            assert moved(after, final, 'lookalike_updates_total{kind="command",outcome="stats"}') == 1
            assert moved(after, final, 'lookalike_updates_total{kind="command",outcome="help"}') == 1
        finally:
            assert bot.stop() == 0

        # The counts survive a restart (STATS_FILE, stats.sqlite beside ANSWERED_FILE by default),
        # and the admin's language is the chart's and the text's.
        assert (tmp_path / "stats.sqlite").exists()
        bot = run_bot(api, assets, tmp_path / "bot2.log", ADMIN_IDS=str(admin))
        try:
            api.send_text_update(admin, "/stats", language_code="ru")
            [_, reply] = replies_to(api, admin, count=2)
            assert reply.method == "sendPhoto" and "Ответов на фото: 2 с начала" in reply.params["caption"]
            assert f"Знаменитостей в ответах: 1 из {GALLERY_SIZE}" in reply.params["caption"]
        finally:
            assert bot.stop() == 0


def test_without_metrics_port_nothing_listens(assets, tmp_path):
    with FakeBotApi(token=TOKEN) as api:
        port = free_port()
        bot = run_bot(api, assets, tmp_path / "bot.log")
        try:
            bot.wait_for_log("ready:")
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
            assert "metrics" not in bot.log()
        finally:
            assert bot.stop() == 0


# ------------------------------------------------------------------ stop and restart


def _burst(api: FakeBotApi, people: list[str], slow: int, quick: int) -> dict[int, int]:
    """``slow`` 27-MP photos (about 1.3 s each in a worker) and ``quick`` selfies, one user each:
    {user: update_id}."""
    sent = {}
    for _ in range(slow):
        user = new_user()
        sent[user] = api.send_document_update(user, slow_photo(), "image/jpeg", "large.jpg")["update_id"]
    for i in range(quick):
        user = new_user()
        sizes = photo_sizes_from_image(
            (LFW / people[i % len(people)] / f"{people[i % len(people)]}_0002.jpg").read_bytes()
        )
        sent[user] = api.send_photo_update(user, sizes=sizes)["update_id"]
    return sent


def _stop_group(bot, timeout: float = 60) -> int:
    """SIGTERM to the bot's whole process group, workers included, as docker stop and systemd do."""
    os.killpg(bot.pid, signal.SIGTERM)
    return bot.process.wait(timeout)


def _restart_and_settle(api: FakeBotApi, assets, log_path, users: list[int], **env: str) -> str:
    bot = run_bot(api, assets, log_path, new_session=True, **env)
    try:
        api.wait_for_replies(users, timeout=60)
        time.sleep(2.0)  # a duplicate would show up by now
    finally:
        assert _stop_group(bot) == 0
        bot.stop()
    return bot.log()


def test_a_stop_signal_to_the_group_mid_burst_answers_every_photo_exactly_once(assets, people, tmp_path):
    with FakeBotApi(token=TOKEN) as api:
        bot = run_bot(api, assets, tmp_path / "first.log", new_session=True)
        sent = _burst(api, people, slow=6, quick=24)
        users = list(sent)
        api.wait_for(lambda c: c.ok and c.is_message, timeout=30)  # mid-burst: the first answer is out
        assert _stop_group(bot) == 0
        bot.stop()
        first = bot.log()
        in_flight = int(re.search(r"stopping: (\d+) updates in flight", first).group(1))
        assert in_flight > 0, first[-3000:]
        assert "worker pool broken" not in first and "retrying it once" not in first
        assert "not answered" not in first
        answered_before_exit = sum(1 for user in users if api.replies(user))
        assert answered_before_exit == len(users), "the stop did not wait for every photo in flight"

        second = _restart_and_settle(api, assets, tmp_path / "second.log", users)
        assert not re.search(r"kind=(photo|document)", second), "the restart got photos already answered"
        for user in users:
            assert len(api.replies(user)) == 1, user


def test_photos_not_answered_within_the_grace_period_come_again_after_a_restart(assets, people, tmp_path):
    with FakeBotApi(token=TOKEN) as api:
        # Over MAX_PENDING the quick photos are told "busy" at once: answered updates after
        # unanswered ones, which Telegram sends again after the restart.
        bot = run_bot(
            api, assets, tmp_path / "first.log", new_session=True, SHUTDOWN_GRACE_SECONDS="1", MAX_PENDING="12"
        )
        sent = _burst(api, people, slow=10, quick=20)
        users = list(sent)
        api.wait_for(lambda c: c.ok and c.is_message, timeout=30)
        started = time.monotonic()
        assert _stop_group(bot) == 0
        assert time.monotonic() - started < 10, "the bot did not exit after its grace period"
        bot.stop()
        first = bot.log()
        assert "not answered within SHUTDOWN_GRACE_SECONDS" in first
        unanswered = [user for user in users if not api.replies(user)]
        assert unanswered, "every photo was answered: the grace period was not tested"
        assert any(sent[user] > min(sent[u] for u in unanswered) for user in users if api.replies(user))
        assert (tmp_path / "answered-updates.json").exists()

        second = _restart_and_settle(api, assets, tmp_path / "second.log", users)
        for user in unanswered:
            assert re.search(rf"update={sent[user]} .*kind=(photo|document)", second)
        for user in users:  # the answered ones Telegram sent again were skipped
            assert len(api.replies(user)) == 1, user
        again = re.search(r"(\d+) updates not answered will come again on the next start", first)
        assert again and int(again.group(1)) >= 1


def test_after_a_kill_9_no_photo_is_answered_twice_or_lost(assets, people, tmp_path):
    """One photo's download hangs, so the offset holds below the photos answered after it;
    kill -9 leaves no chance to write anything at a stop. The restart, given the same
    ANSWERED_FILE, answers the held photo and skips the others Telegram sends again."""
    answered_file = tmp_path / "answered-updates.json"
    with FakeBotApi(token=TOKEN) as api:
        bot = run_bot(api, assets, tmp_path / "first.log", new_session=True)
        api.hold_downloads("held.jpg")
        held_user = new_user()
        held = api.send_document_update(held_user, selfie(people[0]), "image/jpeg", "held.jpg")["update_id"]
        api.wait_for(lambda c: c.method == "getFile" and c.ok, timeout=30)
        sent = _burst(api, people[1:], slow=0, quick=8)
        users = list(sent)
        api.wait_for_replies(users, timeout=60)
        assert not api.replies(held_user)
        deadline = time.monotonic() + 5  # the record is written off the event loop: give it a moment
        while not _listed(answered_file) >= set(sent.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(bot.pid, signal.SIGKILL)
        bot.process.wait(30)
        bot.stop()
        assert "stopping" not in bot.log()
        api.release_downloads()

        second = _restart_and_settle(api, assets, tmp_path / "second.log", [held_user, *users])
        assert re.search(rf"update={held} .*kind=document", second), second[-3000:]
        assert not re.search(r"kind=photo", second), "the restart answered photos answered before the kill"
        for user in [held_user, *users]:
            assert len(api.replies(user)) == 1, user
        assert _listed(answered_file) == set(), "the record outlived the updates Telegram confirmed"


def test_a_busy_told_after_the_chat_s_earlier_answers_is_not_lost_to_a_kill_9(assets, people, tmp_path):
    """A group over CHAT_PENDING: the "busy" waits, in a task of its own, for the chat's answer
    before it (held: its download hangs). Its update must stay unconfirmed until the "busy" is
    sent: after a kill -9 the next start tells it, once."""
    group = -4242
    with FakeBotApi(token=TOKEN) as api:
        bot = run_bot(api, assets, tmp_path / "first.log", new_session=True, CHAT_PENDING="1")
        api.hold_downloads("held.jpg")
        first = api.send_document_update(
            new_user(), selfie(people[0]), "image/jpeg", "held.jpg", chat_id=group, chat_type="group"
        )
        api.wait_for(lambda c: c.method == "getFile" and c.ok, timeout=30)
        second = api.send_photo_update(new_user(), group, sizes=selfie(people[1]), chat_type="group")
        api.wait_for(lambda c: c.method == "getUpdates" and _carries(c, second["update_id"]), timeout=30)
        time.sleep(1.0)  # the handler has run, and ANSWERED_FILE been written, by now
        assert not api.replies(group)
        os.killpg(bot.pid, signal.SIGKILL)
        bot.process.wait(30)
        bot.stop()
        api.release_downloads()

        restarted = run_bot(api, assets, tmp_path / "second.log", new_session=True, CHAT_PENDING="1")
        try:
            api.wait_for(lambda c: c.ok and c.is_message and c.chat_id == group, timeout=60, count=2)
            time.sleep(2.0)  # a second answer would have come by now
        finally:
            assert _stop_group(restarted) == 0
            restarted.stop()
        answers = {call.params["reply_parameters"]["message_id"]: call for call in api.replies(group)}
        assert len(api.replies(group)) == len(answers) == 2, "a photo was answered twice, or not at all"
        assert answers[first["message"]["message_id"]].method == "sendPhoto"
        assert answers[second["message"]["message_id"]].params["text"] == say("busy")


def _carries(call, update_id: int) -> bool:
    return call.ok and any(update["update_id"] == update_id for update in call.result or [])


def _listed(answered_file) -> set[int]:
    """The update ids in ANSWERED_FILE (none while it is missing)."""
    try:
        return set(read_record(answered_file).get("answered", []))
    except FileNotFoundError:
        return set()


def test_by_webhook_telegram_gets_its_200_only_once_the_photo_is_answered_and_503_while_stopping(assets, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    with FakeBotApi(token=TOKEN) as api:
        bot = run_bot(
            api,
            assets,
            tmp_path / "bot.log",
            new_session=True,
            WEBHOOK_URL=url,
            WEBHOOK_SECRET="s3cret",
            PORT=str(port),
            LISTEN="127.0.0.1",
        )
        user, late = new_user(), new_user()
        photo = api.send_document_update(user, slow_photo(), "image/jpeg", "large.jpg")
        response = {}

        def deliver():
            for _ in range(50):  # the server may still be binding
                try:
                    response["status"] = httpx.post(url, json=photo, headers=secret, timeout=60).status_code
                    break
                except httpx.ConnectError:
                    time.sleep(0.1)
            response["at"] = time.monotonic()

        delivery = threading.Thread(target=deliver)
        delivery.start()
        try:
            api.wait_for(lambda c: c.method == "sendChatAction" and c.chat_id == user, timeout=30)
            assert "status" not in response  # held while the photo is being answered
            os.killpg(bot.pid, signal.SIGTERM)
            bot.wait_for_log("stopping: 1 updates in flight")
            refused = httpx.post(url, json=api.send_text_update(late, "/start"), headers=secret, timeout=10)
            assert refused.status_code == 503  # Telegram sends it again later, to the next start
            delivery.join(60)
            assert response["status"] == 200
            [reply] = api.replies(user)
            assert reply.method == "sendPhoto"
            assert bot.process.wait(30) == 0
        finally:
            bot.stop()
            delivery.join(60)
        assert not api.replies(late)
