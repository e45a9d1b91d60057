"""Build the assets directory the bot and model.py load from a photo folder::

    python build_embeddings.py PHOTOS_DIR --out assets [--workers N] [--jitters N]
        [--scheduler tcp://HOST:8786 | local] [--send-photos]

PHOTOS_DIR holds ``<Name>.jpg`` and/or ``<Name>/*.jpg``, with an optional catalog
(photos/README.md). The build itself is ``lookalike.builder.build.build``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Iterable
from pathlib import Path

from lookalike import cluster
from lookalike.builder import BuildError
from lookalike.builder.build import (
    DEFAULT_JITTERS,
    DEFAULT_MAX_ROLL,
    DEFAULT_MIN_EYE_DISTANCE,
    DEFAULT_THUMB_SIZE,
    build,
)

log = logging.getLogger("build_embeddings")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build the assets directory (the celebrity index, thumbnails, build report) from a photo folder."
    )
    parser.add_argument(
        "photos",
        type=Path,
        metavar="PHOTOS_DIR",
        help="the photo folder: <Name>.jpg and/or <Name>/*.jpg, optional catalog.json or catalog.csv",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("assets"), help="the assets directory to write (default: assets)"
    )
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    parser.add_argument(
        "--jitters",
        type=int,
        default=DEFAULT_JITTERS,
        help=f"re-samplings per face (default {DEFAULT_JITTERS}; 1 is ~4x faster)",
    )
    parser.add_argument("--min-eye-distance", type=float, default=DEFAULT_MIN_EYE_DISTANCE, metavar="PX")
    parser.add_argument("--max-roll", type=float, default=DEFAULT_MAX_ROLL, metavar="DEG")
    parser.add_argument("--cache", type=Path, default=None, help="SQLite cache (default: <out>.cache.sqlite)")
    parser.add_argument("--thumb-size", type=int, default=DEFAULT_THUMB_SIZE, metavar="PX")
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="analyse the photos on Dask: tcp://HOST:8786 (a running scheduler) or 'local' "
        "(a LocalCluster of --workers processes); default: a local process pool",
    )
    parser.add_argument(
        "--send-photos",
        action="store_true",
        help="send the workers the photos' bytes (when they do not see PHOTOS_DIR at the same path)",
    )
    args = parser.parse_args(None if argv is None else list(argv))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    problem = cluster.check_scheduler(args.scheduler) if args.scheduler else None
    if args.send_photos and not args.scheduler:
        problem = "--send-photos is for a build on Dask (--scheduler)"
    if problem:
        print(f"build_embeddings.py: {problem}", file=sys.stderr)
        return 2
    try:
        build(
            args.photos,
            args.out,
            workers=args.workers,
            jitters=args.jitters,
            min_eye_distance=args.min_eye_distance,
            max_roll=args.max_roll,
            cache=args.cache,
            thumb_size=args.thumb_size,
            scheduler=args.scheduler,
            send_photos=args.send_photos,
        )
    except BuildError as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    # A plain `kill` unwinds like Ctrl+C, so the staging directory is removed on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sys.exit(main())
