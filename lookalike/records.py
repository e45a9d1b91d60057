"""The celebrity record: one celebrity's fields, typed, as the catalog gives them and the
assets directory keeps them (``celebrities.jsonl``). The fetcher writes them, the catalog's
reader checks them (``lookalike.catalog.record``), the builder copies them into the index,
and the engine and the answering room read them back: this module is the type all of them
share, and imports nothing, so that every room may import it (the engine included).
"""

from __future__ import annotations

from typing import TypedDict


class ImageRecord(TypedDict, total=False):
    """One photo file of a celebrity, with its own credit (the fetcher writes one per file it keeps)."""

    path: str  # relative to the photo folder, forward slashes: "Q42.jpg", "Q42/3f2a9c0d1e4b5a67.jpg"
    source: str  # "P18" (Wikidata's image), "depicts" (a Commons file depicting the person), "category" (P373)
    file: str
    file_page: str
    photo_url: str
    photo_width: int
    author: str
    license: str
    license_url: str
    depicts: int  # how many people the file's structured data say it depicts (a group photo: several)


class CelebrityRecord(TypedDict, total=False):
    """One celebrity's catalog fields (every one optional; unknown fields pass through).

    ``gender`` is ``female`` or ``male``; any other value (the fetcher writes Wikidata's
    English label, e.g. ``non-binary``), or none, means unknown to the look-up: the one
    place that reads it is ``lookalike.engine.gender.label``.
    """

    name: str  # the display name; the builder falls back to the key with spaces
    names: dict[str, str]  # language -> name, for the bot to name people in the user's language
    link: str  # Wikipedia article or Wikidata page
    wikidata: str
    gender: str
    born: int  # year of birth
    sitelinks: int  # Wikimedia articles about the person: the fetcher's fame order
    commons_category: str  # the person's category on Wikimedia Commons (Wikidata P373)
    file: str  # the Commons file, "File:Tom Cruise by Gage Skidmore 2.jpg"
    file_page: str
    photo_url: str
    photo_width: int
    author: str  # the photo's author, for the credit line CC BY and CC BY-SA ask for
    license: str
    license_url: str
    images: list[ImageRecord]  # every photo file of the person, best first, each with its credit
    key: str  # added by the builder in celebrities.jsonl: the file stem or folder name
    photos: int  # added by the builder: photos kept
