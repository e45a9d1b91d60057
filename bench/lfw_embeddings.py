"""Embed every LFW photo once with the project's pipeline and cache the vectors for the benchmarks.

    python bench/lfw_embeddings.py [--lfw ../shared/data/lfw] [--out bench/.cache/lfw_embeddings.npz]

The cache holds, per photo that has a face: the vector of the face nearest the
centre (LFW centres its subject), that face's gender classifier score
(lookalike.engine.gender_classifier: log-odds of male), the person's name and the photo's path,
and the photo cache's PIPELINE_VERSION: a cache made by another pipeline is refused.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import common
import numpy as np
from tqdm import tqdm

from lookalike.builder.photo_cache import PIPELINE_VERSION
from lookalike.engine import face_workers

DEFAULT_LFW = common.LFW
DEFAULT_OUT = common.CACHE / "lfw_embeddings.npz"


def _embed(path: str) -> tuple[np.ndarray, float] | None:
    faces = face_workers.faces_in_photo(face_workers.worker_model(), Path(path).read_bytes()).faces
    if not faces:
        return None
    face = faces[common.central([face.box for face in faces], 250, 250)]
    return face.embedding, face.gender_score


def load(path: Path = DEFAULT_OUT) -> dict[str, np.ndarray]:
    """The cached arrays: ``vectors`` (n, 128) float32, ``gender_scores`` (n,), ``names`` and ``paths``."""
    if not path.exists():
        sys.exit(f"no LFW embeddings at {path}: run python bench/lfw_embeddings.py first")
    with np.load(path) as cached:
        made_by = int(cached["pipeline"]) if "pipeline" in cached.files else None
        if made_by != PIPELINE_VERSION:
            sys.exit(
                f"{path} was made by pipeline {made_by}, not {PIPELINE_VERSION} "
                "(lookalike/builder/photo_cache.py): run python bench/lfw_embeddings.py again"
            )
        return {key: cached[key] for key in cached.files if key != "pipeline"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=Path, default=DEFAULT_LFW)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    paths = sorted(str(p) for p in args.lfw.glob("*/*.jpg"))
    if not paths:
        sys.exit(f"no LFW photos under {args.lfw}")
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers, initializer=face_workers.start_worker) as pool:
        vectors = list(tqdm(pool.map(_embed, paths, chunksize=16), total=len(paths), desc="embedding LFW"))
    kept = [i for i, vector in enumerate(vectors) if vector is not None]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.out,
        vectors=np.stack([vectors[i][0] for i in kept]).astype(np.float32),
        gender_scores=np.array([vectors[i][1] for i in kept], dtype=np.float32),
        names=np.array([Path(paths[i]).parent.name for i in kept]),
        paths=np.array([paths[i] for i in kept]),
        pipeline=PIPELINE_VERSION,
    )
    print(f"{len(kept)} of {len(paths)} photos have a face; {time.perf_counter() - started:.0f} s; saved to {args.out}")


if __name__ == "__main__":
    main()
