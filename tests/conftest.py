"""Shared fixtures: the real photos in the test data (tests/support/data.py), and one FaceModel per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bot_api import FakeBotApi
from tests.support.bot_harness import (
    GALLERY_SIZE,
    NEW_PEOPLE,
    TOKEN,
    build_index,
    gendered_photo_folder,
    lfw_people,
    people_of,
    photo_folder,
)
from tests.support.data import DATA, HOW_TO_GET_IT, LFW, SAMPLES, require


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line at the end of a run without the test data (quiet or not), saying how to get it."""
    if not DATA.is_dir():
        terminalreporter.write_line(f"no test data at {DATA}: {HOW_TO_GET_IT} (the tests that need it skipped)")


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


# ------------------------------------------------------------------ the bot's gallery and Bot API


@pytest.fixture(scope="session")
def people() -> list[str]:
    return lfw_people()[:GALLERY_SIZE]


@pytest.fixture(scope="session")
def new_people() -> list[str]:
    return lfw_people()[GALLERY_SIZE : GALLERY_SIZE + NEW_PEOPLE]


@pytest.fixture(scope="session")
def assets(tmp_path_factory, people) -> Path:
    root = tmp_path_factory.mktemp("gallery")
    build_index(photo_folder(root / "photos", people), root / "assets", root / "cache.sqlite")
    return root / "assets"


@pytest.fixture(scope="module")
def api():
    with FakeBotApi(token=TOKEN) as server:
        yield server


@pytest.fixture(scope="session")
def women() -> list[str]:
    return people_of("female")


@pytest.fixture(scope="session")
def men() -> list[str]:
    return people_of("male")


@pytest.fixture(scope="session")
def gendered_assets(tmp_path_factory, women, men) -> Path:
    """A gallery of LFW women and men (their first photos held out) with the catalog's genders,
    built once for the gender and playground tests."""
    root = tmp_path_factory.mktemp("gendered")
    build_index(gendered_photo_folder(root / "photos", women, men), root / "assets", root / "cache.sqlite")
    return root / "assets"
