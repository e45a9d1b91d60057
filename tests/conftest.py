"""Shared fixtures: the real photos in ../shared/data, and one FaceModel per test session."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SAMPLES = DATA / "samples"
LFW = DATA / "lfw"

sys.path.insert(0, str(ROOT))


def require(path: Path) -> Path:
    """Skip, saying what is missing, where the shared data is absent."""
    if not path.exists():
        pytest.skip(f"needs the shared test data at {path} (see ../shared/data/README.md)")
    return path


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
