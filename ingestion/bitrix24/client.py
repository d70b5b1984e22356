"""Bitrix24 REST client: rate limited, retrying, batch-aware, with fast-mode exports.

Export strategy (`list_all`): Bitrix24's "fast mode" only (`order={"ID": "ASC"}`,
`filter={">ID": cursor}`, `start=-1`: no COUNT, an index range scan per page), run as up to 50
parallel streams packed into one `batch` call. The first page and the current highest ID
(`order={"ID": "DESC"}`, one row) give the ID range; it is cut into streams `(cursor, end]`,
each advanced by one page per batch; a stream ends when a page is short or reaches past its
end (those rows belong to the next stream and are dropped). Wide streams are halved, using the
observed rows-per-ID density, to keep 50 commands busy; two batches are kept in flight
(`concurrency`) because the portal needs about a second per 50-command batch. So a large table runs at about
2 req/s x 50 commands x 50 rows = 5,000 rows/s, and a small dictionary costs one request.
Records created during the export (IDs above the initial maximum) are read at the end.
We chose this over offset pages (`start=50*k`), which make Bitrix24 COUNT the remaining rows
on every page (seconds per page on millions of rows, and charged to the operating-time
limit), and over chaining commands with `$result[prev][49][ID]` references, which break when
a page is short and which not every server (our fake included) resolves. Concurrent deletions
cannot shift pages because every page is anchored on an ID, not an offset.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import requests

from ..http_logging import redact_http_logs
from ..http_retry import Retry, backoff, transport_failure, with_retries
from .errors import Bitrix24Error, Bitrix24RetryExhausted
from .query import batch_command
from .ratelimit import LeakyBucket

log = logging.getLogger(__name__)
redact_http_logs()

PAGE_SIZE = 50
MAX_BATCH = 50
TRANSIENT_CODES = frozenset(
    {"QUERY_LIMIT_EXCEEDED", "OVERLOAD_LIMIT", "OPERATION_TIME_LIMIT", "INTERNAL_SERVER_ERROR"}
)
FATAL_STATUSES = frozenset({400, 401, 403, 404, 405})


class Auth(Protocol):
    can_refresh: bool

    def endpoint(self, method: str) -> str: ...

    def params(self) -> dict[str, Any]: ...

    def refresh(self, session: requests.Session, timeout_s: float) -> None: ...


@dataclass
class BatchResult:
    """The answer of one `batch` call, normalised (PHP's empty `[]` maps become `{}`)."""

    result: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Bitrix24Error] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    next: dict[str, int] = field(default_factory=dict)
    time: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, body: Mapping[str, Any], methods: Mapping[str, str] | None = None) -> BatchResult:
        """Parse a raw batch answer `{"result": {"result": ..., "result_error": ...}, "time": ...}`."""
        methods = methods or {}
        inner = body.get("result")
        if not isinstance(inner, Mapping):
            raise ValueError("batch answer has no 'result' object")

        def as_map(value: Any) -> dict[str, Any]:
            if isinstance(value, Mapping):
                return {str(k): v for k, v in value.items()}
            if isinstance(value, list):  # PHP serialises empty or 0..n-keyed arrays as lists
                return {str(i): v for i, v in enumerate(value)}
            return {}

        errors: dict[str, Bitrix24Error] = {}
        for key, err in as_map(inner.get("result_error")).items():
            err = err if isinstance(err, Mapping) else {"error": "", "error_description": str(err)}
            errors[key] = Bitrix24Error(
                str(err.get("error", "")),
                str(err.get("error_description", "")),
                f"batch command {key!r} ({methods.get(key, 'unknown method')})",
                None,
            )
        return cls(
            result=as_map(inner.get("result")),
            errors=errors,
            totals={k: int(v) for k, v in as_map(inner.get("result_total")).items()},
            next={k: int(v) for k, v in as_map(inner.get("result_next")).items()},
            time=dict(body.get("time") or {}),
        )


def rows_of(result: Any) -> list[dict[str, Any]]:
    """The records of a list answer: legacy lists are arrays, the universal API nests them
    under `items` (crm.item.list, crm.stagehistory.list) or `categories` (crm.category.list)."""
    if result is None:
        return []
    if isinstance(result, list):
        return [r for r in result if isinstance(r, Mapping)]
    if isinstance(result, Mapping):
        for key in ("items", "categories", "productRows"):
            if key in result and isinstance(result[key], list):
                return list(result[key])
        values = list(result.values())
        if values and all(isinstance(v, Mapping) for v in values):
            return values  # PHP array keyed by record id
        return []
    raise ValueError(f"unexpected list result of type {type(result).__name__}")


