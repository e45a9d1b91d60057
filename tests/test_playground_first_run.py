"""The playground's first run in a real browser: no index yet, so the page says how to get
one and, asked to, fetches celebrities from (a local fake of) Wikidata and Commons with the
real fetch_celebrities.py and builds them with build_embeddings.py, showing the progress,
then answers a photo from the new index."""

from __future__ import annotations

import pytest

from tests.support.data import LFW, require
from tests.support.playground import PlaygroundProcess, chromium
from tests.support.wikimedia_server import FakeFile, FakePerson, FakeWikimedia

pytestmark = pytest.mark.e2e  # starts bot.py --playground

PEOPLE = ["Abdoulaye_Wade", "Adam_Sandler", "Adrien_Brody", "Alex_Sink", "Amelia_Vega", "Andre_Agassi"]


def world() -> tuple[list[FakePerson], list[FakeFile]]:
    people, files = [], []
    for number, person in enumerate(PEOPLE):
        title = f"File:{person.replace('_', ' ')}.jpg"
        labels = {"en": person.replace("_", " ")}
        people.append(FakePerson(f"Q{2000 + number}", [title], 100 - number, labels, labels))
        files.append(FakeFile(title, require(LFW / person / f"{person}_0002.jpg").read_bytes(), "A Photographer"))
    return people, files


def test_no_index_page_fetches_builds_and_then_answers(tmp_path):
    with FakeWikimedia(*world()) as wikimedia, chromium() as browser:
        playground = PlaygroundProcess(
            tmp_path / "playground.log",
            ASSETS_DIR=str(tmp_path / "assets"),
            WORKERS="1",
            INDEX_POLL_SECONDS="0.5",
            WIKIDATA_SPARQL_URL=wikimedia.sparql_url,
            COMMONS_API_URL=wikimedia.api_url,
        )
        try:
            page = browser.new_page(viewport={"width": 900, "height": 900})
            page.goto(playground.url)
            page.wait_for_selector("#first-run:not([hidden])")
            commands = page.locator("#first-run pre").first.inner_text()
            assert f"fetch_celebrities.py --out {tmp_path / 'photos'}" in commands
            assert f"build_embeddings.py {tmp_path / 'photos'} --out {tmp_path / 'assets'}" in commands
            assert page.locator("#chat").is_hidden()
            page.fill("#contact", "ops@example.org")
            page.fill("#limit", "20")
            page.click("#first-run-start")
            page.wait_for_selector("#first-run-progress:not([hidden])")
            page.screenshot(path=str(tmp_path / "first-run.png"), full_page=True)
            page.wait_for_function(  # fetched, built and loaded; or failed, saying why
                "() => !document.getElementById('chat').hidden || document.getElementById('first-run-error').textContent",
                timeout=180_000,
            )
            assert page.locator("#first-run-error").inner_text() == ""
            assert page.locator("#chat").is_visible()
            assert f"{len(PEOPLE)} celebrities in the index" in page.locator("#index-line").inner_text()
            assert (tmp_path / "photos" / "catalog.json").exists()  # beside ASSETS_DIR
            assert {hit.path.split("?")[0] for hit in wikimedia.hits} >= {"/sparql", "/w/api.php"}
            photo = require(LFW / "Andre_Agassi" / "Andre_Agassi_0001.jpg")  # not the fetched photo
            page.set_input_files("#file", str(photo))
            page.wait_for_selector(".message.bot:not(.pending) .caption", timeout=60_000)
            assert page.locator(".caption").inner_text().startswith("You look like Andre Agassi:")
            page.screenshot(path=str(tmp_path / "answered.png"), full_page=True)
        finally:
            assert playground.stop() == 0
