"""A Dask cluster to spread work over, for the tools that can (the build's photo analysis,
the dump scan): ``--scheduler tcp://HOST:8786`` connects to a running scheduler (started on
one machine with ``dask scheduler``, workers on every machine with ``dask worker
tcp://HOST:8786``), ``--scheduler local`` starts a LocalCluster of worker processes here.

``dask`` and ``distributed`` are imported only when a scheduler is asked for: the default
paths (the local process pool, the one-core dump scan) never load them.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

LOCAL = "local"


def check_scheduler(address: str) -> str | None:
    """What is wrong with a ``--scheduler`` value, or None."""
    if address == LOCAL or address.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        return None
    return f"--scheduler {address!r}: give tcp://HOST:8786 (a running dask scheduler) or 'local'"


@contextlib.contextmanager
def connect(address: str, workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` to the scheduler at ``address``, or to a LocalCluster of
    ``workers`` single-threaded processes (default: one per core) for ``local``; closed after."""
    from distributed import Client, LocalCluster

    if address != LOCAL:
        with Client(address) as client:
            log.info("connected to the Dask scheduler at %s (%d workers)", address, len(client.nthreads()))
            yield client
        return
    count = workers or os.cpu_count() or 1
    with (
        LocalCluster(n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        log.info("started a local Dask cluster of %d workers", count)
        yield client
