"""Progress output of the CLI: one plain line per step, with its duration. Secrets are redacted."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from hc_base.redact import redact


class Console:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def line(self, text: str) -> None:
        print(redact(text), file=self.stream, flush=True)

    def info(self, text: str) -> None:
        self.line(f"  {text}")

    def warn(self, text: str) -> None:
        self.line(f"  ! {text}")

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        """`==> title` ... `    done in 3.2 s` (or `FAILED after ...` and the exception propagates)."""
        self.line(f"==> {title}")
        started = time.monotonic()
        try:
            yield
        except BaseException:
            self.line(f"    FAILED after {time.monotonic() - started:.1f} s")
            raise
        self.line(f"    done in {time.monotonic() - started:.1f} s")
