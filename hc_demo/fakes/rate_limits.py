"""Bitrix24's two limits: a leaky bucket of requests and per-method operating time."""

from __future__ import annotations

import threading
import time


class LeakyBucket:
    """`rate_per_s` requests drain per second; more than `burst` queued -> refuse."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._level = 0.0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._level = max(0.0, self._level - (now - self._last) * self.rate)
            self._last = now
            if self._level + 1.0 > self.burst:
                return False
            self._level += 1.0
            return True


class OperatingTime:
    """Server seconds spent per method in fixed windows; over the limit the method is blocked
    until the window resets (`operating_reset_at`, unix seconds)."""

    def __init__(self, limit_s: float, window_s: float) -> None:
        self.limit_s = limit_s
        self.window_s = window_s
        self._used: dict[str, tuple[float, float]] = {}  # method -> (window start, seconds used)
        self._lock = threading.Lock()

    def _window(self, method: str, now: float) -> tuple[float, float]:
        start, used = self._used.get(method, (now, 0.0))
        if now - start >= self.window_s:
            start, used = now, 0.0
        return start, used

    def blocked(self, method: str) -> tuple[bool, float]:
        """(blocked?, reset_at) for `method` now."""
        with self._lock:
            now = time.time()
            start, used = self._window(method, now)
            self._used[method] = (start, used)
            return used >= self.limit_s, start + self.window_s

    def spend(self, method: str, seconds: float) -> tuple[float, float]:
        """Add `seconds`; returns (seconds used in the window, reset_at)."""
        with self._lock:
            now = time.time()
            start, used = self._window(method, now)
            used += seconds
            self._used[method] = (start, used)
            return used, start + self.window_s
