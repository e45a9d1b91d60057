"""Each photo of a photo folder analysed once: its SHA-256 looked up in the photo cache, the
new ones described by the face workers (``engine/face_workers.py``) in a local process pool
or on a Dask cluster (``dask_analysis``), every result written into the cache as it comes
back, so an interrupted build resumes from it."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lookalike import cluster
from lookalike.builder import BuildError
from lookalike.builder.photo_cache import FaceFacts, PhotoCache, PhotoResult
from lookalike.engine import face_model as model
from lookalike.engine import face_workers
from lookalike.engine.face_workers import choose_main_face, faces_in_photo
from lookalike.progress import progress as progress_bar

log = logging.getLogger("build_embeddings")


# ---------------------------------------------------------------- one photo


def analyse_image(face_model: model.FaceModel, data: bytes, jitters: int) -> PhotoResult:
    """Decode ``data`` and describe every face in it, marking the main one (``choose_main_face``):
    which face is the person's is decided later, against their other photos (``face_choice``).
    A rejection (never an exception) for bad bytes. The boxes are in the decoded image's pixels,
    where ``thumbnail_jpeg`` frames them."""
    photo = faces_in_photo(face_model, data, jitters=jitters, photo_pixels=False)
    if photo.error is not None:
        return PhotoResult(status="unreadable", detail=f"{photo.error.reason}: {photo.error}")
    if not photo.faces or photo.image is None:
        return PhotoResult(status="no_face")
    height, width = photo.image.shape[:2]
    main = choose_main_face(photo.faces, width, height)
    return PhotoResult(
        status="ok",
        faces=[
            FaceFacts(
                box=(int(face.box[0]), int(face.box[1]), int(face.box[2]), int(face.box[3])),
                eye_distance=float(face.eye_distance),
                roll=float(face.roll),
                score=float(face.score),
                embedding=np.asarray(face.embedding, dtype=np.float32),
                gender_score=float(face.gender_score),
            )
            for face in photo.faces
        ],
        main=next((i for i, face in enumerate(photo.faces) if face is main), None),
        second_look=photo.second_look,
    )


def analyse_photo(face_model: model.FaceModel, photo: str | bytes, jitters: int) -> tuple[str | None, PhotoResult]:
    """A photo, as its bytes or a path to read them from: its SHA-256 (None if it cannot be
    read) and its analysis. Never raises: what a pool process or a Dask worker does per photo."""
    if isinstance(photo, bytes):
        data = photo
    else:
        try:
            data = Path(photo).read_bytes()
        except OSError as exc:
            return None, PhotoResult(status="unreadable", detail=str(exc))
    digest = hashlib.sha256(data).hexdigest()
    try:
        return digest, analyse_image(face_model, data, jitters)
    except Exception as exc:  # dlib's RuntimeError and the like: reject the photo, not the build
        return None, PhotoResult(status="failed", detail=f"{type(exc).__name__}: {exc}")


def _analyse_file(path: str, jitters: int) -> tuple[str | None, PhotoResult]:
    """In a pool process: ``analyse_photo`` with its FaceModel."""
    return analyse_photo(face_workers.worker_model(), path, jitters)


# ---------------------------------------------------------------- many photos


@dataclass
class Analysed:
    """One photo file's analysis and where it came from."""

    sha256: str | None
    result: PhotoResult
    cached: bool


def analyse_photos(
    paths: list[Path],
    cache: PhotoCache,
    workers: int,
    jitters: int,
    progress: bool | None = None,
    scheduler: str | None = None,
    send_photos: bool = False,
) -> dict[Path, Analysed]:
    """Each photo's analysis: from the cache when its hash is there, else from the pool (or
    the Dask cluster at ``scheduler``), written into the cache as each one comes back.

    Files with the same content are analysed once. The pool is only started for new photos.
    """
    analysed: dict[Path, Analysed] = {}
    todo: dict[str, list[Path]] = {}  # sha256 -> files with that content
    for path in paths:
        try:
            digest = _file_sha256(path)
        except OSError as exc:
            analysed[path] = Analysed(None, PhotoResult(status="unreadable", detail=str(exc)), cached=False)
            continue
        if digest in todo:
            todo[digest].append(path)
            continue
        result = cache.get(digest)
        if result is None:
            todo[digest] = [path]
        else:
            analysed[path] = Analysed(digest, result, cached=True)
    log.info("%d photos: %d in the cache, %d to analyse", len(paths), len(analysed), sum(map(len, todo.values())))
    if todo:
        firsts = {files[0]: digest for digest, files in todo.items()}
        run = _run_analysis(list(firsts), workers, jitters, progress, scheduler, send_photos)
        with contextlib.closing(run) as results:
            for path, read_digest, result in results:
                if read_digest is not None and read_digest != firsts[path]:
                    log.warning("%s changed while the build read it; using the newer content", path)
                if read_digest is not None and result.status != "failed":
                    cache.put(read_digest, result)
                for same in todo[firsts[path]]:
                    analysed[same] = Analysed(read_digest, result, cached=False)
        cache.commit()
    return analysed


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _run_analysis(
    paths: list[Path], workers: int, jitters: int, progress: bool | None, scheduler: str | None, send_photos: bool
) -> Generator[tuple[Path, str | None, PhotoResult]]:
    """The local process pool, or the Dask cluster at ``scheduler`` ("local": a LocalCluster
    of ``workers`` processes): the same stream of results either way."""
    if scheduler is None:
        yield from _run_pool(paths, workers, jitters, progress)
        return
    from lookalike.builder import dask_analysis

    with cluster.connect(scheduler, workers) as client:
        yield from dask_analysis.run_on_dask(paths, client, jitters, progress, send_photos)


def _run_pool(
    paths: list[Path], workers: int, jitters: int, progress: bool | None
) -> Iterator[tuple[Path, str | None, PhotoResult]]:
    """Analyse ``paths`` in ``workers`` processes, yielding results as they finish."""
    workers = max(1, min(workers, len(paths)))
    pool = ProcessPoolExecutor(
        workers, mp_context=face_workers.forkserver_context(), initializer=face_workers.start_worker
    )
    bar = progress_bar(len(paths), "photo", "analysing", progress)
    queue = iter(paths)
    running: dict = {}
    try:
        _fill(pool, queue, running, 2 * workers, jitters)
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                path = running.pop(future)
                try:
                    digest, result = future.result()
                except BrokenProcessPool as exc:
                    suspects = sorted(str(p) for p in [path, *running.values()])
                    raise BuildError(f"a worker process died analysing one of: {', '.join(suspects)}") from exc
                bar.update()
                yield path, digest, result
            _fill(pool, queue, running, 2 * workers, jitters)
    finally:
        bar.close()
        pool.shutdown(wait=True, cancel_futures=True)


def _fill(pool: ProcessPoolExecutor, queue: Iterator[Path], running: dict, limit: int, jitters: int) -> None:
    while len(running) < limit:
        path = next(queue, None)
        if path is None:
            return
        running[pool.submit(_analyse_file, str(path), jitters)] = path
