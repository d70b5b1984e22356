"""The threaded HTTP server both fakes run on."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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


def serve_until_interrupted(fake: ServedOnLoopback, url_file: Path | None, url_text: Callable[[], str]) -> int:
    """The command-line run of a fake: start it, write `url_text()` (its URL and credentials,
    secrets; called after the start, as it holds the port) to `url_file` readable by the owner
    only, print "port N" and "ready" for the parent process, serve until interrupted, stop."""
    fake.start()
    if url_file:
        fd = os.open(url_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(url_text())
        os.chmod(url_file, 0o600)
    print(f"port {fake.port}", flush=True)
    print("ready", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0
