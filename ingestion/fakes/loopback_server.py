"""The threaded HTTP server both fakes run on."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LoopbackServer(ThreadingHTTPServer):
    """A daemon-threaded server that stays quiet when a client (or an injected fault) drops a
    connection, and never prints request lines (they may hold a webhook secret)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        super().handle_error(request, client_address)


class ServedOnLoopback:
    """The lifecycle both fakes share: serve a handler class on a background thread, stop, use
    as a context manager, tell the port. A subclass sets `host`, `_port` and `_server = None`
    in `__init__` and calls `_serve(handler)` from its `start()`."""

    host: str
    _port: int
    _server: LoopbackServer | None
    _thread_name = "fake-server"

    def start(self) -> None:
        raise NotImplementedError

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = LoopbackServer((self.host, self._port), handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name=self._thread_name, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])
