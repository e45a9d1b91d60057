"""An assets directory as the tests read it: its celebrities' records and thumbnails by the
layout's names (``lookalike.assets_layout``)."""

from __future__ import annotations

import json
from pathlib import Path

from lookalike import assets_layout


def records(assets_dir: Path) -> list[dict]:
    """Every celebrity's record, in row order, from celebrities.jsonl."""
    text = (assets_dir / assets_layout.CELEBRITIES_FILE).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def thumbnail(assets_dir: Path, name: str) -> Path:
    """The thumbnail of the celebrity named ``name``."""
    names = [record["name"] for record in records(assets_dir)]
    return assets_layout.thumbnail_path(assets_dir, names.index(name))
