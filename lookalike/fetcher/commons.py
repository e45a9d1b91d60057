"""The photos and their credits: Wikimedia Commons' Action API, ``prop=imageinfo|categories``.

One request asks for up to 50 files (``titles=A|B|...``) with ``iiprop=url|extmetadata|mime``
and ``iiurlwidth``: each file's ``thumburl`` at that width, its ``descriptionurl`` (the
file's page), its MIME type and its extended metadata, of which only the licence and author
keys are asked for (``iiextmetadatafilter``); and the file's visible categories
(``clshow=!hidden``, ``cllimit=max``: 500 for the whole request, shared by its files), which
the artwork filter reads (``artworks``). Titles the API normalises or follows as redirects
are mapped back; ``continue`` is followed until the batch is complete (a continued answer
repeats the pages with the next part of their categories, which are added up).

The author (``Artist``) comes as HTML and is kept as plain text. A file is used only
under a licence that allows reuse with a credit line: public domain, CC0, CC BY and CC BY-SA
(not NC, ND, GFDL-only, or anything marked ``NonFree``).

Sources: mediawiki.org "API:Imageinfo" (parameters, ``thumburl``/``descriptionurl``/``mime``,
``extmetadata`` values as ``{"value", "source", "hidden"?}``), "API:Categories" (``clshow``,
``cllimit``, ``clcontinue``; each category ``{"ns": 14, "title": "Category:..."}``), "API:Query" (``titles``
up to 50, ``normalized``/``redirects``, ``continue``), "API:JSON version 2"
(``formatversion=2``: ``pages`` a list, ``"missing": true``), "API:Etiquette" (batch
titles rather than one request each), CommonsMetadata's field names (LicenseShortName,
LicenseUrl, License, Artist, NonFree, AttributionRequired); "Common thumbnail sizes"
for the widths Wikimedia serves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from lookalike.fetcher.polite_http import PoliteClient
from lookalike.records import CelebrityRecord

BATCH = 50
"""Titles per imageinfo request: the API's limit for clients without the bot right."""

STANDARD_WIDTHS = (20, 40, 60, 120, 250, 330, 500, 960, 1280, 1920, 3840)
"""Thumbnail widths Wikimedia production serves; other widths are refused."""

METADATA_KEYS = ("Artist", "LicenseShortName", "LicenseUrl", "License", "NonFree", "AttributionRequired")
AUTHOR_LIMIT = 200
_REUSABLE = re.compile(r"^((cc0|pd)(-|$)|cc-by(-sa)?(-[0-9]|$))")


class CommonsError(Exception):
    """The API answered with an error or something that is not its JSON."""


@dataclass
class FileInfo:
    """A Commons file as the catalog records it, or why it cannot be used (``problem``)."""

    title: str
    thumb_url: str = ""
    page: str = ""  # the file's description page
    author: str | None = None
    license: str | None = None  # the short name, "CC BY-SA 3.0"
    license_url: str | None = None
    problem: str | None = None  # "missing on Commons", "licence not reusable (CC BY-NC 2.0)", ...
    pageid: int | None = None  # the file page's id: its structured data are the MediaInfo entity M<pageid>
    mime: str | None = None  # "image/jpeg"
    categories: list[str] = field(default_factory=list)  # visible categories, "Category:Portrait paintings"

    def fields(self) -> CelebrityRecord:
        """The catalog's photo and credit fields (no author field when there is none)."""
        entry: CelebrityRecord = {"file": self.title, "file_page": self.page, "photo_url": self.thumb_url}
        if self.author:
            entry["author"] = self.author
        if self.license:
            entry["license"] = self.license
        if self.license_url:
            entry["license_url"] = self.license_url
        return entry


