"""`happyclient connect bitrix24` against the fake portal: the demo's and a real-shaped data set."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from happyclient import cli
from happyclient.connect import (
    PortalDiscovery,
    discover_bitrix24,
    preview_bitrix24,
    propose_bitrix24,
)
from hc_demo.fakes import real_portal
from hc_demo.fakes.bitrix24 import FakeBitrix24
from ingestion import mapping as mp
from ingestion.bitrix24.auth import WebhookAuth
from ingestion.bitrix24.client import Bitrix24Client
from ingestion.inn import is_valid_inn

DOCUMENTED = Path(__file__).resolve().parents[1] / "fixtures/connect/bitrix24"
CAPTURED_FIELDS = (
    Path(__file__).resolve().parents[1] / "fixtures/sources/bitrix24/captured/crm_lead_fields_success.json"
)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def demo_portal(connect_demo_dir: Path) -> Iterator[FakeBitrix24]:
    fake = FakeBitrix24(connect_demo_dir, rate_per_s=1000.0, burst=1000)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def real_portal_fake(real_portal_dir: Path) -> Iterator[FakeBitrix24]:
    fake = FakeBitrix24(real_portal_dir, rate_per_s=1000.0, burst=1000)
    fake.start()
    yield fake
    fake.stop()


def _client(fake: FakeBitrix24) -> Bitrix24Client:
    return Bitrix24Client(WebhookAuth(fake.webhook_url), rate_per_s=1000.0, burst=1000)


def test_fake_answers_discovery_methods_in_the_captured_shapes(real_portal_fake: FakeBitrix24) -> None:
    captured = json.loads(CAPTURED_FIELDS.read_text(encoding="utf-8"))["result"]
    shapes = {frozenset(v) for v in captured.values()}
    captured_uf = next(frozenset(v) for k, v in captured.items() if k.startswith("UF_"))
    body = requests.post(real_portal_fake.webhook_url + "crm.company.fields", json={}, timeout=10).json()
    assert set(body) == {"result", "time"}
    for code, info in body["result"].items():
        keys = frozenset(info) - {"items"}  # list fields add their items
        if code.startswith("UF_"):
            assert keys == captured_uf, code
        else:
            assert keys in shapes, code
    channel = body["result"][real_portal.CHANNEL_FIELD]
    assert channel["listLabel"] == "Канал продаж" and channel["type"] == "enumeration"
    assert channel["items"][0] == {"ID": "45", "VALUE": real_portal.CHANNEL_ITEMS["45"]}
    scope = requests.post(real_portal_fake.webhook_url + "scope", json={}, timeout=10).json()
    assert sorted(scope["result"]) == ["crm", "department", "task", "user"]
    addresses = requests.post(real_portal_fake.webhook_url + "crm.address.list", json={}, timeout=10).json()
    assert len(addresses["result"]) == 50 and addresses["next"] == 50 and addresses["total"] > 100
    real = json.loads((DOCUMENTED / "crm.address.list.response.json").read_text(encoding="utf-8"))
    for row in addresses["result"]:
        assert set(row) == set(real["result"][0]) | {"LOC_ADDR_ID"}
        assert all(isinstance(row[k], str) for k in ("TYPE_ID", "ENTITY_TYPE_ID", "ENTITY_ID", "ANCHOR_ID"))
    types = requests.post(real_portal_fake.webhook_url + "crm.enum.addresstype", json={}, timeout=10).json()
    documented = json.loads((DOCUMENTED / "crm.enum.addresstype.response.json").read_text(encoding="utf-8"))
    assert types["result"] == documented["result"]


def test_demo_portal_proposal_is_the_demo_mapping(demo_portal: FakeBitrix24) -> None:
    d = discover_bitrix24(_client(demo_portal))
    section, _ = propose_bitrix24(d)
    assert section == mp.normalise({})["bitrix24"]
    mp.check_bitrix24(mp.normalise({"bitrix24": section}), d.as_check_input())


def test_real_portal_proposal_finds_the_numbered_fields_by_label(real_portal_fake: FakeBitrix24,
                                                                 real_portal_dir: Path) -> None:
    d = discover_bitrix24(_client(real_portal_fake))
    section, notes = propose_bitrix24(d)
    company = section["company"]
    # the decoy «Регион (старое поле)» is empty: the region comes from the legal address
    assert company["region"] == {"address": "PROVINCE", "address_type": 6}
    assert company["channel"] == {"field": real_portal.CHANNEL_FIELD, "values": real_portal.CHANNEL_ITEMS}
    assert company["potential"] == {"field": real_portal.POTENTIAL_FIELD}
    assert company["size"] == {"field": real_portal.SIZE_FIELD, "values": real_portal.SIZE_ITEMS}
    assert section["deals"]["new_client_pipelines"] == ["0"]
    assert section["deals"]["repeat_pipelines"] == [str(real_portal.REPEAT_PIPELINE)]
    assert any("«Тендеры»" in n for n in notes)
    shaped = real_portal_dir / "bitrix24" / "addresses.jsonl"
    keys = [(a["TYPE_ID"], a["ENTITY_TYPE_ID"], a["ENTITY_ID"]) for a in d.addresses]
    assert sorted(keys) == sorted((a["TYPE_ID"], a["ENTITY_TYPE_ID"], a["ENTITY_ID"]) for a in _jsonl(shaped))
    assert len(set(keys)) == len(keys) > 150  # every address once: page 1 alone, the rest 50 pages to a batch
    assert real_portal_fake.calls("crm.address.list") == 1
    labels = {u["FIELD_NAME"]: u["EDIT_FORM_LABEL"] for u in d.userfields}  # asked for with LANG=ru
    assert labels[real_portal.CHANNEL_FIELD] == "Канал продаж" and len(labels) == len(real_portal.USERFIELDS)
    mapping = mp.normalise({"bitrix24": section})
    mp.check_bitrix24(mapping, d.as_check_input())
    # the demo's mapping does not fit this portal, and says what does
    with pytest.raises(mp.MappingError, match=r"bitrix24\.company\.region\.field = 'UF_CRM_HC_REGION'.*Канал продаж"):
        mp.check_bitrix24(mp.normalise({}), d.as_check_input())


def test_real_portal_preview_equals_the_demo_data_recomputed(real_portal_fake: FakeBitrix24, connect_demo_dir: Path) -> None:
    """The real-shaped portal is the demo renamed: its preview must give the demo's own numbers,
    counted here straight from the demo's files."""
    d = discover_bitrix24(_client(real_portal_fake))
    section, _ = propose_bitrix24(d)
    preview = preview_bitrix24(mp.normalise({"bitrix24": section}), d)
    b24 = connect_demo_dir / "bitrix24"
    companies = _jsonl(b24 / "companies.jsonl")
    requisites = [r for r in _jsonl(b24 / "requisites.jsonl") if str(r["ENTITY_TYPE_ID"]) == "4"]
    inn_by_company: dict[str, str] = {}
    for r in requisites:
        if r.get("RQ_INN"):
            inn_by_company.setdefault(str(r["ENTITY_ID"]), r["RQ_INN"])
    deals = _jsonl(b24 / "deals.jsonl")
    assert preview["companies"] == len(companies)
    c = preview["concepts"]
    for concept, uf in (("region", "UF_CRM_HC_REGION"), ("channel", "UF_CRM_HC_CHANNEL"),
                        ("potential", "UF_CRM_HC_POTENTIAL"), ("size", "UF_CRM_HC_SIZE")):
        filled = sum(1 for row in companies if row.get(uf))
        assert c[concept]["matched"] == filled, concept
        assert c[concept]["unmatched"] == len(companies) - filled
    assert c["inn"]["matched"] == len(inn_by_company)
    assert c["inn"]["unmatched"] == len(companies) - len(inn_by_company) > 0
    assert c["inn"]["invalid"] == sum(1 for v in inn_by_company.values() if not is_valid_inn(v)) > 0
    by_category = Counter(str(x["CATEGORY_ID"]) for x in deals)
    won = Counter(str(x["CATEGORY_ID"]) for x in deals if x["STAGE_SEMANTIC_ID"] == "S")
    p = preview["pipelines"]
    assert p["0"] == {"name": "Продажи", "role": "new clients", "deals": by_category["0"], "won": won["0"]}
    assert p["7"]["role"] == "repeat sales" and (p["7"]["deals"], p["7"]["won"]) == (by_category["1"], won["1"])
    assert p["9"] == {"name": "Тендеры", "role": None, "deals": 0, "won": 0}
    assert preview["counts"]["deals"] == len(deals)


