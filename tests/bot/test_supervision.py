"""The bot as a supervisor sees it: /livez and /readyz beside /metrics (ready only when
ready), the command menu and descriptions set at start, .env read, and one clear line
when the token is malformed, the Bot API unreachable or TELEGRAM_API_URL no Bot API."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from lookalike.answering.listener import HEADER_SECONDS
from tests.support.bot_api import FakeBotApi
from tests.support.bot_harness import TOKEN, new_user, only_reply, run_bot, sample, selfie
from tests.support.data import ROOT
from tests.support.listeners import SlowLoris, listening_addresses, threads
from tests.support.processes import free_port

pytestmark = pytest.mark.e2e  # starts bot.py


def get(port: int, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)


def wait_ready(port: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    answer = None
    while time.monotonic() < deadline:
        answer = get(port, "/readyz")
        if answer.status_code == 200:
            return answer.json()
        time.sleep(0.2)
    raise AssertionError(f"not ready within {timeout} s: {answer and answer.text}")


def test_health_endpoints_beside_metrics_and_not_ready_while_stopping(people, assets, tmp_path):
    port = free_port()
    with FakeBotApi(token=TOKEN) as api:
        bot = run_bot(api, assets, tmp_path / "bot.log", METRICS_PORT=str(port), SHUTDOWN_GRACE_SECONDS="30")
        try:
            ready = wait_ready(port)
            # The version the bot gives the index it loaded (/metrics says the same).
            assert re.fullmatch(r"[0-9a-f]{8}", ready["index_version"]), ready
            assert f'lookalike_index_info{{version="{ready["index_version"]}"}} 1.0' in get(port, "/metrics").text
            assert ready["index_celebrities"] == len(people)
            assert ready["workers_alive"] == ready["workers"] == 2
            assert 0 <= ready["telegram_seconds_since_answer"] < 30
            assert get(port, "/livez").status_code == 200
            assert get(port, "/metrics").status_code == 200 and "lookalike_workers 2.0" in get(port, "/metrics").text
            assert get(port, "/healthz").status_code == 404  # was 200 with the metrics, whatever the path
            assert get(port, "/").status_code == 404

            # A photo held in its download keeps the bot in its grace period after SIGTERM:
            # alive, answering its probes, but not ready (a load balancer sends nothing new).
            user = new_user()
            api.hold_downloads("held.jpg")
            api.send_document_update(user, selfie(people[0]), "image/jpeg", "held.jpg")
            api.wait_for(lambda c: c.method == "getFile" and c.ok, timeout=30)
            bot.process.send_signal(signal.SIGTERM)
            bot.wait_for_log("stopping: 1 updates in flight")
            stopping = get(port, "/readyz")
            assert stopping.status_code == 503 and stopping.json()["stopping"] is True
            assert get(port, "/livez").status_code == 200
            api.release_downloads()
            only_reply(api, user)
            assert bot.process.wait(30) == 0
        finally:
            bot.stop()


def test_not_ready_while_the_bot_api_fails(assets, tmp_path):
    port = free_port()
    with FakeBotApi(token=TOKEN) as api:
        bot = run_bot(api, assets, tmp_path / "bot.log", METRICS_PORT=str(port), READY_TELEGRAM_SECONDS="10")
        try:
            wait_ready(port)
            api.stop()  # Telegram gone: getUpdates and the health check's getMe fail
            deadline = time.monotonic() + 30
            while get(port, "/readyz").status_code == 200:
                assert time.monotonic() < deadline, "still ready 30 s after the Bot API went away"
                time.sleep(0.5)
            figures = get(port, "/readyz").json()
            assert figures["telegram_seconds_since_answer"] > 10 and figures["workers_alive"] == 2
            assert get(port, "/livez").status_code == 200  # alive: a restart would not help
        finally:
            bot.stop()


def test_command_menu_and_descriptions_in_every_language(assets, tmp_path):
    from lookalike.languages import DEFAULT, LANGUAGES

    codes = {None} | {lang for lang in LANGUAGES if lang != DEFAULT}  # English is the default, for everyone else
    with FakeBotApi(token=TOKEN) as api:
        bot = run_bot(api, assets, tmp_path / "bot.log")
        try:
            api.wait_for(lambda c: c.method == "setMyShortDescription", count=len(codes), timeout=30)
            menus = {
                (
                    json.loads(c.params["scope"])["type"]
                    if isinstance(c.params["scope"], str)
                    else c.params["scope"]["type"],
                    c.params.get("language_code"),
                ): c.params["commands"]
                for c in api.calls("setMyCommands")
            }
            assert set(menus) == {(scope, code) for scope in ("all_private_chats", "all_group_chats") for code in codes}
            commands = {key: [c["command"] for c in _json(value)] for key, value in menus.items()}
            assert commands[("all_private_chats", None)] == ["start", "help", "language", "forget"]
            assert commands[("all_group_chats", "ru")] == ["help"]
            assert "Что умеет" in _json(menus[("all_private_chats", "ru")])[0]["description"]
            descriptions = {
                c.params.get("language_code"): c.params["description"] for c in api.calls("setMyDescription")
            }
            assert set(descriptions) == codes and "selfie" in descriptions[None]
            assert "селфи" in descriptions["ru"]
            shorts = {
                c.params.get("language_code"): c.params["short_description"] for c in api.calls("setMyShortDescription")
            }
            assert all(len(text) <= 120 for text in shorts.values()) and set(shorts) == codes
            assert all(len(text) <= 512 for text in descriptions.values())
            # And the bot answers as before.
            user = new_user()
            api.send_photo_update(user, sizes=sample("face_recognition/obama.jpg"))
            assert only_reply(api, user).method == "sendPhoto"
        finally:
            bot.stop()


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _run(env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    """bot.py run to its exit, in ``cwd`` (not the checkout: it may write its state files there)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py")], cwd=cwd, env=environment, capture_output=True, text=True, timeout=60
    )


