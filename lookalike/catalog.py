"""The catalog: ``catalog.json`` or ``catalog.csv`` in a photo folder, one record per celebrity.

The fetcher writes ``catalog.json`` keyed by QID; an operator may write either file by
hand; the builder copies each record into the assets directory's ``celebrities.jsonl``,
where the bot reads names, links, genders and photo credits from it. photos/README.md
describes every field. This module is the one reader of the file, shared by the fetcher
and the builder so that neither imports the other.

Formats: JSON, an object keyed by celebrity (``{"Tom_Cruise": {"name": ...}}``) or a list of
objects each with a ``"key"``; CSV, a header row with a ``key`` column (empty cells are
left out). The fields named in ``CelebrityRecord`` (``lookalike.records``) are checked and given their types (a
CSV's ``born`` becomes an int); any other field passes through as it is.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any, cast

from lookalike.records import CelebrityRecord, ImageRecord

log = logging.getLogger(__name__)

JSON_NAME = "catalog.json"
CSV_NAME = "catalog.csv"
NAMES = (JSON_NAME, CSV_NAME)

Catalog = dict[str, CelebrityRecord]

_CREDIT_TEXT_FIELDS = ("file", "file_page", "photo_url", "author", "license", "license_url")
_TEXT_FIELDS = (
    "name",
    "link",
    "wikidata",
    "gender",
    "commons_category",
    *_CREDIT_TEXT_FIELDS,
)
_WHOLE_NUMBER_FIELDS = ("born", "sitelinks", "photo_width")
_IMAGE_TEXT_FIELDS = ("path", "source", *_CREDIT_TEXT_FIELDS)
_IMAGE_WHOLE_NUMBER_FIELDS = ("photo_width", "depicts")


class CatalogError(Exception):
    """The catalog cannot be read: the message names the file and what is wrong in it."""


def catalog_path(folder: Path) -> Path | None:
    """The folder's catalog file, None when there is none; CatalogError when there are two."""
    paths = [folder / name for name in NAMES if (folder / name).is_file()]
    if len(paths) > 1:
        raise CatalogError(f"two catalogs in {folder}: keep one of {', '.join(p.name for p in paths)}")
    return paths[0] if paths else None


def read_catalog(folder: Path) -> Catalog:
    """Key -> record from ``catalog.json`` or ``catalog.csv`` in ``folder`` ({} if neither)."""
    path = catalog_path(folder)
    if path is None:
        return {}
    try:
        entries = _json_entries(path) if path.name == JSON_NAME else _csv_entries(path)
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise CatalogError(f"cannot read the catalog {path}: {exc}") from exc
    catalog: Catalog = {}
    for key, fields in entries:
        if not isinstance(key, str) or not key or not isinstance(fields, dict):
            raise CatalogError(f"{path}: each entry needs a string key and an object of fields, got {key!r}")
        if key in catalog:
            raise CatalogError(f"{path}: {key!r} has two entries")
        try:
            catalog[key] = record(fields)
        except ValueError as exc:
            raise CatalogError(f"{path}: {key!r}: {exc}") from exc
    log.info("catalog %s: %d entries", path.name, len(catalog))
    return catalog


def record(fields: dict[str, Any]) -> CelebrityRecord:
    """``fields`` as a record: known fields checked (ValueError says which is wrong), a
    whole number written as text made an int, a JSON null dropped; others kept as they are."""
    checked = _typed(fields, _TEXT_FIELDS, _WHOLE_NUMBER_FIELDS)
    names = checked.get("names")
    if names is not None and not (
        isinstance(names, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in names.items())
    ):
        raise ValueError(f'names should be an object of language -> name, like {{"en": "..."}}, not {names!r}')
    if "images" in checked:
        checked["images"] = _images(checked["images"])
    return cast(CelebrityRecord, checked)


def _images(value: object) -> list[ImageRecord]:
    """The ``images`` list checked: objects with a relative ``path`` inside the folder (the text came
    from a file anyone may edit and names photos the builder matches it against, so no ``..`` and no
    absolute path), text fields text, ``photo_width`` and ``depicts`` whole numbers."""
    if not isinstance(value, list):
        raise ValueError(f"images should be a list of objects, not {value!r}")
    images = []
    for number, image in enumerate(value):
        if not isinstance(image, dict):
            raise ValueError(f"images[{number}] should be an object, not {image!r}")
        checked = _typed(image, _IMAGE_TEXT_FIELDS, _IMAGE_WHOLE_NUMBER_FIELDS, f"images[{number}].")
        problem = _path_problem(checked.get("path"))
        if problem:
            raise ValueError(f"images[{number}].path {checked.get('path')!r}: {problem}")
        images.append(cast(ImageRecord, checked))
    return images


def _typed(fields: dict[str, Any], text: tuple[str, ...], numbers: tuple[str, ...], where: str = "") -> dict[str, Any]:
    """``fields`` without JSON nulls, the ``text`` ones checked to be text, the ``numbers`` made
    ints (a ValueError names the field, after ``where``)."""
    checked = {name: value for name, value in fields.items() if value is not None}
    for name in text:
        if name in checked and not isinstance(checked[name], str):
            raise ValueError(f"{where}{name} should be text, not {checked[name]!r}")
    for name in numbers:
        if name in checked:
            checked[name] = _whole_number(f"{where}{name}", checked[name])
    return checked


def _path_problem(path: object) -> str | None:
    """Why ``path`` is not a relative path inside the photo folder, or None."""
    if not isinstance(path, str) or not path:
        return "a path relative to the photo folder is required"
    if "\\" in path or path.startswith("/"):
        return "should be relative to the photo folder, with forward slashes"
    if any(part in ("..", ".", "") for part in path.split("/")):
        return "should not contain '..', '.' or empty parts"
    return None


def _whole_number(name: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    raise ValueError(f"{name} should be a whole number, not {value!r}")


def _json_entries(path: Path) -> list[tuple[object, object]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        return list(data.items())
    if isinstance(data, list):
        return [_listed(entry) for entry in data]
    raise ValueError("expected an object keyed by celebrity, or a list of objects with a 'key'")


def _listed(entry: object) -> tuple[object, object]:
    """A list entry's key, and its fields without the key."""
    if not isinstance(entry, dict):
        return None, entry
    return entry.get("key"), {k: v for k, v in entry.items() if k != "key"}


def _csv_entries(path: Path) -> list[tuple[object, object]]:
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        if not reader.fieldnames or "key" not in reader.fieldnames:
            raise ValueError("the header row needs a 'key' column")
        entries: list[tuple[object, object]] = []
        for row in reader:
            key = (row.get("key") or "").strip()
            fields = {k: v for k, v in row.items() if k and k != "key" and v not in (None, "")}
            if not key and fields:
                raise ValueError(f"line {reader.line_num} has no key")
            if key:
                entries.append((key, fields))
        return entries