def _discovery(**overrides: Any) -> PortalDiscovery:
    base: dict[str, Any] = dict(
        scopes=["crm", "user"], user={"ID": "1"}, profile={}, company_fields={}, userfields=[], deal_fields={},
        requisite_fields={}, address_types={"1": "Фактический адрес", "6": "Юридический адрес"},
        categories={"0": "Продажи"}, stages={}, sources={}, counts={}, companies=[], requisites=[], addresses=[],
    )
    base.update(overrides)
    return PortalDiscovery(**base)


def test_preview_counts_on_a_hand_made_portal() -> None:
    assert is_valid_inn("7707083893") and not is_valid_inn("7707083890")
    d = _discovery(
        companies=[
            {"ID": "1", "UF_CRM_5": "45"},
            {"ID": "2", "UF_CRM_5": "99"},  # a list item the mapping does not name
            {"ID": "3", "UF_CRM_5": None},  # no channel, no requisite
            {"ID": "4", "UF_CRM_5": ["46"]},  # multiple field: the first value
        ],
        requisites=[
            {"ID": "11", "ENTITY_TYPE_ID": "4", "ENTITY_ID": "1", "RQ_INN": "7707083893"},
            {"ID": "12", "ENTITY_TYPE_ID": "4", "ENTITY_ID": "2", "RQ_INN": "7707083890"},  # bad checksum
            {"ID": "14", "ENTITY_TYPE_ID": "4", "ENTITY_ID": "4", "RQ_INN": None},
        ],
        addresses=[
            {"TYPE_ID": "6", "ENTITY_TYPE_ID": "8", "ENTITY_ID": "11", "PROVINCE": "Москва"},
            {"TYPE_ID": "1", "ENTITY_TYPE_ID": "8", "ENTITY_ID": "12", "PROVINCE": "Тверская область"},  # other type
            {"TYPE_ID": "6", "ENTITY_TYPE_ID": "8", "ENTITY_ID": "14", "PROVINCE": ""},
        ],
    )
    mapping = mp.normalise({"bitrix24": {"company": {
        "region": {"address": "PROVINCE", "address_type": 6},
        "channel": {"field": "UF_CRM_5", "values": {"45": "Розница", "46": "Сети"}},
        "potential": None, "size": None,
    }}})
    c = preview_bitrix24(mapping, d)["concepts"]
    # by hand: region only company 1; channel companies 1 and 4, company 2's item 99 is unnamed;
    # ИНН companies 1 and 2, company 2's fails the checksum
    assert (c["region"]["matched"], c["region"]["unmatched"]) == (1, 3)
    assert (c["channel"]["matched"], c["channel"]["unmatched"], c["channel"]["unnamed_values"]) == (2, 2, 1)
    assert (c["inn"]["matched"], c["inn"]["unmatched"], c["inn"]["invalid"]) == (2, 2, 1)
    assert c["potential"]["matched"] == 0 and c["potential"]["unmatched"] == 4


