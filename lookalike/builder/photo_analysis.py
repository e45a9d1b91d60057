"""Each photo of a photo folder analysed once: its SHA-256 looked up in the photo cache, the
new ones described (``photo_faces.analyse_photo``) in a local process pool of face workers
(``engine/face_workers.py``) or on a Dask cluster (``dask_analysis``), every result written
into the cache as it comes back, so an interrupted build resumes from it."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from lookalike import cluster
from lookalike.builder import BuildError
from lookalike.builder.photo_cache import PhotoCache, PhotoResult
from lookalike.builder.photo_faces import analyse_photo
from lookalike.engine import face_workers
from lookalike.progress import progress as progress_bar

log = logging.getLogger("build_embeddings")


def _analyse_file(path: str, jitters: int) -> tuple[str | None, PhotoResult]:
    """In a pool process: ``analyse_photo`` with its FaceModel."""
    return analyse_photo(face_workers.worker_model(), path, jitters)


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
    running: dict[Future[tuple[str | None, PhotoResult]], Path] = {}
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


def _fill(
    pool: ProcessPoolExecutor,
    queue: Iterator[Path],
    running: dict[Future[tuple[str | None, PhotoResult]], Path],
    limit: int,
    jitters: int,
) -> None:
    while len(running) < limit:
        path = next(queue, None)
        if path is None:
            return
        running[pool.submit(_analyse_file, str(path), jitters)] = path
