"""`happyclient connect bitrix24|onec`: look at a company's portal or 1C base, propose a mapping.

With the credentials in the environment (BITRIX24_WEBHOOK_URL; ONEC_ODATA_URL / ONEC_USER /
ONEC_PASSWORD) it checks access, lists what exists, detects the 1C configuration, proposes
where each concept comes from (`ingestion.mapping`), writes the proposal for review and
prints a preview: counts per entity, the share of companies that get a region / channel /
ИНН, and what stays unmatched. Read-only (list, get and fields methods only), through the
rate-limited clients of the connectors; everything printed passes `hc_base.redact`.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from happyclient.console import Console
from hc_base.redact import redact
from ingestion import mapping as mp
from ingestion.bitrix24.client import PAGE_SIZE, Bitrix24Client, rows_of
from ingestion.bitrix24.errors import Bitrix24Error
from ingestion.inn import is_valid_inn
from ingestion.onec.client import OneCClient

PROPOSED_MARK = "status: proposed"
NEEDED_SCOPES = ("crm", "user")
WRITE_BACK_SCOPES = ("task",)
KEYWORDS: dict[str, tuple[str, ...]] = {
    "region": ("регион", "область", "край", "субъект", "region"),
    "channel": ("канал", "channel", "сегмент"),
    "potential": ("потенциал", "ёмкость", "емкость", "potential"),
    "size": ("размер", "масштаб", "величина", "size"),
}
NUMERIC_TYPES = ("double", "integer", "money")
REPEAT_WORDS = ("повтор", "допрод", "постоянн", "repeat", "upsell")
NEW_WORDS = ("нов", "привлеч", "продаж", "new", "sales")


class ConnectError(RuntimeError):
    """A connection or access problem the user must fix (the message says how)."""


# ============================================================================ Bitrix24
@dataclass
class PortalDiscovery:
    scopes: list[str]
    user: dict[str, Any]
    profile: dict[str, Any]
    company_fields: dict[str, dict[str, Any]]
    userfields: list[dict[str, Any]]
    deal_fields: dict[str, dict[str, Any]]
    requisite_fields: dict[str, dict[str, Any]]
    address_types: dict[str, str]
    categories: dict[str, str]
    stages: dict[str, dict[str, Any]]
    sources: dict[str, str]
    counts: dict[str, int]
    companies: list[dict[str, Any]]
    requisites: list[dict[str, Any]]
    addresses: list[dict[str, Any]]
    deals_by_pipeline: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_check_input(self) -> dict[str, Any]:
        return {
            "company_fields": self.company_fields,
            "requisite_fields": self.requisite_fields,
            "address_types": self.address_types,
            "categories": self.categories,
            "stages": list(self.stages),
            "sources": self.sources,
        }


def _total(client: Bitrix24Client, method: str, flt: Mapping[str, Any] | None = None) -> int:
    answer = client.call(method, {"select": ["ID"], "filter": dict(flt or {}), "start": 0})
    return int(answer.get("total") or 0)


def _all_pages(client: Bitrix24Client, method: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every row of an offset-paged list method with no ID to page on (`crm.address.list`): the
    first page gives `total`, the other pages go 50 to a `batch` (2 000 pages = 40 requests)."""
    first = client.call(method, {**dict(params), "start": 0})
    rows = rows_of(first.get("result"))
    total = int(first.get("total") or 0)
    pages = {str(start): {**dict(params), "start": start} for start in range(PAGE_SIZE, total, PAGE_SIZE)}
    by_start = {int(key): rows_of(result) for key, result in client.get_many(method, pages)}
    for start in sorted(by_start):
        rows.extend(by_start[start])
    return rows


