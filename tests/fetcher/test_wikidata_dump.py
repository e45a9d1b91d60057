"""fetch_celebrities.py --dump: the people list from a Wikidata JSON dump that the tests write
in the dumps' real layout (with the real entity Q42 among them), checked against the query
path on the fake Wikimedia services for the same people."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.data import LFW, ROOT, require
from tests.support.wikidata_dumps import (
    entity,
    item,
    person_entity,
    q42,
    statement,
    string,
    time,
    write_dump,
)
from tests.support.wikimedia_server import FakeFile, FakePerson, FakeWikimedia

AGENT = "LookalikeBotCelebrityFetcher/1.0 (ops@example.org) Python-urllib/3"


def face(person: str) -> bytes:
    return require(LFW / person / f"{person}_0001.jpg").read_bytes()


def people() -> list[FakePerson]:
    """Q42 as Wikidata has it, and people with what the list must carry over: a "mul" label
    only, an article only in Russian, a gender that is neither female nor male, two images,
    no name in the languages asked, and a tie in sitelinks ordered by IRI (wd:Q1010 < wd:Q9)."""
    return [
        FakePerson(
            "Q42",
            ["File:Douglas adams portrait cropped.jpg"],
            101,
            {"en": "Douglas Adams"},
            {"en": "Douglas Adams", "ru": "Адамс, Дуглас"},
            "male",
            None,
            "1952-03-11T00:00:00Z",
            "Douglas Adams",  # P373, as the real entity has it
        ),
        FakePerson(
            "Q1001",
            ["File:Adam Sandler 2018.jpg"],
            90,
            {"en": "Adam Sandler", "ru": "Адам Сэндлер", "de": "Adam Sandler"},
            {"en": "Adam Sandler", "ru": "Сэндлер, Адам"},
            "male",
            None,
            "1966-09-09T00:00:00Z",
        ),
        FakePerson("Q1002", ["File:Alex Sink.jpg"], 80, {"mul": "Alex Sink"}, {"ru": "Синк, Алекс"}, "female"),
        FakePerson("Q1003", ["File:Adrien Brody.jpg"], 70, {"en": "Adrien Brody"}, {}, "Q48270", "non-binary"),
        FakePerson(
            "Q1008", ["File:Abdoulaye Wade 1.jpg", "File:Abdoulaye Wade 2.jpg"], 20, {"en": "Abdoulaye Wade"}, {}
        ),
        FakePerson("Q1009", ["File:Nameless.jpg"], 10, {"de": "Ohne Namen"}, {}),
        FakePerson("Q9", ["File:Adam Freier.jpg"], 5, {"en": "Adam Freier"}, {}, "male"),
        FakePerson("Q1010", ["File:Aaron Eckhart.jpg"], 5, {"en": "Aaron Eckhart"}, {}, "male"),
    ]


def files() -> list[FakeFile]:
    return [
        FakeFile("File:Douglas adams portrait cropped.jpg", face("Aaron_Sorkin"), "Michael Hughes"),
        FakeFile("File:Adam Sandler 2018.jpg", face("Adam_Sandler"), "Gage Skidmore"),
        FakeFile("File:Alex Sink.jpg", face("Alex_Sink"), "Jane Doe"),
        FakeFile("File:Adrien Brody.jpg", face("Adrien_Brody"), None, "Public domain", "pd", None),
        FakeFile("File:Abdoulaye Wade 1.jpg", face("Abdoulaye_Wade"), "One"),
        FakeFile("File:Abdoulaye Wade 2.jpg", face("Abdoulaye_Wade"), "Two"),
        FakeFile("File:Nameless.jpg", face("Adam_Sandler"), "Nobody"),
        FakeFile("File:Adam Freier.jpg", face("Adam_Freier"), "Someone"),
        FakeFile("File:Aaron Eckhart.jpg", face("Aaron_Eckhart"), "Studio"),
    ]


def noise() -> list[dict]:
    """Entities the query would not list, some of them passing the cheap line filter."""
    painting = entity(
        "Q2001",
        {"en": "A portrait"},
        {"P31": [statement("P31", item("Q3305213"))], "P18": [statement("P18", string("Portrait.jpg"))]},
        {"enwiki": "A portrait"},
    )
    painting["claims"]["P180"] = [statement("P180", item("Q5"))]  # depicts: human
    return [
        painting,
        entity("Q2002", {"en": "No photo"}, {"P31": [statement("P31", item("Q5"))]}, {"enwiki": "No photo"}),
        entity(
            "Q2003",
            {"en": "Deprecated photo"},
            {"P31": [statement("P31", item("Q5"))], "P18": [statement("P18", string("Wrong.jpg"), "deprecated")]},
            {},
        ),
        entity(
            "Q2004",
            {"en": "Unknown photo"},
            {"P31": [statement("P31", item("Q5"))], "P18": [statement("P18", None, snaktype="somevalue")]},
            {},
        ),
        entity(
            "Q2005",
            {"en": "Not a human any more"},
            {
                "P31": [statement("P31", item("Q5"), "deprecated"), statement("P31", item("Q15632617"))],
                "P18": [statement("P18", string("Fictional.jpg"))],
            },
            {},
        ),
        entity("Q2006", {"en": "A city"}, {"P31": [statement("P31", item("Q515"))]}, {"enwiki": "A city"}),
    ]


def dump_entities() -> list[dict]:
    real = q42()
    made = [person_entity(p) for p in people() if p.qid != "Q42"]
    return [noise()[0], real, *made[:3], *noise()[1:], *made[3:]]


def fetch(fake: FakeWikimedia, out: Path, **options):
    from lookalike.fetcher.celebrity_fetch import FetchOptions
    from lookalike.fetcher.celebrity_fetch import fetch as run
    from lookalike.fetcher.polite_http import PoliteClient

    settings = {
        "languages": ["en", "ru"],
        "limit": 100,
        "page_size": 3,
        "sparql_url": fake.sparql_url,
        "commons_api_url": fake.api_url,
    }
    settings.update(options)
    return run(FetchOptions(out=out, **settings), PoliteClient(AGENT, max_parallel=2, backoff=0.05))


@pytest.fixture
def fake():
    with FakeWikimedia(people(), files()) as server:
        yield server


def catalog(out: Path) -> dict:
    return json.loads((out / "catalog.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("suffix", [".json.gz", ".json.bz2"])
@pytest.mark.parametrize("limit", [100, 7])
def test_the_dump_gives_the_catalog_and_photos_the_query_service_gives(fake, tmp_path, suffix, limit):
    dump = write_dump(tmp_path / f"latest-all{suffix}", dump_entities())
    queried = fetch(fake, tmp_path / "queried", limit=limit)
    dumped = fetch(fake, tmp_path / "dumped", limit=limit, dump=dump)
    assert catalog(tmp_path / "dumped") == catalog(tmp_path / "queried")
    assert dumped.listed == queried.listed == min(limit, 8)
    assert dict(dumped.skipped) == dict(queried.skipped) == {"no label in en,ru": 1}
    for photo in (tmp_path / "queried").glob("*.jpg"):
        assert (tmp_path / "dumped" / photo.name).read_bytes() == photo.read_bytes()
    entries = catalog(tmp_path / "dumped")
    if limit == 7:  # a tie at 5 sitelinks: wd:Q1010 comes before wd:Q9
        assert "Q1010" in entries and "Q9" not in entries
    adams = entries["Q42"]
    assert adams["names"] == {"en": "Douglas Adams"} and adams["born"] == 1952
    assert adams["link"] == "https://en.wikipedia.org/wiki/Douglas_Adams" and adams["sitelinks"] == 101
    assert entries["Q1003"]["gender"] == "non-binary" and entries["Q1008"]["file"] == "File:Abdoulaye Wade 1.jpg"
    assert not any(qid.startswith("Q200") for qid in entries)


def test_statements_are_read_as_the_query_reads_truthy_values():
    from lookalike.fetcher.wikidata_dump import Wanted, person_of

    wanted = Wanted.of(["en"])
    human = [statement("P31", item("Q5"))]
    ranked = entity(
        "Q3001",
        {"en": "Ranked"},
        {
            "P31": human,
            "P18": [
                statement("P18", string("Old_photo.jpg")),
                statement("P18", string("Best_photo.jpg"), "preferred"),
                statement("P18", string("Bad.jpg"), "deprecated"),
            ],
            "P569": [statement("P569", None, snaktype="somevalue"), statement("P569", time("-0050-01-01T00:00:00Z"))],
            "P21": [statement("P21", item("Q6581072"), "deprecated")],
        },
        {},
    )
    person = person_of(ranked, wanted)
    assert person is not None and person.file == "File:Best photo.jpg"
    assert person.born == -50 and person.gender is None and person.name == "Ranked" and person.sitelinks == 0
    for other in noise():
        assert person_of(other, wanted) is None, other["id"]


def test_occupation_country_and_sitelink_filters_choose_as_the_query_does(tmp_path):
    from lookalike.fetcher.wikidata_dump import ScanCount, Wanted, scan

    dump = write_dump(tmp_path / "dump.json.gz", dump_entities())
    writer = ["Q214917"]  # playwright, one of Q42's occupations; Q42 is a citizen of Q145
    assert [p.qid for p in scan(dump, Wanted.of(["en"], occupations=writer), 10)] == ["Q42"]
    assert [p.qid for p in scan(dump, Wanted.of(["en"], occupations=writer, countries=["Q30"]), 10)] == []
    assert [p.qid for p in scan(dump, Wanted.of(["en"], countries=["Q30", "Q145"]), 10)] == ["Q42"]
    count = ScanCount()
    listed = scan(dump, Wanted.of(["en"], min_sitelinks=70), 10, count)
    assert [p.qid for p in listed] == ["Q42", "Q1001", "Q1002", "Q1003"]
    assert count.lines == len(dump_entities()) + 2  # "[" and "]"
    assert count.parsed == 8 + 4  # the people, and the noise with both "P18" and "Q5" in its line
    assert count.people == 4 and count.bad_lines == 0


def test_the_scan_on_a_local_dask_cluster_lists_the_same_people(tmp_path, monkeypatch):
    from lookalike.fetcher import dump_listing
    from lookalike.fetcher.wikidata_dump import Wanted

    dump = write_dump(tmp_path / "dump.json", dump_entities())
    monkeypatch.setattr(dump_listing, "BLOCK", "64KiB")  # several blocks, so several workers' tasks
    wanted = Wanted.of(["en", "ru"])
    here = dump_listing.list_people(dump, wanted, 6)
    assert len(here) == 6
    assert dump_listing.list_people(dump, wanted, 6, scheduler="local") == here


def test_a_broken_dump_is_a_clear_error_and_a_missing_one_a_usage_error(tmp_path):
    broken = tmp_path / "cut.json.gz"
    whole = write_dump(tmp_path / "whole.json.gz", dump_entities()).read_bytes()
    broken.write_bytes(whole[: len(whole) // 2])
    tool = [sys.executable, str(ROOT / "fetch_celebrities.py"), "--contact", "ops@example.org"]
    run = subprocess.run([*tool, "--out", str(tmp_path / "out"), "--dump", str(broken)], capture_output=True, text=True)
    assert run.returncode == 1
    assert f"cannot read the dump {broken}: EOFError" in run.stderr
    missing = subprocess.run([*tool, "--dump", str(tmp_path / "nope.json.gz")], capture_output=True, text=True)
    assert missing.returncode == 2 and "--dump" in missing.stderr and "no such file" in missing.stderr
    alone = subprocess.run([*tool, "--scheduler", "local"], capture_output=True, text=True)
    assert alone.returncode == 2 and "--scheduler is for scanning a --dump" in alone.stderr


def test_a_dump_piped_in_on_stdin_is_read_as_a_file_is(fake, tmp_path):
    """``lbzip2 -dc latest-all.json.bz2 | fetch_celebrities.py --dump /dev/stdin``: a parallel
    decompressor's output, or a compressed stream, read once from the pipe."""
    dump = write_dump(tmp_path / "dump.json.bz2", dump_entities())
    fetch(fake, tmp_path / "from-file", dump=dump)
    tool = [sys.executable, str(ROOT / "fetch_celebrities.py"), "--contact", "ops@example.org", "--lang", "en,ru"]
    tool += ["--sparql-url", fake.sparql_url, "--commons-api-url", fake.api_url, "--dump", "/dev/stdin"]
    run = subprocess.run([*tool, "--out", str(tmp_path / "piped")], input=dump.read_bytes(), capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    assert catalog(tmp_path / "piped") == catalog(tmp_path / "from-file")
