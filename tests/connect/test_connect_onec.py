"""`happyclient connect onec` against the fake 1C serving each configuration profile."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from happyclient import cli
from happyclient.connect import detect_profile, discover_onec, preview_onec, propose_onec
from hc_demo.fakes.onec import FakeOneC
from hc_demo.fakes.onec_profiles import make_onec_profile
from ingestion import mapping as mp
from ingestion.inn import is_valid_inn
from ingestion.mapping import parse_metadata
from ingestion.onec.client import OneCClient

PASSWORD = "s3cret-пароль-1C"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(params=["ut11", "erp2", "bp3", "unf3"])
def base(request: pytest.FixtureRequest, connect_demo_dir: Path, tmp_path: Path) -> Iterator[tuple[str, FakeOneC]]:
    onec_dir = make_onec_profile(connect_demo_dir, tmp_path, request.param)
    fake = FakeOneC(onec_dir, password=PASSWORD)
    fake.start()
    yield request.param, fake
    fake.stop()


def _client(fake: FakeOneC) -> OneCClient:
    return OneCClient(fake.base_url, fake.user, fake.password, backoff_s=0.01)


def test_each_profile_is_detected_fits_its_mapping_and_previews_the_demos_numbers(
    base: tuple[str, FakeOneC], connect_demo_dir: Path
) -> None:
    profile, fake = base
    client = _client(fake)
    d = discover_onec(client)
    assert d.profile == profile
    section, _ = propose_onec(d)
    assert section == {"profile": profile, "entities": {}}
    mapping = mp.normalise({"onec": section})
    mp.check_onec(mapping, d.fields)  # every entity, tabular part and field of the profile is there
    others = [p for p in ("ut11", "bp3", "unf3") if mp.PROFILES[p] is not mp.PROFILES[profile]]
    for other in others:  # and another configuration's names are not
        with pytest.raises(mp.MappingError, match=r"onec\.entities\."):
            mp.check_onec(mp.normalise({"onec": {"profile": other}}), d.fields)
    preview = preview_onec(mapping, client, d)
    onec = connect_demo_dir / "onec"
    counterparties = [r for r in _jsonl(onec / "Catalog_Контрагенты.jsonl") if not r["DeletionMark"]]
    documents = _jsonl(onec / "Document_РеализацияТоваровУслуг.jsonl")
    facts = preview["facts"]
    assert facts["counterparties"] == len(counterparties)
    assert facts["counterparties_with_inn"] == sum(1 for r in counterparties if r["ИНН"].strip())
    assert facts["counterparties_valid_inn"] == sum(1 for r in counterparties if is_valid_inn(r["ИНН"]))
    assert facts["sales_documents_posted"] == sum(1 for r in documents if r["Posted"] and not r["DeletionMark"])
    assert facts["sales_documents_unknown_counterparty"] == 0
    returns = _jsonl(onec / "Document_ВозвратТоваровОтКлиента.jsonl")
    entities = mp.onec_entities(mapping)
    assert preview["counts"][entities["returns"]["entity"]] == len(returns)
    if profile in ("ut11", "erp2"):
        assert facts["counterparties_with_partner"] == len(counterparties)
    else:
        assert "counterparties_with_partner" not in facts


def test_metadata_of_each_profile_names_its_documents(base: tuple[str, FakeOneC]) -> None:
    profile, fake = base
    body = requests.get(fake.base_url + "$metadata", auth=(fake.user.encode(), fake.password.encode()), timeout=30)
    types = parse_metadata(body.content.decode("utf-8"))
    sales = mp.PROFILES[profile]["sales_documents"]
    assert sales["fields"]["counterparty"] in types[sales["entity"]]
    assert "Номенклатура_Key" in types[f"{sales['entity']}_{sales['lines']}"]
    assert detect_profile(types)[0] == profile


def test_cli_onec_writes_the_profile_and_never_prints_the_password(
    connect_demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeOneC(make_onec_profile(connect_demo_dir, tmp_path / "base", "unf3"), password=PASSWORD)
    fake.start()
    try:
        monkeypatch.setenv("ONEC_ODATA_URL", fake.base_url)
        monkeypatch.setenv("ONEC_USER", fake.user)
        monkeypatch.setenv("ONEC_PASSWORD", PASSWORD)
        path = tmp_path / "mapping.yml"
        assert cli.main(["connect", "onec", "--mapping", str(path)]) == 0
        out = capsys.readouterr().out
        assert mp.load(path)["onec"]["profile"] == "unf3"
        assert "Управление нашей фирмой" in out and "Document_РасходнаяНакладная" in out
        for shown in (out, path.read_text(encoding="utf-8")):
            assert PASSWORD not in shown
        # the bitrix24 section can join the same unreviewed file later; onec stays
        assert "onec:" in path.read_text(encoding="utf-8")
        monkeypatch.setenv("ONEC_PASSWORD", "wrong-" + PASSWORD)
        assert cli.main(["connect", "onec", "--mapping", str(path), "--no-write"]) == 1
        out = capsys.readouterr().out
        assert "ONEC_USER" in out and PASSWORD not in out
    finally:
        fake.stop()
