"""A catalog record's per-photo entries (``images``, issue #27; photos/README.md): which file
is the person's Wikidata image (P18), and the credit of each photo.

The fetcher writes, per person, every photo file it saved with its own author, licence and
file page; the builder matches them to the photos it discovered by path and credits the
photo a celebrity is shown with, never another's. Everything in an entry came from
Wikimedia: untrusted. A path is only ever compared with the paths of files the builder
found, never opened; a credit field of the wrong type is left out (``lookalike.catalog``
rejects such a catalog first; this reader does not rely on it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

P18 = "P18"
"""``source`` of the person's Wikidata image: the preferred anchor of their photos' consensus."""
CREDIT_FIELDS = ("file", "file_page", "photo_url", "photo_width", "author", "license", "license_url")
"""A photo's credit: what celebrities.jsonl carries for the photo a celebrity is shown with."""
_WHOLE_NUMBERS = ("photo_width",)


@dataclass(frozen=True)
class CatalogImage:
    """One photo file's entry in a catalog record's ``images``."""

    source: str  # "P18", "depicts", "category", or "" when not given
    credit: dict[str, str | int] = field(default_factory=dict)  # the CREDIT_FIELDS the entry has

    @property
    def is_p18(self) -> bool:
        return self.source == P18


def photo_images(key: str, images: object, photos: list[Path], photos_dir: Path) -> dict[Path, CatalogImage]:
    """Each of ``photos`` (files found for celebrity ``key`` in ``photos_dir``) that ``images``
    (a record's ``images`` list) has an entry for, with that entry; entries are matched by
    their ``path``, relative to ``photos_dir`` with forward slashes."""
    if not isinstance(images, list):
        log.warning("catalog: %s: images is not a list; its photos are shown without credits", key)
        return {}
    by_path: dict[str, CatalogImage] = {}
    malformed = 0
    for entry in images:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            malformed += 1
            continue
        source = entry.get("source")
        by_path.setdefault(entry["path"], CatalogImage(source if isinstance(source, str) else "", _credit(entry)))
    if malformed:
        log.warning("catalog: %s: %d images entries without a path, ignored", key, malformed)
    found = {}
    for photo in photos:
        image = by_path.get(photo.relative_to(photos_dir).as_posix())
        if image is not None:
            found[photo] = image
    return found


def _credit(entry: dict[str, Any]) -> dict[str, str | int]:
    credit: dict[str, str | int] = {}
    for name in CREDIT_FIELDS:
        value = entry.get(name)
        if name in _WHOLE_NUMBERS:
            if isinstance(value, int) and not isinstance(value, bool):
                credit[name] = value
        elif isinstance(value, str):
            credit[name] = value
    return credit
