"""Fault injection shared by the fake servers: a queue of faults consumed by matching requests."""

from __future__ import annotations

import threading
from dataclasses import dataclass

FAULT_KINDS = ("overload", "html", "500", "timeout", "drop", "slow")


@dataclass
class Fault:
    kind: str
    remaining: int
    method: str | None
    delay_s: float


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, kind: str, count: int = 1, method: str | None = None, delay_s: float = 5.0) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        with self._lock:
            self._faults.append(Fault(kind, count, method, delay_s))

    def take(self, method: str) -> Fault | None:
        """The first pending fault for `method` (or for any method), consuming one use."""
        with self._lock:
            for fault in self._faults:
                if fault.method is None or fault.method == method:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


HTML_ERROR_PAGE = (
    "<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
