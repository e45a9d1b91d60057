"""Who is famous: the SPARQL query for the Wikidata Query Service and its JSON results.

People are humans (P31 Q5) with an image (P18), most famous first by their number of
sitelinks (Wikipedia and sister-project articles), optionally with an occupation (P106)
or citizenship (P27) among given items, or born after a year (P569). One query is one page
(``LIMIT``/``OFFSET`` over a stable order: sitelinks, then the item's IRI); the labels, the
Wikipedia articles, gender (P21), date of birth (P569) and Commons category (P373) are
looked up for that page only.

Sources: mediawiki.org "Wikidata Query Service/User Manual" (the endpoint takes
``query`` by GET (cached) or POSTed as a form when long; results as JSON with ``format=json`` or ``Accept:
application/sparql-results+json``; 60 s per query; ``wikibase:sitelinks``,
``schema:about``/``schema:isPartOf`` for articles, the "mul" label language); W3C
"SPARQL 1.1 Query Results JSON Format" (``head.vars``, ``results.bindings``, each value
``{"type": "uri"|"literal"|"bnode", "value", "xml:lang"?, "datatype"?}``, unbound
variables absent from a binding).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lookalike.records import CelebrityRecord

ENTITY = "http://www.wikidata.org/entity/"
FILE_PATH = "/wiki/Special:FilePath/"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
GENDERS = {"Q6581072": "female", "Q6581097": "male"}
MUL = "mul"
"""Wikidata's "default for all languages" label: most people's names are only there."""

PREFIXES = """PREFIX wd: <http://www.wikidata.org/entity/>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
PREFIX wikibase: <http://wikiba.se/ontology#>
PREFIX schema: <http://schema.org/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>"""
"""The query service declares these itself; spelled out, the query is plain SPARQL 1.1."""

_QID = re.compile(r"^Q[1-9][0-9]*$")
_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]+)*$")
_YEAR = re.compile(r"^([+-]?[0-9]{1,5})-")


@dataclass
class Person:
    """One row of the list: what Wikidata says about a person with a photo."""

    qid: str
    file: str  # the Commons file title of the P18 image, "File:Tom Cruise.jpg"
    sitelinks: int
    names: dict[str, str] = field(default_factory=dict)  # language -> label
    link: str = ""  # the Wikipedia article in the first language that has one
    gender: str | None = None
    born: int | None = None
    commons_category: str | None = None  # P373: "Douglas Adams", the Commons category without its prefix

    @property
    def name(self) -> str | None:
        """The label in the first language that has one."""
        return next(iter(self.names.values()), None)

    def fields(self) -> CelebrityRecord:
        """The catalog fields that come from Wikidata (only named people are fetched)."""
        wikidata = f"https://www.wikidata.org/wiki/{self.qid}"
        entry: CelebrityRecord = {
            "name": self.name or "",
            "names": dict(self.names),
            "link": self.link or wikidata,
            "wikidata": wikidata,
        }
        if self.gender:
            entry["gender"] = self.gender
        if self.born is not None:
            entry["born"] = self.born
        entry["sitelinks"] = self.sitelinks
        if self.commons_category:
            entry["commons_category"] = self.commons_category
        return entry


def check_items(items: list[str], what: str) -> list[str]:
    """Item ids as given on the command line, checked: ``Q33999``."""
    bad = [item for item in items if not _QID.match(item)]
    if bad:
        raise ValueError(f"{what}: not Wikidata item ids (like Q33999): {', '.join(bad)}")
    return items


def check_languages(languages: list[str]) -> list[str]:
    bad = [lang for lang in languages if not _LANG.match(lang)]
    if bad or not languages:
        raise ValueError(f"not language codes (like en, ru, pt-br): {', '.join(bad) or '(none)'}")
    return languages


