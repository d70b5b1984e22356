"""The fake 1C OData publication answers like the real one (shapes from tests/fixtures/sources)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from hc_demo.fakes.onec import FakeOneC

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "onec"
SALES = "Document_РеализацияТоваровУслуг"
PASSWORD = "Пароль-1С"
ATOM = "{http://www.w3.org/2005/Atom}"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def onec(demo_dir: Path) -> Iterator[FakeOneC]:
    fake = FakeOneC(demo_dir, password=PASSWORD)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def session() -> requests.Session:
    s = requests.Session()
    s.auth = ("Администратор".encode(), PASSWORD.encode())
    return s


def get(s: requests.Session, fake: FakeOneC, entity: str, **options: str) -> requests.Response:
    return s.get(fake.base_url + quote(entity), params={"$format": "json", **options}, timeout=10)


def test_basic_auth_with_utf8_login(onec: FakeOneC, session: requests.Session) -> None:
    assert requests.get(onec.base_url + quote(SALES), timeout=10).status_code == 401
    wrong = requests.get(onec.base_url + quote(SALES), auth=("Администратор".encode(), b"nope"), timeout=10)
    assert wrong.status_code == 401 and "Basic" in wrong.headers["WWW-Authenticate"]
    assert get(session, onec, "Catalog_Пользователи").status_code == 200


def test_atom_is_the_default_format(onec: FakeOneC, session: requests.Session) -> None:
    r = session.get(onec.base_url + quote("Catalog_Контрагенты"), params={"$top": "3"}, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    assert feed.tag == f"{ATOM}feed" and len(feed.findall(f"{ATOM}entry")) == 3
    by_accept = session.get(
        onec.base_url + quote("Catalog_Контрагенты"),
        params={"$top": "1"},
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert "value" in by_accept.json()


def test_json_envelope_paging_and_inline_count(onec: FakeOneC, session: requests.Session, demo_dir: Path) -> None:
    expected = [r["Ref_Key"] for r in _jsonl(demo_dir / "onec/Catalog_Контрагенты.jsonl")]
    seen: list[str] = []
    skip = 0
    while True:
        body = get(
            session, onec, "Catalog_Контрагенты", **{"$top": "40", "$skip": str(skip), "$inlinecount": "allpages"}
        ).json()
        assert body["odata.metadata"].endswith("/$metadata#Catalog_Контрагенты")
        assert body["odata.count"] == str(len(expected))
        seen += [r["Ref_Key"] for r in body["value"]]
        if len(body["value"]) < 40:
            break
        skip += 40
    assert seen == expected


def _reference_order(key: str) -> str:
    """1C stores a reference's GUID groups as 4, 5, 3, 2, 1 (worked out here independently of the fake)."""
    g = key.lower().split("-")
    return g[3] + g[4] + g[2] + g[1] + g[0]


def test_paging_by_key_follows_1c_reference_order(onec: FakeOneC, session: requests.Session, demo_dir: Path) -> None:
    keys = [r["Ref_Key"] for r in _jsonl(demo_dir / "onec/Catalog_Контрагенты.jsonl")]
    expected = sorted(keys, key=_reference_order)
    assert expected != sorted(keys)  # the demo's GUIDs tell the two orders apart
    seen: list[str] = []
    while True:
        options = {"$top": "25", "$orderby": "Ref_Key", "$select": "Ref_Key"}
        if seen:
            options["$filter"] = f"(DeletionMark eq false or DeletionMark eq true) and Ref_Key gt guid'{seen[-1]}'"
        page = [r["Ref_Key"] for r in get(session, onec, "Catalog_Контрагенты", **options).json()["value"]]
        seen += page
        if len(page) < 25:
            break
    assert seen == expected


def test_deleted_records_vanish_from_every_query(demo_dir: Path, session: requests.Session) -> None:
    fake = FakeOneC(demo_dir, password=PASSWORD)
    fake.start()
    try:
        docs = _jsonl(demo_dir / f"onec/{SALES}.jsonl")
        gone = docs[3]["Ref_Key"]
        assert fake.delete(SALES, [gone.upper()]) == 1
        keys = [r["Ref_Key"] for r in get(session, fake, SALES, **{"$select": "Ref_Key"}).json()["value"]]
        assert gone not in keys and len(keys) == len(docs) - 1
        assert get(session, fake, f"{SALES}(guid'{gone}')").status_code == 404
        lines = get(session, fake, f"{SALES}_Товары", **{"$filter": f"Ref_Key eq guid'{gone}'"}).json()["value"]
        assert lines == []
    finally:
        fake.stop()


