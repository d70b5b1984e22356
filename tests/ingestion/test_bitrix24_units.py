"""Pure units of the Bitrix24 connector: leaky bucket, PHP query strings, batch/list parsing."""
from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from ingestion.bitrix24.client import BatchResult, rows_of
from ingestion.bitrix24.errors import Bitrix24Error
from ingestion.bitrix24.query import batch_command, php_query
from ingestion.bitrix24.ratelimit import LeakyBucket

from .conftest import FIXTURES, fixture_json


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_leaky_bucket_allows_burst_then_drains_at_rate() -> None:
    clock = FakeClock()
    bucket = LeakyBucket(2.0, 3, clock=clock, sleep=clock.sleep)
    # burst 3: three requests at once go without waiting
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    # level 3 -> the 4th waits until level 2 = (3 - 2) / 2 s; the 5th one more half second
    assert bucket.reserve() == pytest.approx(0.5)
    assert bucket.reserve() == pytest.approx(1.0)
    # level is 5 at t=100; at t=102 it drained 4 -> 1, so the next goes at once
    clock.now = 102.0
    assert bucket.reserve() == 0.0
    assert bucket.level == pytest.approx(2.0)


def test_leaky_bucket_acquire_sleeps_and_penalize_fills() -> None:
    clock = FakeClock()
    bucket = LeakyBucket(2.0, 2, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    bucket.acquire()
    bucket.acquire()  # level 2 -> waits (2 - 1) / 2 = 0.5 s
    assert clock.slept == [pytest.approx(0.5)]
    clock.now += 10  # bucket empty again
    bucket.penalize()  # server said 503: assume full (level 2)
    assert bucket.reserve() == pytest.approx(0.5)


def test_leaky_bucket_is_thread_safe() -> None:
    clock = FakeClock()
    bucket = LeakyBucket(4.0, 10, clock=clock, sleep=clock.sleep)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            w = bucket.reserve()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 80 reservations at one instant: 10 free, then one every 0.25 s, each slot handed out once
    assert sorted(waits) == pytest.approx([0.0] * 10 + [0.25 * k for k in range(1, 71)])


def test_php_query_nests_like_php() -> None:
    query = php_query({"filter": {">ID": 5, "CATEGORY_ID": [0, 1]}, "order": {"ID": "ASC"}, "start": -1,
                       "select": ["ID", "UF_*"], "flag": True})
    assert query == (
        "filter%5B%3EID%5D=5&filter%5BCATEGORY_ID%5D%5B0%5D=0&filter%5BCATEGORY_ID%5D%5B1%5D=1"
        "&order%5BID%5D=ASC&start=-1&select%5B0%5D=ID&select%5B1%5D=UF_%2A&flag=Y"
    )
    assert parse_qsl(query) == [
        ("filter[>ID]", "5"), ("filter[CATEGORY_ID][0]", "0"), ("filter[CATEGORY_ID][1]", "1"),
        ("order[ID]", "ASC"), ("start", "-1"), ("select[0]", "ID"), ("select[1]", "UF_*"), ("flag", "Y"),
    ]
    assert batch_command("crm.deal.list", {"filter": {">DATE_MODIFY": "2025-01-01T00:00:00+03:00"}}) == (
        "crm.deal.list?filter%5B%3EDATE_MODIFY%5D=2025-01-01T00%3A00%3A00%2B03%3A00"
    )
    assert batch_command("user.get", None) == "user.get"


def test_batch_result_parses_documented_answer() -> None:
    parsed = BatchResult.parse(fixture_json("bitrix24/batch.response.json"))  # type: ignore[arg-type]
    assert parsed.result["get_user"]["ID"] == "1"
    assert rows_of(parsed.result["get_department"]) == [{"ID": "1", "NAME": "DEMO", "SORT": 500}]
    assert parsed.errors == {}  # "result_error": [] is PHP's empty map
    assert parsed.totals == {"get_department": 1}
    assert parsed.next == {}


def test_batch_result_surfaces_command_errors() -> None:
    parsed = BatchResult.parse(fixture_json("bitrix24/batch.error_halt0.json"), {"get_user": "user.get"})  # type: ignore[arg-type]
    assert parsed.result == {}
    assert set(parsed.errors) == {"get_user", "get_department"}
    err = parsed.errors["get_user"]
    assert err.code == "insufficient_scope"
    assert "user.get" in str(err) and "get_user" in str(err)
    # list-shaped result_error (PHP numeric keys) and an error without a code
    mixed = BatchResult.parse(fixture_json("bitrix24/captured/crm_get_batch_mix_success_and_errors.json"))  # type: ignore[arg-type]
    assert mixed.result["35943"] == {"ID": "35943"}
    assert mixed.errors["1"].code == "" and mixed.errors["1"].description == "Not found"
    assert "(no error code)" in str(mixed.errors["1"])


def _fixture_files() -> list[Path]:
    return sorted((FIXTURES / "bitrix24").rglob("*.json"))


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_bitrix24_fixture_parses(path: Path) -> None:
    body = fixture_json(str(path.relative_to(FIXTURES)))
    assert isinstance(body, dict)
    if path.name == "crm_lead_list_several_pages_TRUNCATED.json":
        first = body["first_page"]
        assert len(rows_of(first["result"])) == 3 and first["next"] == 50  # truncated to 3 rows
        batch = BatchResult.parse(body["batch_page"])
        assert set(batch.result) == {"cmd0", "cmd1"}
        assert rows_of(batch.result["cmd0"])[0]["ID"] == "1261"
        return
    if "error" in body:
        err = Bitrix24Error(body["error"], body["error_description"], "crm.deal.list", 400)
        assert err.description and str(err).startswith("Bitrix24 crm.deal.list:")
        return
    if path.name == "errors.system.json":
        for key, value in body.items():
            if key.startswith(("4", "5")):
                assert Bitrix24Error(value["error"], value["error_description"], "m", int(key[:3])).code
        assert BatchResult.parse(body["batch_with_OPERATION_TIME_LIMIT_subcommand_http200"]).errors
        return
    if "result" not in body:  # oauth answer, event payload, time block: no list to parse
        assert body
        return
    result = body["result"]
    if isinstance(result, dict) and "result_error" in result:
        parsed = BatchResult.parse(body)
        assert parsed.result or parsed.errors
        for value in parsed.result.values():
            rows_of(value) if isinstance(value, (list, dict)) else None
        return
    if "total" in body:  # list answers: legacy arrays or universal {items|categories}
        rows = rows_of(result)
        assert rows and len(rows) <= int(body["total"])
        assert all(("ID" in r) or ("id" in r) for r in rows)
        return
    assert result is not None
