"""fetch_celebrities.py against a local fake of Wikidata's SPARQL endpoint, the Commons API
and the image files (tests/wikimedia_server.py), with real LFW faces as the photos."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.support.data import LFW, ROOT, require
from tests.support.press import press_runner_up
from tests.support.wikimedia_server import (
    FakeFile,
    FakePerson,
    FakeWikimedia,
)

CONTACT = "ops@example.org"
AGENT_START = f"LookalikeBotCelebrityFetcher/1.0 ({CONTACT}) Python-urllib/"


def face(person: str, number: int = 1) -> bytes:
    return require(LFW / person / f"{person}_{number:04d}.jpg").read_bytes()


def png(data: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buffer, "PNG")
    return buffer.getvalue()


SKIDMORE = (
    '<a rel="nofollow" class="external text" href="https://www.flickr.com/people/54006316@N00">Gage Skidmore</a>'
    " from Peoria, AZ, United States of America"
)


def world() -> tuple[list[FakePerson], list[FakeFile]]:
    """Nine people: six usable, and one each of a non-free licence, a missing file, a broken
    image; plus one with no name in the languages asked."""
    people = [
        FakePerson(
            "Q1001",
            ["File:Adam Sandler 2018.jpg"],
            90,
            {"en": "Adam Sandler", "ru": "Адам Сэндлер"},
            {"en": "Adam Sandler", "ru": "Сэндлер, Адам"},
            "male",
            None,
            "1966-09-09T00:00:00Z",
        ),
        FakePerson(
            "Q1002",
            ["File:Alex Sink.jpg"],
            80,
            {"mul": "Alex Sink"},
            {"ru": "Синк, Алекс"},
            "female",
            None,
            "1948-06-05T00:00:00Z",
        ),
        FakePerson("Q1003", ["File:Adrien Brody.jpg"], 70, {"en": "Adrien Brody"}, {}),
        FakePerson("Q1004", ["File:Aaron Eckhart.png"], 60, {"en": "Aaron Eckhart"}, {"en": "Aaron Eckhart"}, "male"),
        FakePerson("Q1005", ["File:Aaron Sorkin.jpg"], 50, {"en": "Aaron Sorkin"}, {"en": "Aaron Sorkin"}, "male"),
        FakePerson("Q1006", ["File:Abbas Kiarostami.jpg"], 40, {"en": "Abbas Kiarostami"}, {}, "male"),
        FakePerson("Q1007", ["File:Adam Ant.jpg"], 30, {"en": "Adam Ant"}, {}, "male"),
        FakePerson(
            "Q1008",
            ["File:Abdoulaye Wade 1.jpg", "File:Abdoulaye Wade 2.jpg"],
            20,
            {"en": "Abdoulaye Wade", "ru": "Абдулай Вад"},
            {"en": "Abdoulaye Wade"},
            "male",
        ),
        FakePerson("Q1009", ["File:Nameless.jpg"], 10, {"de": "Ohne Namen"}, {}),
        FakePerson("Q1010", ["File:Adam Freier.jpg"], 5, {"en": "Adam Freier"}, {}, "male"),
    ]
    files = [
        FakeFile(
            "File:Adam Sandler 2018.jpg",
            face("Adam_Sandler"),
            SKIDMORE,
            "CC BY-SA 2.0",
            "cc-by-sa-2.0",
            "https://creativecommons.org/licenses/by-sa/2.0",
        ),
        FakeFile(
            "File:Alex Sink.jpg",
            face("Alex_Sink"),
            "<span>Jane &amp; John Doe</span>",
            "CC BY 3.0",
            "cc-by-3.0",
            "https://creativecommons.org/licenses/by/3.0",
        ),
        FakeFile("File:Adrien Brody.jpg", face("Adrien_Brody"), None, "Public domain", "pd", None),
        FakeFile(
            "File:Aaron Eckhart.png",
            png(face("Aaron_Eckhart")),
            "Studio",
            "CC0",
            "cc0",
            "http://creativecommons.org/publicdomain/zero/1.0/deed.en",
        ),
        FakeFile(
            "File:Aaron Sorkin.jpg",
            face("Aaron_Sorkin"),
            "Somebody",
            "CC BY-NC 2.0",
            "cc-by-nc-2.0",
            "https://creativecommons.org/licenses/by-nc/2.0",
        ),
        FakeFile("File:Abbas Kiarostami.jpg", None, missing=True),
        FakeFile("File:Adam Ant.jpg", b"<html><body>Error 500</body></html>", "Someone"),
        FakeFile("File:Abdoulaye Wade 1.jpg", face("Abdoulaye_Wade"), "Photographer One"),
        FakeFile("File:Abdoulaye Wade 2.jpg", face("Abdoulaye_Wade", 2), "Photographer Two"),
        FakeFile("File:Nameless.jpg", face("Adam_Sandler", 2), "Nobody"),
        FakeFile("File:Adam Freier.jpg", face("Adam_Freier"), "Someone Else"),
    ]
    return people, files


USABLE = ["Q1001", "Q1002", "Q1003", "Q1004", "Q1008", "Q1010"]
CREDIT = ("file", "file_page", "photo_url", "photo_width", "author", "license", "license_url")


def sandler_before_27(fake: FakeWikimedia) -> dict:
    """Adam Sandler's entry exactly as the fetcher wrote it before it fetched several photos a person."""
    return {
        "name": "Adam Sandler",
        "names": {"en": "Adam Sandler", "ru": "Адам Сэндлер"},
        "link": "https://en.wikipedia.org/wiki/Adam_Sandler",
        "wikidata": "https://www.wikidata.org/wiki/Q1001",
        "gender": "male",
        "born": 1966,
        "sitelinks": 90,
        "file": "File:Adam Sandler 2018.jpg",
        "file_page": "https://commons.wikimedia.org/wiki/File:Adam_Sandler_2018.jpg",
        "photo_url": f"{fake.base}/thumb/Adam_Sandler_2018.jpg/500px-Adam_Sandler_2018.jpg",
        "photo_width": 500,
        "author": "Gage Skidmore from Peoria, AZ, United States of America",
        "license": "CC BY-SA 2.0",
        "license_url": "https://creativecommons.org/licenses/by-sa/2.0",
    }


