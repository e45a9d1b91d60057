"""Finding the celebrities and their photos in a photos folder, with the catalog's names and fields.

``<Key>.<ext>`` is one photo of a celebrity, ``<Key>/*.<ext>`` several; a ``catalog.json``
or ``catalog.csv`` beside them gives display names and other fields (see photos/README.md).
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from lookalike.builder import BuildError

log = logging.getLogger(__name__)

CATALOG_NAMES = ("catalog.json", "catalog.csv")
_EXCLUDED_FORMATS = {"BUFR", "GRIB", "HDF5", "WMF", "EPS", "MPEG"}  # Pillow only identifies these


@dataclass
class Celebrity:
    """One celebrity found in the photos folder."""

    key: str  # the file stem or folder name, e.g. "Tom_Cruise"
    name: str  # the display name, e.g. "Tom Cruise"
    photos: list[Path]
    metadata: dict = field(default_factory=dict)  # the catalog's fields, name included


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
    """The celebrities in ``photos_dir``, sorted by key, with the catalog's metadata applied.

    ``<Key>.<ext>`` is one photo of a celebrity and ``<Key>/*.<ext>`` several (not
    recursive); both for one key are merged. Hidden files and folders are skipped.
    """
    photos_dir = Path(photos_dir)
    if not photos_dir.is_dir():
        raise BuildError(f"no such folder: {photos_dir}")
    extensions = image_extensions()
    found: dict[str, list[Path]] = {}
    for entry in sorted(photos_dir.iterdir()):
        if entry.name.startswith(".") or entry.name in CATALOG_NAMES:
            continue
        if entry.is_dir():
            photos = [p for p in sorted(entry.iterdir()) if _is_image(p, extensions)]
            found.setdefault(entry.name, []).extend(photos)
        elif _is_image(entry, extensions):
            found.setdefault(entry.stem, []).append(entry)
    catalog = read_catalog(photos_dir)
    unused = sorted(set(catalog) - set(found))
    if unused:
        log.warning("%d catalog entries have no photos: %s", len(unused), ", ".join(unused[:10]))
    celebrities = []
    for key in sorted(found):
        metadata = dict(catalog.get(key, {}))
        name = metadata.get("name")
        name = name.strip() if isinstance(name, str) and name.strip() else display_name(key)
        celebrities.append(Celebrity(key=key, name=name, photos=sorted(found[key]), metadata=metadata))
    return celebrities


def _is_image(path: Path, extensions: frozenset[str]) -> bool:
    return not path.name.startswith(".") and path.suffix.lower() in extensions and path.is_file()


def read_catalog(photos_dir: Path) -> dict[str, dict]:
    """Key -> metadata from ``catalog.json`` or ``catalog.csv`` in ``photos_dir`` ({} if neither).

    JSON: ``{"Tom_Cruise": {"name": "Tom Cruise", "link": "...", ...}}`` or a list of
    objects each with a "key". CSV: a header row with a "key" column; empty cells are left out.
    """
    paths = [photos_dir / name for name in CATALOG_NAMES if (photos_dir / name).is_file()]
    if not paths:
        return {}
    if len(paths) > 1:
        raise BuildError(f"two catalogs in {photos_dir}: keep one of {', '.join(p.name for p in paths)}")
    path = paths[0]
    try:
        entries = _catalog_json(path) if path.suffix == ".json" else _catalog_csv(path)
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise BuildError(f"cannot read the catalog {path}: {exc}") from exc
    catalog: dict[str, dict] = {}
    for key, fields in entries:
        if not isinstance(key, str) or not key or not isinstance(fields, dict):
            raise BuildError(f"{path}: each entry needs a string key and an object of fields, got {key!r}")
        fields = {k: v for k, v in fields.items() if k != "key"}
        if "name" in fields and not isinstance(fields["name"], str):
            raise BuildError(f"{path}: the name of {key!r} is not a string")
        catalog[key] = fields
    log.info("catalog %s: %d entries", path.name, len(catalog))
    return catalog


def _catalog_json(path: Path) -> list[tuple[str, dict]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        return list(data.items())
    if isinstance(data, list):
        return [(entry.get("key") if isinstance(entry, dict) else None, entry) for entry in data]
    raise ValueError("expected an object keyed by celebrity, or a list of objects with a 'key'")


def _catalog_csv(path: Path) -> list[tuple[str, dict]]:
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        if not reader.fieldnames or "key" not in reader.fieldnames:
            raise ValueError("the header row needs a 'key' column")
        return [
            (row["key"].strip(), {k: v for k, v in row.items() if k and k != "key" and v not in (None, "")})
            for row in reader
            if (row.get("key") or "").strip()
        ]
