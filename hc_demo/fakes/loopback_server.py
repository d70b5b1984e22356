"""The threaded HTTP server both fakes run on."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Self

from hc_demo.fakes.faults import Fault


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


class FakeRequestHandler(BaseHTTPRequestHandler):
    """What both fakes' request handlers share: no request lines printed (a Bitrix24 webhook
    URL holds its secret), GET answered by `_handle()`, bytes sent with their length, and the
    transport side of an injected fault. `owner` is the fake being served (set by `start()`)."""

    owner: Any
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle()

    def _handle(self) -> None:
        raise NotImplementedError

    _recorded = True  # until a request starts (start_request): nothing to record

    def start_request(self) -> None:
        """Called as `_handle()` starts: the request will be recorded once, by `record_once`."""
        self._recorded = False

    def record_once(self, status: int) -> None:
        """Record the request in the fake's log (`log_request_entry`) the first time it is called for
        it: before its answer's first byte leaves (`before_answer`), or when it ends without an
        answer (a dropped connection: the fake passes status -1), so a client that has its answer
        always finds its request in the log."""
        if self._recorded:
            return
        self._recorded = True
        with self.owner.lock:
            self.owner.requests_log.append(self.log_request_entry(status))

    def log_request_entry(self, status: int) -> Any:
        raise NotImplementedError

    def before_answer(self, status: int) -> None:
        self.record_once(status)

    def _send_bytes(self, status: int, data: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.before_answer(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _fault_transport(self, fault: Fault) -> bool | None:
        """The part of a fault that is not an answer: "slow" waits then answers normally
        (False), "timeout" waits then drops the connection and "drop" drops it (True: the
        request is over); any other kind returns None and the caller sends its error answer."""
        if fault.kind in ("slow", "timeout"):
            time.sleep(fault.delay_s)
            if fault.kind == "slow":
                return False
        if fault.kind in ("timeout", "drop"):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        return None


class ServedOnLoopback:
    """The lifecycle both fakes share: serve `handler` (bound to this fake as its `owner`) on a
    background thread, stop, use as a context manager, tell the port. A subclass sets
    `handler`, and `host`, `_port` and `_server = None` in `__init__`."""

    host: str
    _port: int
    _server: LoopbackServer | None
    _thread_name = "fake-server"
    handler: ClassVar[type[FakeRequestHandler]]

    def start(self) -> None:
        self._serve(type("Handler", (self.handler,), {"owner": self}))

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
