"""Where the test data is, and how a test that needs it skips, or fails in CI, when it is missing.

The suite reads real photos and files: half of LFW (its people's photos, their ``pairs.txt`` and a
``catalog.csv`` of their genders), sample photos and Wikidata's Q42. They are read in place from
``LOOKALIKE_TEST_DATA`` when it is set, else from ``../shared/data`` beside the project's root,
and never copied into the project. Anyone can make such a folder::

    python -m tests.support.data fetch DIR      # downloads from the publishers, checks, lays out
    python -m tests.support.data check DIR      # checks a folder made so (or ../shared/data)

(``data_fetch``; the sources and their checksums are ``data_sources``; README, "Test data").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("LOOKALIKE_TEST_DATA") or ROOT.parent / "shared" / "data")
SAMPLES = DATA / "samples"
LFW = DATA / "lfw"
HOW_TO_GET_IT = "get it with `python -m tests.support.data fetch DIR` and set LOOKALIKE_TEST_DATA=DIR"


def require(path: Path) -> Path:
    """``path``, after checking that the test data has it (see ``missing_data``)."""
    if not path.exists():
        missing_data(f"needs the test data at {path}: {HOW_TO_GET_IT}")
    return path


def missing_data(reason: str) -> None:
    """Skip the test, saying why; in CI (CI=true) fail it instead: a CI run without the
    test data would otherwise pass having tested half the suite."""
    if os.environ.get("CI", "").strip().lower() in ("true", "1"):
        pytest.fail(f"CI=true and the test data is missing: {reason}", pytrace=False)
    pytest.skip(reason)


if __name__ == "__main__":
    from tests.support.data_fetch import main

    sys.exit(main(sys.argv[1:]))
