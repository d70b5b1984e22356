"""The fake Bitrix24 portal answers like the real one (shapes from tests/fixtures/sources)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hc_demo.fakes.bitrix24 import FakeBitrix24

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "bitrix24"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def portal(demo_dir: Path) -> Iterator[FakeBitrix24]:
    fake = FakeBitrix24(demo_dir, rate_per_s=1000.0, burst=1000)
    fake.start()
    yield fake
    fake.stop()


def call(fake: FakeBitrix24, method: str, **params: Any) -> requests.Response:
    return requests.post(fake.webhook_url + method, json=params, timeout=10)


def test_list_pages_of_50_with_total_and_next(portal: FakeBitrix24, demo_dir: Path) -> None:
    expected = sorted(int(c["ID"]) for c in _jsonl(demo_dir / "bitrix24/companies.jsonl"))
    assert len(expected) > 100
    seen: list[int] = []
    start = 0
    pages = 0
    while True:
        body = call(portal, "crm.company.list", order={"ID": "ASC"}, start=start).json()
        pages += 1
        assert body["total"] == len(expected)
        assert len(body["result"]) == (50 if "next" in body else len(expected) - start)
        seen += [int(r["ID"]) for r in body["result"]]
        assert set(body["time"]) >= {"start", "finish", "duration", "operating", "operating_reset_at"}
        if "next" not in body:
            break
        assert body["next"] == start + 50
        start = body["next"]
    assert seen == expected
    assert pages == -(-len(expected) // 50)


def test_fast_mode_has_no_count_and_walks_by_id(portal: FakeBitrix24, demo_dir: Path) -> None:
    expected = sorted(int(d["ID"]) for d in _jsonl(demo_dir / "bitrix24/deals.jsonl"))
    seen: list[int] = []
    last = 0
    while True:
        body = call(portal, "crm.deal.list", order={"ID": "ASC"}, filter={">ID": last}, start=-1).json()
        assert body["total"] == 0 and "next" not in body
        seen += [int(r["ID"]) for r in body["result"]]
        if len(body["result"]) < 50:
            break
        last = int(body["result"][-1]["ID"])
    assert seen == expected


def test_legacy_records_are_strings_and_select_hides_uf_by_default(portal: FakeBitrix24) -> None:
    plain = call(portal, "crm.company.list").json()["result"][0]
    assert all(v is None or isinstance(v, str) for v in plain.values())
    assert not any(k.startswith("UF_") for k in plain)
    full = call(portal, "crm.company.list", select=["*", "UF_*"]).json()["result"][0]
    assert full["UF_CRM_HC_SIZE"] in ("крупный", "средний", "мелкий") and "TITLE" in full
    only = call(portal, "crm.company.list", select=["TITLE"]).json()["result"][0]
    assert set(only) == {"ID", "TITLE"}
    deal = call(portal, "crm.deal.list").json()["result"][0]
    assert isinstance(deal["OPPORTUNITY"], str) and deal["OPPORTUNITY"].count(".") == 1


def test_php_style_get_query_and_json_suffix(portal: FakeBitrix24, demo_dir: Path) -> None:
    deals = _jsonl(demo_dir / "bitrix24/deals.jsonl")
    expected = sorted(int(d["ID"]) for d in deals if d["CATEGORY_ID"] == "1")[:50]
    r = requests.get(portal.webhook_url + "crm.deal.list.json?filter[CATEGORY_ID]=1&order[ID]=ASC", timeout=10)
    assert r.status_code == 200
    assert [int(x["ID"]) for x in r.json()["result"]] == expected


def test_date_modify_and_last_updated_filters(portal: FakeBitrix24, demo_dir: Path) -> None:
    cut = "2026-01-01T00:00:00+03:00"
    leads = _jsonl(demo_dir / "bitrix24/leads.jsonl")
    body = call(portal, "crm.lead.list", filter={">DATE_MODIFY": cut}).json()
    assert body["total"] == sum(1 for x in leads if x["DATE_MODIFY"] > cut) > 0
    activities = _jsonl(demo_dir / "bitrix24/activities.jsonl")
    body = call(portal, "crm.activity.list", filter={">=LAST_UPDATED": "2026-06-01"}).json()
    assert body["total"] == sum(1 for x in activities if x["LAST_UPDATED"] >= "2026-06-01T00:00:00+03:00") > 0


def test_stagehistory_categories_users_and_product_rows_shapes(portal: FakeBitrix24) -> None:
    history = call(portal, "crm.stagehistory.list", entityTypeId=2, filter={"OWNER_ID": 1}).json()
    items = history["result"]["items"]
    assert items and items[0]["TYPE_ID"] == 1 and all(i["OWNER_ID"] == 1 for i in items)
    categories = call(portal, "crm.category.list", entityTypeId=2).json()["result"]["categories"]
    assert {c["id"] for c in categories} == {0, 1}
    users = call(portal, "user.get").json()["result"]
    assert users[0]["ACTIVE"] is True and isinstance(users[0]["UF_DEPARTMENT"], list)
    rows = call(portal, "crm.deal.productrows.get", id=1).json()["result"]
    assert rows and all(r["OWNER_ID"] == "1" for r in rows) and isinstance(rows[0]["PRICE"], float)


def test_batch_results_errors_totals_and_next(portal: FakeBitrix24, demo_dir: Path) -> None:
    total = len(_jsonl(demo_dir / "bitrix24/companies.jsonl"))
    last_page = total - total % 50 if total % 50 else total - 50
    cmd = {
        "first": "crm.company.list?order[ID]=ASC&start=0",
        "last": f"crm.company.list?order[ID]=ASC&start={last_page}",
        "bad": "crm.deal.get?id=999999",
        "fast": "crm.deal.list?filter[>ID]=5&order[ID]=ASC&start=-1",
    }
    r = requests.post(portal.webhook_url + "batch", json={"halt": 0, "cmd": cmd}, timeout=10)
    assert r.status_code == 200
    inner = r.json()["result"]
    assert set(inner["result"]) == {"first", "last", "fast"}
    assert inner["result_error"] == {"bad": {"error": "", "error_description": "Not found"}}
    assert inner["result_total"] == {"first": total, "last": total, "fast": 0}
    assert inner["result_next"] == {"first": 50}
    assert int(inner["result"]["fast"][0]["ID"]) == 6
    assert set(inner["result_time"]) == {"first", "last", "fast"}
    ok = requests.post(
        portal.webhook_url + "batch", json={"halt": 0, "cmd": {"a": "crm.deal.get?id=1"}}, timeout=10
    ).json()
    assert (
        ok["result"]["result_error"] == [] and ok["result"]["result_next"] == [] and ok["result"]["result_total"] == []
    )


def test_batch_halt_stops_at_first_error_and_too_many_commands_fail(portal: FakeBitrix24) -> None:
    cmd = {"a": "crm.deal.get?id=999999", "b": "crm.deal.get?id=1"}
    inner = requests.post(portal.webhook_url + "batch", json={"halt": 1, "cmd": cmd}, timeout=10).json()["result"]
    assert inner["result"] == [] and list(inner["result_error"]) == ["a"]
    many = {f"c{i}": "crm.deal.get?id=1" for i in range(51)}
    r = requests.post(portal.webhook_url + "batch", json={"halt": 0, "cmd": many}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"


def test_leaky_bucket_overflow_gives_503(demo_dir: Path) -> None:
    with FakeBitrix24(demo_dir, rate_per_s=0.05, burst=5) as fake:  # drains 1 per 20 s: no timing luck
        statuses = [call(fake, "crm.deal.get", id=1).status_code for _ in range(8)]
        assert statuses[:5] == [200] * 5 and 503 in statuses[5:]
        r = call(fake, "crm.deal.get", id=1)
        assert r.status_code == 503
        assert r.json() == json.loads((FIXTURES / "errors.system.json").read_text())["503_QUERY_LIMIT_EXCEEDED"]
        assert fake.calls("crm.deal.get") == 9


def test_operating_time_blocks_only_the_expensive_method(demo_dir: Path) -> None:
    with FakeBitrix24(demo_dir, rate_per_s=1000, burst=1000, operating_limit_s=0.05) as fake:
        first = call(fake, "crm.deal.list")
        assert first.status_code == 200 and first.json()["time"]["operating"] >= 0.05
        blocked = call(fake, "crm.deal.list")
        assert blocked.status_code == 429 and blocked.json()["error"] == "OPERATION_TIME_LIMIT"
        assert call(fake, "crm.company.get", id=3).status_code == 200
        inner = requests.post(fake.webhook_url + "batch", json={"cmd": {"x": "crm.deal.list"}}, timeout=10).json()[
            "result"
        ]
        assert inner["result_error"]["x"]["error"] == "OPERATION_TIME_LIMIT"


def test_wrong_secret_is_401_without_echoing_it(portal: FakeBitrix24) -> None:
    wrong = "deadbeefcafe0123"
    url = portal.webhook_url.replace(portal.webhook_secret, wrong) + "crm.deal.list"
    r = requests.post(url, json={}, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "NO_AUTH_FOUND"
    assert wrong not in r.text and portal.webhook_secret not in r.text


def test_method_level_errors(portal: FakeBitrix24) -> None:
    r = call(portal, "crm.deal.list", filter="ID=1")
    assert r.status_code == 400
    assert r.json() == json.loads((FIXTURES / "crm.deal.list.error_400.json").read_text())
    r = call(portal, "crm.nothing.list")
    assert r.status_code == 404 and r.json()["error"] == "ERROR_METHOD_NOT_FOUND"


def test_insufficient_scope(demo_dir: Path) -> None:
    with FakeBitrix24(demo_dir, scopes=frozenset({"crm"})) as fake:
        r = call(fake, "user.get")
        assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
        assert call(fake, "crm.deal.get", id=1).status_code == 200


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("overload", 503, "OVERLOAD_LIMIT"), ("500", 500, "INTERNAL_SERVER_ERROR"), ("html", 502, None)],
)
def test_injected_error_answers(portal: FakeBitrix24, kind: str, status: int, code: str | None) -> None:
    portal.inject(kind, count=2, method="crm.deal.list")
    assert call(portal, "crm.company.get", id=3).status_code == 200  # other methods unaffected
    for _ in range(2):
        r = call(portal, "crm.deal.list")
        assert r.status_code == status
        if code:
            assert r.json()["error"] == code
        else:
            assert r.headers["Content-Type"].startswith("text/html") and "<html>" in r.text
    assert call(portal, "crm.deal.list").status_code == 200


def test_injected_drop_and_timeout(portal: FakeBitrix24) -> None:
    portal.inject("drop")
    with pytest.raises(requests.ConnectionError):
        call(portal, "crm.deal.list")
    portal.inject("timeout", delay_s=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(portal.webhook_url + "crm.deal.list", json={}, timeout=0.3)
    assert call(portal, "crm.deal.list").status_code == 200


def test_oauth_refresh_and_expired_token(portal: FakeBitrix24) -> None:
    r = requests.post(
        portal.oauth_url,
        data={
            "grant_type": "refresh_token",
            "client_id": portal.client_id,
            "client_secret": portal.client_secret,
            "refresh_token": portal.refresh_token,
        },
        timeout=10,
    )
    assert r.status_code == 200
    token = r.json()
    shape = json.loads((FIXTURES / "oauth.token.refresh.response.json").read_text())
    assert set(token) == set(shape)
    url = portal.portal_url + "rest/crm.deal.get"
    assert requests.post(url, json={"id": 1, "auth": token["access_token"]}, timeout=10).status_code == 200
    portal.expire_access_tokens()
    r = requests.post(url, json={"id": 1, "auth": token["access_token"]}, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "expired_token"


def test_upsert_bumps_date_modify_and_delete_removes(portal: FakeBitrix24) -> None:
    before = call(portal, "crm.deal.list", filter={">DATE_MODIFY": "2027-01-01T00:00:00+03:00"}).json()["total"]
    assert before == 0
    deal = portal.records("deals")[0]
    portal.upsert("deals", {"ID": deal["ID"], "TITLE": "Изменено"})
    changed = call(portal, "crm.deal.list", filter={">DATE_MODIFY": "2026-11-01T00:00:00+03:00"}).json()["result"]
    assert [d["ID"] for d in changed] == [deal["ID"]] and changed[0]["TITLE"] == "Изменено"
    assert portal.delete("crm.deal.list", deal["ID"])
    r = call(portal, "crm.deal.get", id=int(deal["ID"]))
    assert r.status_code == 400 and r.json()["error_description"] == "Not found"


def test_write_back_methods_and_state_file(demo_dir: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with FakeBitrix24(demo_dir, state_file=state) as fake:
        r = call(fake, "crm.company.userfield.add", fields={"FIELD_NAME": "HC_ABC", "USER_TYPE_ID": "string"})
        assert r.status_code == 200 and isinstance(r.json()["result"], int)
        names = [u["FIELD_NAME"] for u in call(fake, "crm.company.userfield.list").json()["result"]]
        assert "UF_CRM_HC_ABC" in names
        assert call(fake, "crm.company.userfield.add", fields={"FIELD_NAME": "HC_ABC"}).status_code == 400
        assert call(fake, "crm.company.userfield.add", fields={"FIELD_NAME": "bad-name"}).status_code == 400
        assert call(fake, "crm.company.userfield.add", fields={"FIELD_NAME": "X" * 44}).status_code == 400
        r = call(fake, "crm.company.update", id=3, fields={"UF_CRM_HC_ABC": "A", "UF_CRM_UNKNOWN": "x"})
        assert r.json()["result"] is True
        company = call(fake, "crm.company.get", id=3).json()["result"]
        assert company["UF_CRM_HC_ABC"] == "A" and "UF_CRM_UNKNOWN" not in company
        task = call(
            fake, "tasks.task.add", fields={"TITLE": "Позвонить", "RESPONSIBLE_ID": 11, "UF_CRM_TASK": ["CO_3"]}
        )
        task_id = task.json()["result"]["task"]["id"]
        listed = call(fake, "tasks.task.list", filter={"RESPONSIBLE_ID": 11}).json()["result"]["tasks"]
        assert [t["id"] for t in listed] == [task_id] and listed[0]["title"] == "Позвонить"
        assert call(fake, "tasks.task.list", filter={"RESPONSIBLE_ID": 12}).json()["result"]["tasks"] == []
        updated = call(fake, "tasks.task.update", taskId=int(task_id), fields={"TITLE": "Перезвонить"}).json()
        assert updated["result"]["task"]["title"] == "Перезвонить"
        todo = call(
            fake,
            "crm.activity.todo.add",
            ownerTypeId=4,
            ownerId=3,
            deadline="2026-11-05T10:00:00+03:00",
            title="Предложить ассортимент",
        ).json()["result"]["id"]
        found = call(fake, "crm.activity.list", filter={"ID": todo}).json()["result"]
        assert found[0]["SUBJECT"] == "Предложить ассортимент"
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert len(saved["tasks"]) == 1 and saved["company_updates"][0]["fields"] == {"UF_CRM_HC_ABC": "A"}
    with FakeBitrix24(demo_dir, state_file=state) as again:
        assert call(again, "crm.company.get", id=3).json()["result"]["UF_CRM_HC_ABC"] == "A"
        assert call(again, "crm.company.userfield.add", fields={"FIELD_NAME": "HC_ABC"}).status_code == 400
