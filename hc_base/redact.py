"""Keep secrets out of logs, exception messages and Dagster metadata.

Every value registered here (webhook URLs, tokens, passwords) is replaced by a fixed mask
wherever `redact()` is applied. Independently of registration, a few patterns that are always
secret are masked: the secret segment of a Bitrix24 webhook URL, `auth=` / `access_token=` /
`refresh_token=` / `client_secret=` / `password=` query parameters and the password in a URL's
userinfo (`scheme://user:password@host`).
"""
from __future__ import annotations

import logging
import re
import threading

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # https://portal/rest/<user_id>/<secret>/... -> keep the user id, mask the secret
    (re.compile(r"(/rest/\d+/)([^/\s?#\"']+)"), r"\1" + MASK),
    # query or form parameters that carry credentials
    (
        re.compile(
            r"((?:auth|access_token|refresh_token|client_secret|password|passwd|secret|token)=)([^&\s\"']+)",
            re.IGNORECASE,
        ),
        r"\1" + MASK,
    ),
    # JSON-ish "password": "..." pairs
    (
        re.compile(
            r"(\"(?:password|access_token|refresh_token|client_secret|auth)\"\s*:\s*\")([^\"]*)(\")",
            re.IGNORECASE,
        ),
        r"\1" + MASK + r"\3",
    ),
    # scheme://user:password@host
    (re.compile(r"([a-z][a-z0-9+.\-]*://[^:/\s@]+:)([^@\s/]+)(@)", re.IGNORECASE), r"\1" + MASK + r"\3"),
]


def register_secret(value: str | None) -> None:
    """Remember a secret so that every later `redact()` masks it. Short values are ignored
    (masking every '1' in a log would make logs useless and protect nothing)."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: object) -> str:
    """Return `text` as a string with every known secret and secret-shaped value masked."""
    out = str(text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in out:
            out = out.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        out = pattern.sub(repl, out)
    return out


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the fully formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the redacting filter to every handler of `logger` (default: the root logger)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())
