"""The photo folder the fetcher writes: its catalog, the hidden staging folder, and publishing.

Each person's photos are ``<QID>.jpg`` (Wikidata's image, P18) and ``<QID>/<hash>.jpg`` (the
others), each described by one record of the entry's ``images`` list (catalog_images.md);
the entry's top-level credit fields copy the first record's, for readers that know only them.

A person's downloads are staged in ``.fetch-partial/`` and their new entry worked out
(``stage``); every few seconds, and at the end or on Ctrl+C, everything staged is published
in an order that never leaves a photo without the record that credits it: the files that go
away or get replaced are removed, ``catalog.json`` is rewritten atomically with the new
entries (entries of people not in this run are kept), then the new files are renamed into
place. An entry may briefly name a photo that is not there yet, which the builder only logs.

A photo of the person that this run does not choose again is removed only when the person
has enough photos without it (``photos_per_person``): a search that no longer finds a file,
or a download that failed, does not cost the person a photo they had. ``<QID>.jpg`` goes,
though, when Wikidata's image is now judged unusable: it is the P18's place.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from lookalike import catalog
from lookalike.catalog import Catalog
from lookalike.fetcher.photo_choice import P18, Candidate, image_path, named_by_fetcher
from lookalike.fetcher.wikidata import Person
from lookalike.records import CelebrityRecord, ImageRecord

STAGING = ".fetch-partial"
"""Hidden: build_embeddings.py skips it, and a run removes what an interrupted one left."""
PUBLISH_EVERY = 5.0  # seconds between publishing staged photos
PUBLISH_BATCH = 100  # or this many photos, whichever comes first
PHOTO_FIELDS = ("file", "file_page", "photo_url", "photo_width", "author", "license", "license_url")
"""The credit fields of a photo: each images record's, and the entry's copy of the first one's."""


@dataclass
class Job:
    """One person's chosen photos, as their downloads come in."""

    person: Person
    chosen: list[Candidate]
    p18_rejected: bool  # Wikidata's image was judged unusable: <QID>.jpg must go
    downloads: list[Candidate] = field(default_factory=list)  # the chosen files not here yet
    staged: dict[str, Path] = field(default_factory=dict)  # image path -> its download in the staging folder
    failed: dict[str, str] = field(default_factory=dict)  # image path -> why its download failed
    reason: str | None = None  # why the person has no photo, should nothing be staged
    left: int = 0  # downloads not finished yet
    interrupted: bool = False


@dataclass
class Staged:
    """What ``stage`` made of a job: the photos the person will have, how many were here already."""

    photos: int
    already: int


@dataclass
class _Change:
    qid: str
    entry: CelebrityRecord | None  # None: the catalog has no entry for the person and gets none
    remove: list[str]  # paths removed before the catalog is written (dropped or about to be replaced)
    moves: list[tuple[Path, str]]  # staged file -> its path, renamed in after the catalog is written


