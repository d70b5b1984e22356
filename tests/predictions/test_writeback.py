"""Write-back against the fake Bitrix24 portal (hc_demo.fakes.bitrix24) and a scratch warehouse."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hc_demo.fakes.bitrix24 import FakeBitrix24
from ingestion.bitrix24.auth import WebhookAuth
from ingestion.bitrix24.client import BatchResult, Bitrix24Client
from ingestion.bitrix24.errors import Bitrix24RetryExhausted
from predictions import writeback
from predictions.writeback_plan import COMPANY_FIELDS

WRITE_METHODS = {
    "crm.company.update",
    "crm.company.userfield.add",
    "tasks.task.add",
    "tasks.task.update",
    "crm.activity.todo.add",
}
HC_FIELDS = {f.field_name for f in COMPANY_FIELDS}
N_COMPANIES = 60  # more than one batch of 50


class RecordingClient(Bitrix24Client):
    """The real client, remembering every method it asked for, including the commands inside batches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.methods: list[str] = []

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        if method != "batch":
            self.methods.append(method)
        return super().call(method, params)

    def batch(self, commands: Mapping[str, tuple[str, Mapping[str, Any] | None]], halt: bool = False) -> BatchResult:
        self.methods.extend(method for method, _ in commands.values())
        return super().batch(commands, halt)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeBitrix24]:
    data = tmp_path / "bitrix24"
    data.mkdir()
    with (data / "companies.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(1, N_COMPANIES + 1):
            record = {
                "ID": str(i),
                "TITLE": f"ООО Клиент {i}",
                "COMPANY_TYPE": "CUSTOMER",
                "ASSIGNED_BY_ID": "7",
                "DATE_CREATE": "2024-01-01T10:00:00+03:00",
                "DATE_MODIFY": "2024-01-01T10:00:00+03:00",
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    server = FakeBitrix24(data, rate_per_s=1000.0, burst=1000)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(fake: FakeBitrix24) -> RecordingClient:
    return RecordingClient(
        WebhookAuth(fake.webhook_url), rate_per_s=1000.0, burst=1000, max_retries=3, backoff_s=0.01, timeout_s=5.0
    )


@pytest.fixture
def warehouse(make_database: Callable[[str], str]) -> str:
    url = make_database("pred_wb")
    with psycopg.connect(url) as conn:
        conn.execute("create schema marts")
        conn.execute("create schema predictions")
        conn.execute(
            "create table marts.dim_clients (client_id text, bitrix24_company_id text, manager_id text,"
            " abc_class text, xyz_class text, stability_type text, segment_cell text, stability_type_ru text)"
        )
        conn.execute(
            "create table predictions.client_predictions (client_id text, as_of date, churn_risk_label text, clv_12m numeric(18,2))"
        )
        conn.execute(
            "create table marts.next_best_actions (action_key text, manager_id text, action_title text, reason text,"
            " revenue_at_stake numeric(18,2), bitrix24_company_id text, action_rank integer)"
        )
        for i in range(1, N_COMPANIES + 1):
            conn.execute(
                "insert into marts.dim_clients values (%s, %s, '7', %s, 'Y', 'stable', %s, 'стабильный')",
                (f"k{i}", str(i), "ABC"[i % 3], f"крупный / 1 / {'ABC'[i % 3]}"),
            )
            # an older as_of must be ignored: only the latest predictions are pushed
            conn.execute(
                "insert into predictions.client_predictions values (%s, '2026-10-31', 'низкий', 1)", (f"k{i}",)
            )
            conn.execute(
                "insert into predictions.client_predictions values (%s, '2026-11-27', %s, %s)",
                (f"k{i}", "высокий" if i % 2 else "низкий", 1000 * i + 0.5),
            )
        # a client without a Bitrix24 company is not pushed
        conn.execute("insert into marts.dim_clients values ('k0', null, '7', 'A', 'X', 'growing', 'x', 'растущий')")
        for rank in range(1, 13):
            conn.execute(
                "insert into marts.next_best_actions values (%s, '7', %s, %s, %s, %s, %s)",
                (
                    f"overdue:k{rank}:2026-11",
                    f"Позвонить: ООО Клиент {rank}",
                    "Просрочил закупку",
                    50000 * rank,
                    str(rank),
                    rank,
                ),
            )
        conn.execute(
            "insert into marts.next_best_actions values ('attract:7701234567:2026-11', '8', 'Привлечь: ООО Новый',"
            " 'Потенциальный клиент в регионе менеджера', 900000, null, 1)"
        )
    return url


def _audit(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select entity, entity_id, field, before, after, action, dry_run from ingest_state.writeback_audit"
        ).fetchall()


def _hc_tasks(fake: FakeBitrix24) -> list[str]:
    return [t["TITLE"] for t in fake.tasks if "[HC:" in t["TITLE"]]


def test_push_creates_fields_once_writes_values_and_tasks(
    fake: FakeBitrix24, client: RecordingClient, warehouse: str
) -> None:
    lines: list[str] = []
    report = writeback.push_to_bitrix24(warehouse, client, log=lines.append)
    assert report.ok, report.errors
    assert sorted(report.fields_created) == sorted(HC_FIELDS)
    assert report.companies_updated == N_COMPANIES
    company = fake.store.find("companies", 5)
    assert company is not None
    assert company["UF_CRM_HC_ABC"] == "C"  # "ABC"[5 % 3]
    assert company["UF_CRM_HC_SEGMENT"] == "крупный / 1 / C"
    assert company["UF_CRM_HC_CHURN_RISK"] == "высокий"
    assert company["UF_CRM_HC_STABILITY"] == "стабильный"  # the code 'stable' in Russian
    assert company["UF_CRM_HC_CLV_12M"] == "5000.5"
    # top 10 of manager 7 and the single action of manager 8
    titles = _hc_tasks(fake)
    assert len(titles) == 11
    assert "[HC:overdue:k11:2026-11]" not in " ".join(titles)
    task_for_8 = next(t for t in fake.tasks if "attract:7701234567" in t["TITLE"])
    assert str(task_for_8["RESPONSIBLE_ID"]) == "8"
    audit = _audit(warehouse)
    assert sum(1 for row in audit if row[0] == "company_userfield" and row[5] == "create") == len(HC_FIELDS)
    assert ("company", "5", "UF_CRM_HC_ABC", None, "C", "update", False) in audit
    assert sum(1 for row in audit if row[0] == "task") == 11

    # second run: nothing new anywhere
    userfield_adds = fake.calls("crm.company.userfield.add")
    client.methods.clear()
    again = writeback.push_to_bitrix24(warehouse, client, log=lines.append)
    assert again.ok, again.errors
    assert (again.fields_created, again.companies_updated, again.tasks_created) == ([], 0, 0)
    assert again.tasks_already_present == 11
    assert fake.calls("crm.company.userfield.add") == userfield_adds
    assert not WRITE_METHODS & set(client.methods)
    assert len(_hc_tasks(fake)) == 11


def test_changed_value_is_updated_and_only_that(fake: FakeBitrix24, client: RecordingClient, warehouse: str) -> None:
    writeback.push_to_bitrix24(warehouse, client, log=lambda _: None)
    with psycopg.connect(warehouse) as conn:
        conn.execute("update marts.dim_clients set abc_class = 'A' where client_id = 'k5'")
    report = writeback.push_to_bitrix24(warehouse, client, log=lambda _: None)
    assert report.ok, report.errors
    assert (report.companies_updated, report.values_written) == (1, 1)
    company = fake.store.find("companies", 5)
    assert company is not None and company["UF_CRM_HC_ABC"] == "A"
    assert fake.company_updates[-1]["fields"] == {"UF_CRM_HC_ABC": "A"}
    assert ("company", "5", "UF_CRM_HC_ABC", "C", "A", "update", False) in _audit(warehouse)


def test_dry_run_writes_nothing_and_prints_the_diff(
    fake: FakeBitrix24, client: RecordingClient, warehouse: str
) -> None:
    lines: list[str] = []
    fields_before = [u["FIELD_NAME"] for u in fake.userfields]
    report = writeback.push_to_bitrix24(warehouse, client, dry_run=True, log=lines.append)
    assert report.ok, report.errors
    assert not WRITE_METHODS & set(client.methods)
    assert not WRITE_METHODS & {r.method for r in fake.requests_log}
    assert fake.company_updates == [] and fake.tasks == []
    assert [u["FIELD_NAME"] for u in fake.userfields] == fields_before
    text = "\n".join(lines)
    assert "field UF_CRM_HC_ABC: would create" in text
    assert "company 5 UF_CRM_HC_ABC: None -> 'C'" in text
    assert "would create «[HC:overdue:k1:2026-11]" in text
    audit = _audit(warehouse)
    assert audit and all(row[6] is True for row in audit)
    assert {row[5] for row in audit} == {"would_create", "would_update"}


class FailingMidway(RecordingClient):
    """Drops the connection on the second batch of company updates (after 50 companies were written)."""

    def __init__(self, fake: FakeBitrix24, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fake = fake
        self.update_batches = 0

    def batch(self, commands: Mapping[str, tuple[str, Mapping[str, Any] | None]], halt: bool = False) -> BatchResult:
        if any(method == "crm.company.update" for method, _ in commands.values()):
            self.update_batches += 1
            if self.update_batches == 2:
                self.fake.inject("drop", count=1, method="batch")
        return super().batch(commands, halt)


def test_failure_midway_is_resumed_without_duplicates(fake: FakeBitrix24, warehouse: str) -> None:
    failing = FailingMidway(
        fake, WebhookAuth(fake.webhook_url), rate_per_s=1000.0, burst=1000, max_retries=0, timeout_s=5.0
    )
    first = writeback.push_to_bitrix24(warehouse, failing, log=lambda _: None)
    assert not first.ok
    assert first.companies_updated == 50 and first.tasks_created == 0
    assert "re-run to resume" in first.errors[0]
    # the re-run meets a 500 on its first batch, which the client's retries absorb
    fake.inject("500", count=1, method="batch")
    patient = RecordingClient(
        WebhookAuth(fake.webhook_url), rate_per_s=1000.0, burst=1000, max_retries=3, backoff_s=0.01, timeout_s=5.0
    )
    second = writeback.push_to_bitrix24(warehouse, patient, log=lambda _: None)
    assert second.ok, second.errors
    assert (second.fields_created, second.companies_updated, second.tasks_created) == ([], N_COMPANIES - 50, 11)
    third = writeback.push_to_bitrix24(warehouse, patient, log=lambda _: None)
    assert (third.companies_updated, third.tasks_created) == (0, 0)
    titles = _hc_tasks(fake)
    assert len(titles) == len(set(titles)) == 11
    for company_id in (1, 50, 51, 60):
        company = fake.store.find("companies", company_id)
        assert company is not None and company["UF_CRM_HC_ABC"] == "ABC"[company_id % 3]
    assert len([u for u in fake.userfields if u["FIELD_NAME"] in HC_FIELDS]) == len(HC_FIELDS)
    # every company value was written exactly once over the three runs
    updated = [(u["id"], name) for u in fake.company_updates for name in u["fields"]]
    assert len(updated) == len(set(updated)) == N_COMPANIES * len(HC_FIELDS)


class LosingTaskBatch(RecordingClient):
    """Loses the first task batch: before the portal saw it (dropped connection), or after the
    portal created the tasks but before the answer arrived (the case a blind retry duplicates)."""

    def __init__(self, fake: FakeBitrix24, when: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fake = fake
        self.when = when
        self.lost = False

    def batch(self, commands: Mapping[str, tuple[str, Mapping[str, Any] | None]], halt: bool = False) -> BatchResult:
        if self.lost or not any(method == "tasks.task.add" for method, _ in commands.values()):
            return super().batch(commands, halt)
        self.lost = True
        if self.when == "before":
            self.fake.inject("drop", count=1, method="batch")
            return super().batch(commands, halt)
        super().batch(commands, halt)
        raise Bitrix24RetryExhausted("CONNECTION_ERROR", "ConnectionError", "batch", None)


@pytest.mark.parametrize("when", ["before", "after"])
def test_lost_task_batch_is_not_retried_blindly(fake: FakeBitrix24, warehouse: str, when: str) -> None:
    client = LosingTaskBatch(
        fake,
        when,
        WebhookAuth(fake.webhook_url),
        rate_per_s=1000.0,
        burst=1000,
        max_retries=3,
        backoff_s=0.01,
        timeout_s=5.0,
    )
    report = writeback.push_to_bitrix24(warehouse, client, log=lambda _: None)
    assert client.lost
    assert report.ok, report.errors
    assert report.tasks_created == 11
    titles = _hc_tasks(fake)
    assert len(titles) == len(set(titles)) == 11


def test_a_value_the_portal_ignores_is_reported(fake: FakeBitrix24, client: RecordingClient, warehouse: str) -> None:
    writeback.push_to_bitrix24(warehouse, client, log=lambda _: None)
    # somebody deletes a field on the portal behind our back, after our field check
    real_ensure = writeback._Run.ensure_fields

    def ensure_then_delete(self: writeback._Run) -> set[str]:
        existing = real_ensure(self)
        fake.userfields[:] = [u for u in fake.userfields if u["FIELD_NAME"] != "UF_CRM_HC_XYZ"]
        return existing

    with psycopg.connect(warehouse) as conn:
        conn.execute("update marts.dim_clients set xyz_class = 'X' where client_id = 'k3'")
    writeback._Run.ensure_fields = ensure_then_delete  # type: ignore[method-assign]
    try:
        report = writeback.push_to_bitrix24(warehouse, client, log=lambda _: None)
    finally:
        writeback._Run.ensure_fields = real_ensure  # type: ignore[method-assign]
    assert not report.ok
    assert any("company 3 field UF_CRM_HC_XYZ: wrote 'X', portal holds 'Y'" in e for e in report.errors)


def test_kill_switch_does_nothing_and_says_so(
    fake: FakeBitrix24, client: RecordingClient, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines: list[str] = []
    report = writeback.push_to_bitrix24(warehouse, client, enabled=False, log=lines.append)
    assert report.disabled and client.methods == [] and fake.requests_log == []
    assert "disabled" in lines[0]
    monkeypatch.setenv("WRITEBACK_ENABLED", "false")
    report = writeback.push_to_bitrix24(warehouse, client, log=lines.append)
    assert report.disabled and client.methods == [] and fake.requests_log == []
    with psycopg.connect(warehouse) as conn:
        assert conn.execute("select to_regclass('ingest_state.writeback_audit')").fetchone() == (None,)


def test_no_secret_in_any_log_line(
    fake: FakeBitrix24,
    client: RecordingClient,
    warehouse: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.inject("500", count=2, method="batch")  # retries log warnings with the method and error
    fake.inject("drop", count=1, method="tasks.task.list")
    report = writeback.push_to_bitrix24(warehouse, client)  # default log=print
    assert report.ok, report.errors
    # a failing run too: the error text goes into the report and the log
    bad = RecordingClient(
        WebhookAuth(fake.webhook_url.replace(fake.webhook_secret, fake.webhook_secret[::-1])),
        max_retries=0,
        timeout_s=5.0,
    )
    failed = writeback.push_to_bitrix24(warehouse, bad)
    assert not failed.ok
    printed = capsys.readouterr()
    everything = "\n".join([printed.out, printed.err, caplog.text, *failed.errors, *report.errors])
    assert "write-back" in printed.out
    assert fake.webhook_secret not in everything
    assert fake.webhook_secret[::-1] not in everything
    assert fake.webhook_url not in everything
    for row in _audit(warehouse):
        assert fake.webhook_secret not in " ".join(str(v) for v in row)
