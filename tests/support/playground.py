"""The playground as the browser tests run it: ``python bot.py --playground`` as a process,
and Debian's chromium driven by playwright (its own browser download cannot run here)."""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.data import ROOT, missing_data
from tests.support.processes import LoggedProcess, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class PlaygroundProcess(LoggedProcess):
    """``python bot.py --playground --port N`` with ``env`` (none of the caller's TELEGRAM_ or
    PLAYGROUND_ variables), its output in ``log_path``; returns once it serves."""

    name = "playground"

    def __init__(self, log_path: Path, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, str(ROOT / "bot.py"), "--playground", "--port", str(self.port)]
        super().__init__(command, env, log_path, unset=("TELEGRAM_", "PLAYGROUND_"))
        self.wait_for_log(r"playground: http://", timeout=60)


def csp_violations(page) -> list[str]:
    """The Content-Security-Policy violations ``page`` reports from now on (chromium logs each
    one to the console): what the playground's CSP blocked of its own pages."""
    found: list[str] = []
    page.on(
        "console", lambda message: found.append(message.text) if "Content Security Policy" in message.text else None
    )
    return found


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Debian chromium under playwright; skipped (failed under CI=true) without one."""
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        missing_data("Debian's chromium (/usr/bin/chromium): install.sh installs it")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: run install.sh (requirements.txt pins it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
