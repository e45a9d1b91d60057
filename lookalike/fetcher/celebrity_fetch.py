"""A photo folder from Wikidata and Wikimedia Commons (``fetch()``; the command line is
fetch_celebrities.py): up to ``photos_per_person`` photos of each person, ``<QID>.jpg``
(Wikidata's image) and ``<QID>/<hash>.jpg`` (others), and ``catalog.json`` keyed by QID with
each photo's own credit, which build_embeddings.py reads as it is (photos/README.md lists
the fields, /work/notes/catalog_images.md the agreed ``images`` records).

The steps:

1. List the people, most famous first, a page of SPARQL at a time (``wikidata``), or
   from a Wikidata JSON dump (``wikidata_dump``, through ``dump_listing``).
2. People whose photos are all here (as many as wanted, at the same width, Wikidata's image
   unchanged) are not looked up again; their Wikidata fields (names, link, gender...) are
   refreshed.
3. The others' photos are found and judged, 50 people at a time (``photo_finder``): Wikidata's
   image, the Commons files depicting them, their Commons category's files; licences,
   formats, artworks. Files not used and people left without a photo are counted by reason.
4. Thumbnails of the chosen files not already here are downloaded by a few threads through
   one ``PoliteClient`` (which caps the requests in flight, honours Retry-After and backs
   off), checked to be images (JPEG kept as sent, other formats converted) and staged in a
   hidden folder.
5. Every few seconds, and at the end or on Ctrl+C, what is staged is published
   (``photo_folder``): the photos that go or get replaced are removed, catalog.json is
   rewritten atomically with the new entries merged in (entries of people not in this run
   are kept), then the photos are renamed into place. So at every moment each photo has the
   catalog record that describes it (a record may briefly lack its photo, which the builder
   only logs).
"""

from __future__ import annotations

import io
import json
import logging
import time
import urllib.parse
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from lookalike import catalog
from lookalike.catalog import Catalog, CatalogError
from lookalike.fetcher import commons, dump_listing, photo_finder, wikidata, wikidata_dump
from lookalike.fetcher.fetch_report import Report
from lookalike.fetcher.photo_choice import Candidate
from lookalike.fetcher.photo_folder import Job, PhotoFolder
from lookalike.fetcher.polite_http import HttpError, PoliteClient, Response, Stopped
from lookalike.progress import Progress
from lookalike.progress import progress as progress_bar

log = logging.getLogger("fetch_celebrities")

JPEG_QUALITY = 92
PHOTOS_PER_PERSON = 5

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
    born_after: int | None = None  # only people born in a later year (P569)
    width: int = 500
    photos_per_person: int = PHOTOS_PER_PERSON  # 1: Wikidata's image only, as before
    artworks: bool = False  # keep paintings, drawings, statues... (and drawn formats) as photos
    workers: int = 2
    page_size: int = 5000
    sparql_url: str = SPARQL_URL
    commons_api_url: str = COMMONS_API_URL
    dump: Path | None = None  # a Wikidata JSON dump to list the people from instead of the query service
    scheduler: str | None = None  # scan the dump on this Dask scheduler ("local": a LocalCluster)


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
    if options.photos_per_person < 1:
        raise FetchError(f"--photos-per-person {options.photos_per_person}: at least 1")
    out.mkdir(parents=True, exist_ok=True)
    if (out / catalog.CSV_NAME).exists():
        raise FetchError(
            f"{out} has a {catalog.CSV_NAME}: the fetcher writes {catalog.JSON_NAME}; move one of them away"
        )
    folder = PhotoFolder(out, options.width, read_catalog(out), options.photos_per_person)
    try:
        people = list_people(client, options, report)
        todo = _to_fetch(people, folder, report)
        bar = progress_bar(len(todo), "person", "fetching")
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
    report.log()
    return report