def discover_bitrix24(client: Bitrix24Client) -> PortalDiscovery:
    """Everything `connect` needs from a portal, read-only."""
    try:
        scopes = [str(s) for s in client.call("scope")["result"]]
    except Bitrix24Error as exc:
        raise ConnectError(f"the portal refused the webhook: {exc}. Check BITRIX24_WEBHOOK_URL.") from None
    missing = [s for s in NEEDED_SCOPES if s not in scopes]
    if missing:
        raise ConnectError(
            f"the webhook lacks the scopes {', '.join(missing)} (it has: {', '.join(scopes) or 'none'}); "
            "edit the inbound webhook in Bitrix24 (Developer resources → Other → Inbound webhook) and tick them"
        )
    user = client.call("user.current")["result"]
    profile = client.call("profile")["result"]
    company_fields = dict(client.call("crm.company.fields")["result"])
    userfields = list(client.list_paged("crm.company.userfield.list", {"filter": {"LANG": "ru"}}))
    deal_fields = dict(client.call("crm.deal.fields")["result"])
    requisite_fields = dict(client.call("crm.requisite.fields")["result"])
    address_types = {str(t["ID"]): str(t["NAME"]) for t in client.call("crm.enum.addresstype")["result"]}
    categories = {str(c["id"]): str(c["name"]) for c in client.list_paged("crm.category.list", {"entityTypeId": 2})}
    categories.setdefault("0", "Общая")
    stages: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    for status in client.list_paged("crm.status.list"):
        entity = str(status.get("ENTITY_ID") or "")
        if entity == "SOURCE":
            sources[str(status["STATUS_ID"])] = str(status.get("NAME") or "")
        elif entity == "DEAL_STAGE" or entity.startswith("DEAL_STAGE_"):
            semantics = status.get("SEMANTICS") or (status.get("EXTRA") or {}).get("SEMANTICS")
            stages[str(status["STATUS_ID"])] = {
                "name": status.get("NAME"),
                "category": str(status.get("CATEGORY_ID") or "0"),
                "semantics": {"success": "S", "failure": "F", "process": "P"}.get(str(semantics), semantics),
            }
    companies = list(client.list_all("crm.company.list", {"select": ["ID", "TITLE", "UF_*"]}))
    requisites = list(
        client.list_all(
            "crm.requisite.list",
            {"filter": {"ENTITY_TYPE_ID": 4}, "select": ["ID", "ENTITY_TYPE_ID", "ENTITY_ID", "RQ_INN", "ADDRESS_ONLY"]},
        )
    )
    addresses = _all_pages(client, "crm.address.list", {
        "filter": {"ENTITY_TYPE_ID": 8}, "order": {"ENTITY_TYPE_ID": "ASC", "ENTITY_ID": "ASC", "TYPE_ID": "ASC"},
    })
    counts = {
        "companies": len(companies),
        "requisites": len(requisites),
        "addresses": len(addresses),
        "contacts": _total(client, "crm.contact.list"),
        "leads": _total(client, "crm.lead.list"),
        "deals": _total(client, "crm.deal.list"),
    }
    deals_by_pipeline = {
        cid: {
            "deals": _total(client, "crm.deal.list", {"CATEGORY_ID": cid}),
            "won": _total(client, "crm.deal.list", {"CATEGORY_ID": cid, "STAGE_SEMANTIC_ID": "S"}),
        }
        for cid in categories
    }
    return PortalDiscovery(
        scopes, dict(user), dict(profile), company_fields, userfields, deal_fields, requisite_fields, address_types,
        categories, stages, sources, counts, companies, requisites, addresses, deals_by_pipeline,
    )


def _label(info: Mapping[str, Any]) -> str:
    for key in ("listLabel", "formLabel", "filterLabel", "title"):
        if info.get(key):
            return str(info[key])
    return ""


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _is_number(value: Any) -> bool:
    try:
        float(str(value).replace(" ", "").replace(",", "."))
    except ValueError:
        return False
    return True


@dataclass
class Candidate:
    concept: str
    source: dict[str, Any]
    why: str
    filled: int


def _field_candidates(d: PortalDiscovery, concept: str) -> list[Candidate]:
    out = []
    for code, info in d.company_fields.items():
        if not (info.get("isDynamic") or code.startswith("UF_")):
            continue
        label = _label(info)
        text = f"{label} {code}".lower()
        if not any(word in text for word in KEYWORDS[concept]):
            continue
        kind = str(info.get("type") or "")
        values = [_first(c.get(code)) for c in d.companies]
        present = [v for v in values if not _blank(v)]
        if concept == "potential":
            numeric = kind in NUMERIC_TYPES or (present and sum(map(_is_number, present)) >= 0.8 * len(present))
            if not numeric:
                continue
        elif kind in NUMERIC_TYPES or (present and all(_is_number(v) for v in present) and kind != "enumeration"):
            continue  # a region / channel / size is a name or a list item, not a number
        source: dict[str, Any] = {"field": code}
        items = {str(i.get("ID")): str(i.get("VALUE")) for i in info.get("items") or []}
        if kind == "enumeration" and items:
            source["values"] = items
        samples = sorted({str(items.get(str(v), v)) for v in present})[:3]
        why = f"«{label}» ({kind}), filled in {len(present)} of {len(values)} companies" + (
            f", e.g. {', '.join(samples)}" if samples else ""
        )
        out.append(Candidate(concept, source, why, len(present)))
    return sorted(out, key=lambda c: -c.filled)


