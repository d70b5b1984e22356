"""The demo generator: determinism, source shapes and the business facts the KPIs need."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from hc_demo import generate
from ingestion.inn import is_valid_inn

SEED_TOTALS = {
    "Санкт-Петербург": 1876,
    "Республика Коми": 1014,
    "Архангельская область": 760,
    "Вологодская область": 544,
    "Калининградская область": 1035,
    "Ленинградская область": 2549,
    "Мурманская область": 658,
    "Новгородская область": 1475,
}


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _csv(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding)), delimiter=";"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(out, seed=7, clients=200)
    return out


def _all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    generate(tmp_path / "a", seed=3, clients=40)
    generate(tmp_path / "b", seed=3, clients=40)
    generate(tmp_path / "c", seed=4, clients=40)
    a, b, c = _all_files(tmp_path / "a"), _all_files(tmp_path / "b"), _all_files(tmp_path / "c")
    assert len(a) >= 27
    assert a == b
    assert a.keys() == c.keys()
    assert a["onec/Catalog_Контрагенты.jsonl"] != c["onec/Catalog_Контрагенты.jsonl"]
    assert a["bitrix24/companies.jsonl"] != c["bitrix24/companies.jsonl"]


def test_manifest_counts_match_files(demo: Path) -> None:
    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] == "2026-10-31"
    for key, rel in manifest["paths"].items():
        path = demo / rel
        if path.suffix == ".jsonl":
            assert manifest["counts"][key] == len(_jsonl(path)), key
    lines = sum(len(d["Товары"]) for d in _jsonl(demo / "onec/Document_РеализацияТоваровУслуг.jsonl"))
    assert manifest["counts"]["onec/sales_lines"] == lines


def test_counterparties_have_valid_inn_kpp_and_branches(demo: Path) -> None:
    rows = [r for r in _jsonl(demo / "onec/Catalog_Контрагенты.jsonl") if not r["DeletionMark"]]
    assert len(rows) == 200
    assert all(is_valid_inn(r["ИНН"]) for r in rows)
    legal = [r for r in rows if r["ЮрФизЛицо"] == "ЮрЛицо"]
    sole = [r for r in rows if r["ЮрФизЛицо"] != "ЮрЛицо"]
    assert legal and sole
    assert all(len(r["ИНН"]) == 10 and len(r["КПП"]) == 9 for r in legal)
    assert all(len(r["ИНН"]) == 12 and r["КПП"] == "" for r in sole)
    by_inn: dict[str, set[str]] = defaultdict(set)
    for r in legal:
        by_inn[r["ИНН"]].add(r["КПП"])
    assert any(len(kpps) > 1 for kpps in by_inn.values()), "no branch sharing an ИНН"
    assert any(r["Code"] != r["Code"].rstrip() for r in rows), "no space-padded Code"


def test_identity_matching_has_work_to_do(demo: Path) -> None:
    onec_inns = {r["ИНН"] for r in _jsonl(demo / "onec/Catalog_Контрагенты.jsonl")}
    companies = _jsonl(demo / "bitrix24/companies.jsonl")
    requisites = _jsonl(demo / "bitrix24/requisites.jsonl")
    with_requisites = {r["ENTITY_ID"] for r in requisites}
    assert any(c["ID"] not in with_requisites for c in companies), "every company has requisites"
    assert any(not is_valid_inn(r["RQ_INN"]) for r in requisites), "no invalid ИНН in Bitrix24"
    b24_inns = {r["RQ_INN"] for r in requisites}
    assert onec_inns - b24_inns, "every 1C counterparty is in Bitrix24"
    assert {c["COMPANY_TYPE"] for c in companies} == {"CUSTOMER", "PROSPECT"}


def test_rosstat_file_is_cp1251_with_seed_totals_for_latest_year(demo: Path) -> None:
    raw = (demo / "files/rosstat_outlets.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    rows = _csv(demo / "files/rosstat_outlets.csv", "cp1251")
    assert list(rows[0]) == ["Регион", "Год", "Количество торговых точек"]
    latest = {r["Регион"]: int(r["Количество торговых точек"]) for r in rows if r["Год"] == "2026"}
    assert latest == SEED_TOTALS
    earlier = {r["Регион"]: int(r["Количество торговых точек"]) for r in rows if r["Год"] == "2025"}
    assert earlier.keys() == SEED_TOTALS.keys() and earlier != latest


def _first_purchase_by_region(demo: Path) -> dict[str, dict[str, str]]:
    regions = {r["Ref_Key"]: r["Description"] for r in _jsonl(demo / "onec/Catalog_БизнесРегионы.jsonl")}
    partner_region = {
        r["Ref_Key"]: regions[r["БизнесРегион_Key"]] for r in _jsonl(demo / "onec/Catalog_Партнеры.jsonl")
    }
    first: dict[str, str] = {}
    region_of: dict[str, str] = {}
    for d in _jsonl(demo / "onec/Document_РеализацияТоваровУслуг.jsonl"):
        if not d["Posted"] or d["DeletionMark"]:
            continue
        key = d["Контрагент_Key"]
        region_of[key] = partner_region[d["Партнер_Key"]]
        if key not in first or d["Date"] < first[key]:
            first[key] = d["Date"]
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for key, day in first.items():
        out[region_of[key]][key] = day
    return out


def test_some_region_attracts_more_than_its_potential_list_in_latest_full_year(demo: Path) -> None:
    firsts = _first_purchase_by_region(demo)
    attracted = {region: sum(1 for d in days.values() if d.startswith("2025")) for region, days in firsts.items()}
    potential: dict[str, int] = defaultdict(int)
    for row in _csv(demo / "files/potential_clients.csv"):
        if row["Год"] == "2025":
            potential[row["Регион"]] += 1
            assert is_valid_inn(row["ИНН"])
    assert set(potential) <= set(SEED_TOTALS)
    over = [r for r in potential if attracted.get(r, 0) > potential[r]]
    under = [r for r in potential if attracted.get(r, 0) < potential[r]]
    assert over, f"attracted {attracted} vs potential {dict(potential)}"
    assert under


def test_unposted_deleted_documents_and_returns_exist(demo: Path) -> None:
    docs = _jsonl(demo / "onec/Document_РеализацияТоваровУслуг.jsonl")
    assert any(not d["Posted"] and not d["DeletionMark"] for d in docs)
    assert any(d["DeletionMark"] for d in docs)
    d = docs[0]
    assert d["Number"].startswith("ЦБ-") and len(d["Date"]) == 19 and "+" not in d["Date"]
    assert isinstance(d["Товары"][0]["LineNumber"], str) and isinstance(d["Товары"][0]["Сумма"], int | float)
    line_qty = {(x["Ref_Key"], x["Номенклатура_Key"]): x["Количество"] for d in docs for x in d["Товары"]}
    returns = _jsonl(demo / "onec/Document_ВозвратТоваровОтКлиента.jsonl")
    assert returns
    sale_keys = {d["Ref_Key"] for d in docs}
    assert all(r["ДокументРеализации_Key"] in sale_keys for r in returns)
    over_returned = [
        x
        for r in returns
        for x in r["Товары"]
        if x["Количество"] > line_qty[(r["ДокументРеализации_Key"], x["Номенклатура_Key"])]
    ]
    assert over_returned, "no return larger than its sale"


def test_bitrix24_shapes(demo: Path) -> None:
    company = _jsonl(demo / "bitrix24/companies.jsonl")[0]
    assert all(v is None or isinstance(v, str) for v in company.values())
    assert company["DATE_CREATE"].endswith("+03:00") and company["UF_CRM_HC_REGION"] in SEED_TOTALS
    user = _jsonl(demo / "bitrix24/users.jsonl")[1]
    assert (
        user["ACTIVE"] is True
        and isinstance(user["ID"], str)
        and all(isinstance(x, int) for x in user["UF_DEPARTMENT"])
    )
    assert len(_jsonl(demo / "bitrix24/users.jsonl")) == 16
    assert {d["NAME"] for d in _jsonl(demo / "bitrix24/departments.jsonl")} >= {
        "Отдел продаж СПб",
        "Отдел регионов",
        "Отдел ключевых клиентов",
    }
    cats = _jsonl(demo / "bitrix24/deal_categories.jsonl")
    assert [(c["id"], c["isDefault"]) for c in cats] == [(0, "Y"), (1, "N")]
    sources = {s["STATUS_ID"] for s in _jsonl(demo / "bitrix24/statuses.jsonl") if s["ENTITY_ID"] == "SOURCE"}
    assert sources == {"WEB", "TRADE_SHOW", "RECOMMENDATION", "SELF", "EMAIL", "CALL"}
    deals = _jsonl(demo / "bitrix24/deals.jsonl")
    assert {d["CATEGORY_ID"] for d in deals} == {"0", "1"}
    assert {d["STAGE_SEMANTIC_ID"] for d in deals} >= {"S", "F"}
    assert all(d["STAGE_ID"].startswith("C1:") == (d["CATEGORY_ID"] == "1") for d in deals)
    activities = _jsonl(demo / "bitrix24/activities.jsonl")
    assert {a["COMPLETED"] for a in activities} == {"Y", "N"} and {a["TYPE_ID"] for a in activities} == {"1", "2", "3"}


def test_stage_history_starts_with_creation_and_ends_with_the_deal_stage(demo: Path) -> None:
    deals = {d["ID"]: d for d in _jsonl(demo / "bitrix24/deals.jsonl")}
    history: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for h in _jsonl(demo / "bitrix24/deal_stage_history.jsonl"):
        history[h["OWNER_ID"]].append(h)
    assert set(history) == {int(i) for i in deals}
    for deal_id, items in history.items():
        deal = deals[str(deal_id)]
        assert items[0]["TYPE_ID"] == 1
        assert items[-1]["STAGE_ID"] == deal["STAGE_ID"]
        assert (items[-1]["TYPE_ID"] == 3) == (deal["CLOSED"] == "Y")
        times = [i["CREATED_TIME"] for i in items]
        assert times == sorted(times)


def test_first_shipment_follows_the_won_deal(demo: Path) -> None:
    inn_of_company = {r["ENTITY_ID"]: r["RQ_INN"] for r in _jsonl(demo / "bitrix24/requisites.jsonl")}
    counterparties = _jsonl(demo / "onec/Catalog_Контрагенты.jsonl")
    inn_count: dict[str, int] = defaultdict(int)
    for c in counterparties:
        inn_count[c["ИНН"]] += 1
    key_of_inn = {c["ИНН"]: c["Ref_Key"] for c in counterparties if not c["DeletionMark"]}
    first: dict[str, str] = {}
    for d in _jsonl(demo / "onec/Document_РеализацияТоваровУслуг.jsonl"):
        if d["Posted"] and not d["DeletionMark"]:
            first[d["Контрагент_Key"]] = min(first.get(d["Контрагент_Key"], "9"), d["Date"])
    checked = 0
    for deal in _jsonl(demo / "bitrix24/deals.jsonl"):
        if deal["CATEGORY_ID"] != "0" or deal["STAGE_ID"] != "WON":
            continue
        inn = inn_of_company.get(deal["COMPANY_ID"])
        if inn is None or inn_count.get(inn) != 1:
            continue
        assert first[key_of_inn[inn]] > deal["CLOSEDATE"][:19]
        checked += 1
    assert checked >= 20


def test_reference_files_headers_and_formats(demo: Path) -> None:
    plans = _csv(demo / "files/sales_plans.csv")
    assert list(plans[0])[:4] == ["Месяц", "ID менеджера", "Менеджер", "План выручки, руб"]
    assert plans[0]["Месяц"].count(".") == 2 and "," in plans[0]["План выручки, руб"]
    assert len({p["ID менеджера"] for p in plans}) == 15
    potential = _csv(demo / "files/potential_clients.csv")
    assert list(potential[0]) == ["Год", "Регион", "ИНН", "Наименование", "Менеджер", "Потенциальная емкость, руб/год"]
    matrix = _csv(demo / "files/assortment_matrix.csv")
    assert any(r["Артикул"] == "" for r in matrix) and any(r["Артикул"] for r in matrix)
    spend = _csv(demo / "files/marketing_spend.csv")
    assert list(spend[0]) == ["Месяц", "Источник", "Затраты, руб"]
    ws = load_workbook(demo / "files/nps_answers.xlsx").active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Дата", "ИНН", "Отдел", "Оценка")
    assert all(0 <= r[3] <= 10 for r in rows[1:])
    assert len({r[2] for r in rows[1:]}) == 3
    # openpyxl stamps the wall clock on save; the generator pins it so the bytes are reproducible
    with zipfile.ZipFile(demo / "files/nps_answers.xlsx") as xlsx:
        assert b">2000-01-01T00:00:00Z</dcterms:modified>" in xlsx.read("docProps/core.xml")
        assert {i.date_time for i in xlsx.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_nps_differs_by_department(tmp_path: Path) -> None:
    generate(tmp_path, seed=11, clients=600)
    ws = load_workbook(tmp_path / "files/nps_answers.xlsx").active
    by_dept: dict[str, list[int]] = defaultdict(list)
    for _, _, dept, score in list(ws.iter_rows(values_only=True))[1:]:
        by_dept[dept].append(score)
    nps = {d: (sum(s >= 9 for s in v) - sum(s <= 6 for s in v)) / len(v) for d, v in by_dept.items()}
    # profiles: key accounts 0.70-0.08, SPb 0.55-0.15, regions 0.35-0.30
    assert nps["Отдел ключевых клиентов"] > nps["Отдел продаж СПб"] > nps["Отдел регионов"]


def test_target_lines_sets_the_volume(tmp_path: Path) -> None:
    manifest = generate(tmp_path, seed=5, clients=30, target_lines=6000, as_of=date(2026, 10, 31))
    assert 4500 <= manifest.counts["onec/sales_lines"] <= 7500


def test_rejects_bad_parameters(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="clients"):
        generate(tmp_path, clients=3)
    with pytest.raises(ValueError, match="years"):
        generate(tmp_path, years=1)


def test_lead_sources_follow_the_seed_shares(demo: Path) -> None:
    leads = _jsonl(demo / "bitrix24/leads.jsonl")
    assert len(leads) > 150
    share = {
        s: sum(x["SOURCE_ID"] == s for x in leads) / len(leads)
        for s in ("WEB", "TRADE_SHOW", "RECOMMENDATION", "SELF", "EMAIL")
    }
    seed = {"WEB": 0.20, "TRADE_SHOW": 0.185, "RECOMMENDATION": 0.15, "SELF": 0.13, "EMAIL": 0.12}
    for source, expected in seed.items():
        assert abs(share[source] - expected) < 0.08, (source, share[source])


def test_sales_plans_are_over_and_under_fulfilled_by_the_same_managers_as_1c(demo: Path) -> None:
    b24_users = {f"{u['LAST_NAME']} {u['NAME']}": u["ID"] for u in _jsonl(demo / "bitrix24/users.jsonl")}
    onec_users = {u["Ref_Key"]: u["Description"] for u in _jsonl(demo / "onec/Catalog_Пользователи.jsonl")}
    assert set(onec_users.values()) == set(b24_users)
    revenue: dict[tuple[str, str], float] = defaultdict(float)
    for d in _jsonl(demo / "onec/Document_РеализацияТоваровУслуг.jsonl"):
        if d["Posted"] and not d["DeletionMark"]:
            manager = b24_users[onec_users[d["Менеджер_Key"]]]
            revenue[(manager, d["Date"][:7])] += sum(x["Сумма"] - x["СуммаНДС"] for x in d["Товары"])
    ratios = []
    for plan in _csv(demo / "files/sales_plans.csv"):
        day, month, year = plan["Месяц"].split(".")
        assert day == "01"
        key = (plan["ID менеджера"], f"{year}-{month}")
        target = float(plan["План выручки, руб"].replace(",", "."))
        if f"{year}-{month}" <= "2026-10" and target > 0:
            ratios.append(revenue.get(key, 0.0) / target)
    assert any(r > 1.05 for r in ratios) and any(r < 0.95 for r in ratios)


def _purchases(demo: Path) -> dict[str, list[tuple[str, float]]]:
    """Counterparty -> [(date, revenue without VAT)] of posted, not deleted sales."""
    out: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for d in _jsonl(demo / "onec/Document_РеализацияТоваровУслуг.jsonl"):
        if d["Posted"] and not d["DeletionMark"]:
            out[d["Контрагент_Key"]].append((d["Date"][:10], sum(x["Сумма"] - x["СуммаНДС"] for x in d["Товары"])))
    return out


def test_every_stability_type_occurs_in_the_latest_full_year(demo: Path) -> None:
    types: dict[str, int] = defaultdict(int)
    for rows in _purchases(demo).values():
        p = sum(v for d, v in rows if d.startswith("2025"))
        b = sum(v for d, v in rows if d.startswith("2024"))
        bought_p = any(d.startswith("2025") for d, _ in rows)
        bought_b = any(d.startswith("2024") for d, _ in rows)
        first = min(d for d, _ in rows)
        if len({d for d, _ in rows}) == 1:
            types["one_off"] += 1
        if first.startswith("2025"):
            types["new"] += 1
        elif bought_p and not bought_b and first < "2024":
            types["returned"] += 1
        elif bought_b and not bought_p:
            types["lost"] += 1
        elif bought_p and bought_b:
            types["growing" if p >= b * 1.1 else "falling" if p <= b * 0.9 else "stable"] += 1
    assert set(types) == {"one_off", "new", "returned", "lost", "growing", "falling", "stable"}, dict(types)


def test_overdue_clients_exist_as_of(demo: Path) -> None:
    as_of = date(2026, 10, 31)
    overdue = 0
    for rows in _purchases(demo).values():
        days = sorted({date.fromisoformat(d) for d, _ in rows})
        if len(days) < 3:
            continue
        gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
        usual = sum(gaps) / len(gaps)
        since = (as_of - days[-1]).days
        if since > min(2 * usual, 90) and since < 365:
            overdue += 1
    assert overdue >= 3


def test_output_does_not_depend_on_the_string_hash_seed(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    for name, hash_seed in (("a", "1"), ("b", "2")):
        subprocess.run(
            [sys.executable, "-m", "hc_demo", "--out", str(tmp_path / name), "--clients", "30"],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            check=True,
            capture_output=True,
        )
    assert _all_files(tmp_path / "a") == _all_files(tmp_path / "b")


# sha256 over (relative path, bytes) of every file generate() wrote, as the generator made them
# for GENERATOR_VERSION 3, before `long_tail` existed: options added since must not change them
DEFAULT_OUTPUT_SHA256 = {
    (3, 40, None): "75dae7d18d7ebde103785a37a58ccfd29c9595a042c5a5b97250e36fe555b28d",
    (5, 60, 20000): "0580a699b54d834f613f260e939a7829cd4a2db7657ba7acf4b764faf693f375",
}


def _tree_sha256(root: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize(("seed", "clients", "target_lines"), list(DEFAULT_OUTPUT_SHA256))
def test_default_output_is_what_version_3_wrote(tmp_path: Path, seed: int, clients: int, target_lines: int | None) -> None:
    from hc_demo.generator import GENERATOR_VERSION

    assert GENERATOR_VERSION == 3, "the output changed on purpose: update DEFAULT_OUTPUT_SHA256 with the version"
    generate(tmp_path, seed=seed, clients=clients, target_lines=target_lines)
    assert _tree_sha256(tmp_path) == DEFAULT_OUTPUT_SHA256[(seed, clients, target_lines)]


def _purchases_per_client(out: Path) -> list[int]:
    counts: dict[str, int] = defaultdict(int)
    for doc in _jsonl(out / "onec/Document_РеализацияТоваровУслуг.jsonl"):
        if doc["Posted"] and not doc["DeletionMark"]:
            counts[doc["Контрагент_Key"]] += 1
    return list(counts.values())


def test_long_tail_adds_one_off_and_rare_buyers_at_the_same_volume(tmp_path: Path) -> None:
    plain = generate(tmp_path / "plain", seed=7, clients=400, target_lines=40000)
    tail = generate(tmp_path / "tail", seed=7, clients=400, target_lines=40000, long_tail=0.5)
    plain_counts, tail_counts = _purchases_per_client(tmp_path / "plain"), _purchases_per_client(tmp_path / "tail")
    assert len(plain_counts) == len(tail_counts) == 400  # every client still buys

    def share(counts: list[int], lo: int, hi: int) -> float:
        return sum(lo <= n <= hi for n in counts) / len(counts)

    # half the clients are in the tail, half of those one-off: about 25 % on top of the demo's own 8 %
    assert share(plain_counts, 1, 1) < 0.12
    assert 0.25 <= share(tail_counts, 1, 1) <= 0.40
    # the other half are rare: 2 to 5 purchases in the whole history
    assert share(plain_counts, 2, 5) < 0.10
    assert 0.18 <= share(tail_counts, 2, 5) <= 0.32
    # the regular buyers buy more often, so the volume stays near the target
    for manifest in (plain, tail):
        assert 34000 <= manifest.counts["onec/sales_lines"] <= 46000
    assert json.loads((tmp_path / "tail/manifest.json").read_text(encoding="utf-8"))["long_tail"] == 0.5
    assert "long_tail" not in json.loads((tmp_path / "plain/manifest.json").read_text(encoding="utf-8"))


def test_long_tail_must_be_a_share(tmp_path: Path) -> None:
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="long_tail"):
            generate(tmp_path, clients=20, long_tail=bad)


def test_rosstat_outlets_scale_with_the_clients_above_the_default(tmp_path: Path) -> None:
    """At 30,000 clients (10 × the default) the latest year's outlets are 10 × the seed's «Общая
    КБ», so no region has more clients than outlets (coverage ≤ 1, as in the seed case); the
    scale is recorded in the manifest. Up to the default size nothing changes (hash test above)."""
    import random
    from types import SimpleNamespace

    from hc_demo import files_writer
    from hc_demo.generator import DEFAULT_CLIENTS, DemoManifest, rosstat_outlets_scale
    from hc_demo.population import Population, history_start

    assert rosstat_outlets_scale(40) == rosstat_outlets_scale(DEFAULT_CLIENTS) == 1.0
    assert rosstat_outlets_scale(30000) == 10.0
    as_of = date(2026, 10, 31)
    pop = Population(random.Random("42:population"), clients=30000, as_of=as_of, years=3, long_tail=0.5)
    files_writer.write_rosstat(tmp_path, pop, random.Random("42:files"), rosstat_outlets_scale(30000))
    rows = _csv(tmp_path / files_writer.ROSSTAT, "cp1251")
    latest = {r["Регион"]: int(r["Количество торговых точек"]) for r in rows if r["Год"] == "2026"}
    assert latest == {region: 10 * total for region, total in SEED_TOTALS.items()}
    clients_by_region: dict[str, int] = defaultdict(int)
    for party in pop.buyers:
        clients_by_region[files_writer.ref.REGIONS[party.region].name] += 1
    for region, clients in clients_by_region.items():
        assert clients <= latest[region], (region, clients, latest[region])
    # the default-size scale leaves the unscaled totals (what the seed case holds) at 30,000 too
    unscaled = SimpleNamespace(as_of=as_of, start=history_start(as_of, 3))
    files_writer.write_rosstat(tmp_path, unscaled, random.Random("42:files"))  # type: ignore[arg-type]
    rows = _csv(tmp_path / files_writer.ROSSTAT, "cp1251")
    assert {r["Регион"]: int(r["Количество торговых точек"]) for r in rows if r["Год"] == "2026"} == SEED_TOTALS
    assert any(clients > SEED_TOTALS[region] for region, clients in clients_by_region.items())

    assert DemoManifest(tmp_path, as_of, 42, 30000).to_json()["rosstat_outlets_scale"] == 10.0
    assert "rosstat_outlets_scale" not in DemoManifest(tmp_path, as_of, 42, DEFAULT_CLIENTS).to_json()
