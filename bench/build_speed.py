"""How fast build_embeddings.py builds an assets directory, with 1 and 10 jitters, and refreshes it.

    python bench/build_speed.py [--photos 200] [--add 10] [--jitters 1,10] [--rounds 2] [--workers N]

A subset of LFW is laid out as the builder expects (``<Name>/*.jpg``, symlinks in a
temporary folder): whole people, in a seeded random order, until ``--photos`` photos.
Per round and per jitter setting, in a fresh folder with a fresh cache:

1. full build: ``lookalike.builder.build.build`` end to end (hashing, the worker pool and its
   model loading, consensus, calibration, the HNSW index, thumbnails, the atomic swap);
2. unchanged rebuild: the same call again, every photo answered by the cache;
3. incremental refresh: ``--add`` photos of people not yet in the gallery are added and
   the same call run again: only they are analysed.

Rounds alternate the order of the jitter settings so the machine's other load hits
them alike. Photos/s is photos / full-build seconds, wall clock, with ``--workers``
processes (default: the builder's, one per core).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
from pathlib import Path

import common
from common import LFW, fmt_ratio, median, now, table


def subset(count: int, extra: int, seed: int) -> tuple[list[Path], list[Path]]:
    """``count`` photos of whole people (the last one cut), then ``extra`` photos of people not among them."""
    people = sorted(p for p in LFW.iterdir() if p.is_dir())
    random.Random(seed).shuffle(people)
    base, added = [], []
    for person in people:
        photos = sorted(person.glob("*.jpg"))
        if len(base) < count:
            base.extend(photos[: count - len(base)])
        elif len(added) < extra:
            added.extend(photos[: extra - len(added)])
        else:
            break
    return base, added


def link(photos: list[Path], folder: Path) -> None:
    for photo in photos:
        (folder / photo.parent.name).mkdir(exist_ok=True)
        (folder / photo.parent.name / photo.name).symlink_to(photo)


def one_run(be, base: list[Path], added: list[Path], jitters: int, workers: int | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="build_speed_") as tmp:
        tmp = Path(tmp)
        photos, out, cache = tmp / "photos", tmp / "out", tmp / "cache.sqlite"
        photos.mkdir()
        link(base, photos)
        kwargs = dict(workers=workers, jitters=jitters, cache=cache, progress=False)
        started = now()
        with common.ChildrenCPU() as cpu:
            full = be.build(photos, out, **kwargs)
        full_s = now() - started
        started = now()
        unchanged = be.build(photos, out, **kwargs)
        unchanged_s = now() - started
        link(added, photos)
        started = now()
        refresh = be.build(photos, out, **kwargs)
        refresh_s = now() - started
    return {
        "full": full_s,
        "workers_cpu": cpu.seconds,
        "unchanged": unchanged_s,
        "refresh": refresh_s,
        "computed": (full.computed, unchanged.computed, refresh.computed),
        "celebrities": (full.celebrities, refresh.celebrities),
        "kept": full.kept,
        "rejected": full.rejected,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--add", type=int, default=10, help="photos added for the incremental refresh (default 10)")
    parser.add_argument("--jitters", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="default: the builder's (one per core)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    common.require(LFW)
    try:
        from lookalike.builder import build as be
    except ImportError as exc:
        print(f"SKIPPED: build_embeddings.py cannot be imported ({exc})")
        return 1
    logging.basicConfig(level=logging.WARNING)
    base, added = subset(args.photos, args.add, args.seed)
    workers = args.workers or os.cpu_count() or 1
    runs = {j: [] for j in args.jitters}
    for r in range(args.rounds):
        order = args.jitters if r % 2 == 0 else list(reversed(args.jitters))
        for j in order:
            result = one_run(be, base, added, j, args.workers)
            runs[j].append(result)
            print(
                f"round {r + 1}, {j} jitter(s): full {result['full']:.1f} s "
                f"(workers' CPU {result['workers_cpu']:.1f} s), unchanged {result['unchanged']:.1f} s, "
                f"+{len(added)} photos {result['refresh']:.1f} s; analysed {result['computed']}",
                flush=True,
            )
    print()
    common.banner(
        "Build speed (lookalike.builder.build.build)",
        [
            f"{len(base)} LFW photos of {len({p.parent.name for p in base})} people (symlinks, <Name>/*.jpg), "
            f"+{len(added)} photos of {len({p.parent.name for p in added})} new people for the refresh; "
            f"{workers} worker processes; {args.rounds} rounds, order alternating",
            f"first run: {runs[args.jitters[0]][0]['celebrities'][0]} celebrities, {runs[args.jitters[0]][0]['kept']} photos kept, "
            f"rejected {runs[args.jitters[0]][0]['rejected'] or 'none'}",
        ],
    )
    rows = []
    for j, results in runs.items():
        full = median([x["full"] for x in results])
        unchanged = median([x["unchanged"] for x in results])
        refresh = median([x["refresh"] for x in results])
        worker_cpu = median([x["workers_cpu"] for x in results])
        rows.append(
            [
                j,
                f"{full:.1f}",
                f"{len(base) / full:.2f}",
                f"{1000 * worker_cpu / len(base):.0f}",
                f"{len(base) / worker_cpu:.2f}",
                f"{unchanged:.1f}",
                f"{refresh:.1f}",
                f"{100 * refresh / full:.0f}% ({fmt_ratio(full / refresh)} faster)",
            ]
        )
    print(
        table(
            [
                "jitters",
                "full build s",
                "photos/s",
                "workers' CPU ms per photo",
                "photos/s per core owned",
                "unchanged rebuild s",
                f"+{len(added)} photos s",
                "refresh / full",
            ],
            rows,
        )
    )
    if len(args.jitters) >= 2:
        low, high = min(args.jitters), max(args.jitters)
        paired = [h["full"] / l["full"] for h, l in zip(runs[high], runs[low])]
        cpu_paired = [h["workers_cpu"] / l["workers_cpu"] for h, l in zip(runs[high], runs[low])]
        print(
            f"full build, {high} jitters / {low}: {fmt_ratio(median(paired))} the wall time "
            f"(per round {', '.join(fmt_ratio(p) for p in paired)}), {fmt_ratio(median(cpu_paired))} the workers' "
            "CPU time (includes each worker's model loading)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