def test_a_malformed_token_is_one_line_that_does_not_show_it(assets, tmp_path):
    result = _run({"TELEGRAM_BOT_TOKEN": "abc-not-a-token", "ASSETS_DIR": str(assets)}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("bot.py: TELEGRAM_BOT_TOKEN does not look like a bot token")
    assert len(result.stderr.splitlines()) == 1 and "abc-not-a-token" not in result.stderr


class _NotABotApi(http.server.BaseHTTPRequestHandler):
    """A web server where TELEGRAM_API_URL should name the Bot API: a page for every request."""

    def _page(self) -> None:
        body = f"<html><body>Welcome to nginx! {self.path}</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._page()

    def do_POST(self):
        self._page()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def web_page_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotABotApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(
    ("where", "status", "told"),
    [
        ("a closed port", 1, "cannot reach the Bot API at {url} (TELEGRAM_API_URL): the connection was refused"),
        ("no such host", 1, "cannot reach the Bot API at {url} (TELEGRAM_API_URL): no such host"),
        ("a web page", 2, "{url} (TELEGRAM_API_URL) is not a Bot API server: it answered HTTP 200 with a web page"),
        ("not the root", 2, "{url} (TELEGRAM_API_URL) is not a Bot API server: it answered 404 Not Found"),
    ],
)
def test_a_wrong_telegram_api_url_is_one_line_within_seconds(assets, tmp_path, web_page_server, where, status, told):
    """TELEGRAM_RETRY_SECONDS stays at its 5 minutes: an outage is ridden out that long, a wrong URL is not."""
    with FakeBotApi(token=TOKEN) as api:
        url = {
            "a closed port": f"http://127.0.0.1:{free_port()}",
            "no such host": "http://no-such-host.invalid",
            "a web page": web_page_server,
            "not the root": f"{api.url}/telegram",  # the Bot API is at the root, not under /telegram
        }[where]
        started = time.monotonic()
        result = _run({"TELEGRAM_BOT_TOKEN": TOKEN, "ASSETS_DIR": str(assets), "TELEGRAM_API_URL": url}, tmp_path)
        took = time.monotonic() - started
    assert result.returncode == status, result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after the log's lines
    assert line.startswith("bot.py: " + told.format(url=url)), result.stderr
    assert "Traceback" not in result.stderr
    assert took < 30, f"told after {took:.0f} s"
    assert TOKEN not in result.stderr and "4242" not in line


def test_an_outage_at_start_is_ridden_out(assets, tmp_path):
    """Telegram failing as the bot starts (502s: Telegram's own answers) is no wrong URL: it starts once they end."""
    with FakeBotApi(token=TOKEN) as api:
        api.fail_for(4, status=502)
        bot = run_bot(api, assets, tmp_path / "bot.log", WORKERS="1")
        try:
            user = new_user()
            api.send_text_update(user, "/start")
            assert only_reply(api, user, timeout=30).method == "sendMessage"
            assert [call.status for call in api.calls("getMe")][:1] == [502]
        finally:
            assert bot.stop() == 0


def test_the_bot_reads_dot_env_and_the_environment_wins(assets, tmp_path):
    with FakeBotApi(token=TOKEN) as api:
        (tmp_path / ".env").write_text(
            f"TELEGRAM_BOT_TOKEN={TOKEN}\nTELEGRAM_API_URL={api.url}\nASSETS_DIR=/nowhere\nWORKERS=1\n"
        )
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
        environment["ASSETS_DIR"] = str(assets)  # wins over the file's /nowhere
        with open(tmp_path / "bot.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, str(ROOT / "bot.py")],
                cwd=tmp_path,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            api.wait_for(lambda c: c.method == "getUpdates", timeout=60)
            user = new_user()
            api.send_photo_update(user, sizes=sample("face_recognition/obama.jpg"))
            assert only_reply(api, user).method == "sendPhoto"
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0
        assert "1 face workers ready" in (tmp_path / "bot.log").read_text()  # WORKERS=1 from the file


def test_the_token_comes_from_a_secret_file_as_compose_and_systemd_hand_it_over(assets, tmp_path):
    secret = tmp_path / "telegram_bot_token"
    secret.write_text(TOKEN + "\n")
    with FakeBotApi(token=TOKEN) as api:
        bot = run_bot(api, assets, tmp_path / "bot.log", TELEGRAM_BOT_TOKEN="", TELEGRAM_BOT_TOKEN_FILE=str(secret))
        try:
            user = new_user()
            api.send_text_update(user, "/start")
            assert only_reply(api, user).method == "sendMessage"
        finally:
            assert bot.stop() == 0
        assert TOKEN not in bot.log()


def test_the_token_and_its_file_both_set_is_one_line(assets, tmp_path):
    secret = tmp_path / "telegram_bot_token"
    secret.write_text(TOKEN)
    result = _run(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BOT_TOKEN_FILE": str(secret), "ASSETS_DIR": str(assets)}, tmp_path
    )
    assert result.returncode == 2
    assert result.stderr == "bot.py: TELEGRAM_BOT_TOKEN and TELEGRAM_BOT_TOKEN_FILE are both set: set one of them\n"


def test_metrics_listen_on_loopback_by_default_and_slow_clients_hold_no_thread(assets, tmp_path):
    """The issue: /metrics and /readyz served on every interface, by a thread per connection
    with no timeout, so forty slow-loris connections held forty threads for good."""
    port = free_port()
    with FakeBotApi(token=TOKEN) as api:
        bot = run_bot(api, assets, tmp_path / "bot.log", METRICS_PORT=str(port), WORKERS="1")
        try:
            wait_ready(port)
            assert listening_addresses(port) == {"127.0.0.1"}
            before = threads(bot.pid)
            with SlowLoris(port, b"GET /livez HTTP/1.1\r\nHost: bot\r\n", count=40) as loris:
                time.sleep(2)
                assert threads(bot.pid) < before + 5, "the slow clients hold threads"
                started = time.monotonic()
                assert get(port, "/livez").status_code == 200  # answered beside them
                assert time.monotonic() - started < 2
                assert loris.wait_cut_off(timeout=HEADER_SECONDS + 10) < HEADER_SECONDS + 5
            with socket.create_connection(("127.0.0.1", port), timeout=10) as large:
                large.sendall(b"GET /metrics HTTP/1.1\r\nHost: bot\r\nContent-Length: 100000000\r\n\r\n")
                assert large.recv(1024).startswith(b"HTTP/1.1 413")
        finally:
            assert bot.stop() == 0


def test_metrics_listen_puts_them_on_another_address_where_the_probe_asks(assets, tmp_path):
    port = free_port()
    env = {"METRICS_PORT": str(port), "METRICS_LISTEN": "127.0.0.2"}  # loopback too, but not 127.0.0.1
    with FakeBotApi(token=TOKEN) as api:
        bot = run_bot(api, assets, tmp_path / "bot.log", WORKERS="1", **env)
        try:
            deadline = time.monotonic() + 30
            while listening_addresses(port) != {"127.0.0.2"}:
                assert time.monotonic() < deadline, listening_addresses(port)
                time.sleep(0.2)
            while True:
                probe = subprocess.run(
                    [sys.executable, "-m", "lookalike.bot.probe", "readyz"],
                    env={**os.environ, **env},
                    cwd=tmp_path,
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
                if probe.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert probe.returncode == 0 and json.loads(probe.stdout)["ready"] is True, probe
        finally:
            assert bot.stop() == 0
