"""The build reload: a new build swapped in, a broken one not, the replaced one released in a worker
thread once no request holds it, and a build swapped in under the start-up load loaded again."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref

import pytest

from lookalike.answering import build_reload
from tests.support.assets import save_index


def test_a_new_index_is_swapped_in_a_broken_one_is_not_and_old_thumbnails_never_come_from_the_new(tmp_path):
    from lookalike.answering.build_reload import BuildReloader, load_build
    from lookalike.builder.directory_swap import replace_directory

    assets = tmp_path / "assets"
    old_thumb = save_index(assets, ["Ann", "Bob", "Cid"], "Adam_Sandler")
    watcher = BuildReloader(load_build(assets), poll_seconds=0.1)
    old = watcher.current
    old.file_ids[0] = "cached-file-id"
    assert old.thumbnail(0) == old_thumb
    assert asyncio.run(watcher.check()) is False  # nothing changed

    broken = tmp_path / "broken"
    save_index(broken, ["Dan", "Eve"], "Angela_Merkel")
    (broken / "index.json").write_text("{not json")
    replace_directory(broken, assets)
    assert asyncio.run(watcher.check()) is False
    assert watcher.current is old and old.index.celebrity(0)["name"] == "Ann"
    assert old.thumbnail(0) is None  # its directory is gone; the new one's 0.jpg is someone else

    fixed = tmp_path / "fixed"
    new_thumb = save_index(fixed, ["Dan", "Eve"], "Angela_Merkel")
    replace_directory(fixed, assets)
    assert asyncio.run(watcher.check()) is True
    new = watcher.current
    assert new.version != old.version and new.index.celebrity(1)["name"] == "Eve" and len(new) == 2
    assert new.file_ids == {} and new.thumbnail(1) == new_thumb


def test_a_new_index_loads_with_the_gil_handed_over_often(tmp_path, monkeypatch):
    """The event loop waits for the loading thread each time it takes the GIL back: at
    Python's 5 ms a million records' parse made answers ~1 s slow while it ran (format 3)."""
    import sys

    from lookalike.builder.directory_swap import replace_directory

    assets = tmp_path / "assets"
    save_index(assets, ["Ann", "Bob", "Cid"], "Adam_Sandler")
    watcher = build_reload.BuildReloader(build_reload.load_build(assets), poll_seconds=0.1)
    intervals = []
    load = build_reload.load_build
    monkeypatch.setattr(
        build_reload, "load_build", lambda *args: intervals.append(sys.getswitchinterval()) or load(*args)
    )
    new = tmp_path / "new"
    save_index(new, ["Dan", "Eve"], "Angela_Merkel")
    replace_directory(new, assets)
    before = sys.getswitchinterval()
    assert asyncio.run(watcher.check()) is True
    assert intervals == [build_reload.LOADING_SWITCH_INTERVAL] and sys.getswitchinterval() == before


def test_a_replaced_index_is_released_once_its_last_request_is_done(tmp_path, monkeypatch):
    from lookalike.builder.directory_swap import replace_directory

    released = []
    monkeypatch.setattr(build_reload, "release_free_memory", lambda: released.append(True))
    assets = tmp_path / "assets"
    save_index(assets, ["Ann", "Bob", "Cid"], "Adam_Sandler")
    watcher = build_reload.BuildReloader(build_reload.load_build(assets), poll_seconds=0.1)
    old_index = weakref.ref(watcher.current.index)
    finalized = []  # the thread the replaced index was freed in: its graphs, arrays and records
    weakref.finalize(watcher.current.index, lambda: finalized.append(threading.current_thread()))
    assert asyncio.run(watcher.release_replaced()) is False  # nothing replaced yet
    in_flight = watcher.current  # a request still answering from the old build
    new = tmp_path / "new"
    save_index(new, ["Dan", "Eve"], "Angela_Merkel")
    replace_directory(new, assets)
    assert asyncio.run(watcher.check()) is True
    assert asyncio.run(watcher.release_replaced()) is False and released == [] and old_index() is not None
    del in_flight
    gc.collect()
    assert asyncio.run(watcher.release_replaced()) is True and released == [True]
    assert old_index() is None  # freed, and not in the event loop's thread (it would stop answering)
    assert len(finalized) == 1 and finalized[0] is not threading.main_thread()  # the worker held the last reference
    assert asyncio.run(watcher.release_replaced()) is False and released == [True]  # once per reload


def test_a_missing_index_is_a_clear_error(tmp_path):
    from lookalike.answering.build_reload import load_build
    from lookalike.engine.index_files import IndexFormatError

    with pytest.raises(IndexFormatError, match="no assets directory"):
        load_build(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexFormatError, match="index.json"):
        load_build(tmp_path / "empty")


def _swap_during_the_first_load(monkeypatch, assets, newer):
    """CelebrityIndex.load that lets the builder swap ``newer`` in under the first load."""
    from lookalike.builder.directory_swap import replace_directory

    real_load = build_reload.CelebrityIndex.load
    loads = []

    def load(directory, **options):
        loads.append(directory)
        if len(loads) == 1:
            replace_directory(newer, assets)  # lands between the stamp and the check
        return real_load(directory, **options)

    monkeypatch.setattr(build_reload.CelebrityIndex, "load", staticmethod(load))
    return loads


def test_an_index_swapped_in_during_start_up_is_loaded_again_not_a_crash(tmp_path, monkeypatch):
    from lookalike.answering.build_reload import BuildChanged, load_build, load_build_at_start

    assets = tmp_path / "assets"
    save_index(assets, ["Ann", "Bob", "Cid"], "Adam_Sandler")
    save_index(tmp_path / "newer", ["Dan", "Eve"], "Angela_Merkel")
    _swap_during_the_first_load(monkeypatch, assets, tmp_path / "newer")
    with pytest.raises(BuildChanged):
        load_build(assets)  # what the reload watcher sees: it keeps the old build and polls again

    save_index(tmp_path / "newest", ["Fay", "Gus"], "Angela_Merkel")
    loads = _swap_during_the_first_load(monkeypatch, assets, tmp_path / "newest")
    loaded = load_build_at_start(assets, pause=0.01)
    assert len(loads) == 2
    assert [loaded.index.celebrity(i)["name"] for i in (0, 1)] == ["Fay", "Gus"] and len(loaded) == 2