def _address_values(d: PortalDiscovery, part: str, address_type: str | None) -> dict[str, Any]:
    """company id -> the address part (first requisite that has one)."""
    req_company = {str(r["ID"]): str(r["ENTITY_ID"]) for r in d.requisites if str(r.get("ENTITY_TYPE_ID")) == "4"}
    out: dict[str, Any] = {}
    for a in d.addresses:
        if str(a.get("ENTITY_TYPE_ID")) != "8" or (address_type and str(a.get("TYPE_ID")) != address_type):
            continue
        company = req_company.get(str(a.get("ENTITY_ID")))
        if company and not _blank(a.get(part)) and company not in out:
            out[company] = a.get(part)
    return out


def _address_candidate(d: PortalDiscovery) -> Candidate | None:
    best: Candidate | None = None
    for part in ("PROVINCE", "REGION"):
        types = Counter(str(a.get("TYPE_ID")) for a in d.addresses if not _blank(a.get(part)))
        if not types:
            continue
        address_type = types.most_common(1)[0][0]
        filled = len(_address_values(d, part, address_type))
        name = d.address_types.get(address_type, address_type)
        why = f"requisite address part {part} («{name}», type {address_type}), filled for {filled} of {len(d.companies)} companies"
        if best is None or filled > best.filled:
            best = Candidate("region", {"address": part, "address_type": int(address_type)}, why, filled)
    return best


def propose_bitrix24(d: PortalDiscovery) -> tuple[dict[str, Any], list[str]]:
    """The `bitrix24` section of a mapping for this portal, and why each choice was made."""
    notes: list[str] = []
    company: dict[str, Any] = {}
    for concept in ("region", "channel", "potential", "size"):
        candidates = [c for c in _field_candidates(d, concept) if c.filled > 0]
        if concept == "region":
            address = _address_candidate(d)
            if address and (not candidates or address.filled > candidates[0].filled):
                candidates.insert(0, address)
        if candidates:
            company[concept] = candidates[0].source
            notes.append(f"{concept}: {candidates[0].why}")
            for other in candidates[1:3]:
                notes.append(f"  also possible: {other.source} — {other.why}")
        else:
            company[concept] = None
            notes.append(f"{concept}: nothing found (no filled field labelled like {', '.join(KEYWORDS[concept])}); set it by hand or leave null")
    inn_filled = sum(1 for r in d.requisites if not _blank(r.get("RQ_INN")))
    company["inn"] = {"requisite": "RQ_INN"}
    notes.append(f"inn: requisite RQ_INN, filled in {inn_filled} of {len(d.requisites)} requisites")
    new_client, repeat, unmapped = [], [], []
    for cid, name in d.categories.items():
        low = name.lower()
        if any(w in low for w in REPEAT_WORDS):
            repeat.append(cid)
        elif cid == "0" or any(w in low for w in NEW_WORDS):
            new_client.append(cid)
        else:
            unmapped.append(cid)
    for cid in unmapped:
        notes.append(f"pipeline {cid} «{d.categories[cid]}»: neither new clients nor repeat sales by its name; "
                     "add it to one of the lists if its deals count")
    section = {
        "company": company,
        "deals": {"new_client_pipelines": new_client, "repeat_pipelines": repeat, "won_stages": "auto", "lost_stages": "auto"},
        "lead_sources": {},
    }
    return section, notes