class Bitrix24Client:
    error: type[Exception] = Bitrix24Error  # what a refused call raises (predictions.writeback catches it)

    def __init__(
        self,
        auth: Auth,
        *,
        rate_per_s: float = 2.0,
        burst: int = 50,
        timeout_s: float = 60.0,
        max_retries: int = 8,
        session: requests.Session | None = None,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        concurrency: int = 2,
    ) -> None:
        self.auth = auth
        # batches in flight at once: a 50-command batch takes the portal about a second, so one
        # at a time cannot use the 2 requests/s budget; the leaky bucket still paces the starts
        self.concurrency = max(1, concurrency)
        self.bucket = LeakyBucket(rate_per_s, burst, sleep=sleep)
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.session = session or requests.Session()
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._clock = clock
        self.requests_sent = 0
        self.retries = 0

    # ------------------------------------------------------------------ single calls

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Call `method` with a JSON body; return the full JSON answer (`result`, `total`, `next`, `time`).

        Transient failures are retried with exponential backoff; 400/401/403/404 raise
        `Bitrix24Error` at once (after one token refresh for OAuth `expired_token`).
        """
        refreshed = False
        if self.auth.can_refresh and not self.auth.params().get("auth"):
            self.auth.refresh(self.session, self.timeout_s)

        def once() -> dict[str, Any]:
            nonlocal refreshed
            while True:  # a refreshed token is tried at once, outside the retry count
                self.bucket.acquire()
                body = dict(params or {})
                body.update(self.auth.params())
                self.requests_sent += 1
                try:
                    response = self.session.post(
                        self.auth.endpoint(method),
                        data=json.dumps(body, ensure_ascii=False, default=str).encode("utf-8"),
                        headers={"Content-Type": "application/json", "Accept": "application/json"},
                        timeout=(min(10.0, self.timeout_s), self.timeout_s),
                    )
                except requests.RequestException as exc:
                    transport = transport_failure(exc, self.auth.endpoint(method), self.timeout_s)
                    if not transport.retry:  # a configuration error: retrying cannot help
                        raise Bitrix24Error(transport.code, transport.message, method, None) from None
                    raise Retry(Bitrix24RetryExhausted(transport.code, transport.message, method, None)) from None
                status = response.status_code
                try:
                    answer = response.json()
                    if not isinstance(answer, dict):
                        raise ValueError("not an object")
                except ValueError:
                    answer = None
                if answer is None:
                    # overloaded front ends answer HTML pages; anything unparsable is retried
                    raise Retry(Bitrix24RetryExhausted(
                        "NOT_JSON", f"answer is not JSON ({response.headers.get('Content-Type', '?')})", method, status
                    ))
                if "error" not in answer and status == 200:
                    return answer
                code = str(answer.get("error", "") or "")
                description = str(answer.get("error_description", "") or "")
                if status == 401 and code == "expired_token" and self.auth.can_refresh and not refreshed:
                    self.auth.refresh(self.session, self.timeout_s)
                    refreshed = True
                    continue
                if code not in TRANSIENT_CODES and (status in FATAL_STATUSES or status < 500):
                    raise Bitrix24Error(code, description, method, status)
                if code == "QUERY_LIMIT_EXCEEDED":
                    self.bucket.penalize()
                wait = self._operating_wait(answer) if code == "OPERATION_TIME_LIMIT" else None
                raise Retry(Bitrix24RetryExhausted(code, description, method, status), wait)

        def count_retry() -> None:
            self.retries += 1

        return with_retries(
            once, label=f"Bitrix24 {method}", max_retries=self.max_retries, backoff_s=self.backoff_s,
            max_backoff_s=self.max_backoff_s, sleep=self._sleep, on_retry=count_retry, log=log,
        )

    def _backoff(self, attempt: int) -> float:
        return backoff(attempt, self.backoff_s, self.max_backoff_s)

    def _transient_wait(self, err: Bitrix24Error, time_block: Mapping[str, Any]) -> float:
        if err.code == "OPERATION_TIME_LIMIT":
            return self._operating_wait({"time": time_block})
        return self._backoff(1)

    def _operating_wait(self, answer: Mapping[str, Any]) -> float:
        reset_at = (answer.get("time") or {}).get("operating_reset_at")
        if isinstance(reset_at, (int, float)):
            return min(600.0, max(0.0, float(reset_at) - self._clock()) + 0.5)
        return min(self.max_backoff_s, 60.0)

    # ------------------------------------------------------------------ batch

    def batch(self, commands: Mapping[str, tuple[str, Mapping[str, Any] | None]], halt: bool = False) -> BatchResult:
        """Run up to 50 `(method, params)` commands in one request. Per-command errors are
        returned in `BatchResult.errors`, never raised."""
        if not commands:
            return BatchResult()
        if len(commands) > MAX_BATCH:
            raise ValueError(f"a batch holds at most {MAX_BATCH} commands, got {len(commands)}")
        cmd = {key: batch_command(method, params) for key, (method, params) in commands.items()}
        answer = self.call("batch", {"halt": 1 if halt else 0, "cmd": cmd})
        return BatchResult.parse(answer, {key: method for key, (method, _) in commands.items()})

    # ------------------------------------------------------------------ exports

    def _fast_params(self, base: Mapping[str, Any], user_filter: Mapping[str, Any], select: Any,
                     id_field: str, after: int, order: str = "ASC") -> dict[str, Any]:
        params = dict(base)
        params["filter"] = {**user_filter, f">{id_field}": after}
        params["order"] = {id_field: order}
        if select is not None:
            params["select"] = select
        params["start"] = -1
        return params

    def list_all(
        self, method: str, params: Mapping[str, Any] | None = None, *, id_field: str = "ID"
    ) -> Iterator[dict[str, Any]]:
        """Every record of a list method (matching `params["filter"]`), via fast mode in batches.

        Records come in ID order within each stream, not globally (see the module docstring).
        """
        base = dict(params or {})
        user_filter = dict(base.pop("filter", None) or {})
        start_after = int(user_filter.pop(f">{id_field}", 0) or 0)
        base.pop("order", None)
        base.pop("start", None)
        select = base.pop("select", None)
        if select is not None and "*" not in select and id_field not in select:
            select = [*select, id_field]

        # 1. first page from the cursor: small tables end here, after one request
        first = rows_of(self.call(method, self._fast_params(base, user_filter, select, id_field, start_after))["result"])
        yield from first
        if len(first) < PAGE_SIZE:
            return
        cursor = max(_int_id(r.get(id_field), method, id_field) for r in first)
        # 2. the highest ID that exists now (records created later are picked up at the end)
        top = rows_of(self.call(method, self._fast_params(
            base, user_filter, [id_field], id_field, cursor, order="DESC"))["result"])
        if not top:
            return
        max_id = max(_int_id(r.get(id_field), method, id_field) for r in top)
        density = PAGE_SIZE / max(1, cursor - start_after)  # rows per ID unit, refined as pages arrive
        rows_seen, span_seen = PAGE_SIZE, max(1, cursor - start_after)
        idle: list[list[int]] = [[cursor, max_id]] if max_id > cursor else []
        in_flight: dict[Future[BatchResult], list[list[int]]] = {}
        waits = 0
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="b24-batch") as pool:
            while idle or in_flight:
                # 3. split the widest idle streams so every free request slot gets up to 50 of them
                free = self.concurrency - len(in_flight)
                while idle and len(idle) < MAX_BATCH * free:
                    widest = max(idle, key=lambda st: st[1] - st[0])
                    if (widest[1] - widest[0]) * density < 2 * PAGE_SIZE:
                        break
                    middle = widest[0] + (widest[1] - widest[0]) // 2
                    idle.append([middle, widest[1]])
                    widest[1] = middle
                while idle and len(in_flight) < self.concurrency:
                    share = min(MAX_BATCH, -(-len(idle) // (self.concurrency - len(in_flight))))
                    group, idle = idle[:share], idle[share:]
                    commands = {
                        f"s{i}": (method, self._fast_params(base, user_filter, select, id_field, st[0]))
                        for i, st in enumerate(group)
                    }
                    in_flight[pool.submit(self.batch, commands)] = group
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                transient: Bitrix24Error | None = None
                time_block: dict[str, Any] = {}
                for future in done:
                    group = in_flight.pop(future)
                    answer = future.result()
                    for i, stream in enumerate(group):
                        key = f"s{i}"
                        if key in answer.errors:
                            err = answer.errors[key]
                            if err.code not in TRANSIENT_CODES:
                                raise Bitrix24Error(err.code, err.description, f"{method} (batch command {key})", None)
                            transient, time_block = err, answer.time
                            idle.append(stream)
                            continue
                        rows = rows_of(answer.result.get(key))
                        last = stream[0]
                        overshoot = False
                        for row in rows:
                            row_id = _int_id(row.get(id_field), method, id_field)
                            if row_id > stream[1]:
                                overshoot = True  # the next stream's territory: it reads these itself
                                break
                            last = row_id
                            yield row
                        if len(rows) == PAGE_SIZE and not overshoot:
                            rows_seen += PAGE_SIZE
                            span_seen += max(1, last - stream[0])
                            idle.append([last, stream[1]])
                density = rows_seen / span_seen
                if transient is not None:
                    waits += 1
                    if waits > self.max_retries * 4:
                        raise Bitrix24RetryExhausted(transient.code, transient.description, f"{method} (batch)", None)
                    self._sleep(self._transient_wait(transient, time_block))
        # 4. records created during the export have IDs above max_id
        after = max_id
        while True:
            page = rows_of(self.call(method, self._fast_params(base, user_filter, select, id_field, after))["result"])
            yield from page
            if len(page) < PAGE_SIZE:
                return
            after = max(_int_id(r.get(id_field), method, id_field) for r in page)

    def list_modified_since(
        self,
        method: str,
        since: datetime,
        field: str = "DATE_MODIFY",
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Records with `field > since` (fast mode, ID order)."""
        merged = dict(params or {})
        merged["filter"] = {**dict(merged.get("filter") or {}), f">{field}": since.isoformat(timespec="seconds")}
        return self.list_all(method, merged)

    def list_ids(self, method: str, params: Mapping[str, Any] | None = None, *, id_field: str = "ID") -> set[str]:
        """The IDs of every live record (for deletion reconciliation)."""
        merged = dict(params or {})
        merged["select"] = [id_field]
        return {str(row[id_field]) for row in self.list_all(method, merged, id_field=id_field)}

    def list_paged(self, method: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Plain offset paging following `next`; for small dictionaries (users, statuses, ...)
        whose methods have no ID filter."""
        start = 0
        while True:
            answer = self.call(method, {**dict(params or {}), "start": start})
            yield from rows_of(answer.get("result"))
            nxt = answer.get("next")
            if nxt is None or int(nxt) <= start:
                return
            start = int(nxt)

    def get_many(
        self, method: str, param_sets: Mapping[str, Mapping[str, Any]]
    ) -> Iterator[tuple[str, Any]]:
        """Run one call per entry (e.g. `crm.deal.productrows.get` per deal) in batches of 50,
        `concurrency` batches in flight; yield `(key, result)` as batches complete. Transient
        per-command errors are retried; others raise `Bitrix24Error` naming the command."""
        queue = list(param_sets)
        in_flight: dict[Future[BatchResult], list[str]] = {}
        attempts = 0
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="b24-get") as pool:
            while queue or in_flight:
                while queue and len(in_flight) < self.concurrency:
                    keys, queue = queue[:MAX_BATCH], queue[MAX_BATCH:]
                    commands = {f"k{key}": (method, param_sets[key]) for key in keys}
                    in_flight[pool.submit(self.batch, commands)] = keys
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                transient: Bitrix24Error | None = None
                time_block: dict[str, Any] = {}
                for future in done:
                    keys = in_flight.pop(future)
                    answer = future.result()
                    for key in keys:
                        ckey = f"k{key}"
                        if ckey in answer.errors:
                            err = answer.errors[ckey]
                            if err.code not in TRANSIENT_CODES:
                                raise Bitrix24Error(err.code, err.description, f"{method} (batch command {ckey})", None)
                            transient, time_block = err, answer.time
                            queue.append(key)
                            continue
                        yield key, answer.result.get(ckey)
                if transient is not None:
                    attempts += 1
                    if attempts > self.max_retries:
                        raise Bitrix24RetryExhausted(transient.code, transient.description, f"{method} (batch)", None)
                    self._sleep(self._transient_wait(transient, time_block))
                elif done:
                    attempts = 0


def _int_id(value: Any, method: str, id_field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Bitrix24Error("", f"record without a numeric {id_field}: {value!r}", method, None) from None
