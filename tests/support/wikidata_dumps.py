"""Wikidata JSON dumps written by the tests, in the dumps' real layout and entity format.

A dump is one JSON array with one entity per line, each line but the last ending in a comma
(``[``, the entities, ``]``), gzip or bzip2 compressed as Wikidata publishes them. Entities
are Wikibase entity JSON (``labels``, ``claims`` of statements with ``rank`` and
``mainsnak``/``datavalue``, ``sitelinks``), as in ../shared/data/wikidata/Q42.json.
"""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

from tests.support.data import DATA, require
from tests.support.wikimedia_server import GENDER_QIDS, FakePerson

Q42 = DATA / "wikidata" / "Q42.json"


def q42() -> dict:
    return json.loads(require(Q42).read_text(encoding="utf-8"))


def item(qid: str) -> dict:
    return {"value": {"entity-type": "item", "numeric-id": int(qid[1:]), "id": qid}, "type": "wikibase-entityid"}


def string(value: str) -> dict:
    return {"value": value, "type": "string"}


def time(value: str) -> dict:
    return {
        "value": {
            "time": value,
            "timezone": 0,
            "before": 0,
            "after": 0,
            "precision": 11,
            "calendarmodel": "http://www.wikidata.org/entity/Q1985727",
        },
        "type": "time",
    }


_DATATYPES = {"wikibase-entityid": "wikibase-item", "string": "commonsMedia", "time": "time"}


def statement(
    prop: str, datavalue: dict | None, rank: str = "normal", snaktype: str = "value", datatype: str | None = None
) -> dict:
    """A statement; ``datavalue`` None with snaktype ``somevalue`` or ``novalue``; ``datatype`` the
    property's when its value's type does not say it (a string value is ``commonsMedia`` for P18,
    ``string`` for P373)."""
    snak: dict = {"snaktype": snaktype, "property": prop}
    if datavalue is not None:
        snak["datavalue"] = datavalue
        snak["datatype"] = datatype or _DATATYPES[datavalue["type"]]
    return {"mainsnak": snak, "type": "statement", "id": f"{prop}$test", "rank": rank, "references": []}


def entity(qid: str, labels: dict[str, str], claims: dict[str, list[dict]], sitelinks: dict[str, str]) -> dict:
    return {
        "type": "item",
        "id": qid,
        "labels": {lang: {"language": lang, "value": value} for lang, value in labels.items()},
        "descriptions": {},
        "aliases": {},
        "claims": claims,
        "sitelinks": {site: {"site": site, "title": title, "badges": []} for site, title in sitelinks.items()},
    }


def person_entity(person: FakePerson, occupations: tuple[str, ...] = (), countries: tuple[str, ...] = ()) -> dict:
    """The entity the fake query service's ``person`` stands for: its articles plus enough other
    sitelinks to make its count, its images as normal statements in order."""
    claims: dict[str, list[dict]] = {
        "P31": [statement("P31", item("Q5"))],
        "P18": [statement("P18", string(title.removeprefix("File:"))) for title in person.files],
    }
    if person.gender:
        claims["P21"] = [statement("P21", item(GENDER_QIDS.get(person.gender, person.gender)))]
    if person.born:
        claims["P569"] = [statement("P569", time("+" + person.born))]
    if person.commons_category:
        claims["P373"] = [statement("P373", string(person.commons_category), datatype="string")]
    if occupations:
        claims["P106"] = [statement("P106", item(q)) for q in occupations]
    if countries:
        claims["P27"] = [statement("P27", item(q)) for q in countries]
    sitelinks = {f"{lang}wiki": title for lang, title in person.articles.items()}
    for n in range(person.sitelinks - len(sitelinks)):
        sitelinks[f"site{n}wikiquote"] = f"Page {n}"
    return entity(person.qid, person.labels, claims, sitelinks)


def write_dump(path: Path, entities: list[dict]) -> Path:
    """The entities as a dump at ``path``: gzip for .gz, bzip2 for .bz2, plain otherwise."""
    body = "[\n" + ",\n".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in entities) + "\n]\n"
    data = body.encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data)
    elif path.suffix == ".bz2":
        data = bz2.compress(data)
    path.write_bytes(data)
    return path
