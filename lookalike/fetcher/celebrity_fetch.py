"""A photo folder from Wikidata and Wikimedia Commons (``fetch()``; the command line is
fetch_celebrities.py): ``<QID>.jpg`` per person and ``catalog.json`` keyed by QID, which
build_embeddings.py reads as it is (photos/README.md lists the fields).

The steps:

1. List the people, most famous first, a page of SPARQL at a time (``wikidata``), or
   from a Wikidata JSON dump (``wikidata_dump``, through ``dump_listing``).
2. People whose photo is already here, from the same Commons file at the same width,
   are not fetched again; their Wikidata fields (names, link, gender...) are refreshed.
3. The others' files are looked up 50 at a time on Commons (``commons``): thumbnail URL,
   file page, author, licence. Missing files and licences that do not allow reuse are
   skipped, counted by reason.
4. Thumbnails are downloaded by a few threads through one ``PoliteClient`` (which caps
   the requests in flight, honours Retry-After and backs off), checked to be images
   (JPEG kept as sent, other formats converted) and staged in a hidden folder.
5. Every few seconds, and at the end or on Ctrl+C, the staged photos are published:
   the photos they replace are removed, catalog.json is rewritten atomically with their
   entries merged in (entries of people not in this run are kept), then the photos are
   renamed into place. So at every moment each ``<QID>.jpg`` has the catalog entry that
   describes it (an entry may briefly lack its photo, which the builder only logs).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import tempfile
import time
import urllib.parse
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from PIL import Image, UnidentifiedImageError

from lookalike import catalog
from lookalike.catalog import Catalog, CatalogError, CelebrityRecord
from lookalike.fetcher import commons, dump_listing, wikidata, wikidata_dump
from lookalike.fetcher.polite_http import HttpError, PoliteClient, Response, Stopped
from lookalike.progress import Progress
from lookalike.progress import progress as progress_bar

log = logging.getLogger("fetch_celebrities")

STAGING = ".fetch-partial"
"""Hidden: build_embeddings.py skips it, and a run removes what an interrupted one left."""
PUBLISH_EVERY = 5.0  # seconds between publishing staged photos
PUBLISH_BATCH = 100  # or this many photos, whichever comes first
PHOTO_FIELDS = ("file", "file_page", "photo_url", "photo_width", "author", "license", "license_url")
JPEG_QUALITY = 92
EXAMPLES = 5  # people listed per skip reason in the report

SPARQL_URL = "https://query.wikidata.org/sparql"
SPARQL_JSON = "application/sparql-results+json"
GET_LIMIT = 6000
"""Characters of query string above which the query is POSTed (Wikimedia's URLs stop at ~8 KB)."""
COMMONS_API_URL = "https://commons.wikimedia.org/w/api.php"


class FetchError(Exception):
    """Nothing can be fetched: no people listed, an unreadable catalog..."""


@dataclass
class FetchOptions:
    out: Path
    limit: int = 1000
    languages: list[str] = field(default_factory=lambda: ["en"])
    occupations: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    min_sitelinks: int = 0
    width: int = 500
    workers: int = 2
    page_size: int = 5000
    sparql_url: str = SPARQL_URL
    commons_api_url: str = COMMONS_API_URL
    dump: Path | None = None  # a Wikidata JSON dump to list the people from instead of the query service
    scheduler: str | None = None  # scan the dump on this Dask scheduler ("local": a LocalCluster)


@dataclass
class Report:
    listed: int = 0
    fetched: int = 0
    already: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    interrupted: bool = False
    list_complete: bool = True

    def skip(self, person: wikidata.Person, reason: str) -> None:
        self.skipped[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < EXAMPLES:
            examples.append(f"{person.qid} ({person.file})")


@dataclass
class _Staged:
    person: wikidata.Person
    info: commons.FileInfo
    path: Path


def fetch(options: FetchOptions, client: PoliteClient) -> Report:
    """Fetch into ``options.out``; returns the report (``interrupted`` after Ctrl+C)."""
    started = time.monotonic()
    report = Report()
    out = options.out
    if options.width not in commons.STANDARD_WIDTHS:
        raise FetchError(
            f"--width {options.width} is not one of Wikimedia's thumbnail widths: "
            f"{', '.join(map(str, commons.STANDARD_WIDTHS))}"
        )
    out.mkdir(parents=True, exist_ok=True)
    if (out / catalog.CSV_NAME).exists():
        raise FetchError(
            f"{out} has a {catalog.CSV_NAME}: the fetcher writes {catalog.JSON_NAME}; move one of them away"
        )
    folder = _Folder(out, options.width)
    try:
        people = list_people(client, options, report)
        todo = _not_here(people, folder, options.width, report)
        bar = progress_bar(len(todo), "photo", "fetching")
        try:
            _fetch_photos(client, options, todo, folder, report, bar)
        finally:
            bar.close()
    except (KeyboardInterrupt, Stopped):
        report.interrupted = True
        log.warning("interrupted: publishing the photos fetched so far")
    finally:
        client.stop()
        folder.publish()
        folder.close()
        report.fetched = folder.staged_total
        report.seconds = time.monotonic() - started
    _log_report(report)
    return report


def list_people(client: PoliteClient, options: FetchOptions, report: Report) -> list[wikidata.Person]:
    """Up to ``options.limit`` people with a name in the languages, most sitelinks first."""
    if options.dump is not None:
        wanted = wikidata_dump.Wanted.of(
            options.languages, options.occupations, options.countries, options.min_sitelinks
        )
        try:
            people = dump_listing.list_people(options.dump, wanted, options.limit, options.scheduler)
        except dump_listing.DumpError as exc:
            raise FetchError(str(exc)) from exc
    else:
        people = _query_people(client, options, report)
    report.listed = len(people)
    log.info("%d people listed", len(people))
    named = []
    for person in people:
        if person.name:
            named.append(person)
        else:
            report.skip(person, f"no label in {','.join(options.languages)}")
    return named


def _query_people(client: PoliteClient, options: FetchOptions, report: Report) -> list[wikidata.Person]:
    """The people from the Wikidata Query Service, a page at a time."""
    people: dict[str, wikidata.Person] = {}
    offset = 0
    while offset < options.limit:
        size = min(options.page_size, options.limit - offset)
        query = wikidata.build_query(
            options.languages,
            limit=size,
            offset=offset,
            occupations=options.occupations,
            countries=options.countries,
            min_sitelinks=options.min_sitelinks,
        )
        try:
            response = _sparql(client, options.sparql_url, query)
            page = wikidata.parse_results(json.loads(response.body), options.languages)
        except (HttpError, ValueError) as exc:
            problem = f"the Wikidata Query Service failed: {exc}"
            if isinstance(exc, HttpError) and b"TimeoutException" in exc.body:
                problem += ": the query took longer than it allows; raise --min-sitelinks or lower --page-size"
            if not people:
                raise FetchError(problem) from exc
            log.error("listing stopped after %d people: %s", len(people), problem)
            report.list_complete = False
            break
        for person in page:
            people.setdefault(person.qid, person)
        offset += size
        if len(page) < size:
            break
    return list(people.values())


def _sparql(client: PoliteClient, url: str, query: str) -> Response:
    """GET, which the query service caches; POST when the query would make too long a URL."""
    form = {"query": query, "format": "json"}
    if len(urllib.parse.urlencode(form)) <= GET_LIMIT:
        return client.get(url, form, accept=SPARQL_JSON)
    return client.post(url, form, accept=SPARQL_JSON)


def _not_here(people: list[wikidata.Person], folder: _Folder, width: int, report: Report) -> list[wikidata.Person]:
    """The people to fetch; those already here get their Wikidata fields refreshed."""
    todo = []
    for person in people:
        entry = folder.catalog.get(person.qid)
        here = (
            entry is not None
            and entry.get("file") == person.file
            and entry.get("photo_width") == width
            and folder.photo(person.qid).is_file()
        )
        if here:
            folder.refresh(person.qid, person.fields())
            report.already += 1
        else:
            todo.append(person)
    return todo


def _fetch_photos(
    client: PoliteClient,
    options: FetchOptions,
    todo: list[wikidata.Person],
    folder: _Folder,
    report: Report,
    progress: Progress,
) -> None:
    running: dict[Future, wikidata.Person] = {}
    with ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="fetch") as pool:
        try:
            for start in range(0, len(todo), commons.BATCH):
                batch = todo[start : start + commons.BATCH]
                for person, info in _look_up(client, options, batch, report, progress):
                    running[pool.submit(_download, client, person, info, folder.staging)] = person
                running = _harvest(running, folder, report, progress, block=False)
            while running:
                running = _harvest(running, folder, report, progress, block=True)
        except BaseException:
            client.stop()  # waiting retries give up; requests in flight end within their timeout
            pool.shutdown(wait=True, cancel_futures=True)
            _harvest(running, folder, report, progress, block=False)
            raise


def _look_up(
    client: PoliteClient, options: FetchOptions, batch: list[wikidata.Person], report: Report, progress: Progress
) -> list[tuple[wikidata.Person, commons.FileInfo]]:
    """(person, FileInfo) for the batch's usable files; the others are skipped with a reason."""
    try:
        infos = commons.image_info(client, options.commons_api_url, [p.file for p in batch], options.width)
    except (HttpError, commons.CommonsError) as exc:
        log.error("Commons API failed for %d files: %s", len(batch), exc)
        for person in batch:
            report.skip(person, "Commons API failed")
        progress.update(len(batch))
        return []
    usable = []
    for person in batch:
        info = infos[person.file]
        if info.problem:
            report.skip(person, info.problem)
            progress.update(1)
        else:
            usable.append((person, info))
    return usable


def _download(client: PoliteClient, person: wikidata.Person, info: commons.FileInfo, staging: Path) -> _Staged:
    response = client.get(info.thumb_url, accept="image/*")
    path = staging / f"{person.qid}.jpg"
    path.write_bytes(as_jpeg(response.body))
    return _Staged(person, info, path)


def as_jpeg(data: bytes) -> bytes:
    """The image as JPEG bytes (a JPEG as it came); ValueError when it is not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.format == "JPEG":
                return data
            flat: Image.Image = image
            if image.mode in ("RGBA", "LA", "P"):
                rgba = image.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
            buffer = io.BytesIO()
            flat.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
            return buffer.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc


def _harvest(
    running: dict[Future, wikidata.Person], folder: _Folder, report: Report, progress: Progress, block: bool
) -> dict[Future, wikidata.Person]:
    done, _ = wait(running, timeout=None if block else 0, return_when=FIRST_COMPLETED)
    for future in done:
        person = running.pop(future)
        if future.cancelled():
            continue
        exc = future.exception()
        if exc is None:
            folder.stage(future.result())
        elif isinstance(exc, Stopped):
            continue
        else:
            log.warning("%s (%s): %s", person.qid, person.file, exc)
            report.skip(person, _download_reason(exc))
        progress.update(1)
    if folder.due():
        folder.publish()
    return running


def _download_reason(exc: BaseException) -> str:
    if isinstance(exc, HttpError):
        return f"download failed ({exc.reason})"
    if isinstance(exc, ValueError):
        return "not an image"
    return f"download failed ({type(exc).__name__})"


class _Folder:
    """The photo folder: its catalog, the hidden staging folder, and publishing."""

    def __init__(self, out: Path, width: int):
        self.out, self.width = out, width
        self.catalog = read_catalog(out)
        self.staging = out / STAGING
        shutil.rmtree(self.staging, ignore_errors=True)  # what an interrupted run left
        self.staging.mkdir()
        self.pending: list[_Staged] = []
        self.refreshed = False
        self.staged_total = 0
        self._published_at = time.monotonic()

    def photo(self, qid: str) -> Path:
        return self.out / f"{qid}.jpg"

    def refresh(self, qid: str, fields: CelebrityRecord) -> None:
        self.catalog[qid] = {**self.catalog[qid], **fields}
        self.refreshed = True

    def stage(self, staged: _Staged) -> None:
        self.pending.append(staged)
        self.staged_total += 1

    def due(self) -> bool:
        return len(self.pending) >= PUBLISH_BATCH or (
            bool(self.pending) and time.monotonic() - self._published_at >= PUBLISH_EVERY
        )

    def publish(self) -> None:
        """Old photos out, catalog in (atomically), new photos in: never a photo without its entry."""
        self._published_at = time.monotonic()
        if not self.pending and not self.refreshed:
            return
        for staged in self.pending:
            with contextlib.suppress(FileNotFoundError):
                self.photo(staged.person.qid).unlink()
            old = cast(
                CelebrityRecord,
                {k: v for k, v in self.catalog.get(staged.person.qid, {}).items() if k not in PHOTO_FIELDS},
            )
            self.catalog[staged.person.qid] = {
                **old,
                **staged.person.fields(),
                **staged.info.fields(),
                "photo_width": self.width,
            }
        write_catalog(self.out, self.catalog)
        for staged in self.pending:
            os.replace(staged.path, self.photo(staged.person.qid))
        self.pending, self.refreshed = [], False

    def close(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def read_catalog(out: Path) -> Catalog:
    """The folder's catalog.json (lookalike.catalog reads it), or a FetchError that leaves it as it is."""
    try:
        return catalog.read_catalog(out)
    except CatalogError as exc:
        raise FetchError(f"{exc} (left as it is)") from exc


def write_catalog(out: Path, records: Catalog) -> None:
    """catalog.json replaced atomically: a temporary file beside it, flushed, then renamed."""
    fd, temporary = tempfile.mkstemp(prefix=".catalog.", suffix=".tmp", dir=out)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(
                dict(sorted(records.items(), key=lambda kv: _qid_order(kv[0]))), file, ensure_ascii=False, indent=1
            )
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, out / catalog.JSON_NAME)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _qid_order(key: str) -> tuple[int, str]:
    return (int(key[1:]), key) if key[:1] == "Q" and key[1:].isdigit() else (0, key)


def _log_report(report: Report) -> None:
    skipped = sum(report.skipped.values())
    log.info(
        "%s in %.1f s: %d people listed%s, %d photos fetched, %d already there, %d skipped",
        "interrupted" if report.interrupted else "done",
        report.seconds,
        report.listed,
        "" if report.list_complete else " (list incomplete)",
        report.fetched,
        report.already,
        skipped,
    )
    for reason, count in report.skipped.most_common():
        log.info("  skipped, %s: %d (e.g. %s)", reason, count, ", ".join(report.examples.get(reason, [])))
