"""Which celebrities do the faces in these photos look like? One JSON line per face::

    python model.py PHOTO [PHOTO ...] --assets DIR --top K

Exit status: 0 when every photo was read (with or without faces), 1 when one could not be
(missing, not an image: its line has the error), 2 for bad arguments or no usable index.

The face pipeline itself is ``lookalike.engine.face_model``; the look-up is
``lookalike.engine.lookup``, the same one the bot answers with.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import ujson

from lookalike.engine.face_model import FaceModel
from lookalike.engine.index import CelebrityIndex
from lookalike.engine.index_files import IndexFormatError
from lookalike.engine.lookup import NO_FACE, photo_lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Which celebrities do the faces in these photos look like?")
    parser.add_argument("photos", nargs="+", metavar="PHOTO")
    parser.add_argument(
        "--assets",
        type=Path,
        default=Path(os.environ.get("ASSETS_DIR", "assets")),
        help="the assets directory build_embeddings.py wrote (default: $ASSETS_DIR, else assets)",
    )
    parser.add_argument("--top", type=int, default=3, help="celebrities per face (default 3)")
    args = parser.parse_args(argv)
    if args.top < 1:
        parser.error("--top must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not (args.assets / "index.json").exists():
        parser.exit(
            2,
            f"{parser.prog}: error: no index in {args.assets}: build one first with "
            f"`build_embeddings.py PHOTOS_DIR --out {args.assets}` (or give --assets DIR)\n",
        )
    try:
        index = CelebrityIndex.load(args.assets)
    except IndexFormatError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    face_model = FaceModel()
    unreadable = 0
    for path in args.photos:
        for line in photo_lines(path, face_model, index, args.top):
            print(ujson.dumps(line, ensure_ascii=False, escape_forward_slashes=False), flush=True)
            unreadable += line.get("error", NO_FACE) != NO_FACE
    # A photo without a face is an answer; one that could not be read (missing, not an image)
    # is a failure that a script calling model.py must see in the status, not only in a line.
    return 1 if unreadable else 0


if __name__ == "__main__":
    sys.exit(main())
