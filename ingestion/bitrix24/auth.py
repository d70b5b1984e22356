"""How requests to Bitrix24 are authenticated: an inbound webhook or an OAuth application.

Both expose `endpoint(method) -> url` and `params() -> dict` (extra body parameters). OAuth
refreshes the access token on `401 expired_token` (via `refresh()`), and stores every rotated
refresh token through a `TokenStore` (the warehouse's `ingest_state.oauth_tokens` on PostgreSQL or
ClickHouse, never a file; `token_store.py`) before the new access token is used, because
Bitrix24 invalidates the old refresh token when it issues a new one.
"""
from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager
from typing import Any, Protocol

import requests

from hc_base.redact import register_secret

from ..config import ConfigError
from ..http_retry import check_url, transport_failure
from .errors import Bitrix24Error

OAUTH_SERVER = "https://oauth.bitrix.info/oauth/token/"


class TokenStore(Protocol):
    def load(self, portal_url: str) -> str | None: ...

    def save(self, portal_url: str, refresh_token: str) -> None: ...

    def locked(self, portal_url: str) -> AbstractContextManager[object]:
        """Serialise refreshes across processes: a refresh token can be used only once."""
        ...


class MemoryTokenStore:
    """Keeps refresh tokens in memory (tests, one-off runs)."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def locked(self, portal_url: str) -> AbstractContextManager[object]:
        return self._lock

    def load(self, portal_url: str) -> str | None:
        return self.tokens.get(portal_url)

    def save(self, portal_url: str, refresh_token: str) -> None:
        self.tokens[portal_url] = refresh_token


class WebhookAuth:
    """`https://<portal>/rest/<user_id>/<secret>/` — the whole URL is a secret."""

    can_refresh = False

    def __init__(self, url: str) -> None:
        try:
            url = check_url(url, "BITRIX24_WEBHOOK_URL")
            problem = "" if "/rest/" in url else "no /rest/ in it"
        except ConfigError as exc:
            problem = str(exc).split(": ", 1)[-1]
        if problem:
            raise ConfigError(
                f"BITRIX24_WEBHOOK_URL must look like https://<portal>/rest/<user_id>/<secret>/ ({problem})"
            )
        register_secret(url)
        parts = url.rstrip("/").split("/")
        if parts:
            register_secret(parts[-1])
        self.url = url if url.endswith("/") else url + "/"

    def endpoint(self, method: str) -> str:
        return f"{self.url}{method}"

    def params(self) -> dict[str, Any]:
        return {}

    def refresh(self, session: requests.Session, timeout_s: float) -> None:  # pragma: no cover - never called
        raise NotImplementedError

    def __repr__(self) -> str:
        return "WebhookAuth(url='***')"


class OAuthAuth:
    """OAuth 2.0 application: calls `https://<portal>/rest/<method>` with `auth=<access token>`."""

    can_refresh = True

    def __init__(
        self,
        portal_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        token_store: TokenStore | None = None,
        *,
        oauth_url: str | None = None,
    ) -> None:
        self.portal_url = check_url(portal_url, "BITRIX24_PORTAL_URL").rstrip("/") + "/"
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_store: TokenStore = token_store or MemoryTokenStore()
        # the portal answers the refresh grant itself (cloud portals also accept OAUTH_SERVER)
        self.oauth_url = oauth_url or f"{self.portal_url}oauth/token/"
        register_secret(client_secret)
        stored = self.token_store.load(self.portal_url)
        # a token rotated by an earlier run supersedes the one in the environment
        self.refresh_token = stored or refresh_token
        register_secret(self.refresh_token)
        self.access_token: str | None = None
        self._lock = threading.Lock()

    def endpoint(self, method: str) -> str:
        return f"{self.portal_url}rest/{method}"

    def params(self) -> dict[str, Any]:
        return {"auth": self.access_token or ""}

    def refresh(self, session: requests.Session, timeout_s: float) -> None:
        """Trade the refresh token for a new access token (and a new refresh token). The new
        refresh token is stored before this returns, so before the new access token is used."""
        with self._lock, self.token_store.locked(self.portal_url):
            # another process (a parallel Dagster step) may have rotated the token meanwhile
            stored = self.token_store.load(self.portal_url)
            if stored:
                self.refresh_token = stored
                register_secret(stored)
            try:
                body = self._trade(session, timeout_s)
            except Bitrix24Error as exc:
                # a process the lock does not cover (another host, ClickHouse) traded the same token
                # first: the portal rejects ours; take the one that process stores and trade that
                rotated = self._rotated_elsewhere(exc)
                if rotated is None:
                    raise
                self.refresh_token = rotated
                body = self._trade(session, timeout_s)
            # _trade registered both tokens as secrets
            new_refresh = body.get("refresh_token")
            if new_refresh:
                self.refresh_token = str(new_refresh)
                self.token_store.save(self.portal_url, self.refresh_token)
            self.access_token = str(body["access_token"])

    def _trade(self, session: requests.Session, timeout_s: float) -> dict[str, Any]:
        try:
            response = session.get(
                self.oauth_url,
                params={
                    "grant_type": "refresh_token",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "refresh_token": self.refresh_token,
                },
                timeout=timeout_s,
            )
        except requests.RequestException as exc:
            failure = transport_failure(exc, self.oauth_url, timeout_s)
            raise Bitrix24Error("oauth_unreachable", failure.message, "oauth/token", None) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            body = body if isinstance(body, dict) else {}
            raise Bitrix24Error(
                str(body.get("error", "")),
                str(body.get("error_description", "token refresh failed")),
                "oauth/token",
                response.status_code,
            )
        register_secret(str(body["access_token"]))
        if body.get("refresh_token"):
            register_secret(str(body["refresh_token"]))
        return body

    def _rotated_elsewhere(self, error: Bitrix24Error) -> str | None:
        """After `invalid_grant`: the token another process stored since ours was read, or None
        when the store still holds ours. A store whose lock does not cover every process
        (`rotation_wait_s` > 0) is polled that long for the other process's save."""
        if error.code != "invalid_grant":
            return None
        wait_s = float(getattr(self.token_store, "rotation_wait_s", 0.0))
        deadline = time.monotonic() + wait_s
        while True:
            stored = self.token_store.load(self.portal_url)
            if stored and stored != self.refresh_token:
                register_secret(stored)
                return stored
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.2)

    def __repr__(self) -> str:
        return f"OAuthAuth(portal_url={self.portal_url!r}, client_id={self.client_id!r}, secrets='***')"
