"""The face workers' set-up: the fork server preloads modules that exist."""

from __future__ import annotations


def test_the_fork_server_preloads_modules_that_exist():
    """multiprocessing skips a preload name that does not import, silently: each worker
    would then load dlib itself (as happened when the modules moved into the package).
    The bot's pool and the builder's share this one list."""
    import importlib.util

    from lookalike.engine.face_workers import FORKSERVER_PRELOAD

    for name in FORKSERVER_PRELOAD:
        assert importlib.util.find_spec(name) is not None, name
