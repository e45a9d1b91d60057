"""A local stand-in for the three Wikimedia services the fetcher talks to, on 127.0.0.1.

- ``/sparql``: the Wikidata Query Service's SPARQL endpoint. It does not evaluate SPARQL:
  it reads the page (the inner ``LIMIT``/``OFFSET``), the ``YEAR(?birth) > N`` filter and the
  label and article languages from the query the fetcher sends, and answers with the W3C
  SPARQL 1.1 JSON results format (``head.vars``, ``results.bindings``; ``uri`` and
  ``literal`` values with ``xml:lang`` and ``datatype``; unbound variables left out), people
  by sitelinks, one row per image of a person as the real service gives.
- ``/w/api.php``: the Commons Action API, ``formatversion=2``, answering as the real one:
  - ``action=query&prop=imageinfo|categories``: ``pages`` a list, ``"missing": true``,
    ``normalized``; ``thumburl`` at ``iiurlwidth``, ``mime``, ``extmetadata`` values as
    ``{"value", "source"}`` filtered by ``iiextmetadatafilter``; categories as
    ``{"ns": 14, "title"}``, at most ``cllimit`` (500 for ``max``) for the whole request; at
    most 50 titles; ``continue`` (``iicontinue``, ``clcontinue``) when an answer is split, a
    continued request answering only the modules whose continue parameter it carries;
  - ``list=search`` with ``srsearch=haswbstatement:P180=Q..`` in namespace 6: the files whose
    structured data depict that item, ``{"ns", "title", "pageid", "size"}`` under
    ``query.search``, ``srlimit`` of them, ``continue.sroffset`` when there are more;
  - ``list=categorymembers`` with ``cmtype=file``: the files of ``cmtitle`` by title,
    ``{"pageid", "ns", "title"}``, ``cmlimit`` of them, ``continue.cmcontinue`` for more;
  - ``action=wbgetentities&ids=M1|M2``: each file's MediaInfo entity (``type: mediainfo``,
    ``statements`` keyed by property, ``[]`` when it has none), ``{"id", "missing": ""}``
    for a file without structured data; at most 50 ids.
  Page ids are stable: a file keeps its id for the server's life.
- ``/thumb/<file>/<width>px-<file>``: the image files, with a delay, a 429 with
  Retry-After, a 404 or broken bytes where a test asks for them.

Every request is recorded (time, path, User-Agent, status) and the most thumbnail
downloads in flight at once is kept; ``api_delay`` and ``image_delay`` make the API and the
thumbnails as slow as a test or a benchmark asks, and ``too_many`` a 429 for a file's
thumbnail or a kind of API request ("search", "categorymembers", "imageinfo", "wbgetentities").
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.data import ROOT

ENTITY = "http://www.wikidata.org/entity/"
GENDER_QIDS = {"female": "Q6581072", "male": "Q6581097"}


@dataclass
class FakeFile:
    title: str  # "File:Aaron Peirsol.jpg"
    image: bytes | None  # None: the thumbnail answers 404
    artist_html: str | None = None
    license_short: str | None = "CC BY-SA 4.0"
    license_code: str | None = "cc-by-sa-4.0"
    license_url: str | None = "https://creativecommons.org/licenses/by-sa/4.0"
    non_free: bool = False
    missing: bool = False  # not on Commons at all
    mime: str = "image/jpeg"
    categories: list[str] = field(default_factory=list)  # visible categories, with or without "Category:"
    depicts: list[str] = field(default_factory=list)  # P180 item ids in its structured data
    instance_of: list[str] = field(default_factory=list)  # P31 item ids
    structured: bool = True  # False: no MediaInfo entity ("missing" in wbgetentities)


@dataclass
class FakePerson:
    qid: str
    files: list[str]  # P18 titles; more than one gives several rows
    sitelinks: int
    labels: dict[str, str] = field(default_factory=dict)  # language ("mul" too) -> label
    articles: dict[str, str] = field(default_factory=dict)  # language -> article title
    gender: str | None = None  # "female", "male" or a QID
    gender_label: str | None = None
    born: str | None = None  # xsd:dateTime literal, "1962-07-03T00:00:00Z"
    commons_category: str | None = None  # P373, without "Category:"


@dataclass
class Hit:
    at: float  # time.monotonic() when the request arrived
    path: str
    user_agent: str
    status: int

    def params(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query, keep_blank_values=True))


class FakeWikimedia:
    def __init__(self, people: list[FakePerson], files: list[FakeFile], image_delay: float = 0.0):
        self.people = people
        self.files = {f.title: f for f in files}
        self.image_delay = image_delay
        self.imageinfo_per_response = 50  # fewer: answers are split with "continue"
        self.categories_per_response = 500  # the most categories an answer holds (cllimit=max)
        self.too_many: dict[str, int] = {}  # file title or API kind -> how many 429s it answers first
        self.api_delay = 0.0
        self.pageids: dict[str, int] = {}
        self.retry_after = "1"
        self.hits: list[Hit] = []
        self.queries: list[str] = []
        self.posted = 0  # SPARQL queries sent as a POSTed form
        self.sparql_timeout = False  # answer as the query service does when a query runs out of time
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def sparql_url(self) -> str:
        return f"{self.base}/sparql"

    @property
    def api_url(self) -> str:
        return f"{self.base}/w/api.php"

    def __enter__(self) -> FakeWikimedia:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def command(self, out: Path, contact: str, *options: str) -> list[str]:
        """fetch_celebrities.py as a process, fetching into ``out`` from this stand-in."""
        return [
            sys.executable,
            str(ROOT / "fetch_celebrities.py"),
            "--out",
            str(out),
            "--contact",
            contact,
            "--sparql-url",
            self.sparql_url,
            "--commons-api-url",
            self.api_url,
            *options,
        ]

    def thumb_hits(self) -> list[Hit]:
        return [hit for hit in self.hits if hit.path.startswith("/thumb/")]

    def api_hits(self, kind: str | None = None) -> list[Hit]:
        """The API requests, or those of one kind: "imageinfo", "search", "categorymembers", "wbgetentities"."""
        hits = [hit for hit in self.hits if hit.path.startswith("/w/api.php")]
        return hits if kind is None else [hit for hit in hits if api_kind(hit.params()) == kind]

    def pageid(self, title: str) -> int:
        """The file's page id, the same for the server's life."""
        with self._lock:
            return self.pageids.setdefault(title, 5000 + len(self.pageids))

    def file(self, title: str) -> FakeFile | None:
        file = self.files.get(title)
        return None if file is None or file.missing else file

    # ------------------------------------------------------------ the three services

    def sparql(self, params: dict[str, str]) -> tuple[int, dict | str]:
        query = params.get("query", "")
        self.queries.append(query)
        if self.sparql_timeout:
            return (
                500,
                "SPARQL-QUERY: queryStr=...\njava.util.concurrent.TimeoutException\n\tat java.util.concurrent.FutureTask.get",
            )
        if params.get("format") != "json":
            return 400, {"error": "format=json expected"}
        page = re.search(r"LIMIT (\d+)\s+OFFSET (\d+)", query)
        if not page or "wdt:P31 wd:Q5" not in query or "wdt:P18" not in query:
            return 400, {"error": "not the fetcher's query"}
        limit, offset = int(page.group(1)), int(page.group(2))
        label_langs = re.findall(r'FILTER\(LANG\(\?label_(\w+)\) = "([^"]+)"\)', query)
        article_langs = re.findall(
            r"\?article_(\w+) schema:about \?person; schema:isPartOf <https://([^.]+)\.wikipedia\.org/>", query
        )
        listed = self.people
        born_after = re.search(r"FILTER\(YEAR\(\?birth\) > (-?\d+)\)", query)
        if born_after:
            year = int(born_after.group(1))
            listed = [p for p in listed if p.born and int(p.born.split("-")[0]) > year]
        ranked = sorted(listed, key=lambda p: (-p.sitelinks, ENTITY + p.qid))[offset : offset + limit]
        variables = ["person", "sitelinks", "image", "gender", "genderLabel", "born", "commonsCategory"]
        variables += [f"label_{var}" for var, _ in label_langs] + [f"article_{var}" for var, _ in article_langs]
        bindings = []
        for person in ranked:
            for title in person.files:
                row = {
                    "person": {"type": "uri", "value": ENTITY + person.qid},
                    "sitelinks": _literal(str(person.sitelinks), datatype="http://www.w3.org/2001/XMLSchema#integer"),
                    "image": {"type": "uri", "value": _file_path_uri(title)},
                }
                if person.gender:
                    row["gender"] = {"type": "uri", "value": ENTITY + GENDER_QIDS.get(person.gender, person.gender)}
                    if person.gender_label:
                        row["genderLabel"] = _literal(person.gender_label, lang="en")
                if person.born:
                    row["born"] = _literal(person.born, datatype="http://www.w3.org/2001/XMLSchema#dateTime")
                if person.commons_category:
                    row["commonsCategory"] = _literal(person.commons_category)
                for var, lang in label_langs:
                    if lang in person.labels:
                        row[f"label_{var}"] = _literal(person.labels[lang], lang=lang)
                for var, lang in article_langs:
                    if lang in person.articles:
                        url = f"https://{lang}.wikipedia.org/wiki/{urllib.parse.quote(person.articles[lang].replace(' ', '_'))}"
                        row[f"article_{var}"] = {"type": "uri", "value": url}
                bindings.append(row)
        return 200, {"head": {"vars": variables}, "results": {"bindings": bindings}}

    def api(self, params: dict[str, str]) -> tuple[int, dict[str, str], dict | str]:
        """The Commons API's answer: status, headers, JSON body (or text, for a 429)."""
        kind = api_kind(params)
        time.sleep(self.api_delay)
        with self._lock:
            if self.too_many.get(kind, 0) > 0:
                self.too_many[kind] -= 1
                return 429, {"Retry-After": self.retry_after}, "Too many requests"
        if params.get("format") != "json" or params.get("formatversion") != "2":
            return 200, {}, _error("badparams", f"format=json&formatversion=2 expected: {params}")
        answer = {
            "imageinfo": self.imageinfo,
            "search": self.search,
            "categorymembers": self.categorymembers,
            "wbgetentities": self.wbgetentities,
        }.get(kind, lambda params: _error("badparams", f"not a request the stand-in knows: {params}"))(params)
        return 200, {}, answer

    def imageinfo(self, params: dict[str, str]) -> dict:
        props = params.get("prop", "").split("|")
        if params.get("action") != "query" or "imageinfo" not in props or set(props) - {"imageinfo", "categories"}:
            return _error("badparams", f"unexpected parameters {params}")
        if set(params.get("iiprop", "").split("|")) != {"url", "extmetadata", "mime"}:
            return _error("badparams", f"unexpected iiprop {params.get('iiprop')}")
        titles = params["titles"].split("|")
        if len(titles) > 50:
            return _error("toomanyvalues", 'Too many values supplied for parameter "titles". The limit is 50.')
        width = int(params["iiurlwidth"])
        wanted = params.get("iiextmetadatafilter", "").split("|")
        continuing = "continue" in params
        info_from = int(params["iicontinue"]) if "iicontinue" in params else (None if continuing else 0)
        categories_from = int(params["clcontinue"]) if "clcontinue" in params else (None if continuing else 0)
        if "categories" not in props:
            categories_from = None
        cllimit = params.get("cllimit", "10")
        category_room = min(500 if cllimit == "max" else int(cllimit), self.categories_per_response)
        normalized, pages, flat = [], [], 0
        more: dict[str, str] = {}
        for i, asked in enumerate(titles):
            title = asked.replace("_", " ")
            if title != asked:
                normalized.append({"fromencoded": False, "from": asked, "to": title})
            file = self.file(title)
            if file is None:
                pages.append({"ns": 6, "title": title, "missing": True, "known": False})
                continue
            page: dict = {"pageid": self.pageid(title), "ns": 6, "title": title, "imagerepository": "local"}
            if info_from is not None and info_from <= i < info_from + self.imageinfo_per_response:
                page["imageinfo"] = [self._info(file, width, wanted)]
            if info_from is not None and i == info_from + self.imageinfo_per_response:
                more["iicontinue"] = str(i)
            for category in file.categories:
                if categories_from is not None and flat >= categories_from:
                    if flat < categories_from + category_room:
                        page.setdefault("categories", []).append({"ns": 14, "title": _category(category)})
                    elif "clcontinue" not in more:
                        more["clcontinue"] = str(flat)
                flat += 1
            pages.append(page)
        answer: dict = {"batchcomplete": True, "query": {"pages": pages}}
        if normalized:
            answer["query"]["normalized"] = normalized
        if more:
            answer.pop("batchcomplete")
            answer["continue"] = {**more, "continue": "||"}
        return answer

    def search(self, params: dict[str, str]) -> dict:
        match = re.fullmatch(r"haswbstatement:P180=(Q[0-9]+)", params.get("srsearch", ""))
        if params.get("action") != "query" or not match:
            return _error("badparams", f"not a search the stand-in knows: {params}")
        files = []
        if params.get("srnamespace") == "6":
            files = [f for f in self.files.values() if not f.missing and match.group(1) in f.depicts]
        offset, limit = int(params.get("sroffset", "0")), min(int(params.get("srlimit", "10")), 500)
        props = params.get("srprop", "size|wordcount|timestamp|snippet").split("|")
        hits = []
        for file in files[offset : offset + limit]:
            hit: dict = {"ns": 6, "title": file.title, "pageid": self.pageid(file.title)}
            if "size" in props:
                hit["size"] = len(file.image or b"")
            hits.append(hit)
        answer: dict = {"batchcomplete": True, "query": {"searchinfo": {"totalhits": len(files)}, "search": hits}}
        if offset + limit < len(files):
            answer["continue"] = {"sroffset": offset + limit, "continue": "-||"}
        return answer

    def categorymembers(self, params: dict[str, str]) -> dict:
        title = params.get("cmtitle", "").replace("_", " ")
        if params.get("action") != "query" or not title.startswith("Category:") or params.get("cmtype") != "file":
            return _error("badparams", f"not a category listing the stand-in knows: {params}")
        files = sorted(
            (f for f in self.files.values() if not f.missing and title in map(_category, f.categories)),
            key=lambda f: f.title,
        )
        offset, limit = int(params.get("cmcontinue", "0")), min(int(params.get("cmlimit", "10")), 500)
        members = [{"pageid": self.pageid(f.title), "ns": 6, "title": f.title} for f in files[offset : offset + limit]]
        answer: dict = {"batchcomplete": True, "query": {"categorymembers": members}}
        if offset + limit < len(files):
            answer["continue"] = {"cmcontinue": str(offset + limit), "continue": "-||"}
        return answer

    def wbgetentities(self, params: dict[str, str]) -> dict:
        ids = params.get("ids", "").split("|")
        if len(ids) > 50:
            return _error("toomanyvalues", 'Too many values supplied for parameter "ids". The limit is 50.')
        by_pageid = {self.pageid(f.title): f for f in self.files.values() if not f.missing}
        entities = {}
        for entity_id in ids:
            file = by_pageid.get(int(entity_id[1:])) if re.fullmatch(r"M[1-9][0-9]*", entity_id) else None
            if file is None or not file.structured:
                entities[entity_id] = {"id": entity_id, "missing": ""}
                continue
            statements = {
                prop: [_statement(entity_id, prop, qid) for qid in values]
                for prop, values in (("P31", file.instance_of), ("P180", file.depicts))
                if values
            }
            entities[entity_id] = {
                "pageid": int(entity_id[1:]),
                "ns": 6,
                "title": file.title,
                "lastrevid": 1,
                "modified": "2024-01-01T00:00:00Z",
                "type": "mediainfo",
                "id": entity_id,
                "labels": {"en": {"language": "en", "value": "a caption"}},
                "descriptions": {},
                "statements": statements or [],  # PHP's empty array: a list
            }
        return {"entities": entities, "success": 1}

    def _info(self, file: FakeFile, width: int, wanted: list[str]) -> dict:
        name = file.title.removeprefix("File:").replace(" ", "_")
        quoted = urllib.parse.quote(name)
        meta = {
            "Artist": file.artist_html,
            "LicenseShortName": file.license_short,
            "LicenseUrl": file.license_url,
            "License": file.license_code,
            "NonFree": "true" if file.non_free else None,
            "AttributionRequired": "true" if file.artist_html else "false",
            "ImageDescription": "a portrait",
        }
        return {
            "thumburl": f"{self.base}/thumb/{quoted}/{width}px-{quoted}",
            "thumbwidth": width,
            "thumbheight": width,
            "url": f"{self.base}/orig/{quoted}",
            "mime": file.mime,
            "descriptionurl": f"https://commons.wikimedia.org/wiki/File:{quoted}",
            "descriptionshorturl": "https://commons.wikimedia.org/w/index.php?curid=1",
            "extmetadata": {
                key: {"value": value, "source": "commons-desc-page"}
                for key, value in meta.items()
                if value is not None and (not wanted or key in wanted)
            },
        }

    def thumbnail(self, path: str) -> tuple[int, dict[str, str], bytes]:
        match = re.match(r"^/thumb/([^/]+)/(\d+)px-([^/]+)$", path)
        if not match:
            return 404, {}, b"no such thumbnail"
        title = "File:" + urllib.parse.unquote(match.group(1)).replace("_", " ")
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            time.sleep(self.image_delay)
            with self._lock:
                if self.too_many.get(title, 0) > 0:
                    self.too_many[title] -= 1
                    return 429, {"Retry-After": self.retry_after}, b"Too many requests"
            file = self.files.get(title)
            if file is None or file.image is None:
                return 404, {}, b"Not found"
            return 200, {"Content-Type": "image/jpeg"}, file.image
        finally:
            with self._lock:
                self._in_flight -= 1