def list_people(client: PoliteClient, options: FetchOptions, report: Report) -> list[wikidata.Person]:
    """Up to ``options.limit`` people with a name in the languages, most sitelinks first."""
    if options.dump is not None:
        wanted = wikidata_dump.Wanted.of(
            options.languages, options.occupations, options.countries, options.min_sitelinks, options.born_after
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
            born_after=options.born_after,
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


def _to_fetch(people: list[wikidata.Person], folder: PhotoFolder, report: Report) -> list[wikidata.Person]:
    """The people to look up; those whose photos are complete get their Wikidata fields refreshed."""
    todo = []
    for person in people:
        if folder.complete(person):
            folder.refresh(person.qid, person.fields())
            report.already += len(folder.images(person.qid))
        else:
            todo.append(person)
    return todo


def _fetch_photos(
    client: PoliteClient,
    options: FetchOptions,
    todo: list[wikidata.Person],
    folder: PhotoFolder,
    report: Report,
    progress: Progress,
) -> None:
    settings = photo_finder.Settings(
        options.commons_api_url, options.width, options.photos_per_person, options.artworks
    )
    running: dict[Future[Any], tuple[Job, Candidate]] = {}
    with ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="fetch") as pool:
        try:
            for start in range(0, len(todo), commons.BATCH):
                batch = todo[start : start + commons.BATCH]
                for job in photo_finder.find(client, settings, batch, folder, report):
                    job.left = len(job.downloads)
                    for candidate in job.downloads:
                        running[pool.submit(_download, client, candidate, folder.staging)] = (job, candidate)
                    if not job.downloads:
                        _stage(job, folder, report, progress)
                running = _harvest(running, folder, report, progress, block=False)
            while running:
                running = _harvest(running, folder, report, progress, block=True)
        except BaseException:
            client.stop()  # waiting retries give up; requests in flight end within their timeout
            pool.shutdown(wait=True, cancel_futures=True)
            _harvest(running, folder, report, progress, block=False, final=True)
            raise


def _download(client: PoliteClient, candidate: Candidate, staging: Path) -> Path:
    if candidate.info is None:
        raise ValueError(f"{candidate.title} was not looked up")
    response = client.get(candidate.info.thumb_url, accept="image/*")
    path = staging / candidate.path.replace("/", "-")
    path.write_bytes(as_jpeg(response.body))
    return path


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
    running: dict[Future[Any], tuple[Job, Candidate]],
    folder: PhotoFolder,
    report: Report,
    progress: Progress,
    block: bool,
    final: bool = False,
) -> dict[Future[Any], tuple[Job, Candidate]]:
    """The finished downloads handed to their jobs, a job staged when its last one is in. ``final``:
    after the pool's shutdown, every download (``wait`` does not count a download cancelled in the
    queue as done, and its person would never be staged: their finished photos would be lost)."""
    done = set(running) if final else wait(running, timeout=None if block else 0, return_when=FIRST_COMPLETED)[0]
    for future in done:
        job, candidate = running.pop(future)
        job.left -= 1
        exc = None if future.cancelled() else future.exception()
        if future.cancelled() or isinstance(exc, Stopped):
            job.interrupted = True
        elif exc is None:
            job.staged[candidate.path] = future.result()
        else:
            log.warning("%s (%s): %s", job.person.qid, candidate.title, exc)
            job.failed[candidate.path] = _download_reason(exc)
            report.reject(job.person.qid, candidate.title, job.failed[candidate.path])
        if job.left == 0:
            _stage(job, folder, report, progress)
    if folder.due():
        folder.publish()
    return running


def _stage(job: Job, folder: PhotoFolder, report: Report, progress: Progress) -> None:
    """The person's photos to the folder's next publish; a person left without any is skipped."""
    staged = folder.stage(job)
    report.already += staged.already
    if staged.photos == 0 and not job.interrupted:
        failures = [job.failed[c.path] for c in job.chosen if c.path in job.failed]
        report.skip(job.person, failures[0] if failures else job.reason or "no usable photo")
    progress.update(1)


def _download_reason(exc: BaseException) -> str:
    if isinstance(exc, HttpError):
        return f"download failed ({exc.reason})"
    if isinstance(exc, ValueError):
        return "not an image"
    return f"download failed ({type(exc).__name__})"


def read_catalog(out: Path) -> Catalog:
    """The folder's catalog.json (lookalike.catalog reads it), or a FetchError that leaves it as it is."""
    try:
        return catalog.read_catalog(out)
    except CatalogError as exc:
        raise FetchError(f"{exc} (left as it is)") from exc
