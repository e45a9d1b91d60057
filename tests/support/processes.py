"""Processes as the end-to-end tests run them: a command with its output in a log file, waited
for by what it logs and stopped as a supervisor stops it (``LoggedProcess``: the bot, the
playground); a free port to give one; and the process tree from /proc, to see that no process
outlives the bot."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LoggedProcess:
    """``command`` run in ``log_path``'s folder with this process's environment (less the
    variables starting with ``unset``) and ``env``, its output in ``log_path``; ``new_session``:
    its own process group, to be signalled as docker and systemd signal one."""

    name = "process"

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        *,
        unset: tuple[str, ...] = (),
        new_session: bool = False,
    ):
        self.log_path = log_path
        self._log_file = open(log_path, "wb")
        environment = {k: v for k, v in os.environ.items() if not k.startswith(unset)} if unset else dict(os.environ)
        environment.update(env)
        self.process = subprocess.Popen(
            list(command),
            cwd=log_path.parent,
            env=environment,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 20.0, after: int = 0) -> re.Match[str]:
        """The first match of ``pattern`` in the log from character ``after`` on, once it is
        there; AssertionError with the log's end after ``timeout`` seconds, or when the process
        has ended without it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.compile(pattern).search(self.log(), after)
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no /{pattern}/ in the {self.name}'s log within {timeout} s:\n{self.log()[-4000:]}")

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it has not ended within 30 s; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()
        return self.process.returncode


def process_parents() -> dict[int, int]:
    """Every process's parent, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return parents


def descendants(pid: int, parents: dict[int, int] | None = None) -> set[int]:
    """Every process below ``pid`` in the process tree."""
    parents = process_parents() if parents is None else parents
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for whoever adopted it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
