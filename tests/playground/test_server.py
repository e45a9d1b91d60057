"""The playground's server through real HTTP requests (aiohttp's test client on 127.0.0.1, or
its real runner on a port): who the operator is (a login, never a URL parameter; this machine
only while listening on loopback and not through a proxy), cross-site requests refused, the
headers every answer carries, every field and body capped in size and time, and the one-way
flow of its imports."""

from __future__ import annotations

import asyncio
import html.parser
import re
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer

from lookalike.answering import settings as answering_settings
from lookalike.answering.look_alike import MAX_DOWNLOAD_BYTES
from lookalike.answering.texts import say
from lookalike.bot.config import ConfigError
from lookalike.playground import guards
from lookalike.playground.bodies import Limits
from lookalike.playground.server import STATIC, Playground, make_app, make_runner
from lookalike.playground.settings import Settings, parser
from tests.support.data import ROOT

SECRET = "correct-horse-battery-staple-42"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
PROXIED = [
    {"X-Forwarded-For": "203.0.113.7"},
    {"X-Real-IP": "203.0.113.7"},
    {"Forwarded": "for=203.0.113.7"},
    {"X-Forwarded-Host": "playground.example.org"},
    {"Via": "1.1 proxy"},
]


def playground(tmp_path: Path, secret: str | None = None, listen: str = "127.0.0.1") -> Playground:
    """A real playground with no index (nothing loaded, no face workers started)."""
    env = {"ASSETS_DIR": str(tmp_path / "assets"), "WORKERS": "1", "WIKIMEDIA_CONTACT": "ops@example.org"}
    if secret:
        env["PLAYGROUND_SECRET"] = secret
    return Playground(Settings.from_env(["--listen", listen], env))


def client(served: Playground, limits: Limits | None = None) -> TestClient:
    return TestClient(TestServer(make_app(served, limits)))  # on 127.0.0.1


async def log_in(http: TestClient, secret: str = SECRET) -> str:
    """The session cookie's value after the login form was posted."""
    answer = await http.post(
        "/operator/login", data={"secret": secret, "then": "/operator"}, headers=SAME_ORIGIN, allow_redirects=False
    )
    assert answer.status == 303
    return answer.cookies[guards.COOKIE].value if guards.COOKIE in answer.cookies else ""


@pytest.mark.asyncio
async def test_without_a_secret_the_operator_is_this_machine_not_through_a_proxy(tmp_path):
    async with client(playground(tmp_path)) as http:
        assert (await http.get("/operator")).status == 200
        assert (await http.get("/operator/chart.png")).status == 409  # allowed; no index to chart yet
        for headers in PROXIED:  # a proxy on this machine: every request would come from loopback
            assert (await http.get("/operator", headers=headers)).status == 403, headers
            assert (await http.get("/operator/summary", headers=headers)).status == 403, headers


@pytest.mark.asyncio
async def test_listening_beyond_loopback_without_a_secret_nobody_is_the_operator(tmp_path):
    async with client(playground(tmp_path, listen="0.0.0.0")) as http:
        refused = await http.get("/operator")  # from 127.0.0.1, with no proxy header
        assert refused.status == 403 and "PLAYGROUND_SECRET" in await refused.text()
        started = await http.post("/api/first-run", json={"contact": "a@b.org", "limit": 2}, headers=SAME_ORIGIN)
        assert started.status == 403
        assert (await (await http.get("/api/state")).json())["access"] == "closed"


