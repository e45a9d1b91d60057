"""The bot's listeners seen from outside its process: the addresses a
port listens on (/proc/net/tcp), the process's threads, and a slow-loris attack (many
connections, each trickling its request's headers a byte at a time)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from pathlib import Path

LISTEN_STATE = "0A"


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on TCP ``port``, e.g. {"127.0.0.1"}."""
    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) != port or fields[3] != LISTEN_STATE:
                continue
            raw = bytes.fromhex(address)
            # the kernel prints each 32-bit word in host (little-endian) order
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, size, 4))
            found.add(str(ipaddress.ip_address(words)))
    return found


def threads(pid: int) -> int:
    return sum(1 for _ in Path(f"/proc/{pid}/task").iterdir())


class SlowLoris:
    """``count`` connections to ``port``, each sending ``request_line`` and then one byte of a
    header every ``every`` seconds, never finishing; ``cut_off`` tells how many the server
    let go (closed, reset or answered with an error)."""

    def __init__(self, port: int, request_line: bytes, count: int = 40, every: float = 0.5):
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
            client.sendall(request_line)
            self.sockets.append(client)
        self.started = time.monotonic()
        self.closed_at: dict[int, float] = {}
        self._stop = threading.Event()
        self._every = every
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        while not self._stop.wait(self._every):
            for number, client in enumerate(self.sockets):
                if number in self.closed_at:
                    continue
                try:
                    client.sendall(b"X")
                    client.setblocking(False)
                    try:
                        client.recv(1024)  # an answer (an error) or the end: either way, let go
                        closed = True
                    except BlockingIOError:
                        closed = False
                    finally:
                        client.setblocking(True)
                except OSError:
                    closed = True
                if closed:
                    self.closed_at[number] = time.monotonic() - self.started

    @property
    def cut_off(self) -> int:
        return len(self.closed_at)

    def wait_cut_off(self, timeout: float) -> float:
        """Seconds from the start until every connection was closed by the server; AssertionError
        if some are still open after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.cut_off < len(self.sockets):
            assert time.monotonic() < deadline, f"{len(self.sockets) - self.cut_off} slow clients still connected"
            time.sleep(0.1)
        return max(self.closed_at.values())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for client in self.sockets:
            client.close()

    def __enter__(self) -> SlowLoris:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
