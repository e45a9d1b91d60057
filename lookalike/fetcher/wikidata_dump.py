"""Who is famous, from a Wikidata JSON dump instead of the query service.

The dumps (``latest-all.json.gz`` / ``.bz2``) are one JSON array with one entity per line,
each line but the last ending in a comma. They are streamed, never loaded whole: most lines
are not humans with an image, so a line is parsed only when it holds both ``"P18"`` and
``"Q5"`` (two byte searches, much cheaper than parsing); a parsed entity is then checked
properly. The people kept are those the SPARQL query of ``wikidata`` lists for the same
options, with the same fields, in the same order (most sitelinks first, then the item's IRI),
``limit`` of them: a heap keeps the best ``limit`` as the scan goes.

What the query's ``wdt:`` ("truthy") values are, read from the statements: the preferred
statements of a property if it has any, else its normal ones; deprecated ones never; only
statements with a value (not "unknown value" or "no value"). ``born_after`` keeps the people with
any truthy date of birth (P569) in a later year, as the query's ``FILTER EXISTS`` does; the Commons
category (P373) is the first truthy one, a plain string. A gender other than female or
male is given as the query path gives it, the gender item's English label, for the ones
people commonly have (``OTHER_GENDERS``; the labels are in other lines of the dump); a rarer
one as its QID. Either reads as "unknown" to the builder.

Sources: Wikibase's "JSON format" documentation (``labels``, ``claims`` -> statements with
``rank`` and ``mainsnak`` -> ``snaktype``, ``datavalue`` {``value``, ``type``}; item values
``{"entity-type": "item", "id": "Q5", ...}``; time values ``{"time": "+1952-03-11T00:00:00Z",
...}``; ``sitelinks`` keyed by site id, each with a ``title``) and Wikidata's "Database
download" page (the dumps' one-entity-per-line layout).
"""

from __future__ import annotations

import bz2
import gzip
import heapq
import io
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ujson

from lookalike.fetcher import wikidata
from lookalike.fetcher.wikidata import GENDERS, MUL, Person

OTHER_GENDERS = {
    "Q48270": "non-binary",
    "Q1097630": "intersex",
    "Q2449503": "trans man",
    "Q1052281": "trans woman",
    "Q505371": "agender",
    "Q12964198": "genderqueer",
    "Q18116794": "genderfluid",
}
"""Wikidata's English labels of the other sex-or-gender (P21) values people commonly have."""

HUMAN = "Q5"
_CANDIDATE = (b'"P18"', b'"Q5"')
"""A human with an image has both byte strings in its line (as keys/values, whatever the spacing)."""
_GZIP_MAGIC = b"\x1f\x8b"
_BZIP2_MAGIC = b"BZh"
_READ_SIZE = 1 << 20


@dataclass(frozen=True)
class Wanted:
    """The options of the query path that choose people, checked as the query checks them."""

    languages: tuple[str, ...]
    occupations: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    min_sitelinks: int = 0
    born_after: int | None = None  # only people with a date of birth (P569) in a later year

    @classmethod
    def of(
        cls,
        languages: Iterable[str],
        occupations: Iterable[str] = (),
        countries: Iterable[str] = (),
        min_sitelinks: int = 0,
        born_after: int | None = None,
    ) -> Wanted:
        return cls(
            tuple(wikidata.check_languages(list(languages))),
            frozenset(wikidata.check_items(list(occupations), "occupation")),
            frozenset(wikidata.check_items(list(countries), "country")),
            int(min_sitelinks),
            None if born_after is None else int(born_after),
        )


@dataclass
class ScanCount:
    """What a scan went through: lines and decompressed bytes, lines parsed, people found."""

    lines: int = 0
    bytes: int = 0
    parsed: int = 0
    people: int = 0
    bad_lines: int = 0

    def add(self, other: ScanCount) -> None:
        self.lines += other.lines
        self.bytes += other.bytes
        self.parsed += other.parsed
        self.people += other.people
        self.bad_lines += other.bad_lines


def open_dump(file: io.BufferedReader) -> io.BufferedIOBase:
    """The decompressed bytes of the dump ``file``: gzip and bzip2 are told by their first
    bytes, not the name, without reading them off, so a pipe works too (``--dump /dev/stdin``
    after a parallel decompressor such as ``lbzip2 -dc``: Python's bzip2 reader uses one core)."""
    magic = file.peek(3)[:3]
    if magic.startswith(_GZIP_MAGIC):
        return gzip.GzipFile(fileobj=file, mode="rb")
    if magic.startswith(_BZIP2_MAGIC):
        return bz2.BZ2File(file, "rb")
    return file


def scan(path: Path, wanted: Wanted, limit: int, count: ScanCount | None = None) -> list[Person]:
    """The ``limit`` people of the dump at ``path`` the query would list first, in its order."""
    with path.open("rb") as file, open_dump(file) as stream:
        return best(people_in(lines_of(stream), wanted, count or ScanCount()), limit)


