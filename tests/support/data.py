"""Where the shared test data is (../shared/data, beside the project's root), and how a test
that needs it skips, or fails in CI, when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
SAMPLES = DATA / "samples"
LFW = DATA / "lfw"


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
