"""A faithful fake Bitrix24 REST portal on loopback, serving a demo data directory.

It answers like a real portal: inbound-webhook and OAuth URLs, JSON or PHP-style form/query
parameters, string-typed legacy list records in pages of 50 with `total`/`next`, fast mode
(`start=-1`), `batch`, the leaky-bucket rate limit (503 QUERY_LIMIT_EXCEEDED), per-method
operating time (429 OPERATION_TIME_LIMIT), auth and scope errors, and injected faults.
Writes (custom fields, company updates, tasks, to-dos) are kept and optionally saved to a
JSON state file so a demo can show what was pushed.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

try:
    import orjson
except ImportError:  # pragma: no cover - the standard json module is the fallback
    orjson = None  # type: ignore[assignment]

from hc_demo.fakes.bitrix24_discovery import BASIC_METHODS, DISCOVERY_METHODS
from hc_demo.fakes.bitrix24_store import (
    LIST_METHODS,
    PORTAL_TZ,
    SELECTABLE,
    FilterError,
    Store,
    apply_order,
    apply_select,
    matches,
    now_portal,
    parse_filter,
)
from hc_demo.fakes.faults import HTML_ERROR_PAGE, Fault, FaultQueue
from hc_demo.fakes.loopback_server import FakeRequestHandler, LoopbackServer, ServedOnLoopback, serve_until_interrupted
from hc_demo.fakes.php_query import parse_php_query
from hc_demo.fakes.rate_limits import LeakyBucket, OperatingTime

PAGE_SIZE = 50
MAX_BATCH = 50
DEFAULT_SCOPES = frozenset({"crm", "user", "department", "task"})
# seconds of simulated server time per call and per returned / scanned row
COST_PER_CALL_S = 0.01
COST_PER_ROW_S = 0.002
COST_PER_COUNTED_ROW_S = 0.0002
USERFIELD_NAME = re.compile(r"^UF_CRM_[A-Z0-9_]+$")


class ApiError(Exception):
    """An error answer: HTTP status plus the Bitrix24 error body."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.description}


def _not_found() -> ApiError:
    return ApiError(400, "", "Not found")


@dataclass
class RequestRecord:
    method: str
    status: int
    at: float


@dataclass
class Outcome:
    """A successful method call: the body without `time`, and the server seconds it used."""

    body: dict[str, Any]
    cost_s: float


def _scope_of(method: str) -> str:
    if method.startswith("tasks."):
        return "task"
    if method.startswith("user."):
        return "user"
    if method.startswith("department."):
        return "department"
    return method.split(".", 1)[0]


def _int_param(params: dict[str, Any], *names: str) -> int | None:
    for name in names:
        if name in params and params[name] not in (None, ""):
            try:
                return int(params[name])
            except (TypeError, ValueError):
                raise ApiError(400, "", f"Parameter '{name}' must be integer.") from None
    return None


def _camel(name: str) -> str:
    parts = name.lower().split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


