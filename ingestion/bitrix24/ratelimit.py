"""Client-side leaky bucket matching Bitrix24's server limit (2 req/s drain, burst 50).

The bucket's level rises by one per request and drains at `rate_per_s`. A request may go as soon
as the level is at most `burst - 1`; otherwise the caller sleeps exactly until it is. Keeping
the client at or below the server's budget avoids 503 QUERY_LIMIT_EXCEEDED answers, which
would otherwise cost a backoff each.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LeakyBucket:
    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self.rate_per_s = float(rate_per_s)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._level = 0.0
        self._updated = clock()

    def _drain(self, now: float) -> None:
        self._level = max(0.0, self._level - (now - self._updated) * self.rate_per_s)
        self._updated = now

    def reserve(self) -> float:
        """Take one slot; return how many seconds the caller must wait before sending."""
        with self._lock:
            now = self._clock()
            self._drain(now)
            # the request occupies one slot; it may be sent once level <= burst - 1
            wait = max(0.0, (self._level - (self.burst - 1)) / self.rate_per_s)
            self._level += 1.0
            return wait

    def acquire(self) -> float:
        """Block until one request may be sent; return the time slept."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def penalize(self) -> None:
        """The server said we are over the limit: assume its bucket is full."""
        with self._lock:
            self._drain(self._clock())
            self._level = max(self._level, float(self.burst))

    @property
    def level(self) -> float:
        with self._lock:
            self._drain(self._clock())
            return self._level
