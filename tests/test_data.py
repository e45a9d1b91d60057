"""The test data's command (``python -m tests.support.data fetch DIR``) against a local HTTP server
of a few files standing for the publishers', and the suite pointed at its folder."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile

import pytest

from tests.support import data, data_fetch
from tests.support.data import ROOT
from tests.support.data_fetch import DataError, lfw_tree_digest
from tests.support.data_sources import SOURCES, Download, Sources
from tests.support.file_server import FileServer

PEOPLE = ("Ann_Smith", "Bo_Li")
PHOTOS = {  # the archive's members the suite keeps, in its own layout (bytes that do not compress)
    "Ann_Smith/Ann_Smith_0001.jpg": random.Random(1).randbytes(1000),
    "Ann_Smith/Ann_Smith_0002.jpg": random.Random(2).randbytes(1000),
    "Bo_Li/Bo_Li_0001.jpg": random.Random(3).randbytes(1000),
}
PAIRS = "3\t300\nAnn_Smith\t1\t2\nCy_Outsider\t1\t2\nAnn_Smith\t1\tBo_Li\t1\nBo_Li\t1\tCy_Outsider\t1\n"
WIKIDATA_MODULE = 'query = "..."\n\nresponse = r"""{"entities": {"Q42": {"id": "Q42", "labels": {"en": {"value": "Douglas Adams"}}}}}"""\n'
SAMPLE = b"\x89PNG sample bytes" * 20


def archive() -> bytes:
    """A .tgz as LFW's: its top folder, the suite's people, someone else, and members that must
    never be written (a path out of the folder, a link)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        members = {
            **{f"lfw-deepfunneled/{path}": body for path, body in PHOTOS.items()},
            "lfw-deepfunneled/Cy_Outsider/Cy_Outsider_0001.jpg": b"not the suite's",
            "lfw-deepfunneled/Ann_Smith/../../escaped.jpg": b"out of the folder",
            "lfw-deepfunneled/Bo_Li/notes.txt": b"not a photo",
        }
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        link = tarfile.TarInfo("lfw-deepfunneled/Bo_Li/Bo_Li_0002.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    return out.getvalue()


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


EXPECTED = {  # what the suite reads, made by hand from the files above
    "lfw/pairs.txt": b"Ann_Smith\t1\t2\nAnn_Smith\t1\tBo_Li\t1\n",
    "lfw/catalog.csv": b"key,name,gender\r\nAnn_Smith,Ann Smith,female\r\nBo_Li,Bo Li,\r\n",
    "wikidata/Q42.json": b'{"id":"Q42","labels":{"en":{"value":"Douglas Adams"}}}',
    "samples/face_recognition/obama.png": SAMPLE,
}


def served() -> dict[str, bytes]:
    return {
        "/lfw/lfw-deepfunneled.tgz": archive(),
        "/lfw/pairs.txt": PAIRS.encode(),
        "/gender/female_names.txt": b"Ann_Smith_0001.jpg\nAnn_Smith_0002.jpg\nBo_Li_0001.jpg\n",
        "/gender/male_names.txt": b"Bo_Li_0002.jpg\nCy_Outsider_0001.jpg\n",  # Bo Li: one each, a tie
        "/wptools/tests/wikidata.py": WIKIDATA_MODULE.encode(),
        "/samples/obama.png": SAMPLE,
    }


def sources(url: str, files: dict[str, bytes]) -> Sources:
    """The suite's sources as the publishers' local stand-ins serve them."""

    def download(name: str, path: str, algorithm: str = "sha256") -> Download:
        return Download(name, f"{url}{path}", algorithm, hashlib.new(algorithm, files[path]).hexdigest())

    photo_lines = "".join(f"{sha256(body)}  {path}\n" for path, body in sorted(PHOTOS.items()))
    return Sources(
        downloads=(
            download("lfw-deepfunneled.tgz", "/lfw/lfw-deepfunneled.tgz", "md5"),
            download("pairs.txt", "/lfw/pairs.txt"),
            download("female_names.txt", "/gender/female_names.txt"),
            download("male_names.txt", "/gender/male_names.txt"),
            download("wikidata.py", "/wptools/tests/wikidata.py"),
        ),
        samples=(download("samples/face_recognition/obama.png", "/samples/obama.png"),),
        lfw_people=PEOPLE,
        lfw_archive="lfw-deepfunneled.tgz",
        lfw_prefix="lfw-deepfunneled",
        lfw_pairs="pairs.txt",
        gender_lists=("female_names.txt", "male_names.txt"),
        wikidata_module="wikidata.py",
        files={path: sha256(body) for path, body in EXPECTED.items()},
        lfw_photos_digest=sha256(photo_lines.encode()),
    )


def test_a_fetch_lays_the_data_out_as_the_suite_reads_it(tmp_path):
    files = served()
    with FileServer(files) as server:
        data_fetch.fetch(tmp_path, sources(server.url, files), say=lambda line: None)
    laid_out = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert laid_out - {f"downloads/{name}" for name in ("lfw-deepfunneled.tgz", "pairs.txt", "female_names.txt",
                                                         "male_names.txt", "wikidata.py")} == {
        *EXPECTED, *(f"lfw/{path}" for path in PHOTOS)
    }  # fmt: skip
    for path, body in {**EXPECTED, **{f"lfw/{path}": body for path, body in PHOTOS.items()}}.items():
        assert (tmp_path / path).read_bytes() == body, path
    assert not (tmp_path.parent / "escaped.jpg").exists()


def test_a_download_whose_checksum_is_wrong_is_refused_and_deleted(tmp_path):
    files = served()
    with FileServer(files) as server:
        expected = sources(server.url, files)
        files["/lfw/pairs.txt"] = PAIRS.replace("Bo_Li", "Bo_Lee").encode()  # not what was published
        with pytest.raises(DataError, match=r"pairs\.txt: sha256 [0-9a-f]{64}, expected [0-9a-f]{64}: refused"):
            data_fetch.fetch(tmp_path, expected, say=lambda line: None)
    downloads = tmp_path / "downloads"
    assert not (downloads / "pairs.txt").exists() and not (downloads / "pairs.txt.part").exists()
    assert not (tmp_path / "lfw" / "pairs.txt").exists()


def test_a_stopped_download_is_resumed_where_it_stopped(tmp_path):
    files = served()
    whole = files["/lfw/lfw-deepfunneled.tgz"]
    with FileServer(files, cut={"/lfw/lfw-deepfunneled.tgz": 700}) as server:
        data_fetch.fetch(tmp_path, sources(server.url, files), say=lambda line: None)
        asked = [range_ for path, range_ in server.requests if path == "/lfw/lfw-deepfunneled.tgz"]
    assert asked == [None, "bytes=700-"] and len(whole) > 1400
    assert (tmp_path / "downloads" / "lfw-deepfunneled.tgz").read_bytes() == whole


def test_a_download_stopped_in_one_run_is_finished_by_the_next(tmp_path, monkeypatch):
    files = served()
    monkeypatch.setattr(data_fetch, "ATTEMPTS", 1)
    with FileServer(files, cut={"/lfw/lfw-deepfunneled.tgz": 500}) as server:
        with pytest.raises(DataError, match="; 500 bytes kept in .*: run the command again to resume it$"):
            data_fetch.fetch(tmp_path, sources(server.url, files), say=lambda line: None)
        assert (tmp_path / "downloads" / "lfw-deepfunneled.tgz.part").stat().st_size == 500
        data_fetch.fetch(tmp_path, sources(server.url, files), say=lambda line: None)
        asked = [range_ for path, range_ in server.requests if path == "/lfw/lfw-deepfunneled.tgz"]
    assert asked == [None, "bytes=500-"]
    assert (tmp_path / "lfw" / "Bo_Li" / "Bo_Li_0001.jpg").read_bytes() == PHOTOS["Bo_Li/Bo_Li_0001.jpg"]


def test_a_server_that_cannot_resume_sends_it_whole_again(tmp_path):
    files = served()
    with FileServer(files, cut={"/lfw/pairs.txt": 10}, ranges=False) as server:
        data_fetch.fetch(tmp_path, sources(server.url, files), say=lambda line: None)
    assert (tmp_path / "downloads" / "pairs.txt").read_bytes() == PAIRS.encode()


def test_a_source_a_script_cannot_download_says_how_to_get_it(tmp_path):
    files = served()
    with FileServer(files) as server:
        given = sources(server.url, files)
        by_hand = dataclasses.replace(given.downloads[2], digest=None, manual="get it by hand from https://x.example")
        given = dataclasses.replace(given, downloads=(*given.downloads[:2], by_hand, *given.downloads[3:]))
        with pytest.raises(DataError, match="female_names.txt: get it by hand from https://x.example; put it in"):
            data_fetch.fetch(tmp_path, given, say=lambda line: None)
        (tmp_path / "downloads" / "female_names.txt").write_bytes(files["/gender/female_names.txt"])
        data_fetch.fetch(tmp_path, given, say=lambda line: None)  # then it is used as it is
    assert (tmp_path / "lfw" / "catalog.csv").read_bytes() == EXPECTED["lfw/catalog.csv"]


def test_a_folder_of_other_data_fails_the_check_naming_the_files(tmp_path):
    files = served()
    with FileServer(files) as server:
        given = sources(server.url, files)
        data_fetch.fetch(tmp_path, given, say=lambda line: None)
    (tmp_path / "lfw" / "Ann_Smith" / "Ann_Smith_0002.jpg").write_bytes(b"another photo")
    (tmp_path / "wikidata" / "Q42.json").unlink()
    with pytest.raises(DataError, match=r"wikidata/Q42.json \(missing\), lfw/ photos"):
        data_fetch.check(tmp_path, given)


def test_the_sources_describe_the_shared_data_the_suite_was_written_against():
    """Every checksum of the sources that was computed from ../shared/data still agrees with it."""
    data.require(data.LFW / "pairs.txt")
    data_fetch.check(data.DATA, SOURCES)
    assert lfw_tree_digest(data.LFW, SOURCES.lfw_people) == SOURCES.lfw_photos_digest


def test_the_suite_reads_the_folder_lookalike_test_data_names(tmp_path):
    shown = subprocess.run(
        [sys.executable, "-c", "from tests.support import data; print(data.DATA, data.LFW, data.SAMPLES)"],
        cwd=ROOT,
        env={**os.environ, "LOOKALIKE_TEST_DATA": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.split() == [str(tmp_path), str(tmp_path / "lfw"), str(tmp_path / "samples")]


def test_missing_data_is_skipped_with_the_command_that_gets_it(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"python -m tests\.support\.data fetch DIR") as skipped:
        data.require(tmp_path / "nowhere.jpg")
    assert "\n" not in str(skipped.value)


def test_the_command_says_its_usage_and_each_failure_in_one_line(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "tests.support.data", "check", str(tmp_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and "lfw/pairs.txt (missing)" in run.stderr
    usage = subprocess.run([sys.executable, "-m", "tests.support.data"], cwd=ROOT, capture_output=True, text=True)
    assert usage.returncode == 2 and "fetch DIR" in usage.stderr


def test_wikidata_comes_out_of_its_module_without_running_it():
    module = 'import os\nos.remove("x")\nresponse = r"""{"entities": {"Q42": {"id": "Q42"}}}"""\n'
    assert data_fetch.q42_of(module) == '{"id":"Q42"}'
    assert json.loads(data_fetch.q42_of(WIKIDATA_MODULE))["labels"]["en"]["value"] == "Douglas Adams"


def test_a_run_without_the_data_says_in_one_line_how_to_get_it(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_shared_data.py", "-k", "skips"],
        cwd=ROOT,
        env={**env, "LOOKALIKE_TEST_DATA": str(tmp_path / "nowhere")},
        capture_output=True,
        text=True,
    )
    told = [line for line in run.stdout.splitlines() if line.startswith("no test data at")]
    assert told == [f"no test data at {tmp_path / 'nowhere'}: {data.HOW_TO_GET_IT} (the tests that need it skipped)"]
