"""The playground in a real browser: ``python bot.py --playground`` serving a gallery of LFW
women and men (catalog.csv genders), Debian's chromium driven by playwright uploading real
photos and reading what a person sees. Screenshots go to the test's tmp dir (and to
$PLAYGROUND_SCREENSHOTS when set, which is how docs/ got its pictures)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.assets import thumbnail
from tests.support.bot_harness import name, say
from tests.support.data import LFW, ROOT, SAMPLES, require
from tests.support.playground import PlaygroundProcess, chromium, csp_violations

pytestmark = pytest.mark.e2e  # starts bot.py --playground

ANSWER_TIMEOUT = 60_000  # ms: the first photo waits for the worker to load dlib
SECRET = "a-long-operator-secret-0123456789"


@pytest.fixture(scope="module")
def assets(gendered_assets: Path) -> Path:
    return gendered_assets


@pytest.fixture(scope="module")
def playground(assets, tmp_path_factory):
    process = PlaygroundProcess(
        tmp_path_factory.mktemp("playground") / "playground.log", ASSETS_DIR=str(assets), WORKERS="1"
    )
    yield process
    assert process.stop() == 0


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, playground, tmp_path):
    context = browser.new_context(viewport={"width": 900, "height": 1000}, locale="en-US")
    opened = context.new_page()
    blocked = csp_violations(opened)
    opened.goto(playground.url)
    opened.wait_for_selector("#chat:not([hidden])")
    yield opened
    assert blocked == []  # the page works under its own CSP
    opened.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    keep = os.environ.get("PLAYGROUND_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(
            tmp_path / "page.png", Path(keep) / f"{os.environ['PYTEST_CURRENT_TEST'].split(':')[-1].split(' ')[0]}.png"
        )
    context.close()


def model_first(photo: Path, assets: Path) -> dict:
    """What model.py prints for ``photo``'s first face: the ranking the caption must name."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "model.py"), str(photo), "--assets", str(assets), "--top", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[0])


def send(page, photo: Path, count: int = 1):
    """Upload ``photo`` with the file picker; the bot's answer, once it is there."""
    before = page.locator(".message.bot").count()
    page.set_input_files("#file", str(photo))
    page.wait_for_function(
        f"() => document.querySelectorAll('.message.bot:not(.pending)').length >= {before + count}",
        timeout=ANSWER_TIMEOUT,
    )
    return page.locator(".message.bot").nth(before)


def shown_thumbnail(message) -> bytes:
    """The JPEG a message shows (a data: URL)."""
    source = message.locator("img.answer-picture").get_attribute("src")
    return base64.b64decode(source.split(",", 1)[1])


def thumbnail_of(assets: Path, celebrity: str) -> bytes:
    return thumbnail(assets, celebrity).read_bytes()


def loaded(picture) -> bool:
    return picture.evaluate("img => img.complete && img.naturalWidth > 0")


def test_a_selfie_gets_the_picture_and_the_celebrity_model_py_ranks_first(page, assets, women):
    photo = require(LFW / women[0] / f"{women[0]}_0001.jpg")  # held out of the gallery
    first = model_first(photo, assets)
    answer = send(page, photo)
    assert loaded(answer.locator("img.answer-picture"))
    caption = answer.locator(".caption").inner_text()
    assert first["this_is"] == first["matches"][0]["name"]  # a gallery celebrity's own (held-out) photo
    assert caption.startswith(f"This is {first['matches'][0]['name']}!"), (caption, first)
    assert first["matches"][1]["name"] in caption  # "Also like: ..."
    labels = answer.locator(".reply-button").all_inner_texts()
    assert labels[0].startswith(first["matches"][1]["name"] + " · ")
    assert labels[-1].startswith(f"As a man: {first['other']['name']} · ")


def test_a_runner_up_and_the_other_gender_buttons_show_their_celebrity(page, assets, women, men):
    photo = require(LFW / women[1] / f"{women[1]}_0001.jpg")
    first = model_first(photo, assets)
    answer = send(page, photo)
    answer.locator(".reply-button").first.click()
    page.wait_for_selector(".message.bot >> nth=1")
    runner_up = page.locator(".message.bot").nth(1)
    assert loaded(runner_up.locator("img.answer-picture"))
    assert runner_up.locator(".caption").inner_text().startswith(first["matches"][1]["name"] + " · ")
    assert shown_thumbnail(runner_up) == thumbnail_of(assets, first["matches"][1]["name"])  # that celebrity's photo
    answer.locator(".reply-button", has_text="As a man:").click()
    page.wait_for_selector(".message.bot >> nth=2")
    other = page.locator(".message.bot").nth(2)
    assert loaded(other.locator("img.answer-picture"))
    shown = other.locator(".caption").inner_text()
    assert shown.startswith(first["other"]["name"] + " · ")
    assert shown_thumbnail(other) == thumbnail_of(assets, first["other"]["name"])
    assert first["other"]["name"] in {name(person) for person in men}  # the catalog's man, not a woman


def test_a_photo_without_a_face_gets_the_no_face_text(page):
    answer = send(page, require(SAMPLES / "dlib_faces" / "dogs.jpg"))
    assert answer.locator(".text").inner_text() == say("no_face")
    assert answer.locator("img").count() == 0


def test_a_group_photo_gets_numbered_faces(page):
    answer = send(page, require(SAMPLES / "face_recognition" / "two_people.jpg"))
    assert loaded(answer.locator("img.answer-picture"))
    lines = answer.locator(".caption").inner_text().splitlines()
    assert lines[0] == say("group", count=2)
    assert [line[:3] for line in lines[1:]] == ["1. ", "2. "]
    assert [label[:3] for label in answer.locator(".reply-button").all_inner_texts()] == ["1. ", "2. "]