def image_info(client: PoliteClient, api_url: str, titles: list[str], width: int) -> dict[str, FileInfo]:
    """Title -> FileInfo for up to ``BATCH`` titles (every title asked for is in the answer)."""
    if len(titles) > BATCH:
        raise ValueError(f"at most {BATCH} titles a request")
    params = {
        "action": "query",
        "format": "json",
        "formatversion": "2",
        "prop": "imageinfo|categories",
        "iiprop": "url|extmetadata|mime",
        "iiurlwidth": str(width),
        "iiextmetadatafilter": "|".join(METADATA_KEYS),
        "clshow": "!hidden",
        "cllimit": "max",
        "redirects": "1",
        "titles": "|".join(titles),
    }
    aliases: dict[str, str] = {}
    pages: dict[str, dict[str, Any]] = {}
    for data in continued(client, api_url, params):
        query = data.get("query") or {}
        for mapping in (*query.get("normalized", ()), *query.get("redirects", ())):
            aliases[mapping["from"]] = mapping["to"]
        for page in query.get("pages", ()):
            merged = pages.setdefault(page["title"], {**page, "categories": []})
            if page.get("imageinfo"):
                merged["imageinfo"] = page["imageinfo"]
            if isinstance(page.get("categories"), list):
                merged["categories"] += page["categories"]
    return {title: _file_info(title, pages.get(_resolve(title, aliases))) for title in titles}


def continued(client: PoliteClient, api_url: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The answers to a query and its continuations (``continue``), each checked JSON (``api_json``)."""
    request = dict(params)
    while True:
        data = api_json(client.get(api_url, request, accept="application/json").body)
        yield data
        if not isinstance(data.get("continue"), dict):
            return
        request = {**params, **data["continue"]}


def _resolve(title: str, aliases: dict[str, str]) -> str:
    seen = set()
    while title in aliases and title not in seen:  # normalised, then maybe a redirect
        seen.add(title)
        title = aliases[title]
    return title


def api_json(body: bytes) -> dict[str, Any]:
    """The API's answer as a JSON object; CommonsError when it is not one, or is an error."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise CommonsError(f"the Commons API did not answer JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CommonsError("the Commons API answered JSON that is not an object")
    if "error" in data:
        error = data["error"] if isinstance(data["error"], dict) else {}
        raise CommonsError(f"the Commons API refused: {error.get('code')}: {error.get('info')}")
    return data


def _file_info(title: str, page: dict[str, Any] | None) -> FileInfo:
    if page is None or page.get("missing") or page.get("invalid"):
        return FileInfo(title, problem="file missing on Commons")
    infos = page.get("imageinfo") or []
    if not infos or not infos[0].get("thumburl"):
        return FileInfo(title, problem="no image information")
    info = infos[0]
    meta = info.get("extmetadata") or {}
    licence = _meta(meta, "LicenseShortName")
    pageid = page.get("pageid")
    result = FileInfo(
        title=title,
        thumb_url=info["thumburl"],
        page=info.get("descriptionurl", ""),
        author=plain_text(_meta(meta, "Artist") or "", AUTHOR_LIMIT),
        license=licence,
        license_url=_meta(meta, "LicenseUrl"),
        pageid=pageid if isinstance(pageid, int) and not isinstance(pageid, bool) else None,
        mime=info.get("mime") if isinstance(info.get("mime"), str) else None,
        categories=[c["title"] for c in page["categories"] if isinstance(c, dict) and isinstance(c.get("title"), str)],
    )
    code = licence_code(_meta(meta, "License"), licence)
    if (_meta(meta, "NonFree") or "").lower() == "true" or code is None or not _REUSABLE.match(code):
        result.problem = f"licence not reusable ({licence or 'none given'})"
    return result


def licence_code(code: str | None, short_name: str | None) -> str | None:
    """``cc-by-sa-4.0`` from the License field, else from the short name ("CC BY-SA 4.0")."""
    text = code or short_name
    if not text:
        return None
    text = re.sub(r"[\s_]+", "-", text.strip().lower())
    return "pd" if text.startswith("public-domain") else text


def _meta(meta: dict[str, Any], key: str) -> str | None:
    field = meta.get(key)
    value = field.get("value") if isinstance(field, dict) else None
    if isinstance(value, (int, float)):
        value = str(value)
    return (value.strip() or None) if isinstance(value, str) else None


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def plain_text(html_text: str, limit: int = AUTHOR_LIMIT) -> str | None:
    """The text of an HTML fragment, whitespace collapsed, at most ``limit`` chars; None if empty."""
    parser = _Text()
    parser.feed(html_text)
    parser.close()
    text = " ".join("".join(parser.parts).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None
