"""More photos of a person than Wikidata's one image: Commons files that depict the person,
then files of the person's Commons category.

- ``depicting``: CirrusSearch in the File namespace for the files whose structured data
  say they depict the person, ``haswbstatement:P180=<QID>`` (``list=search``,
  ``srnamespace=6``), the first ``limit`` hits by the search's own ranking;
- ``category_files``: the files directly in the person's category, ``Category:<P373>``
  (``list=categorymembers``, ``cmtype=file``), the first ``limit`` in the category's order.

Each is one request per person (the first page only: ``continue`` is not followed, as more
files than asked for are not wanted). The answers give each file's title and page id.

Sources: mediawiki.org "API:Search" (``srsearch``, ``srnamespace``, ``srlimit`` 1-500,
``srprop``; results ``{"ns", "title", "pageid", ...}`` under ``query.search``) and
"Help:Extension:WikibaseCirrusSearch" (``haswbstatement:P180=Q146`` finds the pages with
that statement; on Commons, files whose MediaInfo says "depicts"); "API:Categorymembers"
(``cmtitle`` with its ``Category:`` prefix, ``cmtype=file``, ``cmlimit``, ``cmprop=ids|title``;
members ``{"pageid", "ns", "title"}`` under ``query.categorymembers``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lookalike.fetcher.commons import api_json
from lookalike.fetcher.polite_http import PoliteClient

FILE_NAMESPACE = 6
CATEGORY_PREFIX = "Category:"


@dataclass(frozen=True)
class Found:
    """A file found for a person: its title and page id (M<pageid> is its MediaInfo entity)."""

    title: str
    pageid: int | None


def depicting(client: PoliteClient, api_url: str, qid: str, limit: int) -> list[Found]:
    """Up to ``limit`` files whose structured data say they depict ``qid`` (P180), best first."""
    params = {
        "action": "query",
        "format": "json",
        "formatversion": "2",
        "list": "search",
        "srsearch": f"haswbstatement:P180={qid}",
        "srnamespace": str(FILE_NAMESPACE),
        "srlimit": str(limit),
        "srprop": "size",  # the smallest of the optional fields: the titles and page ids come anyway
    }
    data = api_json(client.get(api_url, params, accept="application/json").body)
    return _files((data.get("query") or {}).get("search"))


def category_files(client: PoliteClient, api_url: str, category: str, limit: int) -> list[Found]:
    """Up to ``limit`` files directly in the Commons category ``category`` (P373's value)."""
    name = category.strip()
    if name[: len(CATEGORY_PREFIX)].lower() == CATEGORY_PREFIX.lower():
        name = name[len(CATEGORY_PREFIX) :].strip()
    params = {
        "action": "query",
        "format": "json",
        "formatversion": "2",
        "list": "categorymembers",
        "cmtitle": CATEGORY_PREFIX + name,
        "cmtype": "file",
        "cmlimit": str(limit),
        "cmprop": "ids|title",
    }
    data = api_json(client.get(api_url, params, accept="application/json").body)
    return _files((data.get("query") or {}).get("categorymembers"))


def _files(results: object) -> list[Found]:
    """The files among the results, in their order (anything else the answer holds is left out)."""
    found = []
    for result in results if isinstance(results, list) else ():
        if not isinstance(result, dict) or result.get("ns") != FILE_NAMESPACE:
            continue
        title, pageid = result.get("title"), result.get("pageid")
        if isinstance(title, str) and title:
            found.append(Found(title, pageid if isinstance(pageid, int) and not isinstance(pageid, bool) else None))
    return found
