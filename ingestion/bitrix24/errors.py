"""Errors raised by the Bitrix24 connector. Messages never carry the webhook secret or tokens."""
from __future__ import annotations

from hc_base.redact import redact


class Bitrix24Error(Exception):
    """Bitrix24 refused a call (or a batch command) and retrying will not help.

    `code` may be an empty string: method-level errors often come without a code.
    """

    def __init__(self, code: str, description: str, method: str, http_status: int | None) -> None:
        self.code = redact(code or "")
        self.description = redact(description or "")
        self.method = redact(method)
        self.http_status = http_status
        super().__init__(self._message())

    def _message(self) -> str:
        code = self.code or "(no error code)"
        if self.http_status is not None:
            status = f"HTTP {self.http_status}"
        else:  # a command of a batch answered inside HTTP 200, or no HTTP answer at all
            status = "inside batch" if self.method.startswith("batch command") else "no HTTP answer"
        hint = _HINTS.get(self.code, "")
        text = f"Bitrix24 {self.method}: {code}: {self.description or 'no description'} ({status})"
        return f"{text}. {hint}" if hint else text


class Bitrix24RetryExhausted(Bitrix24Error):
    """A transient error (rate limit, overload, 5xx, timeout) persisted through every retry."""


_HINTS = {
    "BAD_URL": "Check BITRIX24_WEBHOOK_URL / BITRIX24_PORTAL_URL.",
    "HOST_NOT_FOUND": "Check the portal's host name in BITRIX24_WEBHOOK_URL / BITRIX24_PORTAL_URL.",
    "TLS_ERROR": "The portal's TLS certificate is not trusted by this machine.",
    "NO_AUTH_FOUND": "Check BITRIX24_WEBHOOK_URL (the webhook may have been deleted or its secret changed).",
    "INVALID_CREDENTIALS": "Check BITRIX24_WEBHOOK_URL or the OAuth credentials.",
    "insufficient_scope": "Give the webhook/app the 'crm', 'user' and 'department' scopes.",
    "ACCESS_DENIED": "The webhook's user lacks CRM access rights for this data.",
    "expired_token": "The OAuth token expired and could not be refreshed; check BITRIX24_REFRESH_TOKEN.",
    "invalid_grant": "The OAuth refresh token is no longer valid; issue a new BITRIX24_REFRESH_TOKEN.",
}
