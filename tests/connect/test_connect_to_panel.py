"""Issue 12, done-when: a portal and 1C bases shaped unlike the demo go from credentials to a
correct panel with `happyclient connect`, a mapping review and the pipeline.

Per case: the demo data set rewritten as a real-shaped portal (`hc_demo.fakes.real_portal`:
numbered UF fields, list fields, region only in the requisite's address, repeat pipeline 7,
custom stage and source ids) and a 1C base of another configuration
(`hc_demo.fakes.onec_profiles`: ERP 2, Бухгалтерия 3.0 or УНФ 3), served by the fakes; then
`happyclient connect bitrix24` and `happyclient connect onec` write the proposal, the test
"reviews" it (accepts it as written: deletes the `status: proposed` line), and the whole
pipeline (ingestion, dbt build with its tests, predictions) runs on it. The marts are then
compared with numbers recomputed here in plain Python from the files the fakes served, using
the names those files really have (never the mapping code's tables):

- 1C revenue per region and year (posted, not deletion-marked sales lines minus returns,
  VAT excluded when the price includes it; the line's region is the document partner's
  business region (ERP 2), else the client's region, which in БП 3.0 and УНФ comes only from
  the portal's requisite address);
- each Bitrix24 client's region, channel, size and potential, and the share of clients with a
  region;
- won deals per lead source, and deals per pipeline kind (new-client 0, repeat 7).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from tests.conftest import DEMO_TEST_CLIENTS, scratch_pipeline
from tests.integration.demo_truth import client_key

# the whole pipeline runs in the module fixture (10-25 min on a loaded 2-core machine)
pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(3600)]

AS_OF = date(2026, 10, 31)

# what each configuration's fake serves (documented names; written out here, not taken from
# ingestion.mapping.PROFILES, so a wrong profile there shows up as a wrong number)
SERVED = {
    "erp2": {
        "sales": ("Document_РеализацияТоваровУслуг", "Товары"),
        "returns": ("Document_ВозвратТоваровОтКлиента", "Товары"),
        "partners": "Catalog_Партнеры",
        "regions": "Catalog_БизнесРегионы",
    },
    "bp3": {
        "sales": ("Document_РеализацияТоваровУслуг", "Товары"),
        "returns": ("Document_ВозвратТоваровОтПокупателя", "Товары"),
        "partners": None,
        "regions": None,
    },
    "unf3": {
        "sales": ("Document_РасходнаяНакладная", "Запасы"),
        "returns": ("Document_ПриходнаяНакладная", "Запасы"),
        "partners": None,
        "regions": None,
    },
}
NONE = "Не указан"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _by_id(rows: list[dict[str, Any]], key: str = "ID") -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (len(str(r[key])), str(r[key])))


@dataclass(frozen=True)
class Connected:
    profile: str
    url: str
    served: Path
    mapping: dict[str, Any]
    success: bool
    errors: dict[str, str]


def _serve(demo: Path, served: Path, profile: str) -> None:
    """The demo data as `profile`'s 1C base and a real-shaped portal, in `served`."""
    from hc_demo.fakes.onec_profiles import make_onec_profile
    from hc_demo.fakes.real_portal import make_real_portal

    make_onec_profile(demo, served, profile)  # writes onec/, copies the demo's bitrix24/ and files/
    shutil.rmtree(served / "bitrix24")
    make_real_portal(demo, served)  # writes bitrix24/ shaped like a real portal


def _connect(profile: str, pg_admin_url: str, tmp: Path) -> Iterator[Connected]:
    from happyclient import cli
    from happyclient.demo import DemoData, ensure_demo_data, start_fakes
    from happyclient.pipeline import run_pipeline

    with scratch_pipeline(pg_admin_url, f"connect_{profile}") as (url, settings):
        demo, _ = ensure_demo_data(settings.demo_data_dir, seed=42, clients=DEMO_TEST_CLIENTS)
        served = tmp / "served"
        _serve(demo.path, served, profile)
        endpoints = start_fakes(settings, DemoData(served, demo.as_of, demo.seed, demo.clients))
        mapping_path = tmp / "mapping.yml"
        env = {
            "WAREHOUSE_URL": url,
            "HAPPYCLIENT_AS_OF": AS_OF.isoformat(),
            "WRITEBACK_ENABLED": "false",
            "HAPPYCLIENT_MAPPING": str(mapping_path),
            "FILES_DIR": str(served / "files"),
            "ONEC_ODATA_URL": endpoints.onec_odata_url,
            "ONEC_USER": endpoints.onec_user,
            "ONEC_PASSWORD": endpoints.onec_password,
            "BITRIX24_WEBHOOK_URL": endpoints.bitrix24_webhook_url,
            "BITRIX24_RATE_PER_S": "40",
            "BITRIX24_BURST": "200",
        }
        saved = {k: os.environ.get(k) for k in (*env, "FILES_MAPPING", "HAPPYCLIENT_DATA_DIR")}
        os.environ.pop("FILES_MAPPING", None)
        os.environ.update(env)
        os.environ["HAPPYCLIENT_DATA_DIR"] = str(settings.data_dir)
        try:
            # credentials -> connect (both systems write their part of one proposal) -> review
            assert cli.main(["connect", "bitrix24", "--mapping", str(mapping_path)]) == 0
            assert cli.main(["connect", "onec", "--mapping", str(mapping_path)]) == 0
            text = mapping_path.read_text(encoding="utf-8")
            assert "status: proposed" in text.splitlines()[0]
            mapping_path.write_text("\n".join(text.splitlines()[1:]) + "\n", encoding="utf-8")  # reviewed
            mapping = yaml.safe_load(mapping_path.read_text(encoding="utf-8"))
            result = run_pipeline(env, exclude_groups=("superset",))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        yield Connected(profile, url, served, mapping, result.success, dict(result.errors))


