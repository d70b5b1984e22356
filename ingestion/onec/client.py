"""1C:Enterprise standard OData client (`.../odata/standard.odata/`).

JSON is forced with `$format=json` (Atom XML is 1C's default). Entity names are Cyrillic and are
percent-encoded; HTTP Basic credentials are sent as UTF-8 (1C logins are often Cyrillic).
Pages are read by key (`$orderby=Ref_Key`, then `Ref_Key gt guid'<last>'`), not `$skip`. Slow
first answers and 5xx/HTML/connection failures are retried with backoff; OData errors
(`{"odata.error": {...}}`) become `OneCError` with the 1C code and message, never the password.
"""
from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests

from hc_base.redact import redact, register_secret

from ..http_logging import redact_http_logs
from ..http_retry import Retry, check_url, transport_failure, with_retries

log = logging.getLogger(__name__)
redact_http_logs()

_HINTS = {
    "TIMEOUT": "Real 1C bases answer slowly: raise ONEC_TIMEOUT_S if this repeats.",
    "BAD_URL": "Check ONEC_ODATA_URL.",
    "HOST_NOT_FOUND": "Check the host name in ONEC_ODATA_URL.",
    "TLS_ERROR": "The 1C server's TLS certificate is not trusted by this machine.",
    "14": "The $filter expression is invalid.",
    "6": "A field or entity in the query does not exist in this 1C configuration (check the publication's composition).",
    "9": "The object was not found.",
    "-1": "1C reported an internal error; see the technology log on the 1C server.",
}


class OneCError(Exception):
    """1C refused a request (or kept failing). `code` is the OData error code (string)."""

    def __init__(self, code: str, message: str, entity: str, http_status: int | None) -> None:
        self.code = code
        self.message = redact(message)
        self.entity = entity
        self.http_status = http_status
        status = f"HTTP {http_status}" if http_status is not None else "no HTTP answer"
        hint = _HINTS.get(code, "")
        if http_status == 401:
            hint = "Check ONEC_USER / ONEC_PASSWORD and the user's OData rights."
        text = f"1C OData {entity}: error {code or '(no code)'}: {self.message} ({status})"
        super().__init__(f"{text}. {hint}" if hint else text)


def parse_odata_error(body: Any) -> tuple[str, str] | None:
    """`{"odata.error": {"code": "14", "message": {"lang": "ru", "value": "..."}}}` -> (code, message)."""
    if not isinstance(body, Mapping) or "odata.error" not in body:
        return None
    err = body["odata.error"] or {}
    message = err.get("message")
    if isinstance(message, Mapping):
        message = message.get("value", "")
    return str(err.get("code", "")), str(message or "")


def parse_odata_page(body: Any, entity: str) -> list[dict[str, Any]]:
    """The records of one OData answer: the `value` array, or the single entity itself."""
    if not isinstance(body, Mapping):
        raise OneCError("", "answer is not a JSON object", entity, None)
    error = parse_odata_error(body)
    if error is not None:
        raise OneCError(error[0], error[1], entity, None)
    if "value" in body and isinstance(body["value"], list):
        return [dict(v) for v in body["value"]]
    return [{k: v for k, v in body.items() if k != "odata.metadata"}]


