"""The one catalog reader (lookalike.catalog) that the builder and the fetcher share: the real
LFW catalog.csv, a catalog.json as the fetcher writes it, and bad files with clear messages."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.support.data import LFW, require


def write(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_the_lfw_catalog_csv_reads_as_typed_records_with_genders():
    from lookalike.catalog import read_catalog
    from lookalike.engine import gender

    path = require(LFW / "catalog.csv")
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    catalog = read_catalog(LFW)
    assert len(catalog) == len(rows) == 2880
    assert set(catalog) == {p.name for p in LFW.iterdir() if p.is_dir()}  # one record per photo folder
    assert catalog["Aaron_Eckhart"] == {"name": "Aaron Eckhart", "gender": "male"}
    codes = gender.codes(list(catalog.values()))  # 0 female, 1 male, -1 unknown
    assert (codes == 0).sum() == 760 and (codes == 1).sum() == 2118 and (codes == -1).sum() == 2
    blank = [key for key, record in catalog.items() if "gender" not in record]  # empty cells are left out
    assert len(blank) == 2 and all(catalog[key]["name"] for key in blank)


def test_a_catalog_json_as_the_fetcher_writes_it_reads_back_unchanged(tmp_path):
    from lookalike.catalog import read_catalog
    from lookalike.fetcher.commons import FileInfo
    from lookalike.fetcher.photo_folder import write_catalog
    from lookalike.fetcher.wikidata import Person

    person = Person("Q37079", "File:Tom Cruise.jpg", 120, {"en": "Tom Cruise", "ru": "Том Круз"}, "", "male", 1962)
    info = FileInfo("File:Tom Cruise.jpg", "https://upload.example/500px.jpg", "https://commons.example/F", "Gage")
    written = {
        "Q37079": {**person.fields(), **info.fields(), "photo_width": 500, "nickname": "Cruise"},  # an operator's own
        "Q2": {"name": "Nobody", "gender": "non-binary"},
    }
    write_catalog(tmp_path, written)
    catalog = read_catalog(tmp_path)
    assert catalog == written  # every field, the unknown one too
    assert list(catalog) == ["Q2", "Q37079"]  # the fetcher's QID order
    assert catalog["Q37079"]["born"] == 1962 and catalog["Q37079"]["names"]["ru"] == "Том Круз"


def test_photo_records_read_checked_with_their_credits_and_unknown_fields(tmp_path):
    from lookalike.catalog import read_catalog

    images = [
        {"path": "Q42.jpg", "source": "P18", "file": "File:Douglas adams portrait.jpg", "photo_width": 500},
        {"path": "Q42/3f2a9c0d1e4b5a67.jpg", "source": "depicts", "depicts": "3", "author": None, "mine": [1]},
    ]
    write(tmp_path, "catalog.json", json.dumps({"Q42": {"name": "Douglas Adams", "images": images}}))
    (record,) = read_catalog(tmp_path).values()
    assert record["images"] == [
        images[0],
        {"path": "Q42/3f2a9c0d1e4b5a67.jpg", "source": "depicts", "depicts": 3, "mine": [1]},
    ]


def test_whole_numbers_written_as_text_become_ints_and_json_nulls_are_absent(tmp_path):
    from lookalike.catalog import read_catalog

    write(tmp_path, "catalog.csv", "key,name,born,sitelinks,note\nCher,Cher,1946,+80,007\n")
    assert read_catalog(tmp_path) == {"Cher": {"name": "Cher", "born": 1946, "sitelinks": 80, "note": "007"}}
    (tmp_path / "catalog.csv").unlink()
    write(tmp_path, "catalog.json", json.dumps([{"key": "Cher", "born": "1946", "author": None, "extra": None}]))
    assert read_catalog(tmp_path) == {"Cher": {"born": 1946}}


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("catalog.json", '{"Cher": {"name": "Ch', "cannot read the catalog"),
        ("catalog.json", "[1, 2]", "each entry needs a string key"),
        ("catalog.json", '[{"name": "Cher"}]', "each entry needs a string key"),
        ("catalog.json", "42", "expected an object keyed by celebrity"),
        ("catalog.json", '{"Cher": {"born": "nineteen"}}', "'Cher': born should be a whole number, not 'nineteen'"),
        ("catalog.json", '{"Cher": {"born": true}}', "'Cher': born should be a whole number"),
        ("catalog.json", '{"Cher": {"name": ["Cher"]}}', "'Cher': name should be text"),
        ("catalog.json", '{"Cher": {"names": {"en": 1}}}', "'Cher': names should be an object of language -> name"),
        ("catalog.json", '[{"key": "Cher"}, {"key": "Cher"}]', "'Cher' has two entries"),
        ("catalog.csv", "name,link\nCher,x\n", "the header row needs a 'key' column"),
        ("catalog.csv", "key,name\nCher,Cher\nCher,Cherilyn\n", "'Cher' has two entries"),
        ("catalog.csv", "key,name\nCher,Cher\n,Nobody\n", "line 3 has no key"),
        ("catalog.csv", "key,name,born\nCher,Cher,c. 1946\n", "'Cher': born should be a whole number"),
        ("catalog.json", '{"Q1": {"images": {"path": "Q1.jpg"}}}', "'Q1': images should be a list of objects"),
        ("catalog.json", '{"Q1": {"images": ["Q1.jpg"]}}', "'Q1': images[0] should be an object"),
        ("catalog.json", '{"Q1": {"images": [{"source": "P18"}]}}', "images[0].path None: a path relative to the"),
        ("catalog.json", '{"Q1": {"images": [{"path": "Q1/../../x.jpg"}]}}', "should not contain '..'"),
        ("catalog.json", '{"Q1": {"images": [{"path": "/etc/passwd"}]}}', "should be relative to the photo folder"),
        ("catalog.json", '{"Q1": {"images": [{"path": "Q1\\\\a.jpg"}]}}', "with forward slashes"),
        ("catalog.json", '{"Q1": {"images": [{"path": "Q1.jpg", "author": 5}]}}', "images[0].author should be text"),
        (
            "catalog.json",
            '{"Q1": {"images": [{"path": "Q1.jpg"}, {"path": "Q1/a.jpg", "photo_width": "wide"}]}}',
            "'Q1': images[1].photo_width should be a whole number, not 'wide'",
        ),
    ],
)
def test_a_bad_catalog_stops_the_builder_and_the_fetcher_with_the_file_and_the_fault(tmp_path, name, text, says):
    from lookalike.builder import BuildError
    from lookalike.builder.celebrity_photos import discover
    from lookalike.fetcher.celebrity_fetch import FetchError
    from lookalike.fetcher.celebrity_fetch import read_catalog as fetcher_reads

    path = write(tmp_path, name, text) / name
    with pytest.raises(BuildError) as built:
        discover(tmp_path)
    assert says in str(built.value) and str(path) in str(built.value)
    with pytest.raises(FetchError) as fetched:
        fetcher_reads(tmp_path)
    assert says in str(fetched.value) and str(fetched.value).endswith("(left as it is)")
    assert path.read_text(encoding="utf-8") == text


def test_two_catalogs_are_refused_and_none_is_an_empty_catalog(tmp_path):
    from lookalike.catalog import CatalogError, read_catalog

    assert read_catalog(tmp_path) == {}
    write(tmp_path, "catalog.json", "{}")
    write(tmp_path, "catalog.csv", "key\n")
    with pytest.raises(CatalogError, match=r"two catalogs in .*: keep one of catalog\.json, catalog\.csv"):
        read_catalog(tmp_path)