@pytest.fixture(scope="module", params=sorted(SERVED))
def connected(request: pytest.FixtureRequest, pg_admin_url: str,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connected]:
    yield from _connect(request.param, pg_admin_url, tmp_path_factory.mktemp(f"connect-{request.param}"))


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


# ------------------------------------------------------------------------------ the truth
class Truth:
    """What the panel must show, from the served files."""

    def __init__(self, served: Path, profile: str) -> None:
        names = SERVED[profile]
        b24 = served / "bitrix24"
        onec = served / "onec"
        from hc_demo.fakes import real_portal as rp

        # --- Bitrix24 clients: key by the first requisite's ИНН (else bitrix24:<id>), first company wins
        requisites = _by_id([r for r in _jsonl(b24 / "requisites.jsonl") if str(r.get("ENTITY_TYPE_ID")) == "4"])
        first_requisite: dict[str, dict[str, Any]] = {}
        requisites_of: dict[str, list[str]] = defaultdict(list)
        for rq in requisites:
            first_requisite.setdefault(str(rq["ENTITY_ID"]), rq)
            requisites_of[str(rq["ENTITY_ID"])].append(str(rq["ID"]))
        legal_province: dict[str, str] = {}
        for address in _jsonl(b24 / "addresses.jsonl"):
            if str(address["ENTITY_TYPE_ID"]) == "8" and str(address["TYPE_ID"]) == rp.ADDRESS_TYPE and address.get("PROVINCE"):
                legal_province[str(address["ENTITY_ID"])] = address["PROVINCE"]
        self.b24: dict[str, dict[str, Any]] = {}
        for company in _by_id(_jsonl(b24 / "companies.jsonl")):
            cid = str(company["ID"])
            rq = first_requisite.get(cid, {})
            key = client_key(rq.get("RQ_INN"), rq.get("RQ_KPP"), cid)
            key = f"bitrix24:{cid}" if key.startswith("onec:") else key
            region = next((legal_province[r] for r in sorted(requisites_of[cid], key=int) if r in legal_province), None)
            size = rp.SIZE_ITEMS.get(str(company.get(rp.SIZE_FIELD)))
            potential = company.get(rp.POTENTIAL_FIELD)
            self.b24.setdefault(key, {
                "region": region,
                "channel": rp.CHANNEL_ITEMS.get(str(company.get(rp.CHANNEL_FIELD))),
                "size": size.lower() if size else None,
                "potential": Decimal(str(potential)) if potential not in (None, "") else None,
            })

        # --- 1C: counterparty -> client and its 1C region (via the partner, where the configuration has partners)
        region_names = {r["Ref_Key"]: r["Description"] for r in _jsonl(onec / f"{names['regions']}.jsonl")} \
            if names["regions"] else {}
        partners = {p["Ref_Key"]: p for p in _jsonl(onec / f"{names['partners']}.jsonl")} if names["partners"] else {}
        partner_region = {k: region_names.get(p.get("БизнесРегион_Key") or "") for k, p in partners.items()}
        counterparties = sorted(_jsonl(onec / "Catalog_Контрагенты.jsonl"), key=lambda c: c["Ref_Key"])
        client_of: dict[str, str] = {}
        onec_region: dict[str, str | None] = {}
        onec_channel: dict[str, str | None] = {}
        for c in counterparties:
            if c.get("DeletionMark"):
                continue
            key = client_key(c.get("ИНН"), c.get("КПП"), c["Ref_Key"])
            client_of[c["Ref_Key"]] = key
            onec_region.setdefault(key, partner_region.get(c.get("Партнер_Key") or ""))
            onec_channel.setdefault(key, (partners.get(c.get("Партнер_Key") or "") or {}).get("КаналСбыта") or None)
        # a Bitrix24 client's region and channel: 1C's (its partner's) when it has one, else the portal's
        self.b24_attributes = {
            key: (onec_region.get(key) or v["region"] or NONE, onec_channel.get(key) or v["channel"] or NONE)
            for key, v in self.b24.items()
        }

        def client_region(key: str) -> str:
            return onec_region.get(key) or (self.b24.get(key) or {}).get("region") or NONE

        # --- revenue per (region, year)
        self.revenue: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
        for kind, sign in (("sales", 1), ("returns", -1)):
            entity, lines = names[kind]
            for doc in _jsonl(onec / f"{entity}.jsonl"):
                if not doc.get("Posted") or doc.get("DeletionMark"):
                    continue
                key = client_of.get(doc.get("Контрагент_Key") or "", f"onec:{doc.get('Контрагент_Key')}")
                region = partner_region.get(doc.get("Партнер_Key") or "") or client_region(key)
                year = int(doc["Date"][:4])
                for line in doc.get(lines) or []:
                    amount = Decimal(str(line["Сумма"]))
                    vat = Decimal(str(line.get("СуммаНДС") or 0))
                    revenue = amount - vat if doc.get("ЦенаВключаетНДС") else amount
                    self.revenue[(region, year)] += sign * revenue.quantize(Decimal("0.01"), ROUND_HALF_UP)

        # --- deals: won per source name, and per pipeline kind
        source_names = {s["STATUS_ID"]: s["NAME"] for s in _jsonl(b24 / "statuses.jsonl") if s.get("ENTITY_ID") == "SOURCE"}
        deals = _jsonl(b24 / "deals.jsonl")
        self.won_by_source = Counter(
            source_names.get(d.get("SOURCE_ID"), d.get("SOURCE_ID") or NONE) for d in deals
            if d.get("STAGE_SEMANTIC_ID") == "S"
        )
        kinds = {"0": "new_client", str(rp.REPEAT_PIPELINE): "repeat"}
        self.deals_by_kind = Counter(kinds.get(str(d.get("CATEGORY_ID") or "0"), "other") for d in deals)