def credit(record: dict) -> dict:
    return {name: record[name] for name in CREDIT if name in record}


def fetch(fake: FakeWikimedia, out: Path, **options):
    from lookalike.fetcher.celebrity_fetch import FetchOptions
    from lookalike.fetcher.celebrity_fetch import fetch as run
    from lookalike.fetcher.polite_http import PoliteClient

    workers = options.pop("workers", 2)
    client = PoliteClient(f"{AGENT_START}3", max_parallel=workers, backoff=0.05, attempts=options.pop("attempts", 4))
    settings = dict(
        languages=["en", "ru"],
        limit=100,
        page_size=4,
        sparql_url=fake.sparql_url,
        commons_api_url=fake.api_url,
        workers=workers,
    )
    settings.update(options)
    return run(FetchOptions(out=out, **settings), client)


def catalog(out: Path) -> dict:
    return json.loads((out / "catalog.json").read_text(encoding="utf-8"))


def photos(out: Path) -> list[str]:
    return sorted(p.stem for p in out.iterdir() if p.suffix == ".jpg" and not p.name.startswith("."))


@pytest.fixture
def fake():
    people, files = world()
    with FakeWikimedia(people, files) as server:
        yield server


# ------------------------------------------------------------------------ the catalog


def test_the_catalog_has_names_links_gender_birth_year_photo_and_credit(fake, tmp_path):
    fake.imageinfo_per_response = 3  # the API's "continue" is followed
    report = fetch(fake, tmp_path)
    entries = catalog(tmp_path)
    assert photos(tmp_path) == USABLE == sorted(entries)
    assert report.listed == 10 and report.fetched == 6 and report.already == 0
    sandler = entries["Q1001"]
    assert sandler == {**sandler_before_27(fake), "images": [{"path": "Q1001.jpg", "source": "P18", **credit(sandler)}]}
    sink = entries["Q1002"]  # only a "mul" label; the only article in Russian
    assert sink["names"] == {"en": "Alex Sink", "ru": "Alex Sink"} and sink["name"] == "Alex Sink"
    assert sink["link"] == "https://ru.wikipedia.org/wiki/%D0%A1%D0%B8%D0%BD%D0%BA%2C_%D0%90%D0%BB%D0%B5%D0%BA%D1%81"
    assert sink["gender"] == "female" and sink["author"] == "Jane & John Doe" and sink["license"] == "CC BY 3.0"
    brody = entries["Q1003"]  # public domain, no author; no article, no gender, no birth date
    assert "author" not in brody and "gender" not in brody and "born" not in brody and "license_url" not in brody
    assert brody["license"] == "Public domain" and brody["link"] == "https://www.wikidata.org/wiki/Q1003"
    assert entries["Q1008"]["file"] == "File:Abdoulaye Wade 1.jpg"  # two P18 rows: the first
    assert (tmp_path / "Q1001.jpg").read_bytes() == face("Adam_Sandler")  # a JPEG is kept as sent
    with Image.open(tmp_path / "Q1004.jpg") as converted:  # a PNG thumbnail is stored as JPEG
        assert converted.format == "JPEG" and converted.size == (250, 250)
    assert not (tmp_path / ".fetch-partial").exists()
    from lookalike.catalog import read_catalog

    assert read_catalog(tmp_path) == entries  # the builder's and the fetcher's one reader: every field as written


