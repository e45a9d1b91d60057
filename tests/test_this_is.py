""" "This is X": a photo of a gallery celebrity is named as that celebrity, by the bot (in both
languages, with the picture and runners-up as usual) and by model.py (a "this_is" field);
a stranger's photo is not. The rule's own fit needs 1,000 stand-in photos, more than a
test gallery has, so the gallery built here gets a rule written into its index.json."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from lookalike.engine.identity import IdentityRule
from tests.support.bot_harness import name, new_user, only_reply, run_bot, say, selfie
from tests.support.data import LFW, ROOT

pytestmark = pytest.mark.e2e  # starts bot.py and model.py

RULE = IdentityRule(max_distance=0.5, max_ratio=0.8)


@pytest.fixture(scope="module")
def ruled_assets(assets, tmp_path_factory):
    """The session's gallery with a "this is X" rule."""
    copy = tmp_path_factory.mktemp("this_is") / "assets"
    shutil.copytree(assets, copy)
    meta = json.loads((copy / "index.json").read_text())
    assert meta["identity_rule"] is None  # a gallery of 24 people is too small to fit one
    meta["identity_rule"] = RULE.to_json()
    (copy / "index.json").write_text(json.dumps(meta))
    return copy


@pytest.fixture(scope="module")
def bot(api, ruled_assets, tmp_path_factory):
    process = run_bot(api, ruled_assets, tmp_path_factory.mktemp("bot") / "bot.log")
    yield process
    assert process.stop() == 0, process.log()[-3000:]


def model_py(photo, assets) -> dict:
    printed = subprocess.run(
        [sys.executable, str(ROOT / "model.py"), str(photo), "--assets", str(assets), "--top", "1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    [line] = [json.loads(text) for text in printed.splitlines()]
    return line


def test_model_py_says_this_is_for_a_celebrity_and_not_for_a_stranger(ruled_assets, people, new_people):
    person = people[0]
    line = model_py(LFW / person / f"{person}_0001.jpg", ruled_assets)  # held out of the gallery
    assert line["this_is"] == name(person) == line["matches"][0]["name"]
    stranger = model_py(LFW / new_people[0] / f"{new_people[0]}_0001.jpg", ruled_assets)
    assert "this_is" not in stranger and stranger["matches"]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_bot_says_this_is_with_the_picture_and_runners_up(api, bot, people, new_people, lang):
    person = people[1]
    user = new_user()
    api.send_photo_update(user, sizes=selfie(person), language_code=lang)
    reply = only_reply(api, user)
    assert reply.method == "sendPhoto"
    caption = reply.params["caption"]
    assert caption.startswith(say("this_is", lang, name=name(person)).split("!")[0]), caption
    assert len(reply.params["reply_markup"]["inline_keyboard"][0]) == 2  # the runners-up as usual

    stranger = new_user()
    api.send_photo_update(stranger, sizes=selfie(new_people[1]), language_code=lang)
    caption = only_reply(api, stranger).params["caption"]
    assert caption.startswith(say("match", lang, name="", percent=0).split("<b>")[0]), caption
