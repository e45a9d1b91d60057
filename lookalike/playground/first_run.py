"""The first run: no index yet, so fetch a few hundred celebrities from Wikidata and build them.

Runs the operator's own two commands as child processes, one after the other, exactly as the
README gives them::

    python fetch_celebrities.py --out PHOTOS --contact C --limit N
    python build_embeddings.py PHOTOS --out ASSETS --jitters 1

so the playground imports neither the fetcher nor the builder (the flow stays one-way), and
every other choice is the commands' own default (the fetcher's photos a person among them).
``--jitters 1`` builds ~4x faster than the default 10, for a first look;
``build_embeddings.py`` with its defaults refines the index later. The server loads the new
index when the build has swapped it in, as the bot would.

The progress the page shows is what the commands print. Without a terminal (and a child's
output is a pipe) they log a line every 5% or 30 s (``lookalike.progress.LogProgress``):
``INFO progress: analysing: 250/5000 photos (5%), 7.9 photos/s, 10 min left``, and
``analysing: 5000/5000 photos in 10 min (7.9 photos/s)`` when a stage ends; with one they
draw tqdm's bar, ``analysing:  42%|████▏     | 2100/5000 [...]``. Either gives the stage
(``analysing``) and its percentage; the last line of any kind is shown beside them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lookalike

log = logging.getLogger(__name__)

TOOLS = Path(lookalike.__file__).resolve().parent.parent
"""Where fetch_celebrities.py and build_embeddings.py are: the project's root."""
DEFAULT_LIMIT = 300
MAX_LIMIT = 5000
_LOGGED = re.compile(r"(?P<stage>[\w .-]+): (?P<done>\d+)/(?P<total>\d+) \w+ (?:\(\d+%\)|in )")
"""LogProgress's line as it goes, ``(5%)``, and its last, ``in 10 min``: the stage, done and total."""
_BAR = re.compile(r"(?:(?P<stage>[\w .-]+): *)?(?P<percent>\d{1,3})%\|")
"""tqdm's bar: the stage (its ``desc``) when it has one, and the percentage."""


@dataclass
class Progress:
    state: str = "idle"  # idle, fetching, building, done, failed
    line: str = ""  # the running command's last line of output
    stage: str = ""  # the running command's stage, as its progress lines name it: fetching, analysing...
    percent: int | None = None  # how far that stage is, when the command has said
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FirstRun:
    def __init__(
        self, photos_dir: Path, assets_dir: Path, sparql_url: str | None = None, commons_api_url: str | None = None
    ):
        self.photos_dir, self.assets_dir = photos_dir, assets_dir
        self.sparql_url, self.commons_api_url = sparql_url, commons_api_url
        self.progress = Progress()
        self._task: asyncio.Task[None] | None = None
        self._child: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, contact: str, limit: int) -> str | None:
        """Start fetching and building; a one-line reason instead when it cannot start."""
        if self.running:
            return "a first run is already under way"
        if not 2 <= limit <= MAX_LIMIT:
            return f"the number of celebrities must be between 2 and {MAX_LIMIT}"
        if not contact.strip() or not contact.isprintable():
            return "the contact must be one line: your e-mail or web page"
        self.progress = Progress(state="fetching")
        self._task = asyncio.create_task(self._run(contact.strip(), limit), name="first-run")
        return None

    async def stop(self) -> None:
        if self._child is not None and self._child.returncode is None:
            self._child.terminate()  # both commands stop cleanly on SIGTERM, leaving what is whole
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, contact: str, limit: int) -> None:
        fetch = [str(TOOLS / "fetch_celebrities.py"), "--out", str(self.photos_dir), "--contact", contact]
        fetch += ["--limit", str(limit)]  # names in every language the bot speaks, by default
        if self.sparql_url:
            fetch += ["--sparql-url", self.sparql_url]
        if self.commons_api_url:
            fetch += ["--commons-api-url", self.commons_api_url]
        build = [str(TOOLS / "build_embeddings.py"), str(self.photos_dir), "--out", str(self.assets_dir)]
        build += ["--jitters", "1"]
        try:
            for state, command in (("fetching", fetch), ("building", build)):
                self.progress.state, self.progress.stage, self.progress.percent = state, "", None
                status = await self._command(command)
                if status != 0:
                    self.progress.state = "failed"
                    self.progress.error = f"{Path(command[0]).name} stopped with status {status}: {self.progress.line}"
                    log.error("first run: %s", self.progress.error)
                    return
            self.progress.state, self.progress.stage, self.progress.percent = "done", "", 100
            log.info("first run: fetched and built %s", self.assets_dir)
        except OSError as exc:
            self.progress.state, self.progress.error = "failed", str(exc)
            log.error("first run: %s", exc)

    async def _command(self, arguments: list[str]) -> int:
        log.info("first run: %s", " ".join(Path(arguments[0]).name if i == 0 else a for i, a in enumerate(arguments)))
        self._child = await asyncio.create_subprocess_exec(
            sys.executable, *arguments, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        assert self._child.stdout is not None
        pending = b""
        while chunk := await self._child.stdout.read(4096):
            *lines, pending = re.split(rb"[\r\n]", pending + chunk)  # tqdm rewrites its line with \r
            for line in lines:
                self._show(line.decode(errors="replace").strip())
        self._show(pending.decode(errors="replace").strip())
        return await self._child.wait()

    def _show(self, line: str) -> None:
        if not line:
            return
        self.progress.line = line[-300:]
        found = stage_progress(line)
        if found is not None:
            self.progress.stage, self.progress.percent = found


def stage_progress(line: str) -> tuple[str, int] | None:
    """The stage a command's output line reports on, and how far it is (whole percent, never
    100 before the stage's end); None for a line that is not a progress line."""
    logged = _LOGGED.search(line)
    if logged is not None:
        done, total = int(logged["done"]), int(logged["total"])
        return logged["stage"].strip(), 100 * done // total if total else 100
    bar = _BAR.search(line)
    if bar is not None:
        return (bar["stage"] or "").strip(), min(100, int(bar["percent"]))
    return None
