"""Which of a person's files become their photos: candidates, their judgement, the choice.

A person's candidates are Wikidata's image (P18), then the Commons files that depict them,
then the files of their Commons category (``commons_search``), each file once. A candidate
is judged on its licence and existence (``commons``), its format and what it is
(``artworks``); a file already in the folder from the same Commons file at the same width
needs no judging or download again. The choice is the P18 when usable, then the others:
files already here first (a second run does not trade a photo for an equal one), then
depicting files before category files, photos of the person alone before group photos, each
in the order Commons gave them; ``photos_per_person`` of them at most.

Where each photo goes (catalog_images.md): the P18 is ``<QID>.jpg`` as it always was; the
others ``<QID>/<first 16 hex digits of sha1(title)>.jpg``, a name that says nothing the
file's title could smuggle into a path, and the same for the same file on every run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import cast

from lookalike.fetcher import artworks
from lookalike.fetcher.commons import FileInfo
from lookalike.fetcher.structured_data import MediaInfo
from lookalike.records import ImageRecord

P18, DEPICTS, CATEGORY = "P18", "depicts", "category"
SOURCES = (P18, DEPICTS, CATEGORY)
HASH_DIGITS = 16


def image_path(qid: str, source: str, title: str) -> str:
    """The photo's path in the folder, relative, with forward slashes."""
    if source == P18:
        return f"{qid}.jpg"
    return f"{qid}/{hashlib.sha1(title.encode('utf-8')).hexdigest()[:HASH_DIGITS]}.jpg"


def named_by_fetcher(qid: str, path: str) -> bool:
    """Whether ``path`` is one ``image_path`` gives the person: the only photos the fetcher ever
    replaces or removes (a record an operator wrote by hand may name any file)."""
    return path == f"{qid}.jpg" or re.fullmatch(rf"{re.escape(qid)}/[0-9a-f]{{{HASH_DIGITS}}}\.jpg", path) is not None


@dataclass
class Candidate:
    """One file that may become one of the person's photos."""

    qid: str
    title: str
    source: str  # P18, DEPICTS or CATEGORY
    pageid: int | None = None
    info: FileInfo | None = None  # from imageinfo; None until looked up (or when already here)
    media: MediaInfo | None = None  # its structured data, when it has some
    problem: str | None = None  # why it is not used: a licence, "painting", a format...
    here: ImageRecord | None = None  # its record, when the folder has it already at this width

    @property
    def path(self) -> str:
        return image_path(self.qid, self.source, self.title)

    @property
    def usable(self) -> bool:
        return self.problem is None and (self.here is not None or self.info is not None)

    @property
    def group(self) -> bool:
        """Its structured data say it depicts more than one person or thing."""
        return self.media is not None and len(self.media.depicts) > 1

    def judge(self, keep_artworks: bool) -> None:
        """Set ``problem`` from the looked-up ``info`` and ``media``."""
        if self.info is None:
            return
        self.problem = self.info.problem or artworks.format_problem(self.info.mime, keep_artworks)
        if self.problem is None and not keep_artworks:
            self.problem = artworks.artwork_kind(self.info.categories, self.media)

    def record(self, width: int) -> ImageRecord:
        """The catalog's record of this photo: where it is, where it came from, its credit."""
        if self.info is None:
            raise ValueError(f"{self.title} was not looked up")
        record = cast(ImageRecord, {"path": self.path, "source": self.source, **self.info.fields()})
        record["photo_width"] = width
        if self.media is not None and self.media.depicts:
            record["depicts"] = len(self.media.depicts)
        return record


def choose(candidates: list[Candidate], limit: int) -> list[Candidate]:
    """Up to ``limit`` usable candidates, best first (the module's docstring says the order)."""
    usable = [c for c in candidates if c.usable]
    first = [c for c in usable if c.source == P18]
    others = sorted(
        (c for c in usable if c.source != P18),
        key=lambda c: (c.here is None, SOURCES.index(c.source), c.group),
    )
    return (first + others)[:limit]