@pytest.mark.asyncio
async def test_with_a_secret_the_operator_logs_in_and_gets_an_httponly_strict_hmac_cookie(tmp_path):
    async with client(playground(tmp_path, secret=SECRET)) as http:
        first = await http.get("/operator", allow_redirects=False)  # from this machine, still asked
        assert (first.status, first.headers["Location"]) == (303, "/operator/login")
        wrong = await http.post(
            "/operator/login", data={"secret": "not-it" * 4, "then": "/"}, headers=SAME_ORIGIN, allow_redirects=False
        )
        assert wrong.status == 303 and wrong.headers["Location"].startswith("/operator/login?wrong=1")
        assert guards.COOKIE not in wrong.cookies
        answer = await http.post(
            "/operator/login", data={"secret": SECRET, "then": "/"}, headers=SAME_ORIGIN, allow_redirects=False
        )
        assert (answer.status, answer.headers["Location"]) == (303, "/")
        elsewhere = await http.post(
            "/operator/login",
            data={"secret": SECRET, "then": "//evil.example"},  # another site, protocol-relative
            headers=SAME_ORIGIN,
            allow_redirects=False,
        )
        assert elsewhere.headers["Location"] == "/operator"  # never an open redirect
        cookie = SimpleCookie(answer.headers["Set-Cookie"])[guards.COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        assert SECRET not in cookie.value and re.fullmatch(r"\d+\.[0-9a-f]{64}", cookie.value)
        assert (await http.get("/operator")).status == 200  # the client keeps the cookie
        assert (await http.get("/operator/summary")).status == 409  # the operator's; no index yet
        assert (await http.get("/operator", headers=PROXIED[0])).status == 200  # logged in: a proxy is fine


@pytest.mark.asyncio
async def test_a_forged_or_expired_session_cookie_is_refused(tmp_path):
    served = playground(tmp_path, secret=SECRET)
    operator = guards.Operator(SECRET, "127.0.0.1")
    expires, _, mac = operator.token().partition(".")
    later = str(int(expires) + 3600)
    stale = guards.Operator(SECRET, "127.0.0.1", clock=lambda: time.time() - guards.SESSION_SECONDS - 1).token()
    other = guards.Operator("another-secret-of-16-chars", "127.0.0.1").token()
    async with client(served) as http:
        for forged in (f"{later}.{mac}", stale, other, "", "x", f"{expires}.", SECRET):
            http.session.cookie_jar.clear()
            answer = await http.get("/operator/summary", cookies={guards.COOKIE: forged})
            assert answer.status == 403, forged
        assert (await http.get("/operator/summary", cookies={guards.COOKIE: operator.token()})).status == 409


@pytest.mark.asyncio
async def test_the_secret_is_never_accepted_from_a_query_string(tmp_path):
    async with client(playground(tmp_path, secret=SECRET)) as http:
        for path in ("/operator", "/operator/summary", "/operator/chart.png"):
            answer = await http.get(f"{path}?secret={SECRET}", allow_redirects=False)
            assert answer.status in (303, 403), path
        started = await http.post(f"/api/first-run?secret={SECRET}", json={"contact": "a@b.org"}, headers=SAME_ORIGIN)
        assert started.status == 403
        state = await (await http.get(f"/api/state?secret={SECRET}")).json()
        assert state["operator"] is False and "assets_dir" not in state


@pytest.mark.asyncio
async def test_a_script_may_send_the_secret_as_a_bearer_header(tmp_path):
    async with client(playground(tmp_path, secret=SECRET)) as http:
        assert (await http.get("/operator/summary", headers={"Authorization": f"Bearer {SECRET}"})).status == 409
        assert (await http.get("/operator/summary", headers={"Authorization": "Bearer not-the-secret"})).status == 403
        assert (await http.get("/operator/summary", headers={"Authorization": f"Basic {SECRET}"})).status == 403


@pytest.mark.asyncio
async def test_the_first_run_is_the_operator_s_like_the_operator_page(tmp_path):
    served = playground(tmp_path, secret=SECRET)
    async with client(served) as http:
        body = {"contact": "a@b.org\nX-Injected: 1", "limit": 2}  # refused after the guard: nothing starts
        assert (await http.post("/api/first-run", json=body, headers=SAME_ORIGIN)).status == 403
        assert served.first_run.progress.state == "idle"
        await log_in(http)
        answer = await http.post("/api/first-run", json=body, headers=SAME_ORIGIN)
        assert answer.status == 400 and "one line" in (await answer.json())["error"]  # past the guard
    async with client(playground(tmp_path)) as http:  # no secret: this machine, not through a proxy
        assert (await http.post("/api/first-run", json=body, headers=SAME_ORIGIN | PROXIED[0])).status == 403
        assert (await http.post("/api/first-run", json=body, headers=SAME_ORIGIN)).status == 400


@pytest.mark.asyncio
async def test_api_state_gives_paths_contact_and_output_to_the_operator_only(tmp_path):
    served = playground(tmp_path, secret=SECRET)
    served.first_run.progress.line = f"saved 6 celebrities to {tmp_path}/.assets.new"
    async with client(served) as http:
        public = await (await http.get("/api/state")).json()
        assert public["operator"] is False and public["access"] == "login"
        assert str(tmp_path) not in str(public) and "ops@example.org" not in str(public)
        assert public["first_run"] == {"state": "idle", "stage": "", "percent": None}
        await log_in(http)
        operator = await (await http.get("/api/state")).json()
        assert operator["operator"] is True and operator["contact"] == "ops@example.org"
        assert operator["assets_dir"] == str(tmp_path / "assets") and str(tmp_path) in operator["first_run"]["line"]


@pytest.mark.asyncio
async def test_a_cross_site_post_is_refused_even_with_the_operator_s_cookie(tmp_path):
    served = playground(tmp_path, secret=SECRET)
    async with client(served) as http:
        await log_in(http)
        cross_site = [
            {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
            {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:1"},  # another port of this machine
            {"Origin": "https://evil.example"},  # a browser without Fetch Metadata
            {"Origin": "null"},  # a sandboxed frame
        ]
        for headers in cross_site:
            for path in ("/api/first-run", "/api/button", "/api/photo", "/operator/login", "/operator/logout"):
                # a "simple" request, as a form or fetch(no-cors) on another site sends it
                answer = await http.post(path, data='{"contact": "a@b.org", "limit": 2}', headers=headers)
                assert answer.status == 403, (path, headers)
        assert served.first_run.progress.state == "idle"
        assert (await http.get("/operator")).status == 200  # the logout was refused too
        here = f"http://{http.host}:{http.port}"
        allowed = await http.post("/api/button", json={"data": "x"}, headers={"Origin": here})
        assert allowed.status == 409  # past the check; no index to answer from
        simple = await http.post("/api/first-run", data='{"contact": "a@b.org"}', headers=SAME_ORIGIN)
        assert simple.status == 415  # JSON only, even from this site: a form cannot send it


@pytest.mark.asyncio
async def test_every_answer_carries_the_csp_nosniff_and_frame_ancestors(tmp_path):
    async with client(playground(tmp_path, secret=SECRET)) as http:
        for path in ("/", "/operator/login", "/operator", "/static/app.js", "/api/state", "/nowhere"):
            answer = await http.get(path, allow_redirects=False)
            policy = answer.headers.get("Content-Security-Policy", "")
            assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, (path, policy)
            assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
            assert answer.headers.get("X-Content-Type-Options") == "nosniff", path


@pytest.mark.asyncio
async def test_a_visitor_cookie_the_playground_did_not_give_is_replaced_not_a_failure(tmp_path):
    async with client(playground(tmp_path)) as http:
        for forged in ("z" * 32, "0" * 31 + "\u00e9", ""):
            http.session.cookie_jar.clear()
            answer = await http.get("/api/state", cookies={"visitor": forged})
            assert answer.status == 200 and re.fullmatch(r"[0-9a-f]{32}", answer.cookies["visitor"].value), forged


class _InlineCode(html.parser.HTMLParser):
    """What a CSP without 'unsafe-inline' would block in a page: inline scripts, style
    elements and attributes, event handler attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        self._in_script = tag == "script" and "src" not in names
        if tag == "style" or "style" in names or any(name.startswith("on") for name in names):
            self.found.append(f"<{tag} {sorted(names)}>")

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"<script>{data.strip()[:40]}")

    def handle_endtag(self, tag):
        self._in_script = False


@pytest.mark.parametrize("page", sorted(path.name for path in STATIC.glob("*.html")))
def test_the_pages_have_no_inline_script_or_style_for_the_csp_to_block(page):
    reader = _InlineCode()
    reader.feed((STATIC / page).read_text())
    assert reader.found == []


@pytest.mark.asyncio
async def test_every_field_is_capped_in_size(tmp_path):
    async with client(playground(tmp_path, secret=SECRET)) as http:
        await log_in(http)
        oversized = [
            ("/api/button", {"data": "x" * 65}),
            ("/api/button", {"data": "x", "lang": "r" * 17}),
            ("/api/first-run", {"contact": "a" * 201, "limit": 2}),
            ("/api/first-run", {"contact": "a@b.org", "limit": "1" * 7}),
        ]
        for path, body in oversized:
            answer = await http.post(path, json=body, headers=SAME_ORIGIN)
            assert answer.status == 413, (path, body)
        whole = await http.post("/api/button", json={"data": "x", "padding": "p" * 20_000}, headers=SAME_ORIGIN)
        assert whole.status == 413  # the body itself, past client_max_size
        login = await http.post("/operator/login", data={"secret": "s" * 1025}, headers=SAME_ORIGIN)
        assert login.status == 413
        form = FormData()
        form.add_field("lang", "r" * 17)
        form.add_field("photo", b"\xff\xd8", filename="a.jpg", content_type="image/jpeg")
        assert (await http.post("/api/photo", data=form, headers=SAME_ORIGIN)).status == 413
        for names in (["note"], ["lang", "lang", "lang"]):  # a field the form has not, or one too often
            form = FormData(default_to_multipart=True)
            for name in names:
                form.add_field(name, "en")
            answer = await http.post("/api/photo", data=form, headers=SAME_ORIGIN)
            assert answer.status == 400 and "once each" in await answer.text(), names


@pytest.mark.asyncio
async def test_a_photo_past_the_bots_limit_gets_its_too_large_text_before_the_rest_is_read(tmp_path):
    async with client(playground(tmp_path)) as http:
        form = FormData()
        form.add_field("lang", "ru")
        form.add_field("photo", b"\xff\xd8" + bytes(MAX_DOWNLOAD_BYTES), filename="big.jpg", content_type="image/jpeg")
        answer = await http.post("/api/photo", data=form, headers=SAME_ORIGIN)
        assert answer.status == 413 and (await answer.json())["text"] == say("ru", "too_large")

        async def endless():  # chunked, no Content-Length: the cap is found while reading
            yield b'--b\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n\r\n'
            for _ in range(MAX_DOWNLOAD_BYTES // (1 << 20) + 2):
                yield bytes(1 << 20)

        streamed = await http.post(
            "/api/photo", data=endless(), headers=SAME_ORIGIN | {"Content-Type": "multipart/form-data; boundary=b"}
        )
        assert streamed.status == 413 and (await streamed.json())["outcome"] == "too_large"
    runner, port = await _serve(playground(tmp_path), Limits(refused_body_seconds=0.5))
    try:  # a gigabyte announced and none of it sent: answered at once, from its Content-Length
        announced = (
            b"POST /api/photo HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 1000000000\r\n\r\n"
        )
        answer, _ = await _exchange(port, announced, wait=5)
        assert answer.startswith(b"HTTP/1.1 413")
    finally:
        await runner.cleanup()


async def _serve(served: Playground, limits: Limits) -> tuple[web.AppRunner, int]:
    """The playground as ``serve`` runs it (its runner, its limits), on a free port."""
    runner = make_runner(served, limits)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, runner.addresses[0][1]


async def _exchange(port: int, sent: bytes, wait: float) -> tuple[bytes, float]:
    """The first line the server answers to ``sent`` (then silence), b"" when it closes the
    connection instead, and how long that took."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(sent)
    await writer.drain()
    try:
        async with asyncio.timeout(wait):
            answer = await reader.readline()
    finally:
        writer.close()
    return answer, time.monotonic() - started


@pytest.mark.asyncio
async def test_a_slow_client_is_answered_or_dropped_not_waited_for(tmp_path):
    limits = Limits(headers_seconds=1.0, small_body_seconds=1.0, photo_body_seconds=1.0)
    runner, port = await _serve(playground(tmp_path), limits)
    try:
        # headers that never end (slowloris): the connection is closed, within the limit
        answer, took = await _exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n", wait=5)
        assert answer == b"" and took < 3
        # a body that never comes: 408 within the limit, for the JSON questions and the photo
        request = (
            b"POST /api/button HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        answer, took = await _exchange(port, request, wait=5)
        assert answer.startswith(b"HTTP/1.1 408") and took < 3
        request = (
            b"POST /api/photo HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b'Content-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name="photo"\r\n\r\n\xff\xd8'
        )
        answer, took = await _exchange(port, request, wait=5)
        assert answer.startswith(b"HTTP/1.1 408") and took < 3
        # an over-long header: aiohttp's own 400, at once
        answer, _ = await _exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", 5)
        assert re.match(rb"HTTP/1\.[01] 400 ", answer)
    finally:
        await runner.cleanup()


def test_the_secret_comes_from_a_file_its_newline_dropped(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    assert Settings.from_env([], {"PLAYGROUND_SECRET_FILE": str(secret_file)}).secret == SECRET
    assert Settings.from_env(["--secret-file", str(secret_file)], {}).secret == SECRET
    failures = [
        ({"PLAYGROUND_SECRET": SECRET, "PLAYGROUND_SECRET_FILE": str(secret_file)}, "both set"),
        ({"PLAYGROUND_SECRET_FILE": str(tmp_path / "missing")}, "cannot read PLAYGROUND_SECRET_FILE"),
        ({"PLAYGROUND_SECRET": "short"}, "at least 16 characters"),
    ]
    for env, message in failures:
        with pytest.raises(ConfigError, match=message) as caught:
            Settings.from_env([], env)
        assert SECRET not in str(caught.value)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        Settings.from_env([], {"PLAYGROUND_SECRET_FILE": str(tmp_path / "empty")})


def test_bot_py_playground_says_what_is_wrong_with_the_secret_in_one_line(tmp_path):
    ran = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "--playground", "--secret-file", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "ASSETS_DIR": str(tmp_path)},
    )
    assert ran.returncode == 2
    assert ran.stderr.strip().splitlines() == [
        f"bot.py --playground: cannot read PLAYGROUND_SECRET_FILE {tmp_path / 'missing'}: No such file or directory"
    ]


class Recording(dict):
    """An environment that remembers every name the settings asked it for."""

    def __init__(self):
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


def test_the_readme_table_has_every_setting_and_flag():
    env = Recording()
    Settings.from_env([], env)
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Try it in a browser") :]
    section = section[: section.index("\n## ", 1)]
    rows = re.findall(r"^\| (.+) \|$", section, re.MULTILINE)
    in_table = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    flags_in_table = {flag for row in rows for flag in re.findall(r"`(--[a-z-]+)`", row)}
    shared = {variable.name for variable in answering_settings.VARIABLES}  # the bot's table has them
    assert env.asked - shared - in_table == set(), "missing from the playground's table"
    assert all(f"`{name}`" in section for name in shared)  # "read as the bot reads them"
    flags = {flag for action in parser({})._actions for flag in action.option_strings if flag.startswith("--")}
    assert flags - {"--help", "--playground"} - flags_in_table == set(), "a flag missing from the table"


def test_the_playground_imports_the_answering_room_but_not_the_bot_the_builder_or_the_fetcher():
    """The flow goes one way: playground -> answering -> engine; the first run runs the builder's
    and the fetcher's command lines instead of importing them."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, lookalike.playground.server, lookalike.playground.cli; print(*sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "lookalike.answering.look_alike" in loaded and "lookalike.answering.replies" in loaded
    assert not [name for name in loaded if name.startswith(("lookalike.builder", "lookalike.fetcher", "lookalike.bot"))]
    assert "telegram" not in loaded
    bot = subprocess.run(
        [sys.executable, "-c", "import sys, lookalike.bot.app; print(*sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [name for name in bot if name.startswith("lookalike.playground")]
