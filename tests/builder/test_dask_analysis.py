"""The build's photo analysis on a real ``distributed`` cluster (``--scheduler``): the same
index as the local process pool's, a resumed interrupted build, and a worker killed mid-build."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.assets import records
from tests.support.data import LFW, require

PEOPLE = [
    "Abdullah", "Abel_Pacheco", "Adam_Sandler", "Ahmed_Chalabi", "Alastair_Campbell", "Albert_Costa",
    "Allyson_Felix", "Amanda_Bynes", "Amelia_Vega", "Ana_Guevara", "Andre_Agassi", "Angela_Merkel",
]  # fmt: skip
GROUP = "George_W_Bush/George_W_Bush_0276.jpg"  # Bush centred and largest, Koizumi at the edge
PHOTOS = len(PEOPLE) * 2 + 5


def make_photos(root: Path) -> Path:
    """Two LFW photos each of twelve people, one of Bill Gates, a text file posing as a JPEG,
    and Koizumi's two with a photo of Bush and him (his face chosen, not the main one)."""
    photos = root / "photos"
    photos.mkdir()
    for person in PEOPLE:
        (photos / person).mkdir()
        for number in (1, 2):
            (photos / person / f"{person}_{number:04d}.jpg").symlink_to(
                require(LFW / person / f"{person}_{number:04d}.jpg")
            )
    (photos / "Bill_Gates.jpg").symlink_to(require(LFW / "Bill_Gates" / "Bill_Gates_0001.jpg"))
    (photos / "Abel_Pacheco" / "notes.jpg").write_text("not a photo at all\n")
    (photos / "Junichiro_Koizumi").mkdir()
    for number in (1, 2):
        name = f"Junichiro_Koizumi_{number:04d}.jpg"
        (photos / "Junichiro_Koizumi" / name).symlink_to(require(LFW / "Junichiro_Koizumi" / name))
    (photos / "Junichiro_Koizumi" / "with_bush.jpg").symlink_to(require(LFW / GROUP))
    return photos


def build(photos: Path, out: Path, **options):
    from lookalike.builder import build as builder

    return builder.build(photos, out, workers=2, jitters=1, thumb_size=32, **{"progress": False, **options})


def index_files(out: Path) -> dict:
    return {
        "embeddings": np.load(out / "embeddings.npy"),
        "celebrities": records(out),
        "rejected": json.loads((out / "build.json").read_text())["rejected_photos"],
    }


def same_index(a: Path, b: Path) -> None:
    first, second = index_files(a), index_files(b)
    np.testing.assert_array_equal(first["embeddings"], second["embeddings"])
    assert first["celebrities"] == second["celebrities"] and first["rejected"] == second["rejected"]


@pytest.fixture(scope="module")
def pool_build(tmp_path_factory):
    """The local process pool's build of the photos: what every Dask build must equal."""
    root = tmp_path_factory.mktemp("dask")
    photos = make_photos(root)
    report = build(photos, root / "pool")
    assert report.computed == PHOTOS and report.celebrities >= 10 and report.rejected["unreadable"] == 1
    assert report.group_photos_kept == 1 and "Junichiro_Koizumi/with_bush.jpg" not in report.rejected_photos
    return photos, root / "pool"


@pytest.mark.parametrize("send_photos", [False, True])
def test_a_local_cluster_build_equals_the_local_pool_build(pool_build, tmp_path, send_photos, caplog):
    """Its progress too: without a terminal (Docker, systemd), log lines as the pool's."""
    photos, pool_out = pool_build
    with caplog.at_level(logging.INFO, logger="progress"):
        report = build(photos, tmp_path / "assets", scheduler="local", send_photos=send_photos, progress=None)
    assert (report.computed, report.cached) == (PHOTOS, 0)
    same_index(tmp_path / "assets", pool_out)
    assert f"analysing: {PHOTOS}/{PHOTOS} photos in" in caplog.text


def test_an_interrupted_cluster_build_resumes_from_the_photo_cache(pool_build, tmp_path, monkeypatch):
    from lookalike.builder.photo_cache import PhotoCache

    photos, pool_out = pool_build
    put = PhotoCache.put
    stored = []

    def put_then_stop(self, sha256, result):
        put(self, sha256, result)
        stored.append(sha256)
        if len(stored) == 5:
            raise KeyboardInterrupt  # Ctrl+C while results stream in

    monkeypatch.setattr(PhotoCache, "put", put_then_stop)
    with pytest.raises(KeyboardInterrupt):
        build(photos, tmp_path / "assets", scheduler="local")
    assert not (tmp_path / "assets").exists()
    monkeypatch.setattr(PhotoCache, "put", put)
    report = build(photos, tmp_path / "assets", scheduler="local")
    assert (report.cached, report.computed) == (5, PHOTOS - 5)  # the five stored before the stop
    same_index(tmp_path / "assets", pool_out)


def test_a_worker_killed_mid_build_costs_only_a_retry(pool_build, tmp_path):
    from distributed import Client, LocalCluster

    photos, pool_out = pool_build
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        outcome: dict = {}
        builder = threading.Thread(
            target=lambda: outcome.update(
                report=build(photos, tmp_path / "assets", scheduler=cluster.scheduler_address)
            )
        )
        builder.start()
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            # The first worker seen holding a photo: on a quiet machine the 26 photos take well under
            # a second once the models are loaded, so waiting for some to finish first raced the end.
            busy = [address for address, tasks in client.processing().items() if tasks]
            if busy:
                victim = next(n for n in cluster.workers.values() if n.worker_address == busy[0])
            time.sleep(0.01)
        assert victim is not None, "no worker ever had a photo in hand"
        os.kill(victim.process.process.pid, signal.SIGKILL)
        builder.join(timeout=300)
        report = outcome["report"]
    assert (report.computed, report.cached) == (PHOTOS, 0)  # every photo once, none lost
    same_index(tmp_path / "assets", pool_out)
