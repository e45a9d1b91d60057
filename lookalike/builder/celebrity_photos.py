"""Finding the celebrities and their photos in a photo folder, with the catalog's names and fields.

``<Key>.<ext>`` is one photo of a celebrity, ``<Key>/*.<ext>`` several; a ``catalog.json``
or ``catalog.csv`` beside them gives display names and other fields (see photos/README.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from PIL import Image

from lookalike import catalog
from lookalike.builder import BuildError
from lookalike.builder.catalog_images import CatalogImage, photo_images
from lookalike.catalog import CatalogError
from lookalike.records import CelebrityRecord

log = logging.getLogger(__name__)

_EXCLUDED_FORMATS = {"BUFR", "GRIB", "HDF5", "WMF", "EPS", "MPEG"}  # Pillow only identifies these


@dataclass
class Celebrity:
    """One celebrity found in the photo folder."""

    key: str  # the file stem or folder name, e.g. "Tom_Cruise"
    name: str  # the display name, e.g. "Tom Cruise"
    photos: list[Path]
    record: CelebrityRecord = field(default_factory=CelebrityRecord)  # the catalog's fields but images, name included
    images: dict[Path, CatalogImage] | None = None  # the catalog's per-photo entries; None: the catalog has none


def image_extensions() -> frozenset[str]:
    """Lower-case file extensions Pillow can open."""
    Image.init()
    return frozenset(
        ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN and fmt not in _EXCLUDED_FORMATS
    )


def display_name(key: str) -> str:
    """``Tom_Cruise`` -> ``Tom Cruise``."""
    return " ".join(key.replace("_", " ").split()) or key


def discover(photos_dir: Path | str) -> list[Celebrity]:
    """The celebrities in ``photos_dir``, sorted by key, with the catalog's records.

    ``<Key>.<ext>`` is one photo of a celebrity and ``<Key>/*.<ext>`` several (not
    recursive); both for one key are merged. Hidden files and folders are skipped.
    """
    photos_dir = Path(photos_dir)
    if not photos_dir.is_dir():
        raise BuildError(f"no such folder: {photos_dir}")
    extensions = image_extensions()
    found: dict[str, list[Path]] = {}
    for entry in sorted(photos_dir.iterdir()):
        if entry.name.startswith(".") or entry.name in catalog.NAMES:
            continue
        if entry.is_dir():
            photos = [p for p in sorted(entry.iterdir()) if _is_image(p, extensions)]
            found.setdefault(entry.name, []).extend(photos)
        elif _is_image(entry, extensions):
            found.setdefault(entry.stem, []).append(entry)
    try:
        records = catalog.read_catalog(photos_dir)
    except CatalogError as exc:
        raise BuildError(str(exc)) from exc
    unused = sorted(set(records) - set(found))
    if unused:
        log.warning("%d catalog entries have no photos: %s", len(unused), ", ".join(unused[:10]))
    celebrities = []
    for key in sorted(found):
        record = records.get(key, CelebrityRecord())
        name = record.get("name", "").strip() or display_name(key)
        photos = sorted(found[key])
        images = None
        if "images" in record:  # kept out of the record: a million lists would be copied into celebrities.jsonl
            fields = dict(record)
            images = photo_images(key, fields.pop("images"), photos, photos_dir)
            record = cast(CelebrityRecord, fields)
        celebrities.append(Celebrity(key=key, name=name, photos=photos, record=record, images=images))
    return celebrities


def _is_image(path: Path, extensions: frozenset[str]) -> bool:
    return not path.name.startswith(".") and path.suffix.lower() in extensions and path.is_file()
