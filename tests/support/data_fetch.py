"""``python -m tests.support.data fetch DIR``: the public data the suite reads, downloaded from its
publishers, each download checked against its checksum, and laid out in DIR as the suite reads it
(``LOOKALIKE_TEST_DATA=DIR``); ``python -m tests.support.data check DIR`` checks a laid-out folder.

The sources and their checksums are ``data_sources``. A download goes to ``DIR/downloads/NAME.part``
first and is renamed once its checksum is right; one that stops midway is resumed where it stopped
(an HTTP Range request), a few times within a run and again at the next run; one whose checksum is
wrong is deleted and refused. Then each file the suite reads is made from the downloads (LFW's
photos of the suite's people taken out of the archive; ``pairs.txt`` restricted to them; their
``catalog.csv`` of genders from the per-image lists; the sample photos copied; Wikidata's Q42
taken out of the test module that holds it) and checked against the checksum of the copy the
suite was written against.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import http.client
import io
import json
import re
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from tests.support import data_sources
from tests.support.data_sources import Download, Sources

CHUNK = 1 << 20
ATTEMPTS = 4
"""Tries of one download within a run, each resuming where the last stopped."""
TIMEOUT = 60.0
USER_AGENT = "lookalike-test-data/1 (python -m tests.support.data fetch)"


class DataError(Exception):
    """A download or a file that cannot be used: the message says which and what to do."""


# ------------------------------------------------------------------ downloads


def digest(path: Path, algorithm: str) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, algorithm).hexdigest()


def download(source: Download, folder: Path, say: Callable[[str], None] = print) -> Path:
    """``source`` in ``folder`` with its checksum checked: there already, or downloaded (resumed
    from a ``.part`` a stopped download left); DataError when it cannot be had or is not right."""
    target = folder / source.name
    if target.exists() and (source.digest is None or digest(target, source.algorithm) == source.digest):
        return target
    if source.manual:
        raise DataError(f"{source.name}: {source.manual}; put it in {folder} and run the command again")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _fetch_into(source.url, part)
            break
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, urllib.error.HTTPError) and exc.code < 500 and exc.code != 416:
                raise DataError(f"{source.name}: {source.url} answered {exc.code} {exc.reason}") from None
            kept = part.stat().st_size if part.exists() else 0
            if attempt == ATTEMPTS:
                resume = f"; {kept} bytes kept in {part}: run the command again to resume it" if kept else ""
                raise DataError(f"{source.name}: cannot download {source.url} ({exc}){resume}") from None
            say(f"{source.name}: the download stopped at {kept} bytes ({exc}); trying again")
    found = digest(part, source.algorithm)
    if source.digest is not None and found != source.digest:
        part.unlink()
        raise DataError(
            f"{source.name}: {source.algorithm} {found}, expected {source.digest}: refused and deleted "
            f"(not the file {source.url} published)"
        )
    part.replace(target)
    say(f"{source.name}: downloaded, {source.algorithm} checked")
    return target


def _fetch_into(url: str, part: Path) -> None:
    """Append the rest of ``url`` to ``part`` (all of it when the server does not resume)."""
    start = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if start:
        headers["Range"] = f"bytes={start}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # nothing left after ``start``: the part is whole
            return
        raise
    with response:
        resumed = start > 0 and response.status == 206 and _range_start(response) == start
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        written = 0
        with part.open("ab" if resumed else "wb") as file:
            while chunk := response.read(CHUNK):
                file.write(chunk)
                written += len(chunk)
        if expected is not None and written < expected:
            raise http.client.IncompleteRead(b"", expected - written)


def _range_start(response: http.client.HTTPResponse) -> int | None:
    found = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(found[1]) if found else None


# ------------------------------------------------------------------ the layout


def lfw_photos(archive: Path, people: set[str], prefix: str, out: Path) -> int:
    """Each photo of ``people`` in the LFW ``archive`` (members ``prefix/Name/Name_0001.jpg``),
    written to ``out/Name/Name_0001.jpg``; how many. Names and paths are checked, never trusted."""
    count = 0
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 3 or parts[0] != prefix or parts[1] not in people:
                continue
            person, name = parts[1], parts[2]
            if not re.fullmatch(rf"{re.escape(person)}_\d{{4}}\.jpg", name):
                continue
            source = tar.extractfile(member)
            if source is None:
                continue
            (out / person).mkdir(parents=True, exist_ok=True)
            with source, (out / person / name).open("wb") as target:
                shutil.copyfileobj(source, target)
            count += 1
    return count


def pairs_of(people: set[str], official: str) -> str:
    """LFW's pairs.txt (a header line, then ``name i j`` or ``name1 i name2 j`` lines) restricted
    to ``people``, without its header."""
    kept = []
    for line in official.splitlines()[1:]:
        fields = line.split("\t")
        names = [fields[0]] if len(fields) == 3 else [fields[0], fields[2]]
        if all(name in people for name in names):
            kept.append(line)
    return "".join(line + "\n" for line in kept)


def catalog_of(people: Iterable[str], female: str, male: str) -> str:
    """The builder's catalog (``key,name,gender``) of ``people``: each one's gender the majority of
    the per-image lists (one image file name a line, ``Name_0001.jpg``), blank on a tie or none."""
    votes: dict[str, Counter[str]] = {}
    for gender, listed in (("female", female), ("male", male)):
        for line in listed.split():
            person = re.sub(r"_\d{4}\.jpg$", "", line.strip())
            votes.setdefault(person, Counter())[gender] += 1
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["key", "name", "gender"])
    for person in sorted(people):
        counts = votes.get(person, Counter()).most_common()
        tied = len(counts) > 1 and counts[0][1] == counts[1][1]
        writer.writerow([person, person.replace("_", " "), "" if tied or not counts else counts[0][0]])
    return text.getvalue()


def q42_of(module: str) -> str:
    """Wikidata's Q42 from the test module that holds it: the string assigned to ``response``
    (read by the parser, never run), its one entity as compact JSON."""
    for node in ast.parse(module).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["response"]:
            entity = json.loads(ast.literal_eval(node.value))["entities"]["Q42"]
            return json.dumps(entity, ensure_ascii=False, separators=(",", ":"))
    raise DataError("the Wikidata module holds no 'response'")


def fetch(out: Path, sources: Sources = data_sources.SOURCES, say: Callable[[str], None] = print) -> None:
    """Download every source into ``out/downloads`` and lay the suite's data out in ``out``."""
    downloads = out / "downloads"
    got = {source.name: download(source, downloads, say) for source in sources.downloads}
    people = set(sources.lfw_people)
    lfw = out / "lfw"
    photos = lfw_photos(got[sources.lfw_archive], people, sources.lfw_prefix, lfw)
    say(f"lfw: {photos} photos of {len(people)} people")
    official_pairs = got[sources.lfw_pairs].read_text(encoding="utf-8")
    (lfw / "pairs.txt").write_text(pairs_of(people, official_pairs), encoding="utf-8", newline="")
    female, male = (got[name].read_text(encoding="utf-8") for name in sources.gender_lists)
    (lfw / "catalog.csv").write_text(catalog_of(people, female, male), encoding="utf-8", newline="")
    for sample in sources.samples:
        download(sample, out, say)
    wikidata = got[sources.wikidata_module].read_text(encoding="utf-8")
    (out / "wikidata").mkdir(exist_ok=True)
    (out / "wikidata" / "Q42.json").write_text(q42_of(wikidata), encoding="utf-8", newline="")
    check(out, sources)
    say(f"{out}: the suite's data, every file checked: LOOKALIKE_TEST_DATA={out.absolute()} to use it")


