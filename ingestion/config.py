"""Connector settings read from environment variables (see docs/architecture.md, Configuration).

Secrets (webhook URL, OAuth client secret and refresh token, 1C password) are registered with
`hc_base.redact` as soon as they are read, and never appear in `repr()`.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path

from hc_base.redact import register_secret

_SECRET_FIELDS = frozenset(
    {"bitrix24_webhook_url", "bitrix24_client_secret", "bitrix24_refresh_token", "onec_password"}
)


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {raw!r}")
    return value


def _date(env: Mapping[str, str], name: str, default: date) -> date:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a date YYYY-MM-DD, got {raw!r}") from None


@dataclass
class SourceSettings:
    """Where the sources are and how hard we may hit them."""

    bitrix24_webhook_url: str | None = None
    bitrix24_portal_url: str | None = None
    bitrix24_client_id: str | None = None
    bitrix24_client_secret: str | None = None
    bitrix24_refresh_token: str | None = None
    bitrix24_rate_per_s: float = 2.0
    bitrix24_burst: int = 50
    bitrix24_timeout_s: float = 60.0
    bitrix24_overlap_minutes: float = 60.0
    onec_odata_url: str | None = None
    onec_user: str | None = None
    onec_password: str | None = field(default=None)
    onec_timeout_s: float = 300.0
    onec_reread_days: float = 35.0
    onec_page_size: int = 1000  # records per OData page (not an environment variable; tests make it small)
    files_dir: Path | None = None
    files_mapping: Path | None = None
    files_date_min: date = date(1990, 1, 1)  # earlier dates in user files are rejected
    files_future_days: int = 366  # later than today + this many days: rejected; after today: warned

    def __post_init__(self) -> None:
        for name in _SECRET_FIELDS:
            register_secret(getattr(self, name))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SourceSettings:
        """Read the settings from `env` (default: `os.environ`)."""
        e = os.environ if env is None else env

        def text(name: str) -> str | None:
            value = e.get(name, "").strip()
            return value or None

        files_dir = text("FILES_DIR")
        files_mapping = text("FILES_MAPPING")
        return cls(
            bitrix24_webhook_url=text("BITRIX24_WEBHOOK_URL"),
            bitrix24_portal_url=text("BITRIX24_PORTAL_URL"),
            bitrix24_client_id=text("BITRIX24_CLIENT_ID"),
            bitrix24_client_secret=text("BITRIX24_CLIENT_SECRET"),
            bitrix24_refresh_token=text("BITRIX24_REFRESH_TOKEN"),
            bitrix24_rate_per_s=_float(e, "BITRIX24_RATE_PER_S", 2.0),
            bitrix24_burst=int(_float(e, "BITRIX24_BURST", 50)),
            bitrix24_timeout_s=_float(e, "BITRIX24_TIMEOUT_S", 60.0),
            bitrix24_overlap_minutes=_float(e, "BITRIX24_OVERLAP_MINUTES", 60.0),
            onec_odata_url=text("ONEC_ODATA_URL"),
            onec_user=text("ONEC_USER"),
            onec_password=text("ONEC_PASSWORD"),
            onec_timeout_s=_float(e, "ONEC_TIMEOUT_S", 300.0),
            onec_reread_days=_float(e, "ONEC_REREAD_DAYS", 35.0),
            files_dir=Path(files_dir) if files_dir else None,
            files_mapping=Path(files_mapping) if files_mapping else None,
            files_date_min=_date(e, "FILES_DATE_MIN", date(1990, 1, 1)),
            files_future_days=int(_float(e, "FILES_FUTURE_DAYS", 366)),
        )

    @property
    def bitrix24_configured(self) -> bool:
        return bool(self.bitrix24_webhook_url or self.bitrix24_oauth_configured)

    @property
    def bitrix24_oauth_configured(self) -> bool:
        return bool(
            self.bitrix24_portal_url
            and self.bitrix24_client_id
            and self.bitrix24_client_secret
            and self.bitrix24_refresh_token
        )

    @property
    def onec_configured(self) -> bool:
        return bool(self.onec_odata_url)

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            shown = "'***'" if (f.name in _SECRET_FIELDS and value) else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"SourceSettings({', '.join(parts)})"

    __str__ = __repr__