def _company_values(d: PortalDiscovery, spec: Mapping[str, Any] | None) -> tuple[dict[str, Any], int]:
    """company id -> value for a concept's source, and how many filled values had no name."""
    if not spec:
        return {}, 0
    if "field" in spec:
        values = spec.get("values") or {}
        out, unnamed = {}, 0
        for c in d.companies:
            raw = _first(c.get(spec["field"]))
            if _blank(raw):
                continue
            if values:
                if str(raw) not in values:
                    unnamed += 1
                    continue
                raw = values[str(raw)]
            out[str(c["ID"])] = raw
        return out, unnamed
    if "address" in spec:
        kind = spec.get("address_type")
        return _address_values(d, spec["address"], str(kind) if kind not in (None, "") else None), 0
    by_company: dict[str, Any] = {}
    for r in d.requisites:
        value = r.get(spec["requisite"])
        if not _blank(value) and str(r.get("ENTITY_ID")) not in by_company:
            by_company[str(r["ENTITY_ID"])] = value
    return by_company, 0


def preview_bitrix24(mapping: Mapping[str, Any], d: PortalDiscovery) -> dict[str, Any]:
    """What the mapping gives on this portal (numbers; `render_bitrix24` prints them)."""
    total = len(d.companies)
    concepts: dict[str, dict[str, Any]] = {}
    for concept, spec in mapping["bitrix24"]["company"].items():
        values, unnamed = _company_values(d, spec)
        entry: dict[str, Any] = {"source": spec, "matched": len(values), "unmatched": total - len(values),
                                 "unnamed_values": unnamed}
        if concept == "inn":
            entry["invalid"] = sum(1 for v in values.values() if not is_valid_inn(str(v)))
        concepts[concept] = entry
    deals = mapping["bitrix24"]["deals"]
    pipelines = {}
    for cid, name in d.categories.items():
        role = "new clients" if cid in deals["new_client_pipelines"] else "repeat sales" if cid in deals["repeat_pipelines"] else None
        pipelines[cid] = {"name": name, "role": role, **d.deals_by_pipeline.get(cid, {"deals": 0, "won": 0})}
    return {"counts": dict(d.counts), "companies": total, "concepts": concepts, "pipelines": pipelines}


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "—"


def _describe(spec: Mapping[str, Any] | None, d: PortalDiscovery | None = None) -> str:
    if not spec:
        return "(not mapped)"
    if "field" in spec:
        label = _label(d.company_fields.get(spec["field"], {})) if d else ""
        extra = f", list of {len(spec['values'])}" if spec.get("values") else ""
        return f"{spec['field']}" + (f" «{label}»" if label and label != spec["field"] else "") + extra
    if "address" in spec:
        return f"address {spec['address']}" + (f" (type {spec['address_type']})" if spec.get("address_type") else "")
    return f"requisite {spec['requisite']}"


def render_bitrix24(d: PortalDiscovery, preview: Mapping[str, Any], console: Console) -> None:
    name = " ".join(str(d.user.get(k) or "") for k in ("NAME", "LAST_NAME")).strip()
    console.line(f"Portal access: scopes {', '.join(sorted(d.scopes))}; webhook user #{d.user.get('ID')} {name}"
                 + (" (administrator)" if d.profile.get("ADMIN") else ""))
    lacking = [s for s in WRITE_BACK_SCOPES if s not in d.scopes]
    if lacking:
        console.warn(f"no scope {', '.join(lacking)}: loading works, writing tasks back will not")
    console.line("Counts: " + ", ".join(f"{k} {v}" for k, v in preview["counts"].items()))
    total = preview["companies"]
    console.line(f"Companies that get each concept (of {total}):")
    for concept, entry in preview["concepts"].items():
        line = (f"  {concept:<10} {_describe(entry['source'], d):<48} {entry['matched']:>7} ({_pct(entry['matched'], total)})"
                f"   unmatched {entry['unmatched']}")
        if entry.get("unnamed_values"):
            line += f", {entry['unnamed_values']} with a list value the mapping does not name"
        if entry.get("invalid"):
            line += f", {entry['invalid']} ИНН fail the checksum"
        console.line(line)
    console.line("Deal pipelines:")
    for cid, p in preview["pipelines"].items():
        role = p["role"] or "NOT MAPPED (its deals are left out)"
        console.line(f"  {cid:>4} «{p['name']}»: {role}; {p['deals']} deals, {p['won']} won")


# ================================================================================= 1C
@dataclass
class BaseDiscovery:
    entity_sets: list[str]
    fields: dict[str, list[str]]
    profile: str | None
    evidence: str
    counts: dict[str, int] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