def test_date_range_and_flags_filter(onec: FakeOneC, session: requests.Session, demo_dir: Path) -> None:
    docs = _jsonl(demo_dir / f"onec/{SALES}.jsonl")
    expected = [
        d["Ref_Key"]
        for d in docs
        if "2025-01-01T00:00:00" <= d["Date"] < "2025-04-01T00:00:00" and d["Posted"] and not d["DeletionMark"]
    ]
    flt = (
        "Date ge datetime'2025-01-01T00:00:00' and Date lt datetime'2025-04-01T00:00:00' "
        "and Posted eq true and DeletionMark eq false"
    )
    body = get(session, onec, SALES, **{"$filter": flt, "$select": "Ref_Key,Date"}).json()
    assert [r["Ref_Key"] for r in body["value"]] == expected and expected
    assert all(set(r) == {"Ref_Key", "Date"} for r in body["value"])
    key = docs[5]["Ref_Key"]
    one = get(session, onec, SALES, **{"$filter": f"Ref_Key eq guid'{key}'"}).json()["value"]
    assert [r["Number"] for r in one] == [docs[5]["Number"]]


def test_orderby_date_desc(onec: FakeOneC, session: requests.Session) -> None:
    rows = get(session, onec, SALES, **{"$orderby": "Date desc", "$top": "30"}).json()["value"]
    dates = [r["Date"] for r in rows]
    assert dates == sorted(dates, reverse=True) and len(dates) == 30


def test_entity_by_key_and_tabular_part(onec: FakeOneC, session: requests.Session, demo_dir: Path) -> None:
    docs = _jsonl(demo_dir / f"onec/{SALES}.jsonl")
    key = docs[0]["Ref_Key"]
    r = session.get(onec.base_url + quote(f"{SALES}(guid'{key}')"), params={"$format": "json"}, timeout=10)
    assert r.status_code == 200 and r.json()["Number"] == docs[0]["Number"]
    lines = get(session, onec, f"{SALES}_Товары", **{"$inlinecount": "allpages", "$top": "5"}).json()
    assert lines["odata.count"] == str(sum(len(d["Товары"]) for d in docs))
    assert lines["value"][0]["LineNumber"] == "1" and lines["value"][0]["Ref_Key"] == key
    flat = [line for d in docs for line in d["Товары"]]
    window = get(session, onec, f"{SALES}_Товары", **{"$skip": "3", "$top": "9"}).json()["value"]
    assert window == flat[3:12]


def test_errors_match_the_1c_shapes(onec: FakeOneC, session: requests.Session) -> None:
    bad_filter = get(session, onec, SALES, **{"$filter": "Date gee 1"})
    assert bad_filter.status_code == 400 and bad_filter.json()["odata.error"]["code"] == "14"
    bad_field = get(session, onec, SALES, **{"$select": "НетТакогоПоля"})
    assert bad_field.status_code == 400 and bad_field.json()["odata.error"]["code"] == "6"
    missing = session.get(
        onec.base_url + quote(f"{SALES}(guid'00000000-0000-0000-0000-000000000001')"),
        params={"$format": "json"},
        timeout=10,
    )
    assert missing.status_code == 404
    error = missing.json()["odata.error"]
    assert error["code"] == "9" and error["message"]["lang"] == "ru" and error["message"]["value"]


def test_injected_500_is_the_real_1c_body(onec: FakeOneC, session: requests.Session) -> None:
    onec.inject("500", entity=SALES)
    r = get(session, onec, SALES, **{"$top": "1"})
    assert r.status_code == 500
    assert r.json() == json.loads((FIXTURES / "odata_error_examples.json").read_text(encoding="utf-8"))["internal_500"]
    assert get(session, onec, SALES, **{"$top": "1"}).status_code == 200
    onec.inject("html")
    html = get(session, onec, SALES, **{"$top": "1"})
    assert html.status_code == 502 and html.headers["Content-Type"].startswith("text/html")


def test_metadata_lists_entity_sets(onec: FakeOneC, session: requests.Session) -> None:
    r = session.get(onec.base_url + "$metadata", timeout=10)
    root = ET.fromstring(r.content)
    names = {e.get("Name") for e in root.iter() if e.tag.endswith("EntitySet")}
    assert {SALES, f"{SALES}_Товары", "Catalog_Контрагенты", "Document_ВозвратТоваровОтКлиента"} <= names


def test_slow_first_request(demo_dir: Path) -> None:
    with FakeOneC(demo_dir, password="x", first_request_delay_s=1.0) as fake:
        url = fake.base_url + quote("Catalog_БизнесРегионы")
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(url, params={"$format": "json"}, auth=("Администратор".encode(), b"x"), timeout=0.3)
        r = requests.get(url, params={"$format": "json"}, auth=("Администратор".encode(), b"x"), timeout=5)
        assert len(r.json()["value"]) == 8


def test_broken_data_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "Catalog_X.jsonl").write_text('{"Ref_Key": "a"}\nnot json\n', encoding="utf-8")
    fake = FakeOneC(tmp_path, password="x")
    with pytest.raises(RuntimeError, match=r"Catalog_X\.jsonl: line 2 is not a JSON object"):
        fake.wait_loaded(timeout=10)