def test_cli_writes_the_proposal_keeps_a_reviewed_file_and_prints_no_secret(
    real_portal_fake: FakeBitrix24, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BITRIX24_WEBHOOK_URL", real_portal_fake.webhook_url)
    monkeypatch.setenv("BITRIX24_RATE_PER_S", "1000")
    monkeypatch.setenv("BITRIX24_BURST", "1000")
    path = tmp_path / "config" / "mapping.yml"
    assert cli.main(["connect", "bitrix24", "--mapping", str(path)]) == 0
    out = capsys.readouterr().out
    text = path.read_text(encoding="utf-8")
    for shown in (out, text):
        assert real_portal_fake.webhook_secret not in shown
        assert real_portal_fake.webhook_url not in shown
    assert text.startswith("# " + "status: proposed")
    written = mp.load(path)
    assert written["bitrix24"]["company"]["channel"]["field"] == real_portal.CHANNEL_FIELD
    assert "region     address PROVINCE (type 6)" in out
    assert "NOT MAPPED" in out and "«Тендеры»" in out

    # the user reviews: drops the marker line and switches size off
    raw = yaml.safe_load(text)
    raw["bitrix24"]["company"]["size"] = None
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    reviewed = path.read_text(encoding="utf-8")
    assert cli.main(["connect", "bitrix24", "--mapping", str(path)]) == 0
    out = capsys.readouterr().out
    assert path.read_text(encoding="utf-8") == reviewed  # never overwritten without --force
    proposed = tmp_path / "config" / "mapping.proposed.yml"
    assert mp.load(proposed)["bitrix24"]["company"]["size"]["field"] == real_portal.SIZE_FIELD
    assert "size       (not mapped)" in out  # the preview shows the reviewed mapping
    assert cli.main(["connect", "bitrix24", "--mapping", str(path), "--force"]) == 0
    capsys.readouterr()
    assert mp.load(path)["bitrix24"]["company"]["size"]["field"] == real_portal.SIZE_FIELD

    # a reviewed mapping that does not fit the portal: the error names key, value, alternatives
    raw["bitrix24"]["company"]["channel"] = {"field": "UF_CRM_HC_CHANNEL"}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert cli.main(["connect", "bitrix24", "--mapping", str(path), "--no-write"]) == 1
    out = capsys.readouterr().out
    assert "bitrix24.company.channel.field = 'UF_CRM_HC_CHANNEL'" in out
    assert f"{real_portal.CHANNEL_FIELD} (Канал продаж)" in out
    assert real_portal_fake.webhook_secret not in out


def test_missing_scope_is_reported_with_the_fix(connect_demo_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fake = FakeBitrix24(connect_demo_dir, rate_per_s=1000.0, burst=1000, scopes=frozenset({"user", "task"}))
    fake.start()
    try:
        monkeypatch.setenv("BITRIX24_WEBHOOK_URL", fake.webhook_url)
        assert cli.main(["connect", "bitrix24", "--mapping", str(tmp_path / "m.yml")]) == 1
        out = capsys.readouterr().out
        assert "lacks the scopes crm" in out and "Inbound webhook" in out
        assert fake.webhook_secret not in out
        assert not (tmp_path / "m.yml").exists()
    finally:
        fake.stop()


def test_the_demo_runs_with_the_example_mapping_and_it_fits_the_demo_portal(demo_portal: FakeBitrix24,
                                                                           tmp_path: Path) -> None:
    import datetime

    from happyclient.demo import DemoData, FakeEndpoints, source_env

    endpoints = FakeEndpoints(demo_portal.webhook_url, "http://127.0.0.1:2/odata", "demo", "pw-123456")
    env = source_env(endpoints, DemoData(tmp_path, datetime.date(2026, 10, 31), 42, 300))
    example = Path(env[mp.ENV_VAR])
    assert example == mp.PROJECT_ROOT / "config" / "mapping.example.yml"
    checked = mp.check_before_load("bitrix24", lambda: _client(demo_portal), env=env)
    assert checked == mp.normalise({})
