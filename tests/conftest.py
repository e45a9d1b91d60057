"""Shared fixtures: the real photos in ../shared/data, and one FaceModel per test session."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SAMPLES = DATA / "samples"
LFW = DATA / "lfw"

sys.path.insert(0, str(ROOT))


def require(path: Path) -> Path:
    """``path``, after checking that the shared data has it (see ``missing_data``)."""
    if not path.exists():
        missing_data(f"needs the shared test data at {path} (see ../shared/data/README.md)")
    return path


def missing_data(reason: str) -> None:
    """Skip the test, saying why; in CI (CI=true) fail it instead: a CI run without the
    shared data would otherwise pass having tested half the suite."""
    if os.environ.get("CI", "").strip().lower() in ("true", "1"):
        pytest.fail(f"CI=true and the shared data is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def press_runner_up(gallery, data: str, lang: str = "en") -> list[str | None]:
    """Press a runner-up button with ``data`` twice, straight through handlers.runner_up (not
    its per-user limits) against a stand-in bot; the captions of the photos it sent."""
    import asyncio
    import inspect
    from types import SimpleNamespace

    from lookalike.bot import handlers

    sent = []

    async def send_photo(chat_id, photo, caption=None, filename=None):
        sent.append(caption)
        return SimpleNamespace(photo=[SimpleNamespace(width=256, height=256, file_id="file-1")])

    async def answer(*args, **kwargs):
        pass

    update = SimpleNamespace(
        update_id=1, effective_user=SimpleNamespace(id=7, language_code=lang),
        callback_query=SimpleNamespace(data=data, message=SimpleNamespace(chat=SimpleNamespace(id=7)), answer=answer),
    )
    context = SimpleNamespace(
        bot=SimpleNamespace(send_photo=send_photo),
        bot_data={"services": SimpleNamespace(gallery=SimpleNamespace(current=gallery))},
    )
    runner_up = inspect.unwrap(handlers.runner_up)
    asyncio.run(runner_up(update, context))  # uploaded
    asyncio.run(runner_up(update, context))  # then by file_id
    return sent


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


@pytest.fixture(scope="session")
def face_model():
    from lookalike.engine.face_model import FaceModel

    return FaceModel()


@pytest.fixture
def sample():
    """Path to a sample photo by its path under samples/."""
    return lambda name: require(SAMPLES / name)


@pytest.fixture
def lfw_photo():
    """Path to LFW photo ``number`` (1-based, as in pairs.txt) of ``person``."""
    return lambda person, number=1: require(LFW / person / f"{person}_{number:04d}.jpg")
