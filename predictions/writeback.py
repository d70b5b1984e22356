"""Push the analytics back into Bitrix24: company custom fields and tasks for managers.

Idempotent and resumable by construction: every run compares what the warehouse wants with
what the portal holds right now, and writes only the difference.

1. Kill switch: `enabled=False` or env `WRITEBACK_ENABLED=false` -> nothing is read or written.
2. Custom fields (`predictions.writeback_plan.COMPANY_FIELDS`): `crm.company.userfield.list`,
   then `crm.company.userfield.add` for the missing ones (Bitrix24 prefixes `UF_CRM_`).
3. Company values: current values via `crm.company.list` (fast mode, `select` = the fields),
   `crm.company.update` in batches of 50 only for changed values, then read back with
   `crm.company.get` (Bitrix24 ignores unknown fields silently, so a value that did not take
   is reported as an error).
4. Tasks: every task title carries a marker `[HC:<action_key>]`; existing markers are read with
   `tasks.task.list`, only missing tasks are added (`tasks.task.add`, batches of 50). Task creation
   is not idempotent on the server, so a failed batch is never blindly retried: the markers are
   re-read first and only the tasks still missing are sent again.
5. Every write (and, with dry_run, every write that would happen) goes to
   `ingest_state.writeback_audit`.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from hc_base.clickhouse import engine_of, warehouse
from hc_base.redact import redact

from .writeback_plan import (
    COMPANY_FIELDS,
    MARKER_RE,
    CompanyField,
    TaskAction,
    WritebackError,
    desired_company_values,
    desired_tasks,
    normalise,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
TASK_ATTEMPTS = 3
FIELDS_BY_NAME = {f.field_name: f for f in COMPANY_FIELDS}

AUDIT_DDL = """
create schema if not exists ingest_state;
create table if not exists ingest_state.writeback_audit (
    run_id text not null,
    entity text not null,
    entity_id text,
    field text,
    before text,
    after text,
    action text not null,
    at timestamptz not null,
    dry_run boolean not null
);
"""
AUDIT_CLICKHOUSE_DDL = [
    "create database if not exists ingest_state",
    """create table if not exists ingest_state.writeback_audit (
        run_id String, entity String, entity_id Nullable(String), field Nullable(String),
        before Nullable(String), after Nullable(String), action String, at DateTime64(6, 'UTC'), dry_run Bool)
        engine = MergeTree order by (run_id, at)""",
]
AUDIT_COLUMNS = ("run_id", "entity", "entity_id", "field", "before", "after", "action", "at", "dry_run")


class BatchClient(Protocol):
    """The part of `ingestion.bitrix24.client.Bitrix24Client` the write-back uses."""

    max_retries: int
    error: type[Exception]  # what a call Bitrix24 refused raises (`Bitrix24Error`)

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]: ...

    def batch(self, commands: Any, halt: bool = False) -> Any: ...

    def list_all(self, method: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]: ...


@dataclass
class PushReport:
    run_id: str
    dry_run: bool
    disabled: bool = False
    fields_created: list[str] = field(default_factory=list)
    companies_checked: int = 0
    companies_updated: int = 0
    values_written: int = 0
    tasks_created: int = 0
    tasks_already_present: int = 0
    diff: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def failure(self, shown: int = 5) -> str:
        """The errors as one message for a failed command or Dagster step (already redacted)."""
        listed = "; ".join(self.errors[:shown])
        more = f" (and {len(self.errors) - shown} more)" if len(self.errors) > shown else ""
        return f"write-back {self.run_id} failed with {len(self.errors)} error(s): {listed}{more}"

    def summary(self) -> str:
        if self.disabled:
            return "write-back to Bitrix24 is disabled (WRITEBACK_ENABLED=false): nothing was read or written"
        mode = "dry run, nothing written" if self.dry_run else "written"
        return (
            f"write-back {self.run_id} ({mode}): fields created {len(self.fields_created)}, "
            f"companies checked {self.companies_checked}, updated {self.companies_updated} "
            f"({self.values_written} values), tasks created {self.tasks_created}, "
            f"already present {self.tasks_already_present}, errors {len(self.errors)}"
        )


def writeback_enabled_from_env(env: dict[str, str] | None = None) -> bool:
    """WRITEBACK_ENABLED: true/1/yes/on enable, false/0/no/off disable; unset = disabled."""
    raw = (env if env is not None else os.environ).get("WRITEBACK_ENABLED", "").strip().lower()
    return raw in ("1", "true", "yes", "on")


def writeback_switched_off(env: dict[str, str] | None = None) -> bool:
    """The kill switch: WRITEBACK_ENABLED explicitly false/0/no/off."""
    raw = (env if env is not None else os.environ).get("WRITEBACK_ENABLED", "").strip().lower()
    return raw in ("0", "false", "no", "off")


def _chunks(items: list[Any], size: int = BATCH_SIZE) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def _no_retries(client: BatchClient) -> Iterator[None]:
    """Non-idempotent calls (task creation) must not be retried blindly by the client."""
    saved = client.max_retries
    client.max_retries = 0
    try:
        yield
    finally:
        client.max_retries = saved


class _Run:
    def __init__(
        self, conn: Any, client: BatchClient, report: PushReport, log: Callable[[str], None]
    ) -> None:
        self.conn = conn
        self.client = client
        self.report = report
        self._log = log
        self._audit_rows: list[tuple[Any, ...]] = []

    def say(self, message: str) -> None:
        self._log(redact(message))

    def error(self, message: str) -> None:
        self.report.errors.append(redact(message))
        self.say(f"ERROR: {message}")

    def audit(
        self, entity: str, entity_id: str | None, field_name: str | None, before: Any, after: Any, action: str
    ) -> None:
        self._audit_rows.append(
            (
                self.report.run_id,
                entity,
                entity_id,
                field_name,
                None if before is None else redact(before),
                None if after is None else redact(after),
                action,
                datetime.now(UTC),
                self.report.dry_run,
            )
        )

    def flush_audit(self) -> None:
        """Store the buffered audit rows; called after every batch, so the audit survives a later failure."""
        if not self._audit_rows:
            return
        if engine_of(self.conn) == "clickhouse":
            self.conn.insert("ingest_state.writeback_audit", self._audit_rows, AUDIT_COLUMNS)
        else:
            with self.conn.cursor() as cur:
                cur.executemany(
                    f"insert into ingest_state.writeback_audit ({', '.join(AUDIT_COLUMNS)})"
                    " values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    self._audit_rows,
                )
        self.conn.commit()
        self._audit_rows = []

    # ------------------------------------------------------------------ fields

    def existing_fields(self) -> set[str]:
        answer = self.client.call("crm.company.userfield.list", {"filter": {}, "order": {"ID": "ASC"}})
        rows = answer.get("result") or []
        return {str(r.get("FIELD_NAME")) for r in rows if isinstance(r, dict)}

    def ensure_fields(self) -> set[str]:
        existing = self.existing_fields()
        missing = [f for f in COMPANY_FIELDS if f.field_name not in existing]
        for spec in missing:
            if self.report.dry_run:
                self.report.diff.append(f"field {spec.field_name}: would create ({spec.user_type}, «{spec.label}»)")
                self.audit("company_userfield", None, spec.field_name, None, spec.label, "would_create")
                continue
            self.client.call("crm.company.userfield.add", {"fields": _userfield_definition(spec)})
            self.report.fields_created.append(spec.field_name)
            self.audit("company_userfield", None, spec.field_name, None, spec.label, "create")
            self.flush_audit()
            self.say(f"created company field {spec.field_name}")
        if missing and not self.report.dry_run:
            existing = self.existing_fields()
            for spec in missing:
                if spec.field_name not in existing:
                    self.error(f"company field {spec.field_name} was added but the portal does not list it")
        return existing

    # ------------------------------------------------------------------ company values

    def current_values(self, company_ids: set[int]) -> dict[int, dict[str, Any]]:
        select = ["ID", *FIELDS_BY_NAME]
        current: dict[int, dict[str, Any]] = {}
        for row in self.client.list_all("crm.company.list", {"select": select}):
            company_id = int(row["ID"])
            if company_id in company_ids:
                current[company_id] = row
        return current

    def push_values(self, wanted: dict[int, dict[str, str | None]]) -> None:
        current = self.current_values(set(wanted))
        self.report.companies_checked = len(wanted)
        updates: list[tuple[int, dict[str, str | None], dict[str, Any]]] = []
        for company_id in sorted(wanted):
            if company_id not in current:
                self.error(f"company {company_id} (from dim_clients.bitrix24_company_id) is not in the portal")
                continue
            held = current[company_id]
            changed = {
                name: value
                for name, value in wanted[company_id].items()
                if normalise(FIELDS_BY_NAME[name], held.get(name)) != value
            }
            if changed:
                updates.append((company_id, changed, held))
        for company_id, changed, held in updates:
            for name, value in changed.items():
                self.report.diff.append(f"company {company_id} {name}: {held.get(name)!r} -> {value!r}")
        if self.report.dry_run:
            for company_id, changed, held in updates:
                for name, value in changed.items():
                    self.audit("company", str(company_id), name, held.get(name), value, "would_update")
            return
        for chunk in _chunks(updates):
            commands = {
                f"u{company_id}": (
                    "crm.company.update",
                    {"id": company_id, "fields": {k: ("" if v is None else v) for k, v in changed.items()}},
                )
                for company_id, changed, _ in chunk
            }
            result = self.client.batch(commands)
            for company_id, changed, held in chunk:
                key = f"u{company_id}"
                if key in result.errors:
                    self.error(f"company {company_id}: crm.company.update failed: {result.errors[key]}")
                    continue
                for name, value in changed.items():
                    self.audit("company", str(company_id), name, held.get(name), value, "update")
            self.flush_audit()
            self.verify(chunk)

    def verify(self, chunk: list[tuple[int, dict[str, str | None], dict[str, Any]]]) -> None:
        """Read the companies back: a value the portal did not keep is an error."""
        commands = {f"g{company_id}": ("crm.company.get", {"id": company_id}) for company_id, _, _ in chunk}
        result = self.client.batch(commands)
        for company_id, changed, _ in chunk:
            record = result.result.get(f"g{company_id}")
            if not isinstance(record, dict):
                self.error(
                    f"company {company_id}: could not read back after update ({result.errors.get(f'g{company_id}')})"
                )
                continue
            good = True
            for name, value in changed.items():
                held = normalise(FIELDS_BY_NAME[name], record.get(name))
                if held != value:
                    good = False
                    self.error(
                        f"company {company_id} field {name}: wrote {value!r}, portal holds {held!r} "
                        "(Bitrix24 ignores fields it does not know: does the field exist and may the webhook user edit it?)"
                    )
            if good:
                self.report.companies_updated += 1
                self.report.values_written += len(changed)

    # ------------------------------------------------------------------ tasks

    def existing_markers(self) -> set[str]:
        markers: set[str] = set()
        start = 0
        while True:
            answer = self.client.call(
                "tasks.task.list",
                {"filter": {"%TITLE": "[HC:"}, "select": ["ID", "TITLE"], "order": {"ID": "asc"}, "start": start},
            )
            result = answer.get("result") or {}
            tasks = result.get("tasks", []) if isinstance(result, dict) else result
            for task in tasks or []:
                title = str(task.get("title", task.get("TITLE", "")))
                markers.update(MARKER_RE.findall(title))
            if "next" not in answer or not tasks:
                return markers
            start = int(answer["next"])

    def push_tasks(self, actions: list[TaskAction]) -> None:
        if not actions:
            return
        present = self.existing_markers()
        todo = [a for a in actions if a.action_key not in present]
        self.report.tasks_already_present = len(actions) - len(todo)
        for action in todo:
            self.report.diff.append(f"task for user {action.responsible_id}: would create «{action.task_title}»")
        if self.report.dry_run:
            for action in todo:
                self.audit("task", None, "TITLE", None, action.task_title, "would_create")
            return
        for chunk in _chunks(todo):
            self._create_tasks(chunk)
            self.flush_audit()

    def _create_tasks(self, chunk: list[TaskAction]) -> None:
        remaining = chunk
        for attempt in range(1, TASK_ATTEMPTS + 1):
            commands = {f"t{i}": ("tasks.task.add", {"fields": _task_fields(a)}) for i, a in enumerate(remaining)}
            try:
                with _no_retries(self.client):
                    result = self.client.batch(commands)
            except self.client.error as exc:
                self.say(f"tasks.task.add batch failed ({exc}); re-reading task markers before retrying")
                time.sleep(min(5.0, 0.2 * attempt))
                present = self.existing_markers()
                created = [a for a in remaining if a.action_key in present]
                for action in created:
                    self._task_created(action, None)
                remaining = [a for a in remaining if a.action_key not in present]
                if not remaining:
                    return
                continue
            for i, action in enumerate(remaining):
                key = f"t{i}"
                if key in result.errors:
                    self.error(f"task «{action.task_title}» for user {action.responsible_id}: {result.errors[key]}")
                else:
                    answer = result.result.get(key)
                    task = answer.get("task", answer) if isinstance(answer, dict) else {}
                    task_id = task.get("id", task.get("ID")) if isinstance(task, dict) else None
                    self._task_created(action, None if task_id is None else str(task_id))
            return
        self.error(
            f"{len(remaining)} tasks not created after {TASK_ATTEMPTS} attempts; re-run the write-back to finish"
        )

    def _task_created(self, action: TaskAction, task_id: str | None) -> None:
        self.report.tasks_created += 1
        self.audit("task", task_id, "TITLE", None, action.task_title, "create")


def _userfield_definition(spec: CompanyField) -> dict[str, Any]:
    return {
        "FIELD_NAME": spec.name,
        "USER_TYPE_ID": spec.user_type,
        "XML_ID": spec.name,
        "EDIT_FORM_LABEL": {"ru": spec.label, "en": spec.name},
        "LIST_COLUMN_LABEL": {"ru": spec.label, "en": spec.name},
        "LIST_FILTER_LABEL": {"ru": spec.label, "en": spec.name},
        "SHOW_IN_LIST": "Y",
        "EDIT_IN_LIST": "N",
    }


def _task_fields(action: TaskAction) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "TITLE": action.task_title,
        "DESCRIPTION": action.description,
        "RESPONSIBLE_ID": action.responsible_id,
    }
    if action.bitrix24_company_id is not None:
        fields["UF_CRM_TASK"] = [f"CO_{action.bitrix24_company_id}"]
    return fields


def push_to_bitrix24(
    warehouse_url: str,
    client: BatchClient,
    *,
    dry_run: bool = False,
    enabled: bool = True,
    log: Callable[[str], None] = print,
    tasks_per_manager: int | None = None,  # default: the dbt var writeback_tasks_per_manager
) -> PushReport:
    """Write fields and tasks to Bitrix24 (see the module docstring). Never raises for a
    per-record failure: those are in `PushReport.errors`; a failure of the portal as a whole
    (unreachable, bad webhook) is reported there too, and a re-run resumes."""
    report = PushReport(run_id=uuid.uuid4().hex[:12], dry_run=dry_run)
    if not enabled or writeback_switched_off():
        report.disabled = True
        log(report.summary())
        return report
    with warehouse(warehouse_url) as conn:
        for ddl in AUDIT_CLICKHOUSE_DDL if engine_of(conn) == "clickhouse" else [AUDIT_DDL]:
            conn.execute(ddl)
        conn.commit()
        run = _Run(conn, client, report, log)
        run.say(f"write-back {report.run_id}: {'DRY RUN, ' if dry_run else ''}reading the warehouse")
        try:
            wanted = desired_company_values(conn)
            actions = desired_tasks(conn, per_manager=tasks_per_manager)
            conn.commit()
            existing = run.ensure_fields()
            if not dry_run:
                missing = [name for name in FIELDS_BY_NAME if name not in existing]
                wanted = {cid: {k: v for k, v in vals.items() if k not in missing} for cid, vals in wanted.items()}
            run.push_values(wanted)
            run.push_tasks(actions)
        except client.error as exc:
            run.error(f"Bitrix24 stopped the write-back: {exc}; re-run to resume (nothing is written twice)")
        except WritebackError as exc:
            run.error(str(exc))
        finally:
            run.flush_audit()
        for line in report.diff if dry_run else []:
            run.say(line)
        run.say(report.summary())
    return report
