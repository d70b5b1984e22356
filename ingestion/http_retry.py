"""What both HTTP connectors (Bitrix24, 1C) share about failures: the retry loop
(`with_retries`), which failures are worth retrying, how long to wait between attempts, and a
message that names the cause and the host.

Messages name the host only, never the URL: a Bitrix24 webhook URL carries its secret in the path.
A malformed URL, a host name that does not resolve or a TLS certificate that is not trusted is a
configuration error: it fails at once instead of being retried for minutes. Timeouts, refused
and reset connections are retried (a server restarting or overloaded recovers).
"""
from __future__ import annotations

import logging
import random
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import requests

from hc_base.redact import redact

from .config import ConfigError

T = TypeVar("T")

_MALFORMED = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.URLRequired,
    requests.exceptions.InvalidHeader,
)


@dataclass(frozen=True)
class TransportFailure:
    """A request that got no HTTP answer. `code`: TIMEOUT, BAD_URL, HOST_NOT_FOUND, TLS_ERROR,
    CONNECTION_REFUSED or CONNECTION_ERROR; `retry` says whether trying again can help."""

    code: str
    message: str
    retry: bool


def host_of(url: str) -> str:
    """`host` or `host:port` of a URL, for messages; never the path or credentials."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(unparsable host)"
    if not host:
        return "(no host)"
    return f"{host}:{port}" if port else host


def check_url(url: str, variable: str) -> str:
    """`url` if it is an http(s) URL with a host (and a valid port), else ConfigError naming
    `variable` and what is wrong, without the rest of the URL."""
    value = url.strip()
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
        parts = urlsplit("")
    if parts.scheme not in ("http", "https"):
        problem = "it must start with http:// or https://"
    elif not parts.hostname:
        problem = "it has no host name"
    elif not port_ok:
        problem = "its port is not a number from 1 to 65535"
    elif any(c.isspace() for c in value):
        problem = "it contains white space"
    else:
        return value
    raise ConfigError(f"{variable} is not a valid URL: {problem}")


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (requests -> urllib3 -> socket/ssl)."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        for nxt in (current.__cause__, current.__context__, getattr(current, "reason", None),
                    *(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def transport_failure(exc: requests.RequestException, url: str, timeout_s: float) -> TransportFailure:
    """Classify a request that raised instead of answering."""
    host = host_of(url)
    causes = _causes(exc)
    if isinstance(exc, requests.Timeout):
        return TransportFailure("TIMEOUT", f"no answer from {host} within {timeout_s:g} s", True)
    if isinstance(exc, _MALFORMED):
        return TransportFailure("BAD_URL", f"the URL is malformed ({type(exc).__name__}; host {host})", False)
    if any(isinstance(c, socket.gaierror) or type(c).__name__ == "NameResolutionError" for c in causes):
        return TransportFailure("HOST_NOT_FOUND", f"cannot resolve the host name {host}: check the URL", False)
    tls = [c for c in causes if isinstance(c, ssl.SSLError)]
    if tls or isinstance(exc, requests.exceptions.SSLError):
        reason = (getattr(tls[0], "reason", None) or type(tls[0]).__name__) if tls else "SSLError"
        return TransportFailure("TLS_ERROR", f"TLS with {host} failed ({redact(str(reason))})", False)
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return TransportFailure("CONNECTION_REFUSED", f"connection refused by {host}", True)
    root = causes[-1] if causes else exc
    return TransportFailure("CONNECTION_ERROR", f"{type(root).__name__} talking to {host}", True)


def backoff(attempt: int, base_s: float, max_s: float = 60.0) -> float:
    """Seconds to wait before retry `attempt` (1, 2, ...): exponential, capped, with +-25% jitter."""
    return min(max_s, base_s * 2 ** (attempt - 1)) * (0.75 + random.random() * 0.5)


class Retry(Exception):
    """Raised by one attempt to ask for another. `failure` is raised when no retry is left;
    `wait_s` replaces the backoff (a server that said when to come back)."""

    def __init__(self, failure: Exception, wait_s: float | None = None) -> None:
        super().__init__(str(failure))
        self.failure = failure
        self.wait_s = wait_s


def with_retries(
    attempt: Callable[[], T],
    *,
    label: str,
    max_retries: int,
    backoff_s: float,
    max_backoff_s: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[], None] | None = None,
    log: logging.Logger | None = None,
) -> T:
    """Run `attempt` until it returns; it raises `Retry` for a failure worth another try (up
    to `max_retries` more, with `backoff`), anything else to stop at once."""
    tries = 0
    while True:
        try:
            return attempt()
        except Retry as retry:
            tries += 1
            if tries > max_retries:
                raise retry.failure from None
            delay = retry.wait_s if retry.wait_s is not None else backoff(tries, backoff_s, max_backoff_s)
            (log or logging.getLogger(__name__)).warning(
                "%s: %s; retry %d/%d in %.1f s", label, retry.failure, tries, max_retries, delay
            )
            if on_retry is not None:
                on_retry()
            sleep(delay)