def api_kind(params: dict[str, str]) -> str:
    """Which API request the parameters make: "imageinfo", "search", "categorymembers", "wbgetentities"."""
    if params.get("action") == "wbgetentities":
        return "wbgetentities"
    return params.get("list") or ("imageinfo" if "imageinfo" in params.get("prop", "") else "other")


def _error(code: str, info: str) -> dict:
    return {"error": {"code": code, "info": info}}


def _category(name: str) -> str:
    return name if name.startswith("Category:") else f"Category:{name}"


def _statement(entity_id: str, prop: str, qid: str) -> dict:
    return {
        "mainsnak": {
            "snaktype": "value",
            "property": prop,
            "hash": f"{prop}{qid}",
            "datavalue": {
                "value": {"entity-type": "item", "numeric-id": int(qid[1:]), "id": qid},
                "type": "wikibase-entityid",
            },
        },
        "type": "statement",
        "id": f"{entity_id}${prop}-{qid}",
        "rank": "normal",
    }


def _literal(value: str, lang: str | None = None, datatype: str | None = None) -> dict:
    literal = {"type": "literal", "value": value}
    if lang:
        literal["xml:lang"] = lang
    if datatype:
        literal["datatype"] = datatype
    return literal


def _file_path_uri(title: str) -> str:
    name = title.removeprefix("File:")
    return "http://commons.wikimedia.org/wiki/Special:FilePath/" + urllib.parse.quote(name)


