"""The playground as the browser tests run it: ``python bot.py --playground`` as a process,
and Debian's chromium driven by playwright (its own browser download cannot run here)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.data import ROOT, missing_data

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PlaygroundProcess:
    """``python bot.py --playground --port N`` with ``env``, its output in ``log_path``."""

    def __init__(self, log_path: Path, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log_file = open(log_path, "wb")
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "PLAYGROUND_"))}
        environment.update(env)
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py"), "--playground", "--port", str(self.port)],
            cwd=log_path.parent,
            env=environment,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self.wait_for_log(r"playground: http://")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 60.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log())
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no /{pattern}/ in the playground's log within {timeout} s:\n{self.log()[-4000:]}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()
        return self.process.returncode


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
