"""The threaded HTTP server both fakes run on."""

from __future__ import annotations

from http.server import ThreadingHTTPServer
from typing import Any


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