def detect_profile(entity_sets: Iterable[str]) -> tuple[str | None, str]:
    """The 1C configuration by which objects it publishes, and the evidence."""
    sets = set(entity_sets)
    if "Document_РасходнаяНакладная" in sets:
        return "unf3", "Document_РасходнаяНакладная is published (УНФ's sales document)"
    if "Document_РеализацияТоваровУслуг" in sets and "Catalog_Партнеры" in sets:
        if {"AccountingRegister_Хозрасчетный", "Catalog_РесурсныеСпецификации"} & sets:
            return "erp2", "РеализацияТоваровУслуг + Партнеры + regulated accounting (ERP / КА 2)"
        return "ut11", "РеализацияТоваровУслуг + Партнеры, no regulated accounting register (УТ 11)"
    if "Document_РеализацияТоваровУслуг" in sets:
        return "bp3", "РеализацияТоваровУслуг without Catalog_Партнеры (Бухгалтерия 3.0)"
    return None, "none of the known sales documents is published"


def discover_onec(client: OneCClient, limit: int = 100_000) -> BaseDiscovery:
    try:
        service = client.get_page("", {})
    except Exception as exc:
        raise ConnectError(f"the 1C publication did not answer: {redact(exc)}. Check ONEC_ODATA_URL, ONEC_USER, ONEC_PASSWORD "
                           "and that the OData interface is published (see README «Connect your company»).") from None
    entity_sets = sorted(str(s.get("name") or s.get("url")) for s in service)
    profile, evidence = detect_profile(entity_sets)
    fields = mp.base_facts(client, profile)
    return BaseDiscovery(entity_sets, fields, profile, evidence)


def propose_onec(d: BaseDiscovery) -> tuple[dict[str, Any], list[str]]:
    if d.profile is None:
        shown = ", ".join(n for n in d.entity_sets if n.startswith("Document_"))[:400]
        raise ConnectError(f"cannot tell the 1C configuration: {d.evidence}. Published documents: {shown or 'none'}. "
                           "Publish the sales documents (see README) or set onec.profile by hand.")
    notes = [f"profile {d.profile} ({mp.PROFILES_NAMES[d.profile]}): {d.evidence}"]
    entities: dict[str, Any] = {}
    for concept, spec in mp.PROFILES[d.profile].items():
        if spec and spec["entity"] not in d.fields:
            entities[concept] = None
            notes.append(f"{concept}: {spec['entity']} is not published; publish it or leave it null (it is then not loaded)")
    return {"profile": d.profile, "entities": entities}, notes


def preview_onec(mapping: Mapping[str, Any], client: OneCClient, d: BaseDiscovery, limit: int = 100_000) -> dict[str, Any]:
    """Counts per entity and what stays unmatched (reads keys and a few fields, up to `limit` rows each)."""
    entities = mp.onec_entities(mapping)
    counts: dict[str, int] = {}
    capped: list[str] = []

    def rows(concept: str, fields: list[str]) -> list[dict[str, Any]]:
        spec = entities.get(concept)
        if not spec:
            return []
        out = []
        wanted = [f for f in ["Ref_Key", "DeletionMark", *fields] if f]
        for row in client.get_entity(spec["entity"], select=wanted, filter=spec.get("filter")):
            out.append(row)
            if len(out) >= limit:
                capped.append(spec["entity"])
                break
        counts[spec["entity"]] = len(out)
        return out

    cp = entities["counterparties"] or {"fields": {}}
    counterparties = [r for r in rows("counterparties", [cp["fields"].get("inn"), cp["fields"].get("partner")])
                      if not r.get("DeletionMark")]
    inn_field = cp["fields"].get("inn")
    with_inn = [r for r in counterparties if inn_field and not _blank(str(r.get(inn_field) or "").strip())]
    valid_inn = [r for r in with_inn if is_valid_inn(str(r[inn_field]).strip())]
    facts: dict[str, Any] = {
        "counterparties": len(counterparties),
        "counterparties_with_inn": len(with_inn),
        "counterparties_valid_inn": len(valid_inn),
    }
    partner_field = cp["fields"].get("partner")
    if partner_field and entities.get("partners"):
        pf = entities["partners"]["fields"]
        partners = {r["Ref_Key"]: r for r in rows("partners", [pf.get("region"), pf.get("channel")])}
        linked = [partners.get(r.get(partner_field)) for r in counterparties]
        facts["counterparties_with_partner"] = sum(1 for p in linked if p)
        empty = "00000000-0000-0000-0000-000000000000"
        facts["counterparties_with_region"] = sum(1 for p in linked if p and p.get(pf.get("region")) not in (None, "", empty))
        facts["counterparties_with_channel"] = sum(1 for p in linked if p and not _blank(p.get(pf.get("channel"))))
    sd = entities["sales_documents"] or {"fields": {}}
    known = {r["Ref_Key"] for r in counterparties}
    documents = rows("sales_documents", ["Posted", sd["fields"].get("counterparty")])
    posted = [r for r in documents if r.get("Posted") and not r.get("DeletionMark")]
    facts["sales_documents_posted"] = len(posted)
    facts["sales_documents_unknown_counterparty"] = sum(1 for r in posted if r.get(sd["fields"].get("counterparty")) not in known)
    rows("returns", ["Posted"])
    for concept in ("users", "departments", "products", "business_regions"):
        rows(concept, [])
    return {"counts": counts, "capped": capped, "facts": facts}