def _handler(fake: FakeWikimedia):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.arrived = time.monotonic()
            url = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            if url.path == "/sparql":
                self._send_sparql(*fake.sparql(params))
            elif url.path == "/w/api.php":
                status, headers, body = fake.api(params)
                if isinstance(body, str):
                    self._send(status, {**headers, "Content-Type": "text/plain"}, body.encode())
                    return
                data, headers = json.dumps(body).encode(), {**headers, "Content-Type": "application/json"}
                if "gzip" in self.headers.get("Accept-Encoding", ""):
                    data, headers["Content-Encoding"] = gzip.compress(data), "gzip"
                self._send(status, headers, data)
            else:
                self._send(*fake.thumbnail(url.path))

        def do_POST(self):
            """The SPARQL endpoint also takes the query as a form, for queries too long for a URL."""
            self.arrived = time.monotonic()
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            if url.path != "/sparql" or self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                self._send(405, {}, b"only the SPARQL endpoint takes a form")
                return
            fake.posted += 1
            self._send_sparql(*fake.sparql(form))

        def _send_sparql(self, status: int, body: dict | str) -> None:
            if isinstance(body, str):
                self._send(status, {"Content-Type": "text/plain"}, body.encode())
            else:
                self._send(status, {"Content-Type": "application/sparql-results+json"}, json.dumps(body).encode())

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            with fake._lock:
                fake.hits.append(Hit(self.arrived, self.path, self.headers.get("User-Agent", ""), status))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    return Handler