def test_files_without_a_reusable_licence_a_missing_file_and_a_broken_image_are_skipped_with_reasons(fake, tmp_path):
    report = fetch(fake, tmp_path)
    assert dict(report.skipped) == {
        "licence not reusable (CC BY-NC 2.0)": 1,
        "file missing on Commons": 1,
        "not an image": 1,
        "no label in en,ru": 1,
    }
    assert report.examples["file missing on Commons"] == ["Q1006 (File:Abbas Kiarostami.jpg)"]
    assert report.examples["not an image"] == ["Q1007 (File:Adam Ant.jpg)"]
    for qid in ("Q1005", "Q1006", "Q1007", "Q1009"):
        assert not (tmp_path / f"{qid}.jpg").exists() and qid not in catalog(tmp_path)


def test_people_are_listed_a_page_at_a_time_most_famous_first_up_to_the_limit(fake, tmp_path):
    report = fetch(fake, tmp_path, limit=5, page_size=2, occupations=["Q33999"], countries=["Q30"])
    assert report.listed == 5
    pages = [(q.split("LIMIT ")[1].split()[0], q.split("OFFSET ")[1].split()[0]) for q in fake.queries]
    assert pages == [("2", "0"), ("2", "2"), ("1", "4")]
    assert "VALUES ?occupation { wd:Q33999 }" in fake.queries[0] and "VALUES ?country { wd:Q30 }" in fake.queries[0]
    assert "ORDER BY DESC(?sitelinks)" in fake.queries[0]
    assert photos(tmp_path) == ["Q1001", "Q1002", "Q1003", "Q1004"]  # Q1005: licence


def test_a_query_too_long_for_a_url_is_posted(fake, tmp_path):
    occupations = [f"Q{n}" for n in range(100000, 100600)]  # ~9 KB of query
    report = fetch(fake, tmp_path, limit=3, occupations=occupations)
    assert report.listed == 3 and fake.posted == 1 and photos(tmp_path) == ["Q1001", "Q1002", "Q1003"]
    assert "wd:Q100599" in fake.queries[0]
    fetch(fake, tmp_path, limit=3)
    assert fake.posted == 1  # a short one is a GET, which the query service can cache


def test_a_query_that_runs_out_of_time_is_not_repeated_and_says_what_to_change(fake, tmp_path):
    from lookalike.fetcher.celebrity_fetch import FetchError

    fake.sparql_timeout = True
    with pytest.raises(FetchError, match="HTTP 500.*raise --min-sitelinks or lower --page-size"):
        fetch(fake, tmp_path)
    assert len(fake.queries) == 1 and not (tmp_path / "catalog.json").exists()


