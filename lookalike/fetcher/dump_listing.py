"""The people list from a Wikidata JSON dump, scanned here on one core or on a Dask cluster.

On Dask the dump is read with ``dask.bag.read_text``: an uncompressed dump (or several dump
files given by a glob) is split into blocks scanned by the workers at once; a gzip or bzip2
file cannot be split, so each file is one task. Every task keeps its own best ``limit``
people, and the best of those are the list.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path

from lookalike import cluster
from lookalike.fetcher import wikidata_dump
from lookalike.fetcher.wikidata import Person
from lookalike.fetcher.wikidata_dump import ScanCount, Wanted

log = logging.getLogger("fetch_celebrities")

BLOCK = "64MiB"
"""The size of the blocks an uncompressed dump is split into on Dask."""


class DumpError(Exception):
    """The dump cannot be read: no such file, not gzip/bzip2/JSON lines, cut short."""


def list_people(path: Path, wanted: Wanted, limit: int, scheduler: str | None = None) -> list[Person]:
    """The ``limit`` people of the dump the query service would list first, in its order."""
    started = time.monotonic()
    count = ScanCount()
    try:
        if scheduler is None:
            people = wikidata_dump.scan(path, wanted, limit, count)
        else:
            people = _scan_on_dask(path, wanted, limit, scheduler, count)
    except (OSError, EOFError, ValueError) as exc:
        raise DumpError(f"cannot read the dump {path}: {type(exc).__name__}: {exc}") from exc
    seconds = max(time.monotonic() - started, 1e-9)
    log.info(
        "dump scanned in %.1f s: %d lines, %.0f MB of JSON (%.0f MB/s), %d parsed, %d people with a photo wanted%s",
        seconds,
        count.lines,
        count.bytes / 1e6,
        count.bytes / 1e6 / seconds,
        count.parsed,
        count.people,
        f", {count.bad_lines} lines not JSON" if count.bad_lines else "",
    )
    if count.bad_lines:
        log.warning("%d lines of %s that looked like people were not JSON and were skipped", count.bad_lines, path)
    return people


def _scan_on_dask(path: Path, wanted: Wanted, limit: int, scheduler: str, count: ScanCount) -> list[Person]:
    import dask.bag

    compressed = str(path).endswith((".gz", ".bz2"))
    bag = dask.bag.read_text(str(path), blocksize=None if compressed else BLOCK, compression="infer")
    with cluster.connect(scheduler) as client:
        parts = client.compute(bag.map_partitions(_scan_part, wanted, limit)).result()
    people: list[Person] = []
    for part_count, part_people in parts:
        count.add(part_count)
        people += part_people
    return wikidata_dump.best(people, limit)


def _scan_part(lines: Iterable[str], wanted: Wanted, limit: int) -> list[tuple[ScanCount, list[Person]]]:
    count = ScanCount()
    return [(count, wikidata_dump.best(wikidata_dump.people_in(lines, wanted, count), limit))]
