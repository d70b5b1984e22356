"""A small Superset REST client: JWT login + CSRF token, JSON helpers with actionable errors."""

from __future__ import annotations

from typing import Any

import prison
import requests

from hc_base.redact import redact, register_secret


class SupersetApiError(RuntimeError):
    """A Superset REST call failed; the message names the method, path and Superset's answer."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(redact(f"Superset {method} {path} answered HTTP {status}: {body[:2000]}"))
        self.status = status


class SupersetClient:
    """Session logged in through POST /api/v1/security/login (db provider) with a CSRF token."""

    def __init__(self, base_url: str, user: str, password: str, *, timeout: float = 120) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.user = user
        register_secret(password)
        self.session = requests.Session()
        resp = self.session.post(
            f"{self.base_url}/api/v1/security/login",
            json={"username": user, "password": password, "provider": "db", "refresh": True},
            timeout=timeout,
        )
        if resp.status_code != 200:
            raise SupersetApiError("POST", "/api/v1/security/login", resp.status_code, f"login as {user!r} failed: {resp.text}")
        self._keep_session_cookie()
        token = resp.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"
        csrf = self.session.get(f"{self.base_url}/api/v1/security/csrf_token/", timeout=timeout)
        if csrf.status_code != 200:
            raise SupersetApiError("GET", "/api/v1/security/csrf_token/", csrf.status_code, csrf.text)
        self._keep_session_cookie()
        self.session.headers["X-CSRFToken"] = csrf.json()["result"]
        self.session.headers["Referer"] = self.base_url

    def _keep_session_cookie(self) -> None:
        """Behind the TLS proxy Superset marks its session cookie Secure (SUPERSET_SECURE_COOKIES);
        this client talks to Superset's internal address (plain http on the host or in the compose
        network) and must still send the cookie back, or every CSRF-protected write fails."""
        for cookie in self.session.cookies:
            cookie.secure = False

    def request(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201), **kwargs: Any) -> requests.Response:
        resp = self.session.request(method, f"{self.base_url}{path}", timeout=self.timeout, **kwargs)
        self._keep_session_cookie()
        if resp.status_code not in expect:
            body = resp.text
            if "<html" in body[:200].lower():
                body = "an HTML error page (see the Superset server log for the traceback)"
            raise SupersetApiError(method, path, resp.status_code, body)
        return resp

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, payload: Any, **kwargs: Any) -> Any:
        return self.request("POST", path, json=payload, **kwargs).json()

    def put(self, path: str, payload: Any, **kwargs: Any) -> Any:
        return self.request("PUT", path, json=payload, **kwargs).json()

    def delete(self, path: str) -> None:
        self.request("DELETE", path, expect=(200, 204, 404))

    def list_all(self, resource: str, columns: list[str], filters: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Every row of GET /api/v1/<resource>/ (paged), with the given columns."""
        rows: list[dict[str, Any]] = []
        page = 0
        while True:
            q = {"columns": columns, "page": page, "page_size": 100}
            if filters:
                q["filters"] = filters
            data = self.get(f"/api/v1/{resource}/", params={"q": prison.dumps(q)})
            rows.extend(data.get("result", []))
            if len(rows) >= data.get("count", 0) or not data.get("result"):
                return rows
            page += 1