class OneCClient:
    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        *,
        timeout_s: float = 300.0,
        max_retries: int = 5,
        page_size: int = 1000,
        session: requests.Session | None = None,
        backoff_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        base_url = check_url(base_url, "ONEC_ODATA_URL")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.user = user
        register_secret(password)
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        register_secret(token)
        self._auth_header = f"Basic {token}"
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.page_size = page_size
        self.session = session or requests.Session()
        self.backoff_s = backoff_s
        self._sleep = sleep
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"OneCClient(base_url={redact(self.base_url)!r}, user={self.user!r}, password='***')"

    def url(self, entity: str, params: Mapping[str, str]) -> str:
        """Entity path percent-encoded (Cyrillic, parentheses of keys kept), query percent-encoded."""
        path = quote(entity, safe="()'=,_-/")
        query = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in params.items())
        return f"{self.base_url}{path}?{query}"

    def get_page(self, entity: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """One GET with retries; returns the records of the answer."""
        full = {"$format": "json", **params}
        full["$format"] = "json"
        url = self.url(entity, full)

        def once() -> list[dict[str, Any]]:
            self.requests_sent += 1
            try:
                response = self.session.get(
                    url,
                    headers={"Authorization": self._auth_header, "Accept": "application/json"},
                    timeout=(min(30.0, self.timeout_s), self.timeout_s),
                )
            except requests.RequestException as exc:
                transport = transport_failure(exc, url, self.timeout_s)
                failure = OneCError(transport.code, transport.message, entity, None)
                if not transport.retry:  # a configuration error: retrying cannot help
                    raise failure from None
                raise Retry(failure) from None
            status = response.status_code
            try:
                body = response.json()
            except ValueError:
                body = None
            error = parse_odata_error(body)
            if status == 200 and body is not None and error is None:
                return parse_odata_page(body, entity)
            if error is not None:
                failure = OneCError(error[0], error[1], entity, status)
            elif body is None:
                kind = response.headers.get("Content-Type", "?")
                failure = OneCError("", f"answer is not JSON ({kind})", entity, status)
            else:
                failure = OneCError("", "unexpected answer", entity, status)
            if status in (400, 401, 403, 404):
                raise failure
            raise Retry(failure)

        return with_retries(
            once, label=f"1C {entity}", max_retries=self.max_retries, backoff_s=self.backoff_s, sleep=self._sleep, log=log
        )

    def get_entity(
        self,
        name: str,
        *,
        filter: str | None = None,
        select: Sequence[str] | None = None,
        orderby: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every record of entity set `name`.

        Paged by key: `$orderby=Ref_Key` and, after the first page, `Ref_Key gt guid'<last key
        read>'` (1C compares and orders references by the same internal value). Unlike `$skip`, a
        record added or deleted while the set is read cannot shift others across a page boundary,
        so nothing live is skipped (and later taken for deleted) and nothing is read twice.

        A server that refuses to compare references (error 14 or 6 on the key condition) is read
        with `$skip` instead, each page overlapping the previous one by one record: when that
        record moved, the set changed during the read and `OneCError` code SET_CHANGED is raised
        (the load fails and marks nothing deleted; the next run reads again). An explicit other
        `orderby` (not necessarily unique) is paged with `$top/$skip` as it is.
        """
        if orderby is not None and orderby != "Ref_Key":
            yield from self._get_entity_by_skip(name, filter=filter, select=select, orderby=orderby)
            return
        if select and "Ref_Key" not in select:
            select = [*select, "Ref_Key"]
        by_key = True
        last: str | None = None
        seen: set[str] = set()
        while True:
            params = {"$top": str(self.page_size), "$orderby": "Ref_Key"}
            after = f"Ref_Key gt guid'{last}'" if by_key and last is not None else None
            if filter and after:
                params["$filter"] = f"({filter}) and {after}"
            elif filter or after:
                params["$filter"] = filter or after or ""
            if select:
                params["$select"] = ",".join(select)
            overlap = not by_key and last is not None
            if overlap:  # one record more: the previous page's last one, expected first
                params["$skip"] = str(len(seen) - 1)
                params["$top"] = str(self.page_size + 1)
            try:
                page = self.get_page(name, params)
            except OneCError as exc:
                if not (after and exc.code in ("14", "6")):
                    raise
                log.warning(
                    "1C %s: the server refuses Ref_Key comparisons (%s); paging with $skip and checking that "
                    "the set does not change during the read", name, exc,
                )
                by_key = False
                continue
            full = len(page) == int(params["$top"])
            if overlap:
                if not page or str(page[0].get("Ref_Key") or "") != last:
                    raise OneCError(
                        "SET_CHANGED", f"records were added or deleted while {len(seen)} were read with $skip; "
                        "nothing was marked deleted, the next load reads again", name, 200,
                    )
                page = page[1:]
            for row in page:
                key = str(row.get("Ref_Key") or "")
                if not key or "'" in key:
                    raise OneCError("", f"a record has no usable Ref_Key ({key[:40]!r})", name, 200)
                if key in seen:
                    raise OneCError(
                        "", f"paging by Ref_Key returned {key} twice (the server does not order by the key it "
                        "filters on)", name, 200,
                    )
                seen.add(key)
            yield from page
            if not full:
                return
            last = str(page[-1]["Ref_Key"]) if page else last

    def _get_entity_by_skip(
        self, name: str, *, filter: str | None, select: Sequence[str] | None, orderby: str
    ) -> Iterator[dict[str, Any]]:
        skip = 0
        while True:
            params = {"$top": str(self.page_size), "$skip": str(skip), "$orderby": orderby}
            if filter:
                params["$filter"] = filter
            if select:
                params["$select"] = ",".join(select)
            page = self.get_page(name, params)
            yield from page
            if len(page) < self.page_size:
                return
            skip += len(page)
