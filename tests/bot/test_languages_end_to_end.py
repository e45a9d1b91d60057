"""bot.py end to end in the users' languages and with their videos: the real bot as a
subprocess against the fake Bot API (tests/bot/test_end_to_end.py's gallery of LFW people)."""

from __future__ import annotations

import sqlite3

import pytest

from lookalike.languages import LANGUAGES
from tests.support.bot_harness import name, new_user, only_reply, press, replies_to, running_bot, say, selfie
from tests.support.data import LFW, SAMPLES, require
from tests.support.videos import video_of

pytestmark = pytest.mark.e2e  # starts bot.py


@pytest.fixture(scope="module")
def bot(api, assets, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bot-languages")
    with running_bot(api, assets, workdir / "bot.log", LANGUAGES_FILE=str(workdir / "languages.sqlite")) as process:
        process.languages_file = workdir / "languages.sqlite"
        yield process


def opening(lang: str, key: str) -> str:
    """The words of ``key`` before the celebrity's name, in ``lang``."""
    return say(key, lang, name="\0", percent="\0").split("<b>")[0]


@pytest.mark.parametrize("code", ["es", "ar", "hi", "pt-br"])
def test_a_user_is_answered_in_their_telegram_language(api, bot, people, code):
    lang = code.split("-")[0]
    user = new_user()
    api.send_text_update(user, "/start", language_code=code)
    assert only_reply(api, user).params["text"] == say("start", lang)
    api.send_photo_update(user, sizes=selfie(people[4]), language_code=code)
    caption = replies_to(api, user, count=2)[1].params["caption"]
    assert caption.startswith((opening(lang, "match"), opening(lang, "this_is"))), caption
    assert name(people[4]) in caption
    if lang == "ar":
        assert all(line.startswith("\u200f") for line in caption.split("\n"))  # laid out right to left


def test_language_changes_the_answers_until_forget(api, bot):
    user = new_user()
    api.send_text_update(user, "/language", language_code="en")
    offer = only_reply(api, user)
    assert offer.params["text"] == say("language_choose")
    buttons = [button for row in offer.params["reply_markup"]["inline_keyboard"] for button in row]
    assert [b["callback_data"] for b in buttons] == [f"l:{code}" for code in LANGUAGES]
    assert "Español" in [b["text"] for b in buttons] and "العربية" in [b["text"] for b in buttons]

    press(api, user, offer.result, "l:es")
    edited = api.wait_for(lambda c: c.method == "editMessageText" and c.chat_id == user)[0]
    assert edited.params["text"] == say("language_chosen", "es")
    api.send_text_update(user, "/help", language_code="en")
    assert replies_to(api, user, count=2)[1].params["text"] == say("start", "es")

    rows = sqlite3.connect(bot.languages_file).execute("SELECT user, language FROM languages").fetchall()
    assert ("es" in {language for _, language in rows}) and all(str(user) not in key for key, _ in rows)

    api.send_text_update(user, "/forget", language_code="en")
    assert replies_to(api, user, count=3)[2].params["text"] == say("forgotten", "en")
    api.send_text_update(user, "/start", language_code="en")
    assert replies_to(api, user, count=4)[3].params["text"] == say("start", "en")


def test_the_menu_and_descriptions_are_set_in_every_language(api, bot):
    commands = {call.params.get("language_code") for call in api.calls("setMyCommands") if call.ok}
    assert commands == {None} | set(LANGUAGES[1:])
    for call in api.calls("setMyCommands"):
        lang = call.params.get("language_code") or "en"
        descriptions = {command["command"]: command["description"] for command in call.params["commands"]}
        if "start" in descriptions:
            assert descriptions["start"] == say("command_start", lang)
            assert descriptions["language"] == say("command_language", lang)
    described = {call.params.get("language_code"): call.params["description"] for call in api.calls("setMyDescription")}
    assert described["fa"] == say("description", "fa") and described[None] == say("description", "en")


def test_a_video_note_of_a_face_gets_a_look_alike(api, bot, people):
    person = people[6]
    user = new_user()
    api.send_video_note_update(user, video_of(LFW / person / f"{person}_0001.jpg"), duration=3, language_code="de")
    reply = only_reply(api, user, timeout=40)
    assert reply.method == "sendPhoto", reply.params
    assert reply.params["caption"].startswith((opening("de", "match"), opening("de", "this_is")))
    assert name(person) in reply.params["caption"]


def test_a_video_without_a_face_gets_the_no_face_answer(api, bot):
    user = new_user()
    dogs = video_of(require(SAMPLES / "dlib_faces" / "dogs.jpg"), seconds=2)
    api.send_video_update(user, dogs, duration=2, width=384, height=384)
    assert only_reply(api, user, timeout=40).params["text"] == say("no_face_video")


def test_a_huge_or_long_video_is_refused_clearly_without_its_download(api, bot, people):
    clip = video_of(LFW / people[0] / f"{people[0]}_0001.jpg", seconds=1)
    huge, long = new_user(), new_user()
    sent = api.send_video_update(huge, clip, duration=20, width=384, height=384, file_size=15 * 1024 * 1024)
    noted = api.send_video_note_update(long, clip, duration=120, language_code="ru")
    assert only_reply(api, huge).params["text"] == say("video_too_large", megabytes=12)
    assert only_reply(api, long).params["text"] == say("video_too_long", "ru", count=60)
    refused = {sent["message"]["video"]["file_id"], noted["message"]["video_note"]["file_id"]}
    assert not [call for call in api.calls("getFile") if call.params.get("file_id") in refused]
