"""The worker processes that run the face pipeline, and how the bot survives losing one.

Each worker owns one FaceModel, created by the engine's ``face_workers.start_worker``. At most ``workers``
jobs are handed to the executor at a time (the rest wait here, counted against
``max_pending``), so when a worker dies (crash, OOM kill, SIGKILL) and
ProcessPoolExecutor fails every job it holds with BrokenProcessPool, only the jobs that
were actually running are affected. The pool is then replaced and each of those jobs
is retried once, one retry at a time, so that a photo that kills workers takes down no
one else's retry; a photo that breaks the pool twice raises PhotoFailed.

The photos in progress are a queue, not a reason to refuse: ``reserve`` says Busy only when
``max_pending`` photos, a ceiling on the memory they hold, are in progress already. How long a
new one would wait is ``admission``'s reckoning, from what the pool measures: the photos queued
for a worker (``queued``), a worker's recent time per photo, and the time between analyses while
photos queued (``drain_interval``), which counts what else slows them (the event loop, the
CPU taken by something else). A photo given a deadline that it can no longer be analysed by
while it waits for a worker is let go with ``TooLate`` instead of being answered late.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import multiprocessing.forkserver
import signal
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from multiprocessing.connection import Connection

from lookalike.answering.analysis import Analysis, analyse, analyse_video
from lookalike.answering.lifeline import Lifeline, exit_with_the_bot
from lookalike.engine import face_workers

log = logging.getLogger(__name__)


FIRST_SECONDS_PER_PHOTO = 0.1
"""A worker's time per photo assumed until one is measured: a selfie at Telegram's 800 px takes
~0.05 s of a core (bench/README.md, the pool's figures). It decides how many of the photos that
come at once after a restart are admitted before any is measured; those it admits wrongly are
let go by their deadline."""

RECENT_PHOTOS = 25
"""How many of the latest photos' times a median is taken over (a worker's here; the download and
the answer's in ``admission``): a median, so that a few huge files (a 27-MP scan takes seconds)
do not make the bot turn selfies away."""

DRAIN_SAMPLES = 20
"""Intervals between analyses while photos queued: their mean is the pool's pace (at least as
many as the workers' recent median lets through; fewer than this: not measured yet)."""


class Busy(Exception):
    """A photo accepted now would wait too long, or ``max_pending`` photos are in progress."""


class TooLate(Busy):
    """The photo waited for a worker until it could no longer be analysed by its deadline."""


class PhotoFailed(Exception):
    """The photo broke the pool twice, or took longer than the job timeout."""


def _prepare_worker(lifeline_end: Connection) -> None:
    """Before a worker loads its model: it exits with the bot, and leaves the SIGTERM that docker
    and systemd send to the whole group (like Ctrl+C) to the bot, which answers the photos in
    flight, then shuts the workers down itself."""
    exit_with_the_bot(lifeline_end)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _start_forkserver() -> None:
    """Start multiprocessing's fork server, if it is not running, immune to SIGTERM.

    The pool learns that a worker ended through the fork server, so when the SIGTERM sent
    to the whole group kills the server, the pool breaks although its workers live on. A
    disposition of SIG_IGN survives exec, so the server is started while the bot ignores
    SIGTERM; the signal is blocked meanwhile, so one arriving then waits for the bot's handler.
    """
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        multiprocessing.forkserver.ensure_running()
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _run_job(data: bytes) -> Analysis:
    return analyse(face_workers.worker_model(), data)


def _run_video_job(data: bytes) -> Analysis:
    return analyse_video(face_workers.worker_model(), data)


class FacePool:
    def __init__(self, workers: int, max_pending: int, job_timeout: float = 60.0):
        self.workers = workers
        self.max_pending = max_pending
        self.job_timeout = job_timeout
        self._recent_seconds: collections.deque[float] = collections.deque(maxlen=RECENT_PHOTOS)
        self._drain: collections.deque[float] = collections.deque(maxlen=DRAIN_SAMPLES)
        self._last_analysed: float | None = None
        self._queue_formed = 0.0  # when photos last began to wait for a worker
        self.pending = 0  # photos reserved: downloading, waiting for a worker or being processed
        self.queued = 0  # photos waiting for a worker or being analysed
        self.restarts = 0
        self._context = face_workers.forkserver_context()
        self._lifeline = Lifeline(self._context)
        self._executor: ProcessPoolExecutor | None = None
        self._slots = asyncio.Semaphore(self.workers)  # asyncio's primitives bind to a loop on first use
        self._retry_lock = asyncio.Lock()
        self._warming: asyncio.Task[BaseException | None] | None = None  # held so the task is not garbage-collected

    async def start(self) -> None:
        """Start every worker and wait until each has loaded its model."""
        self._slots = asyncio.Semaphore(self.workers)  # fresh for this start's event loop
        self._retry_lock = asyncio.Lock()
        self._executor = self._new_executor()
        failure = await self._warm_up(self._executor)
        if failure is not None:
            self.shutdown()
            raise RuntimeError(f"the face workers could not start: {failure!r}")

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def check_workers(self) -> int:
        """Worker processes alive now (readiness asks every few seconds). A pool broken while
        idle (a worker killed) is replaced here, not only when the next photo finds it broken:
        a bot reported not ready may be sent no photo at all."""
        executor = self._executor
        if executor is None:
            return 0
        if getattr(executor, "_broken", False):
            self._replace(executor)
            return 0
        return sum(process.is_alive() for process in list((executor._processes or {}).values()))

    @property
    def seconds_per_photo(self) -> float:
        """A worker's time per photo lately: the median of the latest photos' times."""
        return statistics.median(self._recent_seconds) if self._recent_seconds else FIRST_SECONDS_PER_PHOTO

    def interval(self) -> float:
        """Seconds between two analyses at the workers' recent pace: what the pool lets through."""
        return self.seconds_per_photo / self.workers

    def drain_interval(self) -> float | None:
        """The mean time between analyses while photos queued, since ``restart_drain``; None
        until DRAIN_SAMPLES were measured."""
        return statistics.fmean(self._drain) if len(self._drain) == DRAIN_SAMPLES else None

    def restart_drain(self) -> None:
        """Measure the pace afresh: what was measured before no longer holds (a reload began or ended)."""
        self._drain.clear()

    @contextlib.contextmanager
    def reserve(self) -> Iterator[None]:
        """Hold a place among the photos in progress, or raise Busy when ``max_pending`` are."""
        if self.pending >= self.max_pending:
            raise Busy()
        self.pending += 1
        try:
            yield
        finally:
            self.pending -= 1

    async def analyse(self, data: bytes, deadline: float | None = None, video: bool = False) -> Analysis:
        """Run the pipeline on ``data`` (a photo, or a video's frames) in a worker, surviving one
        broken pool. ``deadline`` (``time.monotonic()``): TooLate when no worker is free in time to
        analyse it by then."""
        job = _run_video_job if video else _run_job
        self.queued += 1
        if self.queued == self.workers + 1:
            self._queue_formed = time.monotonic()
        try:
            try:
                return await self._attempt(data, job, deadline)
            except BrokenProcessPool:
                log.warning("a worker died while this photo was in the pool; retrying it once")
            async with self._retry_lock:
                try:
                    return await self._attempt(data, job, deadline)
                except BrokenProcessPool as exc:
                    raise PhotoFailed("the photo broke the worker pool twice") from exc
        finally:
            self.queued -= 1

    async def _worker_slot(self, deadline: float | None) -> None:
        """A worker's slot, acquired in time to analyse the photo (at the recent pace) by ``deadline``."""
        if deadline is None:
            await self._slots.acquire()
            return
        latest = deadline - self.seconds_per_photo
        try:
            async with asyncio.timeout(max(0.0, latest - time.monotonic())):
                await self._slots.acquire()
        except TimeoutError:
            raise TooLate() from None

    async def _attempt(self, data: bytes, job: Callable[[bytes], Analysis], deadline: float | None) -> Analysis:
        await self._worker_slot(deadline)
        try:
            executor = self._started()
            try:
                future = executor.submit(job, data)
            except BrokenProcessPool:
                executor = self._replace(executor)
                future = executor.submit(job, data)
            started = time.monotonic()
            try:
                analysis = await asyncio.wait_for(asyncio.wrap_future(future), self.job_timeout)
            except BrokenProcessPool:
                self._replace(executor)
                raise
            except TimeoutError as exc:
                log.error("a photo took longer than %.0f s; restarting the workers", self.job_timeout)
                self._kill(executor)
                self._replace(executor)
                raise PhotoFailed("the photo took too long") from exc
            finished = time.monotonic()
            self._recent_seconds.append(finished - started)
            if self._last_analysed is not None and self.queued > self.workers:  # others were waiting
                self._drain.append(finished - max(self._last_analysed, self._queue_formed))
            self._last_analysed = finished
            return analysis
        finally:
            self._slots.release()

    def _new_executor(self) -> ProcessPoolExecutor:
        _start_forkserver()
        return ProcessPoolExecutor(
            self.workers,
            mp_context=self._context,
            initializer=face_workers.start_worker,
            initargs=(partial(_prepare_worker, self._lifeline.end),),
        )

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        """Swap in a new executor, once per broken one, and start its workers in the background."""
        if self._executor is broken:
            self.restarts += 1
            log.warning("worker pool broken; starting a new one (restart %d)", self.restarts)
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            self._warming = asyncio.get_running_loop().create_task(self._warm_up(self._executor))
        return self._started()

    def _started(self) -> ProcessPoolExecutor:
        if self._executor is None:
            raise RuntimeError("the face pool is not started (or was shut down)")
        return self._executor

    async def _warm_up(self, executor: ProcessPoolExecutor) -> BaseException | None:
        """One call per worker: each spawns a process, which loads its model before answering."""
        try:
            futures: list[Future[bool]] = [executor.submit(face_workers.worker_ready) for _ in range(self.workers)]
        except (BrokenProcessPool, RuntimeError) as exc:
            return exc
        results = await asyncio.gather(*map(asyncio.wrap_future, futures), return_exceptions=True)
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is None:
            log.info("%d face workers ready", self.workers)
        elif executor is self._executor:
            log.warning("face workers failed to start: %r", failure)
        return failure

    @staticmethod
    def _kill(executor: ProcessPoolExecutor) -> None:
        # ProcessPoolExecutor cannot cancel a running job; killing its processes breaks the pool.
        for process in list((executor._processes or {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