def test_russian_is_the_bot_s_russian_and_a_dropped_photo_is_answered(page, women):
    page.select_option("#lang", "ru")
    photo = require(LFW / women[2] / f"{women[2]}_0001.jpg")
    before = page.locator(".message.bot").count()
    page.evaluate(
        """async ([bytes, fileName]) => {
            const data = new DataTransfer();
            data.items.add(new File([new Uint8Array(bytes)], fileName, {type: "image/jpeg"}));
            document.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
        }""",
        [list(photo.read_bytes()), photo.name],
    )
    page.wait_for_function(
        f"() => document.querySelectorAll('.message.bot:not(.pending)').length > {before}", timeout=ANSWER_TIMEOUT
    )
    caption = page.locator(".message.bot").nth(before).locator(".caption").inner_text()
    assert caption.startswith("Это ")  # "This is X!": a gallery celebrity's own (held-out) photo
    assert page.locator("#camera").get_attribute("capture") == "user"  # a phone's camera


def test_a_file_too_large_for_the_bot_gets_its_text(page, tmp_path):
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(b"\xff\xd8" + bytes(21 * 1024 * 1024))
    answer = send(page, huge)
    assert answer.locator(".text").inner_text() == say("too_large")


def test_the_operator_page_shows_the_chart_to_this_machine(browser, playground, tmp_path):
    context = browser.new_context(viewport={"width": 1100, "height": 1200})
    page = context.new_page()
    blocked = csp_violations(page)
    page.goto(f"{playground.url}/operator")
    page.wait_for_function(
        "() => document.getElementById('chart').complete && document.getElementById('chart').naturalWidth > 0"
    )
    page.wait_for_function("() => document.getElementById('summary').textContent.length > 0")
    assert "Photos answered:" in page.locator("#summary").inner_text()
    page.screenshot(path=str(tmp_path / "operator.png"), full_page=True)
    keep = os.environ.get("PLAYGROUND_SCREENSHOTS")
    if keep:
        shutil.copy(tmp_path / "operator.png", Path(keep) / "operator.png")
    assert blocked == []
    context.close()


@pytest.fixture(scope="module")
def playground_with_a_secret(assets, tmp_path_factory):
    process = PlaygroundProcess(
        tmp_path_factory.mktemp("guarded") / "playground.log",
        ASSETS_DIR=str(assets),
        WORKERS="1",
        PLAYGROUND_SECRET=SECRET,
    )
    yield process
    assert process.stop() == 0


def test_the_operator_logs_in_with_the_secret_which_no_url_or_script_ever_sees(browser, playground_with_a_secret):
    url = playground_with_a_secret.url
    context = browser.new_context(viewport={"width": 1100, "height": 1200})
    page = context.new_page()
    blocked = csp_violations(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{url}/operator")
    assert page.url == f"{url}/operator/login"  # from this very machine, still asked
    page.fill("#secret", "not-the-secret-but-as-long")
    page.click("#login")
    page.wait_for_selector("#wrong:not([hidden])")
    assert "operator" not in {cookie["name"] for cookie in context.cookies()}
    page.fill("#secret", SECRET)
    page.click("#login")
    page.wait_for_url(f"{url}/operator")
    page.wait_for_function(
        "() => document.getElementById('chart').complete && document.getElementById('chart').naturalWidth > 0"
    )
    page.wait_for_function("() => document.getElementById('summary').textContent.length > 0")
    assert "Photos answered:" in page.locator("#summary").inner_text()
    (session,) = [cookie for cookie in context.cookies() if cookie["name"] == "operator"]
    assert session["httpOnly"] and session["sameSite"] == "Strict" and SECRET not in session["value"]
    assert "operator=" not in page.evaluate("() => document.cookie")  # no script can read it
    assert [address for address in requested if SECRET in address] == []
    page.click("#logout")
    page.wait_for_url(f"{url}/")
    page.goto(f"{url}/operator")
    assert page.url == f"{url}/operator/login"  # logged out
    assert blocked == []
    context.close()


def test_an_arabic_browser_gets_the_page_and_the_answers_in_arabic_right_to_left(browser, playground, women):
    from lookalike.answering.translations import catalog
    from lookalike.playground.page_texts import PAGE_TEXTS

    context = browser.new_context(viewport={"width": 900, "height": 1000}, locale="ar-EG")
    page = context.new_page()
    page.goto(playground.url)
    page.wait_for_selector("#chat:not([hidden])")
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    assert page.locator("[data-text=choose]").inner_text() == catalog("ar").gettext(PAGE_TEXTS["choose"])
    assert page.locator("#lang option").count() == 13
    caption = send(page, require(LFW / women[3] / f"{women[3]}_0001.jpg")).locator(".caption").inner_text()
    assert caption.lstrip("\u200f").startswith(("أنت تشبه", "هذا")), caption
    page.select_option("#lang", "hi")
    page.wait_for_function("() => document.documentElement.dir === 'ltr'")
    assert page.locator("[data-text=choose]").inner_text() == catalog("hi").gettext(PAGE_TEXTS["choose"])
    context.close()


def test_every_word_the_page_marks_is_in_the_catalogs():
    import re

    from lookalike.playground.page_texts import PAGE_TEXTS

    static = ROOT / "lookalike" / "playground" / "static"
    marked = set()
    for page in static.glob("*.html"):
        marked |= set(re.findall(r'data-text="(\w+)"', page.read_text(encoding="utf-8")))
    marked |= set(re.findall(r'\bt\("(\w+)"', (static / "app.js").read_text(encoding="utf-8")))
    marked |= {"fetching", "building", "done", "failed", "chart"}  # looked up by the progress's state, the alt text
    assert marked == set(PAGE_TEXTS)
