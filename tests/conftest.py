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
