"""The playground's server without a browser: who sees the operator page (this machine only, or
whoever has PLAYGROUND_SECRET), its settings (the secret from a file, README's table), and the
one-way flow of its imports."""

from __future__ import annotations

import re
import subprocess
import sys
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from lookalike.bot.config import ConfigError
from lookalike.playground.server import make_app
from lookalike.playground.settings import Settings, parser
from tests.support.data import ROOT

SECRET = "correct-horse-battery-staple-42"


def playground(secret: str | None) -> SimpleNamespace:
    return SimpleNamespace(settings=SimpleNamespace(secret=secret), services=None)


async def status(secret: str | None, path: str, **headers: str) -> int:
    async with TestClient(TestServer(make_app(playground(secret)))) as client:  # on 127.0.0.1
        return (await client.get(path, headers=headers)).status


@pytest.mark.asyncio
async def test_without_a_secret_only_this_machine_sees_the_operator_page():
    assert await status(None, "/operator") == 200
    assert await status(None, "/operator", **{"X-Forwarded-For": "203.0.113.7"}) == 403  # via a proxy
    assert await status(None, "/operator/chart.png", **{"X-Forwarded-For": "203.0.113.7"}) == 403
    assert await status(None, "/operator/chart.png") == 409  # allowed; no index to chart yet


@pytest.mark.asyncio
async def test_with_a_secret_the_operator_page_asks_for_it_from_everywhere():
    assert await status("s3cret", "/operator") == 403
    assert await status("s3cret", "/operator?secret=wrong") == 403
    assert await status("s3cret", "/operator?secret=s3cret") == 200
    assert await status("s3cret", "/operator/summary?secret=s3cret") == 409
    assert await status("s3cret", "/") == 200  # the playground itself is for everyone it is served to


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
    shared = {"ASSETS_DIR", "WORKERS", "MAX_PENDING", "USER_IN_FLIGHT", "USER_PER_MINUTE", "INDEX_POLL_SECONDS"}
    assert env.asked - shared - {"LOG_LEVEL"} - in_table == set(), "missing from the playground's table"
    assert all(f"`{name}`" in section for name in shared | {"LOG_LEVEL"})  # "mean what they mean for the bot"
    flags = {flag for action in parser({})._actions for flag in action.option_strings if flag.startswith("--")}
    assert flags - {"--help", "--playground"} - flags_in_table == set(), "a flag missing from the table"


def test_the_playground_imports_the_bot_but_neither_the_builder_nor_the_fetcher():
    """The flow goes one way: playground -> bot -> engine; the first run runs the builder's and
    the fetcher's command lines instead of importing them."""
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
    assert "lookalike.bot.look_alike" in loaded and "lookalike.bot.replies" in loaded
    assert not [name for name in loaded if name.startswith(("lookalike.builder", "lookalike.fetcher"))]
    bot = subprocess.run(
        [sys.executable, "-c", "import sys, lookalike.bot.app; print(*sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [name for name in bot if name.startswith("lookalike.playground")]