def test_wikidata_values_other_than_female_and_male_are_kept_and_unknown_dates_left_out():
    from lookalike.fetcher.wikidata import build_query, parse_results

    row = {
        "person": {"type": "uri", "value": "http://www.wikidata.org/entity/Q7"},
        "sitelinks": {"type": "literal", "value": "3", "datatype": "http://www.w3.org/2001/XMLSchema#integer"},
        "image": {"type": "uri", "value": "http://commons.wikimedia.org/wiki/Special:FilePath/A%20B_c.jpg"},
        "gender": {"type": "uri", "value": "http://www.wikidata.org/entity/Q48270"},
        "genderLabel": {"type": "literal", "value": "non-binary", "xml:lang": "en"},
        "born": {"type": "uri", "value": "http://www.wikidata.org/.well-known/genid/0123"},  # "unknown value"
        "label_en": {"type": "literal", "value": "Someone", "xml:lang": "en"},
    }
    (person,) = parse_results({"head": {"vars": list(row)}, "results": {"bindings": [row]}}, ["en"])
    assert (person.qid, person.file, person.gender, person.born) == ("Q7", "File:A B c.jpg", "non-binary", None)
    assert person.fields()["link"] == "https://www.wikidata.org/wiki/Q7" and person.fields()["sitelinks"] == 3
    query = build_query(["pt-br", "en"], limit=10)
    assert '"pt-br"' in query and "<https://pt.wikipedia.org/>" in query  # labels by language, articles by wiki


# ----------------------------------------------------------------------- politeness


def test_every_request_names_the_tool_its_version_and_the_contact(fake, tmp_path, capsys):
    import fetch_celebrities

    code = fetch_celebrities.main(
        [
            "--out",
            str(tmp_path),
            "--contact",
            CONTACT,
            "--lang",
            "en,ru",
            "--sparql-url",
            fake.sparql_url,
            "--commons-api-url",
            fake.api_url,
        ]
    )
    assert code == 0 and photos(tmp_path) == USABLE
    assert {hit.path.split("?")[0].split("/")[1] for hit in fake.hits} == {"sparql", "w", "thumb"}
    assert all(hit.user_agent.startswith(AGENT_START) for hit in fake.hits), {hit.user_agent for hit in fake.hits}


