"""The bot with a gender-labelled gallery: answers within the face's gender, one button for
the other gender's best look-alike, and model.py printing exactly what the bot answered.

Its own bot process and gallery (LFW women and men with a catalog.csv of their genders);
the helpers are test_bot's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.bot_harness import (
    name,
    new_user,
    only_reply,
    press,
    replies_to,
    running_bot,
)
from tests.support.data import LFW, ROOT

pytestmark = pytest.mark.e2e  # starts bot.py


@pytest.fixture(scope="module")
def assets(gendered_assets: Path) -> Path:
    return gendered_assets


@pytest.fixture(scope="module")
def bot(api, assets, tmp_path_factory):
    with running_bot(api, assets, tmp_path_factory.mktemp("bot") / "bot.log") as process:
        yield process


def selfie(person: str):
    return LFW / person / f"{person}_0001.jpg"


def shown(reply) -> tuple[list[tuple[str, int | None]], dict]:
    """(name, percent) of the answer and its runners-up as the reply shows them (no percent when the
    answer is "This is X!": a held-out photo of a gallery celebrity), and the other-gender button."""
    caption = reply.params["caption"]
    rows = reply.params["reply_markup"]["inline_keyboard"]
    best = re.search(r"<b>(.*?)</b>(?:: (\d+)%|!)", caption)
    runners_up = [re.fullmatch(r"(.*) · (\d+)%", button["text"]).groups() for button in rows[0]]
    first = (best.group(1), None if best.group(2) is None else int(best.group(2)))
    listed = [first] + [(n, int(p)) for n, p in runners_up]
    [[other]] = rows[1:]
    return listed, other


@pytest.mark.parametrize("gender, same, label", [("female", "women", "As a man: "), ("male", "men", "As a woman: ")])
def test_answers_stay_within_the_gender_and_a_button_shows_the_other(api, bot, women, men, gender, same, label):
    ours, theirs = (women, men) if gender == "female" else (men, women)
    person = ours[2]
    user = new_user()
    api.send_photo_update(user, sizes=selfie(person).read_bytes())
    reply = only_reply(api, user)
    listed, other = shown(reply)
    assert listed[0][0] == name(person)
    assert {n for n, _ in listed} <= {name(p) for p in ours}, listed
    assert other["text"].startswith(label) and other["text"][len(label) :].split(" · ")[0] in {name(p) for p in theirs}
    assert other["callback_data"].startswith("t:")  # the gallery's versioned runner-up button data

    press(api, user, reply.result, other["callback_data"])
    picture = replies_to(api, user, count=2)[1]
    assert picture.method == "sendPhoto" and picture.params["caption"] == other["text"][len(label) :]


def test_model_py_prints_what_the_bot_answered(api, bot, assets, women):
    from lookalike.answering.replies import percent
    from lookalike.engine.index import Match

    person = women[4]
    user = new_user()
    api.send_photo_update(user, sizes=selfie(person).read_bytes())
    listed, other = shown(only_reply(api, user))
    printed = subprocess.run(
        [sys.executable, str(ROOT / "model.py"), str(selfie(person)), "--assets", str(assets), "--top", "3"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    [line] = [json.loads(text) for text in printed.splitlines()]

    def as_shown(match: dict) -> tuple[str, int]:
        return match["name"], percent(Match(0, match["name"], match["distance"], match["similarity"]))

    expected = [as_shown(m) for m in line["matches"]]
    if "this_is" in line:  # the bot says "This is X!" without a percentage
        assert line["this_is"] == expected[0][0]
        expected[0] = (expected[0][0], None)
    assert expected == listed
    assert line["gender"] == "female"
    assert "As a man: {} · {}%".format(*as_shown(line["other"])) == other["text"]


def test_the_gallery_fuses_the_classifier_with_the_probe(assets):
    """Labelled photos with the classifier's scores (the builder's photo cache keeps them)
    give the index a fusion, saved with the probe. In a gallery this small the probe's
    held-out scores may tell nothing, and then the classifier decides alone (weight 0)."""
    probe = json.loads((assets / "index.json").read_text())["gender_probe"]
    assert probe is not None and probe["fusion"] is not None
    assert probe["fusion"]["classifier_weight"] > 0 and probe["fusion"]["probe_weight"] >= 0
