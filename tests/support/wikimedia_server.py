"""A local stand-in for the three Wikimedia services the fetcher talks to, on 127.0.0.1.

- ``/sparql``: the Wikidata Query Service's SPARQL endpoint. It does not evaluate SPARQL:
  it reads the page (the inner ``LIMIT``/``OFFSET``) and the label and article languages
  from the query the fetcher sends, and answers with the W3C SPARQL 1.1 JSON results
  format (``head.vars``, ``results.bindings``; ``uri`` and ``literal`` values with
  ``xml:lang`` and ``datatype``; unbound variables left out), people by sitelinks, one
  row per image of a person as the real service gives.
- ``/w/api.php``: the Commons Action API's ``action=query&prop=imageinfo`` with
  ``formatversion=2`` (``pages`` a list, ``"missing": true``, ``normalized``), ``thumburl``
  at ``iiurlwidth``, ``extmetadata`` values as ``{"value", "source"}`` filtered by
  ``iiextmetadatafilter``, at most 50 titles, ``continue`` when asked to split answers.
- ``/thumb/<file>/<width>px-<file>``: the image files, with a delay, a 429 with
  Retry-After, a 404 or broken bytes where a test asks for them.

Every request is recorded (time, path, User-Agent, status) and the most thumbnail
downloads in flight at once is kept.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


@dataclass
class Hit:
    at: float  # time.monotonic() when the request arrived
    path: str
    user_agent: str
    status: int


class FakeWikimedia:
    def __init__(self, people: list[FakePerson], files: list[FakeFile], image_delay: float = 0.0):
        self.people = people
        self.files = {f.title: f for f in files}
        self.image_delay = image_delay
        self.imageinfo_per_response = 50  # fewer: answers are split with "continue"
        self.too_many: dict[str, int] = {}  # file title -> how many 429s its thumbnail answers first
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

    def thumb_hits(self) -> list[Hit]:
        return [hit for hit in self.hits if hit.path.startswith("/thumb/")]

    def api_hits(self) -> list[Hit]:
        return [hit for hit in self.hits if hit.path.startswith("/w/api.php")]

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
        ranked = sorted(self.people, key=lambda p: (-p.sitelinks, ENTITY + p.qid))[offset : offset + limit]
        variables = ["person", "sitelinks", "image", "gender", "genderLabel", "born"]
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
                for var, lang in label_langs:
                    if lang in person.labels:
                        row[f"label_{var}"] = _literal(person.labels[lang], lang=lang)
                for var, lang in article_langs:
                    if lang in person.articles:
                        url = f"https://{lang}.wikipedia.org/wiki/{urllib.parse.quote(person.articles[lang].replace(' ', '_'))}"
                        row[f"article_{var}"] = {"type": "uri", "value": url}
                bindings.append(row)
        return 200, {"head": {"vars": variables}, "results": {"bindings": bindings}}

    def imageinfo(self, params: dict[str, str]) -> tuple[int, dict]:
        expected = {"action": "query", "prop": "imageinfo", "format": "json", "formatversion": "2"}
        if any(params.get(k) != v for k, v in expected.items()) or set(params.get("iiprop", "").split("|")) != {
            "url",
            "extmetadata",
        }:
            return 200, {"error": {"code": "badparams", "info": f"unexpected parameters {params}"}}
        titles = params["titles"].split("|")
        if len(titles) > 50:
            return 200, {
                "error": {
                    "code": "toomanyvalues",
                    "info": 'Too many values supplied for parameter "titles". The limit is 50.',
                }
            }
        width = int(params["iiurlwidth"])
        wanted = params.get("iiextmetadatafilter", "").split("|")
        start = int(params.get("iicontinue", "0"))
        normalized, pages = [], []
        for i, asked in enumerate(titles):
            title = asked.replace("_", " ")
            if title != asked:
                normalized.append({"fromencoded": False, "from": asked, "to": title})
            file = self.files.get(title)
            if file is None or file.missing:
                pages.append({"ns": 6, "title": title, "missing": True, "known": False})
                continue
            page = {"pageid": 1000 + i, "ns": 6, "title": title, "imagerepository": "local"}
            if start <= i < start + self.imageinfo_per_response:
                page["imageinfo"] = [self._info(file, width, wanted)]
            pages.append(page)
        answer: dict = {"batchcomplete": True, "query": {"pages": pages}}
        if normalized:
            answer["query"]["normalized"] = normalized
        if start + self.imageinfo_per_response < len(titles):
            answer.pop("batchcomplete")
            answer["continue"] = {"iicontinue": str(start + self.imageinfo_per_response), "continue": "||"}
        return 200, answer

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
                status, body = fake.imageinfo(params)
                data, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
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