@pytest.fixture(scope="module")
def truth(connected: Connected) -> Truth:
    return Truth(connected.served, connected.profile)


# ------------------------------------------------------------------------------ the tests
def test_the_proposal_fits_the_shapes_and_the_pipeline_passes(connected: Connected) -> None:
    from hc_demo.fakes import real_portal as rp

    company = connected.mapping["bitrix24"]["company"]
    assert company["region"]["address"] == "PROVINCE" and str(company["region"]["address_type"]) == rp.ADDRESS_TYPE
    assert company["channel"]["field"] == rp.CHANNEL_FIELD and company["channel"]["values"] == rp.CHANNEL_ITEMS
    assert company["potential"] == {"field": rp.POTENTIAL_FIELD}
    assert connected.mapping["bitrix24"]["deals"]["repeat_pipelines"] == [str(rp.REPEAT_PIPELINE)]
    assert connected.mapping["onec"]["profile"] == connected.profile
    assert connected.success, f"{connected.profile}: failed steps:\n" + "\n".join(
        f"{step}: {error[-2000:]}" for step, error in connected.errors.items()
    )


def test_revenue_per_region_and_year_equals_the_served_documents(connected: Connected, truth: Truth) -> None:
    got = {
        (region, int(year)): Decimal(total)
        for region, year, total in rows(
            connected.url,
            "select region, extract(year from document_date), sum(revenue) from marts.fct_sales_lines"
            " where source = 'onec' group by 1, 2",
        )
    }
    want = {k: v for k, v in truth.revenue.items() if v != 0 or k in got}
    assert got == want
    # the regions are real names, not one «Не указан» bucket: at least 5 regions carry revenue
    assert len({region for region, _ in got if region != NONE}) >= 5


def test_bitrix24_clients_get_region_channel_size_potential_through_the_mapping(
    connected: Connected, truth: Truth
) -> None:
    got = {
        client_id: (region, channel, size, potential)
        for client_id, region, channel, size, potential in rows(
            connected.url,
            "select client_id, region, channel, business_size, potential_rub from marts.dim_clients"
            " where bitrix24_company_id is not null",
        )
    }
    assert set(got) == set(truth.b24)
    mismatched = []
    for key, want in truth.b24.items():
        region, channel, size, potential = got[key]
        if (region, channel) != truth.b24_attributes[key]:
            mismatched.append((key, (region, channel), truth.b24_attributes[key]))
        if want["size"] is not None and size != want["size"]:
            mismatched.append((key, size, want))
        if (Decimal(potential) if potential is not None else None) != want["potential"]:
            mismatched.append((key, potential, want))
    assert not mismatched, mismatched[:5]
    # the share of clients with a region, as the preview and «Качество данных» count it
    want_share = sum(1 for region, _ in truth.b24_attributes.values() if region != NONE) / len(truth.b24)
    got_share = sum(1 for region, *_ in got.values() if region != NONE) / len(got)
    assert got_share == want_share
    # the region really comes from the portal's addresses (the real-shaped portal has no region field)
    from_portal = sum(1 for v in truth.b24.values() if v["region"])
    assert from_portal > 0.5 * len(truth.b24)


def test_won_deals_per_source_and_deals_per_pipeline_kind(connected: Connected, truth: Truth) -> None:
    won = dict(rows(connected.url, "select source_name, count(*) from marts.fct_deals where is_won group by 1"))
    assert won == dict(truth.won_by_source)
    kinds = dict(rows(connected.url, "select pipeline_kind, count(*) from staging.stg_bitrix24__deals group by 1"))
    assert kinds == dict(truth.deals_by_kind)
    assert kinds.get("repeat", 0) > 0 and kinds.get("new_client", 0) > 0