def render_onec(d: BaseDiscovery, preview: Mapping[str, Any], console: Console) -> None:
    console.line(f"1C base: {len(d.entity_sets)} published entity sets; configuration: "
                 f"{mp.PROFILES_NAMES.get(d.profile or '', 'unknown')} ({d.evidence})")
    console.line("Counts: " + ", ".join(f"{k} {v}{'+' if k in preview['capped'] else ''}" for k, v in preview["counts"].items()))
    f = preview["facts"]
    n = f["counterparties"]
    console.line(f"Counterparties {n}: with ИНН {f['counterparties_with_inn']} ({_pct(f['counterparties_with_inn'], n)}), "
                 f"valid ИНН {f['counterparties_valid_inn']} ({_pct(f['counterparties_valid_inn'], n)})")
    if "counterparties_with_partner" in f:
        console.line(f"  with a partner {f['counterparties_with_partner']} ({_pct(f['counterparties_with_partner'], n)}), "
                     f"region {f['counterparties_with_region']} ({_pct(f['counterparties_with_region'], n)}), "
                     f"channel {f['counterparties_with_channel']} ({_pct(f['counterparties_with_channel'], n)})")
    else:
        console.line("  this configuration has no partners: region and channel come from Bitrix24 (matched by ИНН)")
    console.line(f"Posted sales documents {f['sales_documents_posted']}; with a counterparty not in the catalog: "
                 f"{f['sales_documents_unknown_counterparty']}")


# ============================================================================ the file
def _read_raw(path: Path) -> tuple[dict[str, Any], bool]:
    """(the file's YAML, whether it is still an unreviewed proposal)."""
    text = path.read_text(encoding="utf-8")
    return (yaml.safe_load(text) or {}), PROPOSED_MARK in "\n".join(text.splitlines()[:3])


HEADER = f"""{PROPOSED_MARK}  (delete this line once you have reviewed the file)
Happy Client mapping: where each concept comes from in this company's sources.
Written by `happyclient connect`; read by the loads and by dbt (ingestion/mapping.py, config/mapping.example.yml).
Check every choice below against the notes, then run `happyclient connect ...` again to see the preview.
"""


def write_proposal(path: Path, section: str, proposal: Mapping[str, Any], notes: list[str], force: bool) -> Path:
    """Write `proposal` as `section` of the mapping at `path`; an already reviewed file is kept
    (the proposal goes next to it, `<name>.proposed.yml`) unless `force`."""
    raw: dict[str, Any] = {"version": 1}
    target = path
    if path.exists():
        existing, unreviewed = _read_raw(path)
        if unreviewed or force:
            raw = existing or raw
        else:
            target = path.with_name(path.stem + ".proposed" + (path.suffix or ".yml"))
            if target.exists():
                raw = _read_raw(target)[0] or raw
    raw[section] = dict(proposal)
    mp.normalise(raw, source=str(target))  # what we write must load
    header = HEADER + "\nNotes (" + section + "):\n" + "\n".join(f"  {redact(n)}" for n in notes) + "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(mp.dump(raw, header), encoding="utf-8")
    return target


