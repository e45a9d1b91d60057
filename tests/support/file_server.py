"""A local HTTP server of a few files, as a publisher serves them: whole (200) or from a byte on
(206, an HTTP Range request), and able to stop a response midway, for the data command's tests."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class FileServer:
    """``files``: URL path -> bytes. ``cut``: URL path -> bytes after which the first response to it
    stops (the connection closed). ``requests``: (path, Range header or None) of each request."""

    def __init__(self, files: dict[str, bytes], cut: dict[str, int] | None = None, ranges: bool = True):
        self.files = files
        self.cut = dict(cut or {})
        self.ranges = ranges
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = _range_start(self.headers.get("Range")) if server.ranges else None
                if start is not None and start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.end_headers()
                    return
                self.send_response(200 if start is None else 206)
                if start is not None:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                part = body[start or 0 :]
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                cut = server.cut.pop(self.path, None)
                self.wfile.write(part if cut is None else part[:cut])
                if cut is not None:
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType] | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _range_start(header: str | None) -> int | None:
    found = re.fullmatch(r"bytes=(\d+)-", header or "")
    return int(found[1]) if found else None