def check(out: Path, sources: Sources = data_sources.SOURCES) -> None:
    """DataError unless every file the suite reads is in ``out`` with the expected checksum."""
    wrong = [
        f"{path} ({'missing' if not (out / path).is_file() else 'different'})"
        for path, expected in sources.files.items()
        if not (out / path).is_file() or digest(out / path, "sha256") != expected
    ]
    photos = lfw_tree_digest(out / "lfw", sources.lfw_people)
    if photos != sources.lfw_photos_digest:
        wrong.append(f"lfw/ photos (their digest {photos[:12]}..., expected {sources.lfw_photos_digest[:12]}...)")
    if wrong:
        raise DataError(f"{out}: not the data the suite was written against: {', '.join(wrong)}")


def lfw_tree_digest(lfw: Path, people: Iterable[str]) -> str:
    """SHA-256 of the lines ``<sha256 of the photo>  <Name>/<Name>_0001.jpg``, one a photo of
    ``people`` in ``lfw``, sorted by path: the whole set of photos in one checksum."""
    photos = (photo for person in sorted(people) for photo in sorted((lfw / person).glob("*.jpg")))
    lines = [f"{digest(photo, 'sha256')}  {photo.parent.name}/{photo.name}\n" for photo in photos]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("fetch", "check"):
        print("usage: python -m tests.support.data fetch DIR | check DIR", file=sys.stderr)
        return 2
    out = Path(argv[1])
    try:
        if argv[0] == "fetch":
            fetch(out)
        else:
            check(out)
            print(f"{out}: every file the suite reads is there and right")
    except DataError as exc:
        print(f"data: {exc}", file=sys.stderr)
        return 1
    return 0
