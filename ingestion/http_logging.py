"""Keep request URLs (which carry the Bitrix24 webhook secret) out of urllib3's debug log."""
from __future__ import annotations

import logging

from hc_base.redact import RedactingFilter

_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "requests")


def redact_http_logs() -> None:
    """Attach a redacting filter to the HTTP libraries' loggers (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