class PhotoFolder:
    """The photo folder ``out``, its catalog ``records``, photos ``width`` px wide, at most
    ``limit`` of them a person."""

    def __init__(self, out: Path, width: int, records: Catalog, limit: int):
        self.out, self.width, self.limit = out, width, limit
        self.catalog = records
        self.staging = out / STAGING
        shutil.rmtree(self.staging, ignore_errors=True)  # what an interrupted run left
        self.staging.mkdir()
        self.pending: list[_Change] = []
        self.refreshed = False
        self.staged_total = 0
        self._published_at = time.monotonic()

    # ------------------------------------------------------------------ what is here

    def recorded(self, qid: str) -> list[ImageRecord]:
        """The person's photo records of files the fetcher names (``named_by_fetcher``): from
        ``images``, or for an entry an older fetcher wrote, its top-level fields as the record of
        ``<QID>.jpg``."""
        entry = self.catalog.get(qid) or CelebrityRecord()
        if "images" in entry:
            return [record for record in entry["images"] if named_by_fetcher(qid, record["path"])]
        if not entry.get("file"):
            return []
        credit = {name: entry[name] for name in PHOTO_FIELDS if name in entry}  # type: ignore[literal-required]
        return [cast(ImageRecord, {"path": image_path(qid, P18, ""), "source": P18, **credit})]

    def images(self, qid: str) -> list[ImageRecord]:
        """The person's photo records whose files are here."""
        return [record for record in self.recorded(qid) if (self.out / record["path"]).is_file()]

    def complete(self, person: Person) -> bool:
        """Every recorded photo here at this width, the P18 one still Wikidata's image, and
        ``limit`` of them: nothing to look for (one with fewer is searched again: Commons grows)."""
        recorded = self.recorded(person.qid)
        if not recorded or any(
            record.get("photo_width") != self.width or not (self.out / record["path"]).is_file() for record in recorded
        ):
            return False
        p18 = [record for record in recorded if record.get("source") == P18]
        if p18 and p18[0].get("file") != person.file:
            return False
        return len(recorded) >= self.limit

    def here(self, candidate: Candidate) -> ImageRecord | None:
        """The candidate's record when its file is here, from the same Commons file at this width."""
        for record in self.images(candidate.qid):
            if (
                record["path"] == candidate.path
                and record.get("file") == candidate.title
                and record.get("photo_width") == self.width
            ):
                return record
        return None

    # ------------------------------------------------------------------ changes

    def refresh(self, qid: str, fields: CelebrityRecord) -> None:
        """New Wikidata fields for a person whose photos stay as they are."""
        self.catalog[qid] = {**self.catalog[qid], **fields}
        self.refreshed = True

    def stage(self, job: Job) -> Staged:
        """Work out the person's new entry from the job; published with the next ``publish``."""
        qid = job.person.qid
        old = self.images(qid)
        old_at = {record["path"]: record for record in old}
        images: list[ImageRecord] = []
        moves: list[tuple[Path, str]] = []
        already = 0
        for candidate in job.chosen:
            path = candidate.path
            if path in job.staged:
                images.append(candidate.record(self.width))
                moves.append((job.staged[path], path))
            elif candidate.here is not None:
                images.append(cast(ImageRecord, {**candidate.here, "source": candidate.source}))
                already += 1
            elif path in old_at:  # not downloaded this time: the file that was there stays
                images.append(old_at[path])
                already += 1
        remove = [path for _, path in moves if path in old_at]
        kept_paths, kept_files = {r["path"] for r in images}, {r.get("file") for r in images}
        for record in old:
            path = record["path"]
            if path in kept_paths:
                continue
            p18_place = path == image_path(qid, P18, "")
            if (
                len(images) < self.limit
                and record.get("file") not in kept_files
                and not (p18_place and job.p18_rejected)
            ):
                images.append(record)
                already += 1
            else:
                remove.append(path)
        self.pending.append(_Change(qid, self._entry(job.person, images), remove, moves))
        self.staged_total += len(moves)
        return Staged(len(images), already)

    def _entry(self, person: Person, images: list[ImageRecord]) -> CelebrityRecord | None:
        """The person's new entry: their other fields kept, Wikidata's refreshed, ``images``, then
        the records of files the fetcher does not name, as they were (it never touches those)."""
        old = self.catalog.get(person.qid)
        images = images + [r for r in (old or {}).get("images", []) if not named_by_fetcher(person.qid, r["path"])]
        if old is None and not images:
            return None
        kept = {name: value for name, value in (old or {}).items() if name not in (*PHOTO_FIELDS, "images")}
        entry = cast(CelebrityRecord, {**kept, **person.fields()})
        if images:
            for name in PHOTO_FIELDS:
                if name in images[0]:
                    entry[name] = images[0][name]  # type: ignore[literal-required]
            entry["images"] = images
        return entry

    def due(self) -> bool:
        return len(self.pending) >= PUBLISH_BATCH or (
            bool(self.pending) and time.monotonic() - self._published_at >= PUBLISH_EVERY
        )

    def publish(self) -> None:
        """Old photos out, catalog in (atomically), new photos in: never a photo without its record."""
        self._published_at = time.monotonic()
        if not self.pending and not self.refreshed:
            return
        for change in self.pending:
            for path in change.remove:
                with contextlib.suppress(FileNotFoundError):
                    (self.out / path).unlink()
            if change.entry is not None:
                self.catalog[change.qid] = change.entry
        write_catalog(self.out, self.catalog)
        for change in self.pending:
            for staged, path in change.moves:
                (self.out / path).parent.mkdir(exist_ok=True)
                os.replace(staged, self.out / path)
            with contextlib.suppress(OSError):  # the person's folder, when its last photo went
                (self.out / change.qid).rmdir()
        self.pending, self.refreshed = [], False

    def close(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


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
