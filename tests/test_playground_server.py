"""The playground's server without a browser: who sees the operator page (this machine only, or
whoever has PLAYGROUND_SECRET), and the one-way flow of its imports."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from lookalike.playground.server import make_app


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
