"""The playground's first run in a real browser: no index yet, so the page says how to get
one and, asked to, fetches celebrities from (a local fake of) Wikidata and Commons with the
real fetch_celebrities.py and builds them with build_embeddings.py, showing each command's
stage and percentage as it goes, then answers a photo from the new index. And the reading of
those progress lines, from the progress module that writes them."""

from __future__ import annotations

import io
import json
import logging
import re
import time
import urllib.request

import pytest
from tqdm import tqdm

from lookalike.playground.first_run import stage_progress
from lookalike.progress import LogProgress
from tests.support.data import LFW, require
from tests.support.playground import PlaygroundProcess, chromium
from tests.support.wikimedia_server import FakeFile, FakePerson, FakeWikimedia

PEOPLE = ["Abdoulaye_Wade", "Adam_Sandler", "Adrien_Brody", "Alex_Sink", "Amelia_Vega", "Andre_Agassi"]


def world() -> tuple[list[FakePerson], list[FakeFile]]:
    people, files = [], []
    for number, person in enumerate(PEOPLE):
        title = f"File:{person.replace('_', ' ')}.jpg"
        labels = {"en": person.replace("_", " ")}
        people.append(FakePerson(f"Q{2000 + number}", [title], 100 - number, labels, labels))
        files.append(FakeFile(title, require(LFW / person / f"{person}_0002.jpg").read_bytes(), "A Photographer"))
    return people, files


def watch_progress(url: str, page, timeout: float = 180.0) -> tuple[list[tuple[str, str, int | None]], set[str]]:
    """/api/state's first run, read as fast as it answers until the run ends: every change of
    (state, stage, percent) in order, and what the page showed beside its bar meanwhile."""
    seen: list[tuple[str, str, int | None]] = []
    shown: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/state", timeout=10) as answer:
            run = json.load(answer)["first_run"]
        now = (run["state"], run["stage"], run["percent"])
        if not seen or seen[-1] != now:
            seen.append(now)
        if run["state"] in ("done", "failed"):
            return seen, shown
        shown.add(page.locator("#first-run-stage").inner_text())
        time.sleep(0.02)
    raise AssertionError(f"the first run did not end within {timeout} s: {seen}")


def stages(seen: list[tuple[str, str, int | None]], state: str) -> dict[str, list[int]]:
    """The stages a command (``state``) went through, in order, each with the percentages it
    showed in the order they came."""
    runs: dict[str, list[int]] = {}
    for s, stage, percent in seen:
        if s == state and percent is not None:
            assert stage not in runs or list(runs)[-1] == stage, f"{stage} came back: {seen}"
            runs.setdefault(stage, []).append(percent)
    return runs


@pytest.mark.e2e  # starts bot.py --playground
def test_no_index_page_fetches_builds_and_then_answers(tmp_path):
    # a thumbnail takes 0.6 s: the fetch lasts ~2 s, so the page's one-second refresh sees it move
    with FakeWikimedia(*world(), image_delay=0.6) as wikimedia, chromium() as browser:
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
            seen, shown = watch_progress(playground.url, page)
            assert seen[-1] == ("done", "", 100), seen
            assert [state for state, _, _ in seen if state != "idle"] == sorted(
                (state for state, _, _ in seen if state != "idle"), key=["fetching", "building", "done"].index
            ), seen  # fetching, then building, then done
            for state, named in (("fetching", "fetching"), ("building", "analysing")):
                runs = stages(seen, state)
                assert named in runs and "" not in runs, (state, seen)  # each stage by its name
                assert [p for percents in runs.values() for p in percents if 0 < p < 100], seen  # not only 100
                assert all(percents == sorted(percents) for percents in runs.values()), seen  # in order
            assert any(re.fullmatch(r"fetching \d{1,2}%", text) for text in shown), shown  # beside the bar
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


def test_the_progress_lines_the_commands_log_give_their_stage_and_percentage_in_order(caplog):
    """LogProgress's lines, as a command logs them without a terminal (the first run's pipe),
    read back: every line is the stage and its percentage, which only grows, and reaches 100
    with the stage's last line (not before: 199 of 200 is 99%)."""
    now = [0.0]
    with caplog.at_level(logging.INFO, logger="progress"):
        job = LogProgress(200, "photo", "analysing", clock=lambda: now[0])
        for done in range(200):
            now[0] += 0.1
            job.update(1)
        job.close()
    lines = [f"{record.levelname} {record.name}: {record.getMessage()}" for record in caplog.records]
    read = [stage_progress(line) for line in lines]
    assert len(read) >= 15 and None not in read, lines  # every 5%
    percents = [percent for _, percent in read]  # type: ignore[misc]
    assert {stage for stage, _ in read} == {"analysing"}  # type: ignore[misc]
    assert percents == sorted(percents) and 0 < percents[0] < 100 and percents[-1] == 100, percents
    assert stage_progress("INFO progress: analysing: 199/200 photos (100%), 9.9 photos/s, 0 s left") == (
        "analysing",
        99,
    )
    assert stage_progress("INFO fetch_celebrities: done in 0.9 s: 6 people listed, 6 photos fetched") is None


def test_tqdm_s_bar_gives_its_stage_and_percentage():
    drawn = io.StringIO()
    with tqdm(total=50, desc="fetching", unit="photo", file=drawn, mininterval=0) as bar:
        for _ in range(20):
            bar.update(1)
    frames = [stage_progress(frame) for frame in re.split(r"[\r\n]", drawn.getvalue()) if frame.strip()]
    assert frames[0] == ("fetching", 0) and frames[-1] == ("fetching", 40), frames
    assert [percent for _, percent in frames] == sorted(percent for _, percent in frames)  # type: ignore[misc]
    assert stage_progress(" 42%|████▏     | 21/50 [00:10<00:14, 2.0it/s]") == ("", 42)  # a bar without a desc
