"""A batch of people's photos found and judged on Commons, politely and in batches: a ``Job``
for each person, with the files to download.

For a batch of people (up to 50):

1. Wikidata's image (P18) is each person's first candidate;
2. with more than one photo a person wanted, one search per person for the files depicting
   them (``commons_search.depicting``, a few more than wanted, so that rejected files can be
   replaced);
3. every candidate not already in the folder is looked up: ``imageinfo`` and categories 50
   titles a request (``commons``), then the structured data of those that can still be used,
   50 a request (``structured_data``), and judged (``photo_choice``);
4. people still short of photos get one request for their Commons category's files (P373),
   looked up and judged the same way;
5. each person's photos are chosen (``photo_choice.choose``).

A failed search costs the person only its extra files (the run goes on; logged, counted,
and the person, still short of photos, is searched again next run); a failed look-up of a
batch of titles makes those files unusable this run ("Commons API failed").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from lookalike.fetcher import commons, commons_search, structured_data
from lookalike.fetcher.commons_search import Found
from lookalike.fetcher.fetch_report import Report
from lookalike.fetcher.photo_choice import CATEGORY, DEPICTS, P18, Candidate, choose
from lookalike.fetcher.photo_folder import Job, PhotoFolder
from lookalike.fetcher.polite_http import HttpError, PoliteClient
from lookalike.fetcher.wikidata import Person

log = logging.getLogger("fetch_celebrities")

SPARE = 3
"""Files asked for beyond those wanted: the P18 itself usually comes back, and a few may be rejected."""
API_FAILED = "Commons API failed"


@dataclass(frozen=True)
class Settings:
    api_url: str
    width: int
    limit: int  # photos a person at most (--photos-per-person)
    keep_artworks: bool = False


def find(
    client: PoliteClient, settings: Settings, people: list[Person], folder: PhotoFolder, report: Report
) -> list[Job]:
    """A job for each of ``people``: their chosen photos and the downloads they need."""
    candidates: dict[str, list[Candidate]] = {}
    for person in people:
        p18 = Candidate(person.qid, person.file, P18)
        p18.here = folder.here(p18)
        candidates[person.qid] = [p18]
    if settings.limit > 1:
        for person in people:
            wanted = settings.limit + SPARE
            found = _found(report, person, commons_search.depicting, client, settings.api_url, person.qid, wanted)
            _add(candidates[person.qid], found, DEPICTS, folder)
    _look_up(client, settings, [c for listed in candidates.values() for c in listed], report)
    if settings.limit > 1:
        more = []
        for person in people:
            listed = candidates[person.qid]
            if person.commons_category and sum(c.usable for c in listed) < settings.limit:
                category, wanted = person.commons_category, settings.limit + SPARE
                found = _found(
                    report, person, commons_search.category_files, client, settings.api_url, category, wanted
                )
                more += _add(listed, found, CATEGORY, folder)
        _look_up(client, settings, more, report)
    return [_job(person, candidates[person.qid], settings.limit) for person in people]


def _found(report: Report, person: Person, ask: Callable[..., list[Found]], *args: object) -> list[Found]:
    """``ask(*args)``'s files; none when the request fails (logged and counted)."""
    try:
        return ask(*args)
    except (HttpError, commons.CommonsError) as exc:
        log.warning("%s: looking for more files failed: %s", person.qid, exc)
        report.lookups_failed += 1
        return []


def _add(listed: list[Candidate], found: list[Found], source: str, folder: PhotoFolder) -> list[Candidate]:
    """The found files that are new to the person's candidates, added to them."""
    known = {c.title for c in listed}
    added = []
    for file in found:
        if file.title in known:
            continue
        known.add(file.title)
        candidate = Candidate(listed[0].qid, file.title, source, pageid=file.pageid)
        candidate.here = folder.here(candidate)
        added.append(candidate)
    listed += added
    return added


def _look_up(client: PoliteClient, settings: Settings, candidates: list[Candidate], report: Report) -> None:
    """imageinfo, categories and structured data for the candidates not here, then their judgement."""
    todo = [c for c in candidates if c.here is None and c.info is None and c.problem is None]
    titles = list(dict.fromkeys(c.title for c in todo))
    infos: dict[str, commons.FileInfo] = {}
    for start in range(0, len(titles), commons.BATCH):
        batch = titles[start : start + commons.BATCH]
        try:
            infos.update(commons.image_info(client, settings.api_url, batch, settings.width))
        except (HttpError, commons.CommonsError) as exc:
            log.error("Commons API failed for %d files: %s", len(batch), exc)
    for candidate in todo:
        candidate.info = infos.get(candidate.title)
        if candidate.info is None:
            candidate.problem = API_FAILED
        elif candidate.info.pageid is not None:
            candidate.pageid = candidate.info.pageid
    alive = [c for c in todo if c.info is not None and c.info.problem is None and c.pageid is not None]
    try:
        media = structured_data.media_info(client, settings.api_url, (c.pageid for c in alive if c.pageid))
    except (HttpError, commons.CommonsError) as exc:
        log.error(
            "Commons API failed for the structured data of %d files, judged by their categories: %s", len(alive), exc
        )
        media = {}
    for candidate in todo:
        if candidate.pageid is not None:
            candidate.media = media.get(candidate.pageid)
        candidate.judge(settings.keep_artworks)
        if candidate.problem:
            report.reject(candidate.qid, candidate.title, candidate.problem)


def _job(person: Person, candidates: list[Candidate], limit: int) -> Job:
    p18 = candidates[0]
    chosen = choose(candidates, limit)
    job = Job(person, chosen, p18_rejected=p18.problem is not None, downloads=[c for c in chosen if c.here is None])
    job.reason = _skip_reason(p18)
    return job


def _skip_reason(p18: Candidate) -> str | None:
    """Why the person has no photo if nothing else is found: the P18's problem, as the report says it."""
    if p18.problem is None or p18.info is None or p18.info.problem is not None:
        return p18.problem  # the file's own: missing, its licence, the API
    return f"no usable photo ({p18.problem})"  # what it is: a painting, a signature, a format