def lines_of(stream: io.BufferedIOBase) -> Iterator[bytes]:
    """The lines of a binary stream, read a megabyte at a time (faster than readline)."""
    rest = b""
    while chunk := stream.read(_READ_SIZE):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def people_in(lines: Iterable[bytes | str], wanted: Wanted, count: ScanCount) -> Iterator[Person]:
    """The wanted people among the dump's lines (bytes, or str as ``dask.bag.read_text`` gives)."""
    for line in lines:
        count.lines += 1
        count.bytes += len(line) + 1
        if isinstance(line, str):
            if not all(needle.decode() in line for needle in _CANDIDATE):
                continue
        elif not all(needle in line for needle in _CANDIDATE):
            continue
        count.parsed += 1
        try:
            entity = ujson.loads(line.rstrip().rstrip(",") if isinstance(line, str) else line.rstrip().rstrip(b","))
        except ValueError:
            count.bad_lines += 1
            continue
        person = person_of(entity, wanted) if isinstance(entity, dict) else None
        if person is not None:
            count.people += 1
            yield person


def person_of(entity: dict[str, Any], wanted: Wanted) -> Person | None:
    """The person this entity is in the query's list, or None (not a human with an image, filtered out)."""
    claims = entity.get("claims")
    qid = entity.get("id")
    if not isinstance(claims, dict) or not isinstance(qid, str) or HUMAN not in _items(claims, "P31"):
        return None
    images = _values(claims, "P18")
    file = images[0] if images and isinstance(images[0], str) else None
    sitelinks = entity.get("sitelinks") or {}
    if not file or len(sitelinks) < wanted.min_sitelinks:
        return None
    if wanted.occupations and wanted.occupations.isdisjoint(_items(claims, "P106")):
        return None
    if wanted.countries and wanted.countries.isdisjoint(_items(claims, "P27")):
        return None
    if wanted.born_after is not None and not any(year > wanted.born_after for year in _years(claims, "P569")):
        return None
    person = Person(qid=qid, file="File:" + file.replace("_", " ").strip(), sitelinks=len(sitelinks))
    _fill(person, entity, claims, wanted.languages)
    return person


def best(people: Iterable[Person], limit: int) -> list[Person]:
    """The first ``limit`` people in the query's order (most sitelinks, then the item's IRI)."""
    heap: list[_Ranked] = []
    for person in people:
        ranked = _Ranked(person)
        if len(heap) < limit:
            heapq.heappush(heap, ranked)
        elif heap[0] < ranked:
            heapq.heapreplace(heap, ranked)
    return [ranked.person for ranked in sorted(heap, reverse=True)]


@dataclass(order=False)
class _Ranked:
    """A person ordered worst first: fewer sitelinks, then a later IRI (``wd:Q10`` before ``wd:Q9``)."""

    person: Person
    key: tuple[int, str] = field(init=False)

    def __post_init__(self) -> None:
        self.key = (self.person.sitelinks, self.person.qid)

    def __lt__(self, other: _Ranked) -> bool:
        mine, theirs = self.key, other.key
        return mine[0] < theirs[0] or (mine[0] == theirs[0] and mine[1] > theirs[1])


def _fill(person: Person, entity: dict[str, Any], claims: dict[str, Any], languages: tuple[str, ...]) -> None:
    """Names, article, gender and birth year as ``wikidata.parse_results`` fills them from a row."""
    labels = entity.get("labels") or {}
    mul = _label(labels, MUL)
    for lang in languages:
        label = _label(labels, lang) or mul
        if label:
            person.names[lang] = label
    sitelinks = entity.get("sitelinks") or {}
    for lang in languages:
        wiki = wikidata.wiki_of(lang)
        title = (sitelinks.get(f"{wiki}wiki") or {}).get("title")
        if isinstance(title, str) and title:
            person.link = f"https://{wiki}.wikipedia.org/wiki/{urllib.parse.quote(title.replace(' ', '_'))}"
            break
    genders = _items(claims, "P21")
    if genders:
        person.gender = GENDERS.get(genders[0]) or OTHER_GENDERS.get(genders[0], genders[0])
    for born in _values(claims, "P569"):
        if isinstance(born, dict):
            person.born = wikidata.year_of(born.get("time"))
            break
    categories = [value for value in _values(claims, "P373") if isinstance(value, str) and value.strip()]
    if categories:
        person.commons_category = categories[0].strip()


def _label(labels: dict[str, Any], lang: str) -> str | None:
    value = (labels.get(lang) or {}).get("value")
    return value.strip() or None if isinstance(value, str) else None


def _years(claims: dict[str, Any], prop: str) -> list[int]:
    """The years of a time property's truthy values (``FILTER EXISTS`` in the query: any of them)."""
    years = (wikidata.year_of(value.get("time")) for value in _values(claims, prop) if isinstance(value, dict))
    return [year for year in years if year is not None]


def _items(claims: dict[str, Any], prop: str) -> list[str]:
    """The item ids of a property's truthy values."""
    return [value["id"] for value in _values(claims, prop) if isinstance(value, dict) and "id" in value]


def _values(claims: dict[str, Any], prop: str) -> list[Any]:
    """The truthy values of a property, as the query's ``wdt:`` sees them (best rank, with a value)."""
    statements = [s for s in claims.get(prop) or () if isinstance(s, dict) and s.get("rank") != "deprecated"]
    if any(s.get("rank") == "preferred" for s in statements):
        statements = [s for s in statements if s.get("rank") == "preferred"]
    values = []
    for statement in statements:
        snak = statement.get("mainsnak") or {}
        if snak.get("snaktype") == "value" and isinstance(snak.get("datavalue"), dict):
            values.append(snak["datavalue"].get("value"))
    return values