class FakeBitrix24(ServedOnLoopback):
    _thread_name = "fake-bitrix24"

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_user_id: int = 1,
        webhook_secret: str | None = None,
        rate_per_s: float = 2.0,
        burst: int = 50,
        operating_limit_s: float = 480.0,
        operating_window_s: float = 600.0,
        time_scale: float = 1.0,
        state_file: Path | None = None,
        scopes: frozenset[str] = DEFAULT_SCOPES,
    ) -> None:
        data_dir = Path(data_dir)
        if (data_dir / "bitrix24").is_dir():
            data_dir = data_dir / "bitrix24"
        if not data_dir.is_dir():
            raise FileNotFoundError(f"Bitrix24 demo data directory not found: {data_dir}")
        self.store = Store(data_dir)
        self.host = host
        self._port = port
        self.webhook_user_id = webhook_user_id
        self.webhook_secret = webhook_secret or secrets.token_hex(8)
        self.bucket = LeakyBucket(rate_per_s, burst)
        self.operating = OperatingTime(operating_limit_s, operating_window_s)
        self.time_scale = time_scale
        self.state_file = state_file
        self.scopes = scopes
        self.faults = FaultQueue()
        self.requests_log: list[RequestRecord] = []
        self.lock = threading.RLock()
        # OAuth
        self.client_id = "local.happyclient.fake"
        self.client_secret = secrets.token_hex(16)
        self.refresh_token = secrets.token_hex(16)
        self._access_tokens: dict[str, float] = {}
        # write-back state
        self.userfields: list[dict[str, Any]] = [
            {
                "ID": str(100 + i),
                "ENTITY_ID": "CRM_COMPANY",
                "FIELD_NAME": name,
                "USER_TYPE_ID": "string",
                "XML_ID": None,
                "SORT": "100",
                "MULTIPLE": "N",
                "MANDATORY": "N",
                "SHOW_FILTER": "E",
                "SHOW_IN_LIST": "Y",
                "EDIT_IN_LIST": "Y",
                "IS_SEARCHABLE": "N",
                "SETTINGS": {},
            }
            for i, name in enumerate(("UF_CRM_HC_REGION", "UF_CRM_HC_CHANNEL", "UF_CRM_HC_POTENTIAL", "UF_CRM_HC_SIZE"))
        ]
        # a portal shaped like a real one brings its own custom fields (see hc_demo.fakes.real_portal)
        userfields_file = data_dir / "company_userfields.json"
        if userfields_file.exists():
            self.userfields = json.loads(userfields_file.read_text(encoding="utf-8"))
        self.tasks: list[dict[str, Any]] = []
        self.todos: list[dict[str, Any]] = []
        self.company_updates: list[dict[str, Any]] = []
        self._sorted_ids: dict[str, list[int]] = {}
        self._load_state()
        self._server: LoopbackServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def portal_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def webhook_url(self) -> str:
        return f"{self.portal_url}rest/{self.webhook_user_id}/{self.webhook_secret}/"

    @property
    def oauth_url(self) -> str:
        return f"{self.portal_url}oauth/token/"

    # -- test hooks ----------------------------------------------------------------------------
    def inject(self, kind: str, count: int = 1, method: str | None = None, delay_s: float = 5.0) -> None:
        """Make the next `count` requests (of `method`, or any) fail: "overload" (503
        OVERLOAD_LIMIT), "html" (502 HTML page), "500" (INTERNAL_SERVER_ERROR), "timeout"
        (no answer for `delay_s`, then the connection closes), "drop" (connection closed),
        "slow" (a normal answer after `delay_s`)."""
        self.faults.add(kind, count, method, delay_s)

    def upsert(self, entity: str, record: dict[str, Any]) -> dict[str, Any]:
        """Add or change a record (entity: "deals" or "crm.deal.list"); bumps DATE_MODIFY."""
        with self.lock:
            name = LIST_METHODS.get(entity, entity)
            self._sorted_ids.pop(name, None)
            return self.store.upsert(name, record)

    def delete(self, entity: str, record_id: int | str) -> bool:
        with self.lock:
            name = LIST_METHODS.get(entity, entity)
            self._sorted_ids.pop(name, None)
            return self.store.delete(name, record_id)

    def records(self, entity: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.store.entities[LIST_METHODS.get(entity, entity)]]

    def issue_access_token(self, lifetime_s: float = 3600.0) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self._access_tokens[token] = time.time() + lifetime_s
        return token

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self._access_tokens:
                self._access_tokens[token] = 0.0

    def calls(self, method: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests_log if r.method == method)

    # -- state file ---------------------------------------------------------------------------
    def _load_state(self) -> None:
        if not self.state_file or not Path(self.state_file).exists():
            return
        state = json.loads(Path(self.state_file).read_text(encoding="utf-8"))
        known = {u["FIELD_NAME"] for u in self.userfields}
        self.userfields += [u for u in state.get("userfields", []) if u["FIELD_NAME"] not in known]
        self.tasks = state.get("tasks", [])
        self.todos = state.get("todos", [])
        self.company_updates = state.get("company_updates", [])
        for update in self.company_updates:
            company = self.store.find("companies", update["id"])
            if company is not None:
                company.update(update["fields"])

    def _save_state(self) -> None:
        if not self.state_file:
            return
        path = Path(self.state_file)
        tmp = path.with_suffix(path.suffix + ".tmp")
        state = {
            "userfields": self.userfields,
            "tasks": self.tasks,
            "todos": self.todos,
            "company_updates": self.company_updates,
        }
        tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)

    # -- request pipeline ------------------------------------------------------------------------
    def _time_block(
        self, started: float, method: str, reset_at: float | None, operating: float | None
    ) -> dict[str, Any]:
        finished = time.time()
        block: dict[str, Any] = {
            "start": started,
            "finish": finished,
            "duration": finished - started,
            "processing": finished - started,
            "date_start": datetime.fromtimestamp(started, PORTAL_TZ).replace(microsecond=0).isoformat(),
            "date_finish": datetime.fromtimestamp(finished, PORTAL_TZ).replace(microsecond=0).isoformat(),
        }
        if reset_at is not None:
            block["operating_reset_at"] = int(reset_at)
            block["operating"] = operating
        return block

    def call(self, method: str, params: dict[str, Any], *, nested: bool = False) -> dict[str, Any]:
        """Run one method with operating-time accounting; returns the full answer body."""
        started = time.time()
        blocked, reset_at = self.operating.blocked(method)
        if blocked:
            raise ApiError(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.")
        outcome = self._dispatch(method, params)
        used, reset_at = self.operating.spend(method, outcome.cost_s * self.time_scale)
        body = dict(outcome.body)
        body["time"] = self._time_block(started, method, reset_at, used)
        return body

    def _dispatch(self, method: str, params: dict[str, Any]) -> Outcome:
        if _scope_of(method) not in self.scopes and method not in BASIC_METHODS:
            raise ApiError(
                403, "insufficient_scope", "The request requires higher privileges than provided by the webhook token"
            )
        with self.lock:
            if method in LIST_METHODS:
                return self._list(method, params)
            handler = _WRITE_AND_GET.get(method)
            if handler is None:
                raise ApiError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
            return handler(self, params)

    # -- read methods ----------------------------------------------------------------------------
    def _ids(self, entity: str) -> list[int] | None:
        """Numeric ids in row order when the rows are sorted by numeric ID (else None)."""
        if entity not in self._sorted_ids:
            key = self.store.id_field(entity)
            rows = self.store.entities[entity]
            try:
                ids = [int(r[key]) for r in rows]
            except (KeyError, TypeError, ValueError):
                ids = []
            if ids != sorted(ids):
                rows.sort(key=lambda r: int(r[key]))
                ids = sorted(ids)
            self._sorted_ids[entity] = ids
        return self._sorted_ids[entity]

    def _list(self, method: str, params: dict[str, Any]) -> Outcome:
        entity = LIST_METHODS[method]
        if method == "crm.stagehistory.list":
            type_id = _int_param(params, "entityTypeId", "ENTITY_TYPE_ID")
            if type_id is None:
                raise ApiError(400, "", "Parameter 'entityTypeId' is required.")
            if type_id != 2:
                return Outcome({"result": {"items": []}, "total": 0}, COST_PER_CALL_S)
        if method == "crm.category.list" and _int_param(params, "entityTypeId") not in (2, None):
            return Outcome({"result": {"categories": []}, "total": 0}, COST_PER_CALL_S)
        raw_filter = params.get("filter", params.get("FILTER"))
        try:
            conditions = parse_filter(raw_filter)
        except FilterError as e:
            raise ApiError(400, "", str(e)) from None
        order = params.get("order", params.get("ORDER", params.get("sort")))
        start = _int_param(params, "start") or 0
        fast = start == -1
        key = self.store.id_field(entity)
        rows = self.store.entities[entity]
        default_order = (
            not order
            or (isinstance(order, dict) and list(order.items()) == [(key, "ASC")])
            or (isinstance(order, dict) and [(k, str(v).upper()) for k, v in order.items()] == [(key, "ASC")])
        )
        ids = self._ids(entity) if default_order else None
        begin = 0
        if ids:
            rest = []
            for condition in conditions:
                field, op, value = condition
                if field == key and op in (">", ">=") and not isinstance(value, list):
                    try:
                        number = float(value)
                        bound = int(number)
                    except (TypeError, ValueError, OverflowError):
                        rest.append(condition)
                        continue
                    pos = bisect.bisect_right(ids, bound) if op == ">" else bisect.bisect_left(ids, bound)
                    begin = max(begin, pos)
                    if number != bound:
                        rest.append(condition)  # a fractional bound: let matches() decide
                    continue  # rows from `begin` on satisfy this integral ID bound
                rest.append(condition)
            if fast:
                conditions = rest
        scanned = 0
        if fast:
            page = []
            # rows from `begin` by index: slicing or islice would cost O(begin) per page
            candidates = map(rows.__getitem__, range(begin, len(rows))) if ids else apply_order(list(rows), order, key)
            for row in candidates:
                scanned += 1
                if not conditions or matches(row, conditions):
                    page.append(row)
                    if len(page) == PAGE_SIZE:
                        break
            total = 0
            next_start = None
        else:
            candidates = rows[begin:] if ids else rows
            found = [r for r in candidates if matches(r, conditions)]
            scanned = len(candidates)
            if not ids:
                found = apply_order(found, order, key)
            total = len(found)
            page = found[start : start + PAGE_SIZE]
            next_start = start + PAGE_SIZE if start + PAGE_SIZE < total else None
        select = params.get("select", params.get("SELECT"))
        if entity in SELECTABLE:
            # "*" + "UF_*" (every field) shares the stored dicts instead of copying them: the
            # answer is serialised under `lock` (see _Handler._send), so it shows each record as
            # stored at that moment, never a half-applied write
            every = isinstance(select, list) and "*" in select and "UF_*" in select
            result_rows = list(page) if every else [apply_select(r, select) for r in page]
        else:
            result_rows = [dict(r) for r in page]
        result: Any = result_rows
        if method == "crm.stagehistory.list":
            result = {"items": result_rows}
        elif method == "crm.category.list":
            result = {"categories": result_rows}
        body: dict[str, Any] = {"result": result}
        if next_start is not None:
            body["next"] = next_start
        body["total"] = total
        cost = COST_PER_CALL_S + COST_PER_ROW_S * len(page) + (0.0 if fast else COST_PER_COUNTED_ROW_S * scanned)
        return Outcome(body, cost)

    def _get(self, entity: str, params: dict[str, Any]) -> Outcome:
        record_id = _int_param(params, "id", "ID")
        if record_id is None:
            raise ApiError(400, "", "ID is not defined or invalid.")
        record = self.store.find(entity, record_id)
        if record is None:
            raise _not_found()
        return Outcome({"result": dict(record)}, COST_PER_CALL_S)

    def _product_rows(self, params: dict[str, Any]) -> Outcome:
        deal_id = _int_param(params, "id", "ID")
        if deal_id is None:
            raise ApiError(400, "", "ID is not defined or invalid.")
        if self.store.find("deals", deal_id) is None:
            raise _not_found()
        rows = [dict(r) for r in self.store.product_rows(deal_id)]
        return Outcome({"result": rows}, COST_PER_CALL_S + COST_PER_ROW_S * len(rows))

    # -- write methods ----------------------------------------------------------------------------
    def _userfield_list(self, params: dict[str, Any]) -> Outcome:
        raw_filter = params.get("filter")
        if isinstance(raw_filter, dict):  # LANG chooses the labels' language; it filters nothing
            raw_filter = {k: v for k, v in raw_filter.items() if k != "LANG"}
        conditions = parse_filter(raw_filter)
        rows = [dict(u) for u in self.userfields if matches(u, conditions)]
        return Outcome({"result": rows, "total": len(rows)}, COST_PER_CALL_S)

    def _userfield_add(self, params: dict[str, Any]) -> Outcome:
        fields = params.get("fields")
        if not isinstance(fields, dict) or not fields.get("FIELD_NAME"):
            raise ApiError(400, "", "Parameter 'fields' must contain FIELD_NAME.")
        name = str(fields["FIELD_NAME"]).upper()
        if not name.startswith("UF_CRM_"):
            name = "UF_CRM_" + name
        if len(name) > 50 or not USERFIELD_NAME.match(name):
            raise ApiError(
                400,
                "ERROR_CORE",
                "Код поля должен содержать только латинские буквы, цифры и знак подчеркивания и быть не длиннее 50 символов",
            )
        if any(u["FIELD_NAME"] == name for u in self.userfields):
            raise ApiError(400, "ERROR_CORE", f"Пользовательское поле {name} уже существует")
        new_id = 7000 + len(self.userfields)
        record = {
            "ID": str(new_id),
            "ENTITY_ID": "CRM_COMPANY",
            "FIELD_NAME": name,
            "USER_TYPE_ID": str(fields.get("USER_TYPE_ID", "string")),
            "XML_ID": fields.get("XML_ID"),
            "SORT": str(fields.get("SORT", "100")),
            "MULTIPLE": str(fields.get("MULTIPLE", "N")),
            "MANDATORY": "N",
            "SHOW_FILTER": "E",
            "SHOW_IN_LIST": "Y",
            "EDIT_IN_LIST": "Y",
            "IS_SEARCHABLE": "N",
            "SETTINGS": fields.get("SETTINGS") or {},
            "EDIT_FORM_LABEL": fields.get("EDIT_FORM_LABEL") or fields.get("LABEL"),
        }
        self.userfields.append(record)
        self._save_state()
        return Outcome({"result": new_id}, COST_PER_CALL_S)

    def _company_update(self, params: dict[str, Any]) -> Outcome:
        company_id = _int_param(params, "id", "ID")
        if company_id is None:
            raise ApiError(400, "", "ID is not defined or invalid.")
        company = self.store.find("companies", company_id)
        if company is None:
            raise _not_found()
        fields = params.get("fields")
        if not isinstance(fields, dict):
            raise ApiError(400, "", "Parameter 'fields' must be array.")
        known_uf = {u["FIELD_NAME"] for u in self.userfields}
        applied = {
            k: v
            for k, v in fields.items()
            if (k in known_uf) or (not k.startswith("UF_") and k in company and k != "ID")
        }
        if applied:
            company.update({k: (v if isinstance(v, list | dict) or v is None else str(v)) for k, v in applied.items()})
            company["DATE_MODIFY"] = now_portal()
            self.company_updates.append({"id": company_id, "fields": applied, "at": company["DATE_MODIFY"]})
            self._save_state()
        return Outcome({"result": True}, COST_PER_CALL_S)

    def _task_view(self, task: dict[str, Any]) -> dict[str, Any]:
        return {_camel(k) if not k.startswith("UF_") else k: v for k, v in task.items()}

    def _task_add(self, params: dict[str, Any]) -> Outcome:
        fields = params.get("fields")
        if not isinstance(fields, dict) or not fields.get("TITLE") or not fields.get("RESPONSIBLE_ID"):
            raise ApiError(400, "ERROR_CORE", "Не указаны обязательные поля: TITLE, RESPONSIBLE_ID")
        task = {"ID": str(len(self.tasks) + 1), "STATUS": "2", "CREATED_DATE": now_portal()}
        task.update({k.upper(): v for k, v in fields.items()})
        task["ID"] = str(len(self.tasks) + 1)
        self.tasks.append(task)
        self._save_state()
        return Outcome({"result": {"task": self._task_view(task)}}, COST_PER_CALL_S)

    def _task_list(self, params: dict[str, Any]) -> Outcome:
        raw = params.get("filter") or {}
        try:
            conditions = parse_filter({k.upper(): v for k, v in raw.items()} if isinstance(raw, dict) else raw)
        except FilterError as e:
            raise ApiError(400, "", str(e)) from None
        found = [t for t in self.tasks if matches(t, conditions)]
        start = _int_param(params, "start") or 0
        page = found[start : start + PAGE_SIZE]
        body: dict[str, Any] = {"result": {"tasks": [self._task_view(t) for t in page]}}
        if start + PAGE_SIZE < len(found):
            body["next"] = start + PAGE_SIZE
        body["total"] = len(found)
        return Outcome(body, COST_PER_CALL_S + COST_PER_ROW_S * len(page))

    def _task_update(self, params: dict[str, Any]) -> Outcome:
        task_id = _int_param(params, "taskId", "TASKID", "id")
        fields = params.get("fields")
        task = next((t for t in self.tasks if task_id is not None and t["ID"] == str(task_id)), None)
        if task is None:
            raise ApiError(400, "ERROR_CORE", "Задача не найдена или доступ запрещен")
        if not isinstance(fields, dict):
            raise ApiError(400, "", "Parameter 'fields' must be array.")
        task.update({k.upper(): v for k, v in fields.items() if k.upper() != "ID"})
        self._save_state()
        return Outcome({"result": {"task": self._task_view(task)}}, COST_PER_CALL_S)

    def _todo_add(self, params: dict[str, Any]) -> Outcome:
        owner_type = _int_param(params, "ownerTypeId")
        owner_id = _int_param(params, "ownerId")
        deadline = params.get("deadline")
        if owner_type is None or owner_id is None or not deadline:
            raise ApiError(400, "", "Required parameters: ownerTypeId, ownerId, deadline")
        new_id = self.store.next_id("activities")
        responsible = str(params.get("responsibleId") or self.webhook_user_id)
        now = now_portal()
        activity = {
            "ID": str(new_id),
            "OWNER_ID": str(owner_id),
            "OWNER_TYPE_ID": str(owner_type),
            "TYPE_ID": "6",
            "PROVIDER_ID": "CRM_TODO",
            "PROVIDER_TYPE_ID": "TODO",
            "SUBJECT": str(params.get("title") or ""),
            "DESCRIPTION": str(params.get("description") or ""),
            "CREATED": now,
            "LAST_UPDATED": now,
            "START_TIME": None,
            "END_TIME": str(deadline),
            "DEADLINE": str(deadline),
            "COMPLETED": "N",
            "STATUS": "1",
            "RESPONSIBLE_ID": responsible,
            "DIRECTION": "0",
        }
        self.store.append("activities", activity)
        self._sorted_ids.pop("activities", None)
        self.todos.append(activity)
        self._save_state()
        return Outcome({"result": {"id": new_id}}, COST_PER_CALL_S)

    # -- batch ----------------------------------------------------------------------------------
    def batch(self, params: dict[str, Any]) -> dict[str, Any]:
        started = time.time()
        commands = params.get("cmd")
        if isinstance(commands, list):
            commands = {str(i): c for i, c in enumerate(commands)}
        if not isinstance(commands, dict) or not commands:
            raise ApiError(400, "", "Parameter 'cmd' must be array.")
        if len(commands) > MAX_BATCH:
            raise ApiError(400, "ERROR_BATCH_LENGTH_EXCEEDED", f"Max batch length exceeded ({MAX_BATCH})")
        halt = str(params.get("halt", "0")) not in ("0", "", "false", "False")
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        totals: dict[str, Any] = {}
        nexts: dict[str, Any] = {}
        times: dict[str, Any] = {}
        for key, command in commands.items():
            split = urlsplit(str(command))
            method = split.path.strip("/").removesuffix(".json")
            try:
                if method == "batch":
                    raise ApiError(400, "", "Nested batch is not allowed")
                answer = self.call(method, parse_php_query(split.query), nested=True)
            except ApiError as e:
                errors[key] = e.body()
                if halt:
                    break
                continue
            results[key] = answer["result"]
            if "total" in answer:
                totals[key] = answer["total"]
            if "next" in answer:
                nexts[key] = answer["next"]
            times[key] = answer["time"]
        inner = {
            "result": results or [],
            "result_error": errors or [],
            "result_total": totals or [],
            "result_next": nexts or [],
            "result_time": times or [],
        }
        return {"result": inner, "time": self._time_block(started, "batch", None, None)}

    # -- OAuth ----------------------------------------------------------------------------------
    def oauth_refresh(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("grant_type") != "refresh_token":
            raise ApiError(400, "invalid_request", "grant_type must be refresh_token")
        if params.get("client_id") != self.client_id or params.get("client_secret") != self.client_secret:
            raise ApiError(401, "invalid_client", "Invalid client credentials")
        if params.get("refresh_token") != self.refresh_token:
            raise ApiError(400, "invalid_grant", "Invalid refresh token")
        access = self.issue_access_token()
        with self.lock:
            self.refresh_token = secrets.token_hex(16)
        return {
            "access_token": access,
            "client_endpoint": f"{self.portal_url}rest/",
            "domain": "oauth.bitrix.info",
            "expires": int(time.time() + 3600),
            "expires_in": 3600,
            "member_id": "c0ffee" * 5 + "00",
            "refresh_token": self.refresh_token,
            "scope": ",".join(sorted(self.scopes)),
            "server_endpoint": f"{self.portal_url}rest/",
            "status": "L",
            "user_id": self.webhook_user_id,
        }

    def check_token(self, token: str | None) -> None:
        if not token:
            raise ApiError(401, "NO_AUTH_FOUND", "Wrong authorization data")
        with self.lock:
            expires = self._access_tokens.get(token)
        if expires is None:
            raise ApiError(401, "invalid_token", "The access token provided is invalid.")
        if expires < time.time():
            raise ApiError(401, "expired_token", "The access token provided has expired")


_WRITE_AND_GET: dict[str, Any] = {
    "crm.company.get": lambda f, p: f._get("companies", p),
    "crm.deal.get": lambda f, p: f._get("deals", p),
    "crm.lead.get": lambda f, p: f._get("leads", p),
    "crm.contact.get": lambda f, p: f._get("contacts", p),
    "crm.deal.productrows.get": FakeBitrix24._product_rows,
    "crm.company.userfield.list": FakeBitrix24._userfield_list,
    "crm.company.userfield.add": FakeBitrix24._userfield_add,
    "crm.company.update": FakeBitrix24._company_update,
    "tasks.task.add": FakeBitrix24._task_add,
    "tasks.task.list": FakeBitrix24._task_list,
    "tasks.task.update": FakeBitrix24._task_update,
    "crm.activity.todo.add": FakeBitrix24._todo_add,
    **DISCOVERY_METHODS,
}


def _dumps(body: dict[str, Any]) -> bytes:
    """The JSON answer (orjson when installed: a 50-command batch of full records is ~1.5 MB)."""
    if orjson is not None:
        try:
            return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            pass  # e.g. an integer wider than 64 bits: let the standard module handle it
    return json.dumps(body).encode("utf-8")


_REST_WEBHOOK = re.compile(r"^/rest/(\d+)/([^/]+)/([A-Za-z0-9_.]+?)(?:\.json)?/?$")
_REST_OAUTH = re.compile(r"^/rest/([A-Za-z0-9_.]+?)(?:\.json)?/?$")


class _Handler(FakeRequestHandler):
    owner: FakeBitrix24
    server_version = "nginx"

    def do_POST(self) -> None:
        self._handle()

    def _params(self) -> dict[str, Any]:
        split = urlsplit(self.path)
        params = parse_php_query(split.query)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            raw = self.rfile.read(length).decode("utf-8")
            ctype = (self.headers.get("Content-Type") or "").lower()
            if "json" in ctype or raw.lstrip().startswith("{"):
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    raise ApiError(400, "INVALID_REQUEST", "Invalid JSON body") from None
                if isinstance(body, dict):
                    params.update(body)
            else:
                params.update(parse_php_query(raw))
        return params

    def _send(
        self, status: int, body: dict[str, Any] | str, content_type: str = "application/json; charset=utf-8"
    ) -> None:
        # serialised while the lock is held, so a concurrent write cannot change a shared record
        if isinstance(body, str):
            data = body.encode("utf-8")
        else:
            with self.owner.lock:
                data = _dumps(body)
        self._send_bytes(status, data, content_type)

    def _fault(self, fault: Fault) -> bool:
        """Apply an injected fault; True when the request is finished."""
        ended = self._fault_transport(fault)
        if ended is not None:
            return ended
        if fault.kind == "html":
            self._send(502, HTML_ERROR_PAGE.format(status=502), "text/html")
        elif fault.kind == "overload":
            self._send(503, {"error": "OVERLOAD_LIMIT", "error_description": "REST API is blocked due to overload."})
        else:
            self._send(500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"})
        return True

    def _handle(self) -> None:
        fake = self.owner
        path = urlsplit(self.path).path
        method = self._method = "?"
        self.start_request()
        status = 200
        try:
            if path.rstrip("/") == "/oauth/token":
                method = self._method = "oauth.token"
                self._send(200, fake.oauth_refresh(self._params()))
                return
            m = _REST_WEBHOOK.match(path)
            if m:
                method = self._method = m.group(3)
                if int(m.group(1)) != fake.webhook_user_id or not secrets.compare_digest(
                    m.group(2).encode(), fake.webhook_secret.encode()
                ):
                    raise ApiError(401, "NO_AUTH_FOUND", "Wrong authorization data")
                params = self._params()
            else:
                m2 = _REST_OAUTH.match(path)
                if not m2:
                    raise ApiError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
                method = self._method = m2.group(1)
                params = self._params()
                fake.check_token(params.pop("auth", None))
            fault = fake.faults.take(method)
            if fault is not None and self._fault(fault):
                status = -1
                return
            if not fake.bucket.admit():
                raise ApiError(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
            body = fake.batch(params) if method == "batch" else fake.call(method, params)
            self._send(200, body)
        except ApiError as e:
            status = e.status
            self._send(e.status, e.body())
        except Exception as e:  # a bug in the fake must still answer like a portal would
            status = 500
            self._send(500, {"error": "INTERNAL_SERVER_ERROR", "error_description": type(e).__name__})
        finally:
            self.record_once(status)  # a request that got no answer (a dropped connection): status -1

    def log_request_entry(self, status: int) -> RequestRecord:
        return RequestRecord(self._method, status, time.time())


FakeBitrix24.handler = _Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hc_demo.fakes.bitrix24", description="Serve a fake Bitrix24 portal."
    )
    parser.add_argument("--data", type=Path, required=True, help="demo data directory (from python -m hc_demo)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--url-file", type=Path, help="write the webhook URL (a secret) here, mode 0600")
    parser.add_argument("--state-file", type=Path, help="persist write-back calls here (JSON)")
    parser.add_argument("--rate", type=float, default=2.0, help="requests per second drained by the leaky bucket")
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument(
        "--operating-limit",
        type=float,
        default=480.0,
        help="server seconds each method may use per 10-minute window before 429 OPERATION_TIME_LIMIT",
    )
    args = parser.parse_args(argv)
    fake = FakeBitrix24(
        args.data,
        host=args.host,
        port=args.port,
        rate_per_s=args.rate,
        burst=args.burst,
        state_file=args.state_file,
        operating_limit_s=args.operating_limit,
    )
    return serve_until_interrupted(fake, args.url_file, lambda: fake.webhook_url + "\n")


if __name__ == "__main__":
    sys.exit(main())