# ============================================================================== CLI
def add_parser(sub: Any) -> None:
    """`happyclient connect bitrix24|onec` (called from happyclient.cli.build_parser)."""
    p = sub.add_parser("connect", help="look at your Bitrix24 portal or 1C base, propose a mapping, preview")
    p.add_argument("source", choices=["bitrix24", "onec"])
    p.add_argument("--mapping", type=Path, help=f"mapping file (default ${mp.ENV_VAR} or {mp.DEFAULT_PATH.name} in config/)")
    p.add_argument("--force", action="store_true", help="overwrite a mapping file you have already reviewed")
    p.add_argument("--no-write", action="store_true", help="only check and preview; write nothing")
    p.add_argument("--limit", type=int, default=100_000, help="1C: read at most this many rows per entity for the preview")
    p.set_defaults(func=cmd_connect)


def cmd_connect(args: argparse.Namespace, settings: Any, console: Console) -> int:
    from ingestion.config import SourceSettings

    source = SourceSettings.from_env()
    path = args.mapping or mp.mapping_path()
    if args.source == "bitrix24":
        return connect_bitrix24(source, path, console, force=args.force, write=not args.no_write)
    return connect_onec(source, path, console, force=args.force, write=not args.no_write, limit=args.limit)


def _mapping_for_preview(path: Path, section: str, proposal: Mapping[str, Any]) -> dict[str, Any]:
    """The mapping the preview shows: the reviewed file when there is one, else the proposal."""
    if path.exists():
        raw, unreviewed = _read_raw(path)
        if not unreviewed and section in raw:
            return mp.normalise(raw, source=str(path))
    return mp.normalise({section: dict(proposal)})


def _propose(path: Path, system: str, proposal: dict[str, Any], notes: list[str], console: Console, *,
             force: bool, write: bool) -> dict[str, Any]:
    """Show the proposal's notes, write it for review (unless --no-write) and return the mapping the
    preview uses: the user's reviewed file when there is one, else the proposal."""
    mapping = _mapping_for_preview(path, system, proposal)
    for note in notes:
        console.info(note)
    if write:
        written = write_proposal(path, system, proposal, notes, force)
        console.line(f"Proposed mapping written to {written}" + ("" if written == path else
                     f" ({path} is reviewed; compare and copy what you want, or rerun with --force)"))
    return mapping


def connect_bitrix24(source: Any, path: Path, console: Console, *, force: bool = False, write: bool = True,
                     client: Bitrix24Client | None = None) -> int:
    if client is None:
        if not source.bitrix24_webhook_url:
            raise ConnectError("set BITRIX24_WEBHOOK_URL (an inbound webhook with scopes crm, user, department, task)")
        from ingestion.bitrix24.auth import WebhookAuth

        client = Bitrix24Client(WebhookAuth(source.bitrix24_webhook_url), rate_per_s=source.bitrix24_rate_per_s,
                                burst=source.bitrix24_burst, timeout_s=source.bitrix24_timeout_s)
    with console.step("Reading the portal (read-only)"):
        d = discover_bitrix24(client)
    mapping = _propose(path, "bitrix24", *propose_bitrix24(d), console, force=force, write=write)
    mp.check_bitrix24(mapping, d.as_check_input(), source=str(path))
    render_bitrix24(d, preview_bitrix24(mapping, d), console)
    console.line(f"{client.requests_sent} requests to the portal")
    return 0


def connect_onec(source: Any, path: Path, console: Console, *, force: bool = False, write: bool = True,
                 limit: int = 100_000, client: OneCClient | None = None) -> int:
    if client is None:
        if not source.onec_odata_url:
            raise ConnectError("set ONEC_ODATA_URL (…/odata/standard.odata/), ONEC_USER and ONEC_PASSWORD")
        client = OneCClient(source.onec_odata_url, source.onec_user or "", source.onec_password or "",
                            timeout_s=source.onec_timeout_s)
    with console.step("Reading the 1C base (read-only)"):
        d = discover_onec(client)
    mapping = _propose(path, "onec", *propose_onec(d), console, force=force, write=write)
    mp.check_onec(mapping, d.fields, source=str(path))
    render_onec(d, preview_onec(mapping, client, d, limit), console)
    console.line(f"{client.requests_sent} requests to 1C")
    return 0