@pytest.mark.parametrize(
    "arguments, message",
    [
        ([], "--contact is required"),
        (["--contact", "me"], "neither an e-mail address nor a URL"),
        (["--contact", CONTACT, "--width", "400"], "--width 400: Wikimedia serves only"),
        (["--contact", CONTACT, "--photos-per-person", "0"], "--photos-per-person must be at least 1"),
    ],
)
def test_a_missing_contact_or_a_non_standard_width_is_one_line(tmp_path, capsys, arguments, message):
    import fetch_celebrities

    assert fetch_celebrities.main(["--out", str(tmp_path / "photos"), *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "photos").exists()


def test_at_most_two_downloads_at_a_time_by_default(fake, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from lookalike.fetcher.polite_http import PoliteClient

    fake.image_delay = 0.3
    fetch(fake, tmp_path)
    assert fake.max_in_flight == 2  # and not 1: the two slots are used
    assert len(fake.thumb_hits()) == 7

    # The client caps requests by itself, however many threads share it.
    fake.max_in_flight = 0
    client = PoliteClient(AGENT_START + "3", max_parallel=2)
    url = f"{fake.base}/thumb/Adam_Freier.jpg/500px-Adam_Freier.jpg"
    with ThreadPoolExecutor(max_workers=6) as pool:
        assert all(r.status == 200 for r in pool.map(lambda _: client.get(url), range(6)))
    assert fake.max_in_flight == 2


def test_a_429_with_retry_after_pauses_every_request_then_the_photo_is_fetched(fake, tmp_path):
    fake.retry_after, fake.image_delay = "2", 0.2
    fake.too_many["File:Alex Sink.jpg"] = 1
    report = fetch(fake, tmp_path)
    assert "Q1002" in photos(tmp_path) and report.fetched == 6
    (throttled,) = [hit for hit in fake.hits if hit.status == 429]
    answered = throttled.at + fake.image_delay  # when the 429 left the server
    after = sorted(hit.at - answered for hit in fake.hits if hit.at > throttled.at)
    # The other download may have been on its way already; nothing else starts for 2 s.
    assert len([t for t in after if t < 0.15]) <= 1 and [t for t in after if 0.15 <= t < 1.9] == [], after
    assert after and after[-1] >= 1.9
    assert sum(hit.path.startswith("/thumb/Alex_Sink") for hit in fake.hits) == 2


def test_a_server_that_keeps_failing_is_tried_a_bounded_number_of_times_and_the_run_goes_on(fake, tmp_path):
    fake.retry_after = "0"
    fake.too_many["File:Alex Sink.jpg"] = 100
    report = fetch(fake, tmp_path, attempts=3)
    assert sum(hit.path.startswith("/thumb/Alex_Sink") for hit in fake.hits) == 3
    assert report.skipped["download failed (HTTP 429, 3 attempts)"] == 1
    assert photos(tmp_path) == [q for q in USABLE if q != "Q1002"]


# ------------------------------------------------------------- resuming, interrupting


def test_a_second_run_fetches_nothing_new_refreshes_wikidata_fields_and_follows_a_changed_photo(fake, tmp_path):
    fetch(fake, tmp_path)
    before = catalog(tmp_path)
    first_hits = len(fake.hits)
    (tmp_path / "catalog.json").write_text(  # an operator's own field and an entry this run does not list
        json.dumps({**before, "Q1001": {**before["Q1001"], "note": "mine"}, "Q5": {"name": "Kept"}}), encoding="utf-8"
    )
    fake.people[0].labels["ru"] = "Адам Сэндлер (актёр)"
    report = fetch(fake, tmp_path)
    assert report.fetched == 0 and report.already == 6
    # Only the files of the people skipped last time are looked up again (a licence or a file may have been fixed).
    again = fake.hits[first_hits:]
    asked = [h.params()["titles"] for h in again if h in fake.api_hits("imageinfo")]
    assert asked == ["File:Aaron Sorkin.jpg|File:Abbas Kiarostami.jpg|File:Adam Ant.jpg"]
    assert [h.path.split("/")[2] for h in again if h.path.startswith("/thumb/")] == ["Adam_Ant.jpg"]
    after = catalog(tmp_path)
    assert after["Q1001"]["names"]["ru"] == "Адам Сэндлер (актёр)" and after["Q1001"]["note"] == "mine"
    assert after["Q5"] == {"name": "Kept"} and after["Q1002"] == before["Q1002"]

    fake.people[1].files = ["File:Alex Sink 2.jpg"]  # Wikidata's photo changed: fetched anew
    fake.files["File:Alex Sink 2.jpg"] = FakeFile("File:Alex Sink 2.jpg", face("Alex_Sink", 2), "New Author")
    report = fetch(fake, tmp_path)
    assert report.fetched == 1 and report.already == 5
    assert (tmp_path / "Q1002.jpg").read_bytes() == face("Alex_Sink", 2)
    assert catalog(tmp_path)["Q1002"]["author"] == "New Author"
    assert catalog(tmp_path)["Q1002"]["license"] == "CC BY-SA 4.0"


def test_an_unreadable_catalog_is_left_as_it_is_with_one_clear_line(fake, tmp_path, capsys):
    import fetch_celebrities

    (tmp_path / "catalog.json").write_text('{"Q1": {"name": "half', encoding="utf-8")
    code = fetch_celebrities.main(
        [
            "--out",
            str(tmp_path),
            "--contact",
            CONTACT,
            "--sparql-url",
            fake.sparql_url,
            "--commons-api-url",
            fake.api_url,
        ]
    )
    assert code == 1 and fake.hits == [] and photos(tmp_path) == []
    assert (tmp_path / "catalog.json").read_text(encoding="utf-8") == '{"Q1": {"name": "half'


def test_ctrl_c_leaves_every_photo_with_its_entry_and_the_next_run_finishes(tmp_path):
    people, files = [], []
    names = sorted(p.name for p in require(LFW).iterdir() if p.is_dir())[:12]
    for i, person in enumerate(names):
        title = f"File:{person.replace('_', ' ')}.jpg"
        people.append(FakePerson(f"Q{2000 + i}", [title], 100 - i, {"en": person.replace("_", " ")}))
        files.append(FakeFile(title, face(person), f"Author {i}"))
    out = tmp_path / "photos"
    with FakeWikimedia(people, files, image_delay=0.4) as fake:
        command = fake.command(out, CONTACT)
        # Ctrl+C reaches a terminal's foreground job; a background shell (as CI may be) starts its
        # children with SIGINT ignored, which they would inherit: give the tool the terminal's case.
        inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        finally:
            signal.signal(signal.SIGINT, inherited)
        deadline = time.monotonic() + 30
        while len(fake.thumb_hits()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 130, output
        entries = catalog(out)
        published = photos(out)
        assert 3 <= len(published) < 12, output
        for qid in published:
            i = int(qid[1:]) - 2000
            assert (
                entries[qid]["file"] == f"File:{names[i].replace('_', ' ')}.jpg"
                and entries[qid]["author"] == f"Author {i}"
            )
            assert (out / f"{qid}.jpg").read_bytes() == face(names[i])
        assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
        assert "interrupted" in output

        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert f"{12 - len(published)} photos fetched, {len(published)} already there" in done.stderr
        assert len(photos(out)) == 12 == len(catalog(out))


# ------------------------------------------------------------- from the folder to the bot


def test_build_embeddings_reads_the_folder_and_the_credits_and_names_reach_the_bot(fake, tmp_path, monkeypatch):
    import numpy as np

    from lookalike.answering import pictures, replies
    from lookalike.answering.analysis import Analysis, FoundFace
    from lookalike.answering.build_reload import load_build
    from lookalike.engine.index import Match

    fetch(fake, tmp_path / "photos")
    built = subprocess.run(
        [
            sys.executable,
            str(ROOT / "build_embeddings.py"),
            str(tmp_path / "photos"),
            "--out",
            str(tmp_path / "assets"),
            "--jitters",
            "1",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    loaded = load_build(tmp_path / "assets")
    rows = {loaded.index.celebrity(i)["key"]: i for i in range(len(loaded))}
    assert sorted(rows) == USABLE
    sandler = loaded.index.celebrity(rows["Q1001"])
    assert sandler["names"] == {"en": "Adam Sandler", "ru": "Адам Сэндлер"} and sandler["gender"] == "male"
    assert sandler["author"] == "Gage Skidmore from Peoria, AZ, United States of America"
    assert sandler["license"] == "CC BY-SA 2.0" and sandler["name"] == "Adam Sandler"

    drawn = []
    side_by_side = pictures.side_by_side
    monkeypatch.setattr(pictures, "side_by_side", lambda *a, **k: drawn.append(k) or side_by_side(*a, **k))
    selfie = FoundFace((0, 0, 250, 250), 40.0, np.zeros(128, np.float32), face("Adam_Sandler", 3))
    ids = [rows["Q1001"], rows["Q1003"], rows["Q1002"]]
    matches = [Match(i, loaded.index.celebrity(i)["name"], 0.3 + n / 10, 0.9 - n / 10) for n, i in enumerate(ids)]
    credited = replies.one_face("ru", Analysis([selfie]), matches, loaded)
    credit = "Фото: Gage Skidmore from Peoria, AZ,…, CC BY-SA 2.0"
    assert drawn[-1] == {"name": "Адам Сэндлер", "credit": credit, "lang": "ru"}
    assert "Адам Сэндлер" in credited.caption and "Adam Sandler" not in credited.caption
    assert [b.label for b in credited.buttons[0]] == ["Adrien Brody · 80\xa0%", "Alex Sink · 70\xa0%"]  # Russian's
    public_domain = replies.one_face("en", Analysis([selfie]), [matches[1], matches[0]], loaded)
    assert drawn[-1] == {"name": "Adrien Brody", "credit": None, "lang": "en"}  # no author: no credit line

    # The credit is drawn under the celebrity's half, in the strip where nothing is drawn without one.
    with_credit = np.asarray(Image.open(io.BytesIO(credited.picture)).convert("L"), dtype=np.int16)
    without = np.asarray(Image.open(io.BytesIO(public_domain.picture)).convert("L"), dtype=np.int16)
    assert with_credit.shape == without.shape
    half = slice(with_credit.shape[1] // 2 + 12, None)
    credit_row = slice(pictures.CROP_SIDE + pictures.MARGIN + 40, None)
    background = np.mean(pictures.BACKGROUND)
    assert np.abs(with_credit[credit_row, half] - background).max() > 60
    assert np.abs(without[credit_row, half] - background).max() < 30

    # A runner-up's photo carries the credit in its caption, uploaded and then by file_id.
    button = credited.buttons[0][1]  # Alex Sink: CC BY 3.0, "Jane & John Doe"
    sent = press_runner_up(loaded, button.data)
    assert sent == ["Alex Sink · 70%\nPhoto: Jane & John Doe, CC BY 3.0"] * 2
