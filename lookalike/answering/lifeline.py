"""A lifeline from the bot to its face workers, so that they exit when the bot is gone.

The workers are children of multiprocessing's forkserver, not of the bot, and each one
holds the pool's pipes open for the others, so after a ``kill -9`` or an OOM kill of the
bot nothing tells them: they live on with their dlib models, and so does the forkserver,
which waits for its last child. A supervisor restarting the bot would pile them up.

The bot keeps the only write end of a pipe and never writes to it; each worker watches
the read end in a thread and exits when it reads end-of-file, which the kernel gives it
whenever the bot's process ends, however it ends. With the workers gone, the forkserver
and multiprocessing's resource tracker see their own pipes close and exit too. Signals
sent to the whole process group (the SIGTERM of docker or systemd) leave the pipe open,
so they leave the shutdown to the bot. A worker busy in dlib, which holds the GIL, exits
once that photo is done.
"""

from __future__ import annotations

import contextlib
import os
import threading
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext


class Lifeline:
    """Created in the bot; ``end`` is handed to every worker (picklable as a process argument)."""

    def __init__(self, context: BaseContext) -> None:
        self.end, self._held = context.Pipe(duplex=False)


def exit_with_the_bot(end: Connection) -> None:
    """In a worker: exit as soon as the bot's end of the lifeline is closed."""
    threading.Thread(target=_wait_and_exit, args=(end,), name="lifeline", daemon=True).start()


def _wait_and_exit(end: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):  # closed or broken: the bot is gone either way
        end.recv_bytes()
    os._exit(1)  # no clean-up: nobody is left to answer, and the pool's queues may never drain
