"""The build's photo analysis on a Dask cluster: the same (path, sha256, result) stream as
the local process pool (``photo_analysis._run_pool``), so the builder treats both alike,
and the same progress (``lookalike.progress``: a bar on a terminal, log lines elsewhere).

- Each worker loads the face models once (``FaceModels``, a worker plugin) and keeps them
  for every photo it is given, and undoes a memory setting of Dask's that slows dlib
  (``restore_malloc_thresholds``). The workers need the project installed (install.sh), as
  the machine that runs build_embeddings.py does.
- A photo goes to the workers as its path when they share the photos folder at the same
  path (a LocalCluster, NFS...), else as its bytes (``send_photos``), read here.
- Results come back as they finish, so the builder writes each one into its photo cache at
  once: a build interrupted midway resumes from what it had analysed.
- Photos go in tasks of ``PHOTOS_PER_TASK``: a task costs the scheduler and this process
  a few milliseconds whatever it holds, as much as a tenth of a photo's analysis, and on a
  machine that also runs the workers that time is taken from them.
- At most a few tasks per worker thread are in flight: the rest wait here, not in the
  scheduler's memory. A worker that dies mid-task loses only its in-flight tasks, which
  the scheduler runs again on another worker; each photo's result is yielded once.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distributed import Client, WorkerPlugin, as_completed, get_worker
from distributed.scheduler import KilledWorker

from lookalike import libc
from lookalike.builder import BuildError
from lookalike.builder.photo_cache import PhotoResult
from lookalike.builder.photo_faces import analyse_photo
from lookalike.progress import progress as progress_bar

log = logging.getLogger("build_embeddings")

IN_FLIGHT_PER_THREAD = 2
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
PHOTOS_PER_TASK = 8
PLUGIN_NAME = "lookalike-face-models"


class FaceModels(WorkerPlugin):
    """The face models, loaded once per worker process when it starts or joins the cluster,
    for all the photos it analyses."""

    name = PLUGIN_NAME

    def __init__(self, jitters: int):
        self.jitters = jitters
        self.model: Any = None

    def setup(self, worker: Any) -> None:
        from lookalike.engine.face_model import FaceModel

        restore_malloc_thresholds()
        self.model = FaceModel()
        log.info("worker %s: face models loaded", worker.address)

    def teardown(self, worker: Any) -> None:
        self.model = None


def restore_malloc_thresholds() -> None:
    """Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (against
    fragmentation in dataframe work), which also stops glibc from raising its mmap
    threshold as large blocks are freed: every image buffer of every photo is then mapped
    and unmapped anew, and a photo's analysis costs ~25% more CPU (bench/README.md, "Build
    on Dask"). This sets the limits glibc's own growth ends at (32 MB mmap, twice that
    trim). Nothing without glibc."""
    mallopt = libc.function("mallopt")
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, 32 << 20)
        mallopt(M_TRIM_THRESHOLD, 64 << 20)


def analyse_on_worker(photos: list[str | bytes]) -> list[tuple[str | None, PhotoResult]]:
    """On a worker: each photo's SHA-256 (None if it cannot be read) and its analysis."""
    plugin = get_worker().plugins[PLUGIN_NAME]
    assert isinstance(plugin, FaceModels)
    return [analyse_photo(plugin.model, photo, plugin.jitters) for photo in photos]


def run_on_dask(
    paths: list[Path],
    client: Client,
    jitters: int,
    progress: bool | None,
    send_photos: bool = False,
) -> Iterator[tuple[Path, str | None, PhotoResult]]:
    """Analyse ``paths`` on the cluster of ``client``, yielding results as they finish."""
    client.register_plugin(FaceModels(jitters), name=PLUGIN_NAME)
    threads = max(1, sum(client.nthreads().values()))
    bar = progress_bar(len(paths), "photo", "analysing", progress)
    queue = iter(paths)
    running: dict[Any, list[Path]] = {}
    done = as_completed()
    try:
        _fill(client, queue, running, done, IN_FLIGHT_PER_THREAD * threads, send_photos)
        for future in done:
            batch = running.pop(future)
            try:
                results = future.result()
            except KilledWorker as exc:
                raise BuildError(f"{batch[0]}...: the workers analysing it died again and again ({exc})") from exc
            for path, (digest, result) in zip(batch, results):
                bar.update()
                yield path, digest, result
            _fill(client, queue, running, done, IN_FLIGHT_PER_THREAD * threads, send_photos)
    finally:
        bar.close()
        client.cancel(list(running))


def _fill(
    client: Client, queue: Iterator[Path], running: dict[Any, list[Path]], done: Any, limit: int, send_photos: bool
) -> None:
    while len(running) < limit:
        batch = list(itertools.islice(queue, PHOTOS_PER_TASK))
        if not batch:
            return
        photos = [_photo(path, send_photos) for path in batch]
        future = client.submit(analyse_on_worker, photos, pure=False)
        running[future] = batch
        done.add(future)


def _photo(path: Path, send_photos: bool) -> str | bytes:
    """What a worker is given: the photo's bytes (``send_photos``) or its path."""
    if send_photos:
        try:
            return path.read_bytes()
        except OSError as exc:
            log.warning("%s: cannot read it to send: %s", path, exc)
    return str(path)  # unreadable here: the worker reports it unreadable in the same words
