"""An assets directory as the tests read and make it: its celebrities' records and thumbnails by
the layout's names (``lookalike.assets_layout``), and a small index saved with real thumbnails."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lookalike import assets_layout
from tests.support.data import LFW, require


def records(assets_dir: Path) -> list[dict]:
    """Every celebrity's record, in row order, from celebrities.jsonl."""
    text = (assets_dir / assets_layout.CELEBRITIES_FILE).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def thumbnail(assets_dir: Path, name: str) -> Path:
    """The thumbnail of the celebrity named ``name``."""
    names = [record["name"] for record in records(assets_dir)]
    return assets_layout.thumbnail_path(assets_dir, names.index(name))


def save_index(directory: Path, names: list[str], thumbnail_person: str) -> bytes:
    """An index of ``names`` with random vectors; every thumbnail is a real LFW photo of one person."""
    from lookalike.engine.calibration import Calibration
    from lookalike.engine.index import CelebrityIndex

    directory.mkdir()
    vectors = np.random.default_rng(len(names)).normal(size=(len(names), 128)).astype(np.float32)
    index = CelebrityIndex.build(vectors, [{"name": n} for n in names], Calibration(mean=0.7, std=0.05))
    index.save(directory)
    (directory / assets_layout.THUMBS_DIR).mkdir()
    photo = require(LFW / thumbnail_person / f"{thumbnail_person}_0001.jpg").read_bytes()
    for i in range(len(names)):
        assets_layout.thumbnail_path(directory, i).write_bytes(photo)
    return photo