def build_query(
    languages: list[str],
    *,
    limit: int,
    offset: int = 0,
    occupations: Sequence[str] = (),
    countries: Sequence[str] = (),
    min_sitelinks: int = 0,
    born_after: int | None = None,
) -> str:
    """One page of the list, ``limit`` people from ``offset``, most sitelinks first; with
    ``born_after``, only people with a date of birth in a later year than that."""
    languages = check_languages(list(languages))
    filters = []
    if occupations:
        values = " ".join(f"wd:{q}" for q in check_items(list(occupations), "occupation"))
        filters.append(f"FILTER EXISTS {{ ?person wdt:P106 ?occupation. VALUES ?occupation {{ {values} }} }}")
    if countries:
        values = " ".join(f"wd:{q}" for q in check_items(list(countries), "country"))
        filters.append(f"FILTER EXISTS {{ ?person wdt:P27 ?country. VALUES ?country {{ {values} }} }}")
    if min_sitelinks > 0:
        filters.append(f"FILTER(?sitelinks >= {int(min_sitelinks)})")
    if born_after is not None:
        filters.append(f"FILTER EXISTS {{ ?person wdt:P569 ?birth. FILTER(YEAR(?birth) > {int(born_after)}) }}")
    variables = ["?person", "?sitelinks", "?image", "?gender", "?genderLabel", "?born", "?commonsCategory"]
    optional = []
    for lang in [*languages, MUL]:
        var = _var(lang)
        variables.append(f"?label_{var}")
        optional.append(f'  OPTIONAL {{ ?person rdfs:label ?label_{var}. FILTER(LANG(?label_{var}) = "{lang}") }}')
    for lang in languages:
        var = _var(lang)
        variables.append(f"?article_{var}")
        optional.append(
            f"  OPTIONAL {{ ?article_{var} schema:about ?person; "
            f"schema:isPartOf <https://{wiki_of(lang)}.wikipedia.org/>. }}"
        )
    inner_filters = "".join(f"\n      {f}" for f in filters)
    return f"""{PREFIXES}
SELECT {" ".join(variables)} WHERE {{
  {{
    SELECT ?person ?sitelinks WHERE {{
      ?person wdt:P31 wd:Q5;
              wdt:P18 [];
              wikibase:sitelinks ?sitelinks.{inner_filters}
    }}
    ORDER BY DESC(?sitelinks) ?person
    LIMIT {int(limit)}
    OFFSET {int(offset)}
  }}
  ?person wdt:P18 ?image.
  OPTIONAL {{ ?person wdt:P21 ?gender.
             OPTIONAL {{ ?gender rdfs:label ?genderLabel. FILTER(LANG(?genderLabel) = "en") }} }}
  OPTIONAL {{ ?person wdt:P569 ?born. }}
  OPTIONAL {{ ?person wdt:P373 ?commonsCategory. }}
{chr(10).join(optional)}
}}"""


def parse_results(data: object, languages: list[str]) -> list[Person]:
    """The people in a SPARQL JSON result, in the order of first appearance, one each.

    A person with several images, genders or birth dates comes in several rows: the
    first of each is kept (Wikidata's "preferred" statements are the ``wdt:`` values).
    """
    try:
        bindings = data["results"]["bindings"]  # type: ignore[index]
        if not isinstance(bindings, list):
            raise TypeError("results.bindings is not a list")
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not SPARQL JSON results: {exc!r}") from exc
    people: dict[str, Person] = {}
    for row in bindings:
        qid = _qid(_uri(row, "person"))
        if qid is None:
            continue
        person = people.get(qid)
        if person is None:
            file = _file_title(_uri(row, "image"))
            if file is None:
                continue
            person = people[qid] = Person(qid=qid, file=file, sitelinks=_int(_literal(row, "sitelinks")) or 0)
        _fill(person, row, languages)
    return list(people.values())


def _fill(person: Person, row: dict[str, Any], languages: list[str]) -> None:
    mul = _literal(row, f"label_{_var(MUL)}")
    for lang in languages:
        label = _literal(row, f"label_{_var(lang)}") or mul
        if label and lang not in person.names:
            person.names[lang] = label
    if not person.link:
        for lang in languages:
            article = _uri(row, f"article_{_var(lang)}")
            if article and article.startswith("https://"):
                person.link = article
                break
    if person.gender is None:
        gender = _qid(_uri(row, "gender"))
        if gender is not None:
            person.gender = GENDERS.get(gender) or _literal(row, "genderLabel") or gender
    if person.born is None:
        person.born = _year(row.get("born"))
    if person.commons_category is None:
        person.commons_category = _literal(row, "commonsCategory")


def wiki_of(lang: str) -> str:
    """The Wikipedia of a label language: ``pt-br`` and ``pt`` labels, ``pt.wikipedia.org``."""
    return lang.split("-", maxsplit=1)[0]


def _var(lang: str) -> str:
    return lang.replace("-", "_")


def _uri(row: dict[str, Any], name: str) -> str | None:
    value = row.get(name)
    return value.get("value") if isinstance(value, dict) and value.get("type") == "uri" else None


def _literal(row: dict[str, Any], name: str) -> str | None:
    value = row.get(name)
    if isinstance(value, dict) and value.get("type") == "literal" and isinstance(value.get("value"), str):
        return value["value"].strip() or None
    return None


def _qid(uri: str | None) -> str | None:
    if uri and uri.startswith(ENTITY) and _QID.match(uri[len(ENTITY) :]):
        return uri[len(ENTITY) :]
    return None


def _file_title(uri: str | None) -> str | None:
    """``http://commons.wikimedia.org/wiki/Special:FilePath/Tom%20Cruise.jpg`` -> ``File:Tom Cruise.jpg``."""
    if not uri or FILE_PATH not in uri:
        return None
    name = urllib.parse.unquote(uri.split(FILE_PATH, 1)[1]).replace("_", " ").strip()
    return f"File:{name}" if name else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _year(value: object) -> int | None:
    """The year of an xsd:dateTime literal (``1962-07-03T00:00:00Z``); None for unknown values."""
    if not isinstance(value, dict) or value.get("type") != "literal" or value.get("datatype") != XSD_DATETIME:
        return None
    return year_of(value.get("value"))


def year_of(time: object) -> int | None:
    """The year of a Wikidata time (``+1952-03-11T00:00:00Z``, ``-0050-...``), None when it is not one."""
    match = _YEAR.match(time) if isinstance(time, str) else None
    return int(match.group(1)) if match else None
