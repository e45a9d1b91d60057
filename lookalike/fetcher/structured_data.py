"""What Commons files are, from their structured data: the MediaInfo entities ``M<pageid>``.

One ``action=wbgetentities`` request reads up to 50 entities (``ids=M1|M2|...``). Of each,
the statements "instance of" (P31: painting, signature, ...), which the artwork filter
reads, and "depicts" (P180: the people and things in the file), whose count tells a group
photo. A file nobody gave structured data is "missing" there: nothing is known of it.

Sources: Wikibase's API documentation for ``wbgetentities`` (``ids`` up to 50, answers
under ``entities`` keyed by id, a missing entity ``{"id", "missing": ""}``) and its JSON
format (statements with ``rank`` and ``mainsnak`` -> ``snaktype``, ``datavalue``; item
values ``{"entity-type": "item", "id": "Q5", ...}``); Commons' MediaInfo entities keep their
statements under ``statements`` (not ``claims``) and, with none, give ``[]`` rather than
``{}`` (an empty PHP array), as a real answer for M41837276 in Phabricator T224678 shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lookalike.fetcher.commons import api_json
from lookalike.fetcher.polite_http import PoliteClient

BATCH = 50
"""Entities per wbgetentities request: the API's limit for clients without the bot right."""


@dataclass(frozen=True)
class MediaInfo:
    """A file's structured data as far as the fetcher uses them."""

    instance_of: frozenset[str]  # P31 item ids
    depicts: tuple[str, ...]  # P180 item ids, each once, in the file's order


def media_info(client: PoliteClient, api_url: str, pageids: Iterable[int]) -> dict[int, MediaInfo | None]:
    """Page id -> MediaInfo (None: the file has no structured data), ``BATCH`` ids a request."""
    wanted = sorted(set(pageids))
    found: dict[int, MediaInfo | None] = {}
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        params = {
            "action": "wbgetentities",
            "format": "json",
            "formatversion": "2",
            "ids": "|".join(f"M{pageid}" for pageid in batch),
        }
        entities = api_json(client.get(api_url, params, accept="application/json").body).get("entities")
        entities = entities if isinstance(entities, dict) else {}
        for pageid in batch:
            found[pageid] = _media_info(entities.get(f"M{pageid}"))
    return found


def _media_info(entity: object) -> MediaInfo | None:
    if not isinstance(entity, dict) or "missing" in entity:
        return None
    statements = entity.get("statements")
    if not isinstance(statements, dict):  # [] when the file has none
        statements = {}
    return MediaInfo(frozenset(_items(statements, "P31")), tuple(dict.fromkeys(_items(statements, "P180"))))


def _items(statements: dict[str, Any], prop: str) -> list[str]:
    """The item ids a property's statements give, deprecated ones left out."""
    items = []
    for statement in statements.get(prop) or ():
        if not isinstance(statement, dict) or statement.get("rank") == "deprecated":
            continue
        snak = statement.get("mainsnak")
        datavalue = snak.get("datavalue") if isinstance(snak, dict) and snak.get("snaktype") == "value" else None
        value = datavalue.get("value") if isinstance(datavalue, dict) else None
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            items.append(value["id"])
    return items
