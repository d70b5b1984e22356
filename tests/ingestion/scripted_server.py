"""A loopback HTTP server answering from a script of canned responses (tests only).

Each request pops the next `Reply` (or uses `default`); requests are recorded with their path,
headers and body, so tests can assert what the client sent and how often.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str -> sent as is
    content_type: str = "application/json"
    delay_s: float = 0.0
    drop: bool = False


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class ScriptedServer:
    replies: list[Reply] = field(default_factory=list)
    handler: Callable[[Seen], Reply] | None = None
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers), body)
                with lock:
                    owner.seen.append(seen)
                    if owner.replies:
                        reply = owner.replies.pop(0)
                    elif owner.handler is not None:
                        reply = owner.handler(seen)
                    else:
                        reply = Reply(500, {"error": "SCRIPT_EXHAUSTED"})
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                data = reply.body if isinstance(reply.body, (str, bytes)) else json.dumps(reply.body)
                raw = data.encode("utf-8") if isinstance(data, str) else data
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
