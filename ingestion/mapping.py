"""The mapping file: where each concept the marts need comes from in this company's sources.

One YAML file (path in `HAPPYCLIENT_MAPPING`, default `<repo>/config/mapping.yml`; when that
file does not exist the demo's mapping below is used). `happyclient connect bitrix24|onec`
proposes one from what the portal / base contains; the user reviews it. Layout (every part
optional; what is left out keeps the demo's value), see `config/mapping.example.yml`:

    bitrix24:
      company:                  # concept -> source
        region:    {field: UF_CRM_HC_REGION}                # a company field by code
        channel:   {field: UF_CRM_1612345678, values: {"45": "Торговые сети"}}  # a list field
        potential: {field: UF_CRM_HC_POTENTIAL}
        size:      {field: UF_CRM_HC_SIZE}
        inn:       {requisite: RQ_INN}                      # a requisite field
        # region:  {address: PROVINCE, address_type: 6}    # a part of the requisite's address
      deals:
        new_client_pipelines: ["0"]   # crm.category.list ids whose deals win new clients
        repeat_pipelines: ["1"]       # ... repeat sales
        won_stages: auto              # auto = STAGE_SEMANTIC_ID S; or a list of STAGE_IDs
        lost_stages: auto             # auto = STAGE_SEMANTIC_ID F; or a list
      lead_sources: {}                # SOURCE_ID -> channel name (unlisted: the portal's name)
    onec:
      profile: ut11                   # ut11 | erp2 | bp3 | unf3
      entities:                       # overrides of the profile's entity / field names
        sales_documents: {entity: Document_РеализацияТоваровУслуг, lines: Товары,
                          fields: {manager: Менеджер_Key}}
    files:
      aliases: {sales_lines: {ИНН: ["ИНН клиента"]}}   # extra header spellings per file kind

A wrong mapping fails before any load: `MappingError` names the key, the value, and what
exists instead (`check_bitrix24` / `check_onec` compare with what discovery found).
`dbt_vars()` turns a mapping into the `--vars` dict staging reads (see `DBT_VARS_DOC`).
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "HAPPYCLIENT_MAPPING"
DEFAULT_PATH = PROJECT_ROOT / "config" / "mapping.yml"

COMPANY_CONCEPTS = ("region", "channel", "potential", "size", "inn")
SOURCE_KINDS = ("field", "address", "requisite")
# the parts of a Bitrix24 address (crm.address.fields)
ADDRESS_PARTS = ("ADDRESS_1", "ADDRESS_2", "CITY", "POSTAL_CODE", "REGION", "PROVINCE", "COUNTRY", "COUNTRY_CODE")
DEAL_KEYS = ("new_client_pipelines", "repeat_pipelines", "won_stages", "lost_stages")
PROFILES_NAMES = {
    "ut11": "1С:Управление торговлей 11",
    "erp2": "1С:ERP 2 / Комплексная автоматизация 2",
    "bp3": "1С:Бухгалтерия предприятия 3.0",
    "unf3": "1С:Управление нашей фирмой 3",
}
ONEC_CONCEPTS = (
    "sales_documents",
    "returns",
    "counterparties",
    "partners",
    "business_regions",
    "users",
    "departments",
    "products",
)

_UT11: dict[str, Any] = {
    "sales_documents": {
        "entity": "Document_РеализацияТоваровУслуг",
        "lines": "Товары",
        "fields": {
            "counterparty": "Контрагент_Key",
            "partner": "Партнер_Key",
            "manager": "Менеджер_Key",
            "department": "Подразделение_Key",
            "amount": "СуммаДокумента",
        },
        "line_fields": {"product": "Номенклатура_Key", "quantity": "Количество", "amount": "Сумма", "vat": "СуммаНДС"},
    },
    "returns": {
        "entity": "Document_ВозвратТоваровОтКлиента",
        "lines": "Товары",
        "fields": {"counterparty": "Контрагент_Key", "partner": "Партнер_Key", "manager": "Менеджер_Key"},
        "line_fields": {"product": "Номенклатура_Key", "quantity": "Количество", "amount": "Сумма"},
    },
    "counterparties": {
        "entity": "Catalog_Контрагенты",
        "fields": {"inn": "ИНН", "kpp": "КПП", "partner": "Партнер_Key"},
    },
    "partners": {
        "entity": "Catalog_Партнеры",
        "fields": {"region": "БизнесРегион_Key", "manager": "ОсновнойМенеджер_Key", "channel": "КаналСбыта"},
    },
    "business_regions": {"entity": "Catalog_БизнесРегионы", "fields": {}},
    "users": {"entity": "Catalog_Пользователи", "fields": {"department": "Подразделение_Key"}},
    "departments": {"entity": "Catalog_СтруктураПредприятия", "fields": {}},
    "products": {"entity": "Catalog_Номенклатура", "fields": {"sku": "Артикул"}},
}
# БП 3.0: no partners, business regions or managers on the document (Ответственный is the
# user who entered it); returns are ВозвратТоваровОтПокупателя; departments are the
# organisation's own catalog. Names from documented metadata (see the connect report).
_BP3: dict[str, Any] = {
    "sales_documents": {
        "entity": "Document_РеализацияТоваровУслуг",
        "lines": "Товары",
        "fields": {
            "counterparty": "Контрагент_Key",
            "partner": None,
            "manager": "Ответственный_Key",
            "department": "ПодразделениеОрганизации_Key",
            "amount": "СуммаДокумента",
        },
        "line_fields": {"product": "Номенклатура_Key", "quantity": "Количество", "amount": "Сумма", "vat": "СуммаНДС"},
    },
    "returns": {
        "entity": "Document_ВозвратТоваровОтПокупателя",
        "lines": "Товары",
        "fields": {"counterparty": "Контрагент_Key", "partner": None, "manager": "Ответственный_Key"},
        "line_fields": {"product": "Номенклатура_Key", "quantity": "Количество", "amount": "Сумма"},
    },
    "counterparties": {"entity": "Catalog_Контрагенты", "fields": {"inn": "ИНН", "kpp": "КПП", "partner": None}},
    "partners": None,
    "business_regions": None,
    "users": {"entity": "Catalog_Пользователи", "fields": {"department": None}},
    "departments": {"entity": "Catalog_ПодразделенияОрганизаций", "fields": {}},
    "products": {"entity": "Catalog_Номенклатура", "fields": {"sku": "Артикул"}},
}
# УНФ 3: РасходнаяНакладная with tabular part Запасы; the responsible is an employee
# (Catalog_Сотрудники), departments are Catalog_СтруктурныеЕдиницы; a return from a buyer is a
# ПриходнаяНакладная whose ВидОперации is ВозвратОтПокупателя.
_UNF3: dict[str, Any] = {
    "sales_documents": {
        "entity": "Document_РасходнаяНакладная",
        "lines": "Запасы",
        "fields": {
            "counterparty": "Контрагент_Key",
            "partner": None,
            "manager": "Ответственный_Key",
            "department": "Подразделение_Key",
            "amount": "СуммаДокумента",
        },
        "line_fields": {"product": "Номенклатура_Key", "quantity": "Количество", "amount": "Сумма", "vat": "СуммаНДС"},
    },
    "returns": {
        "entity": "Document_ПриходнаяНакладная",
        "lines": "Запасы",
        "filter": "ВидОперации eq 'ВозвратОтПокупателя'",
        "fields": {"counterparty": "Контрагент_Key", "partner": None, "manager": "Ответственный_Key"},
        "line_fields": {"product": "Номенклатура_Key", "quantity": "Количество", "amount": "Сумма"},
    },
    "counterparties": {"entity": "Catalog_Контрагенты", "fields": {"inn": "ИНН", "kpp": "КПП", "partner": None}},
    "partners": None,
    "business_regions": None,
    "users": {"entity": "Catalog_Сотрудники", "fields": {"department": None}},
    "departments": {"entity": "Catalog_СтруктурныеЕдиницы", "fields": {}},
    "products": {"entity": "Catalog_Номенклатура", "fields": {"sku": "Артикул"}},
}
# ERP 2 / КА 2 carry УТ 11's sales subsystem: the same documents and catalogs.
PROFILES: dict[str, dict[str, Any]] = {"ut11": _UT11, "erp2": _UT11, "bp3": _BP3, "unf3": _UNF3}

DEMO_MAPPING: dict[str, Any] = {
    "version": 1,
    "bitrix24": {
        "company": {
            "region": {"field": "UF_CRM_HC_REGION"},
            "channel": {"field": "UF_CRM_HC_CHANNEL"},
            "potential": {"field": "UF_CRM_HC_POTENTIAL"},
            "size": {"field": "UF_CRM_HC_SIZE"},
            "inn": {"requisite": "RQ_INN"},
        },
        "deals": {
            "new_client_pipelines": ["0"],
            "repeat_pipelines": ["1"],
            "won_stages": "auto",
            "lost_stages": "auto",
        },
        "lead_sources": {},
    },
    "onec": {"profile": "ut11", "entities": {}},
    "files": {"aliases": {}},
}

# which staging model reads which var (macros/mapping.sql; defaults = the demo's, in dbt_project.yml)
DBT_VARS_DOC: dict[str, str] = {
    "hc_b24_company_fields": "stg_bitrix24__companies: payload key per concept (region, channel, potential, size)",
    "hc_b24_company_values": "stg_bitrix24__companies: list-field item id -> name, per concept (unlisted ids kept)",
    "hc_b24_company_address": "stg_bitrix24__companies via stg_bitrix24__addresses (raw crm.address.list): "
                              "address part and type per concept",
    "hc_b24_inn_field": "stg_bitrix24__requisites: requisite field with the ИНН",
    "hc_b24_new_client_pipelines": "stg_bitrix24__deals (pipeline_kind new_client) and deal_stage_history: "
                                   "CATEGORY_IDs of new-client pipelines",
    "hc_b24_repeat_pipelines": "stg_bitrix24__deals (pipeline_kind repeat) and deal_stage_history: CATEGORY_IDs of "
                               "repeat-sale pipelines; deals of pipelines in neither list are left out",
    "hc_b24_won_stages": "stg_bitrix24__deals: STAGE_IDs counted as won ([] = STAGE_SEMANTIC_ID S)",
    "hc_b24_lost_stages": "stg_bitrix24__deals: STAGE_IDs counted as lost ([] = STAGE_SEMANTIC_ID F)",
    "hc_b24_lead_source_channels": "stg_bitrix24__statuses: SOURCE_ID -> the channel name shown for that source",
    "hc_onec_profile": "the configuration profile (ut11, erp2, bp3, unf3), for the record",
    "hc_onec_entities": "stg_onec__*: concept -> tabular part, field names (null: the configuration has none), "
                        "filter (УНФ returns)",
}


class MappingError(ValueError):
    """A mapping that cannot work; the message names the key, the value and the alternatives."""

    def __init__(
        self, key: str, value: Any, problem: str, alternatives: Iterable[str] = (), source: str = "",
        label: str = "it has",
    ) -> None:
        self.key = key
        self.value = value
        self.alternatives = list(alternatives)
        where = f"{source}: " if source else ""
        text = f"{where}mapping key {key} = {value!r}: {problem}"
        if self.alternatives:
            close = difflib.get_close_matches(str(value), self.alternatives, n=3, cutoff=0.5)
            shown = close + [a for a in self.alternatives if a not in close]
            more = f" (and {len(shown) - 20} more)" if len(shown) > 20 else ""
            text += f"; {label}: {', '.join(shown[:20])}{more}"
        super().__init__(text)


# ------------------------------------------------------------------------------------ loading
def mapping_path(env: Mapping[str, str] | None = None) -> Path:
    e = os.environ if env is None else env
    raw = (e.get(ENV_VAR) or "").strip()
    return Path(raw).expanduser() if raw else DEFAULT_PATH


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = _merge(base.get(k), v) if k in base else v
        return out
    return copy.deepcopy(override)


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The mapping in force: the file (merged over the demo's mapping), validated in shape.
    No file at the default path means the demo's mapping; a named file that is missing is an error."""
    explicit = path is not None or bool(((os.environ if env is None else env).get(ENV_VAR) or "").strip())
    path = path or mapping_path(env)
    if not path.exists():
        if explicit:
            raise FileNotFoundError(f"mapping file {path} ({ENV_VAR}) does not exist")
        return normalise(copy.deepcopy(DEMO_MAPPING))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise MappingError("(file)", str(path), f"not valid YAML: {exc}", source=str(path)) from None
    return normalise(raw, source=str(path))


def normalise(raw: Any, source: str = "") -> dict[str, Any]:
    """Check the shape of a mapping (keys, kinds, profile) and fill in the demo's defaults."""
    if not isinstance(raw, dict):
        raise MappingError("(top)", type(raw).__name__, "a mapping file is a YAML object", source=source)
    _keys(raw, "", ("version", "bitrix24", "onec", "files"), source)
    m = _merge(DEMO_MAPPING, raw)
    b24 = m["bitrix24"]
    raw_company = (raw.get("bitrix24") or {}).get("company") if isinstance(raw.get("bitrix24"), dict) else None
    if isinstance(raw_company, dict) and isinstance(b24.get("company"), dict):
        for concept, spec in raw_company.items():  # a concept's source replaces the demo's, never merges
            b24["company"][concept] = copy.deepcopy(spec)
    _keys(b24, "bitrix24", ("company", "deals", "lead_sources"), source)
    _keys(b24["company"], "bitrix24.company", COMPANY_CONCEPTS, source)
    for concept, spec in b24["company"].items():
        b24["company"][concept] = _company_source(f"bitrix24.company.{concept}", spec, source)
    _keys(b24["deals"], "bitrix24.deals", DEAL_KEYS, source)
    for key in DEAL_KEYS:
        value = b24["deals"][key]
        if key.endswith("_stages") and value == "auto":
            continue
        if not isinstance(value, list):
            raise MappingError(f"bitrix24.deals.{key}", value, "must be a list of ids"
                               + (" or auto" if key.endswith("_stages") else ""), source=source)
        b24["deals"][key] = [str(v) for v in value]
    if not isinstance(b24["lead_sources"] or {}, dict):
        raise MappingError("bitrix24.lead_sources", b24["lead_sources"], "must map SOURCE_ID to a channel name",
                           source=source)
    b24["lead_sources"] = {str(k): str(v) for k, v in (b24["lead_sources"] or {}).items()}
    onec = m["onec"]
    _keys(onec, "onec", ("profile", "entities"), source)
    if onec["profile"] not in PROFILES:
        raise MappingError("onec.profile", onec["profile"], "unknown 1C configuration profile", PROFILES, source,
                           "profiles")
    onec["entities"] = onec.get("entities") or {}
    _keys(onec["entities"], "onec.entities", ONEC_CONCEPTS, source)
    for concept, spec in onec["entities"].items():
        if spec is not None and not isinstance(spec, dict):
            raise MappingError(f"onec.entities.{concept}", spec, "must be an object {entity, lines, fields} or null",
                               source=source)
        if spec:
            _keys(spec, f"onec.entities.{concept}", ("entity", "lines", "filter", "fields", "line_fields"), source)
    files = m["files"] or {}
    _keys(files, "files", ("aliases",), source)
    m["files"] = {"aliases": files.get("aliases") or {}}
    for kind, aliases in m["files"]["aliases"].items():
        if not isinstance(aliases, dict) or not all(isinstance(v, list) for v in aliases.values()):
            raise MappingError(f"files.aliases.{kind}", aliases, "must map a column header to a list of spellings",
                               source=source)
    return m


def _keys(obj: Any, where: str, allowed: Iterable[str], source: str) -> None:
    if not isinstance(obj, dict):
        raise MappingError(where or "(top)", obj, "must be an object", source=source)
    allowed = list(allowed)
    for key in obj:
        if key not in allowed:
            raise MappingError(f"{where}.{key}" if where else str(key), key, "unknown key", allowed, source, "allowed")


def _company_source(key: str, spec: Any, source: str) -> dict[str, Any] | None:
    if spec is None:
        return None
    if isinstance(spec, str):  # shorthand: a field code
        spec = {"field": spec}
    if not isinstance(spec, dict):
        raise MappingError(key, spec, "must be {field: ...}, {address: ...}, {requisite: ...} or null", source=source)
    kinds = [k for k in SOURCE_KINDS if k in spec]
    if len(kinds) != 1:
        raise MappingError(key, spec, "needs exactly one of field / address / requisite", SOURCE_KINDS, source,
                           "allowed")
    _keys(spec, key, (*SOURCE_KINDS, "values", "address_type"), source)
    if "address" in spec and spec["address"] not in ADDRESS_PARTS:
        raise MappingError(f"{key}.address", spec["address"], "is not an address part", ADDRESS_PARTS, source,
                           "address parts")
    if "values" in spec:
        if not isinstance(spec["values"], dict):
            raise MappingError(f"{key}.values", spec["values"], "must map list item ids to names", source=source)
        spec["values"] = {str(k): str(v) for k, v in spec["values"].items()}
    return dict(spec)


def onec_entities(mapping: Mapping[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Concept -> {entity, lines, fields, line_fields[, filter]} for the mapping's profile and overrides."""
    onec = mapping["onec"]
    base = copy.deepcopy(PROFILES[onec["profile"]])
    for concept, spec in (onec.get("entities") or {}).items():
        base[concept] = None if spec is None else _merge(base.get(concept) or {"fields": {}}, spec)
    return base


# ------------------------------------------------------------------------- validation
def check_bitrix24(mapping: Mapping[str, Any], discovered: Mapping[str, Any], source: str = "") -> None:
    """Compare the mapping with the portal: `discovered` has `company_fields` (code -> field info
    from crm.company.fields), `requisite_fields`, `categories` (id -> name), `stages`
    (STAGE_ID list) and `sources` (SOURCE_ID -> name). Raises MappingError on the first mismatch."""
    b24 = mapping["bitrix24"]
    fields = discovered.get("company_fields") or {}
    labelled = [f"{code} ({_label(info)})" if _label(info) != code else code for code, info in fields.items()]
    for concept, spec in b24["company"].items():
        if not spec:
            continue
        key = f"bitrix24.company.{concept}"
        if "field" in spec:
            code = spec["field"]
            if code not in fields:
                raise MappingError(f"{key}.field", code, "is not a company field of this portal", labelled, source)
            items = {str(i.get("ID")): str(i.get("VALUE")) for i in fields[code].get("items") or []}
            if items and spec.get("values"):
                for item_id in spec["values"]:
                    if item_id not in items:
                        raise MappingError(f"{key}.values", item_id, f"is not an item of list field {code}",
                                           [f"{k} ({v})" for k, v in items.items()], source)
        elif "requisite" in spec:
            req_fields = discovered.get("requisite_fields") or {}
            if req_fields and spec["requisite"] not in req_fields:
                raise MappingError(f"{key}.requisite", spec["requisite"], "is not a requisite field", req_fields, source)
        elif "address" in spec and spec.get("address_type") not in (None, ""):
            types = {str(k): v for k, v in (discovered.get("address_types") or {}).items()}
            if types and str(spec["address_type"]) not in types:
                raise MappingError(f"{key}.address_type", spec["address_type"], "is not an address type",
                                   [f"{k} ({v})" for k, v in types.items()], source)
    categories = {str(k): v for k, v in (discovered.get("categories") or {}).items()}
    for key in ("new_client_pipelines", "repeat_pipelines"):
        for cid in b24["deals"][key]:
            if cid not in categories:
                raise MappingError(f"bitrix24.deals.{key}", cid, "is not a deal pipeline (crm.category.list)",
                                   [f"{k} ({v})" for k, v in categories.items()], source)
    stages = [str(s) for s in discovered.get("stages") or []]
    for key in ("won_stages", "lost_stages"):
        if b24["deals"][key] == "auto":
            continue
        for sid in b24["deals"][key]:
            if sid not in stages:
                raise MappingError(f"bitrix24.deals.{key}", sid, "is not a deal stage (crm.status.list)", stages, source)
    sources = {str(k): v for k, v in (discovered.get("sources") or {}).items()}
    for sid in b24["lead_sources"]:
        if sid not in sources:
            raise MappingError("bitrix24.lead_sources", sid, "is not a source (crm.status.list SOURCE)",
                               [f"{k} ({v})" for k, v in sources.items()], source)


def check_onec(
    mapping: Mapping[str, Any], entity_fields: Mapping[str, Iterable[str]], source: str = "", only: str | None = None
) -> None:
    """Compare the mapping with the base: `entity_fields` maps each published entity set to its
    fields (from `$metadata`). Raises MappingError naming the concept key that does not fit.
    `only`: check that one concept."""
    sets = {name: set(f) for name, f in entity_fields.items()}
    for concept, spec in onec_entities(mapping).items():
        if not spec or (only is not None and concept != only):
            continue
        key = f"onec.entities.{concept}"
        entity = spec["entity"]
        if entity not in sets:
            alternatives = sorted(n for n in sets if n.split("_", 1)[0] == entity.split("_", 1)[0])
            raise MappingError(f"{key}.entity", entity, f"is not published by this base (profile {mapping['onec']['profile']})",
                               alternatives, source)
        for name, field in (spec.get("fields") or {}).items():
            if field and field not in sets[entity]:
                raise MappingError(f"{key}.fields.{name}", field, f"is not a field of {entity}", sorted(sets[entity]),
                                   source)
        lines = spec.get("lines")
        if lines:
            part = f"{entity}_{lines}"
            if part not in sets and lines not in sets[entity]:
                parts = sorted(n[len(entity) + 1:] for n in sets if n.startswith(entity + "_"))
                raise MappingError(f"{key}.lines", lines, f"is not a tabular part of {entity}", parts, source)
            line_fields = sets.get(part, set())
            for name, field in (spec.get("line_fields") or {}).items():
                if field and line_fields and field not in line_fields:
                    raise MappingError(f"{key}.line_fields.{name}", field, f"is not a field of {part}",
                                       sorted(line_fields), source)


def _label(info: Mapping[str, Any]) -> str:
    for k in ("listLabel", "formLabel", "filterLabel", "title"):
        if info.get(k):
            return str(info[k])
    return ""


# ------------------------------------------------------------------------ before a load
def portal_facts(client: Any) -> dict[str, Any]:
    """What `check_bitrix24` compares with, read from the portal (6 read-only calls)."""
    categories = {str(c["id"]): str(c["name"]) for c in client.list_paged("crm.category.list", {"entityTypeId": 2})}
    categories.setdefault("0", "Общая")
    stages, sources = [], {}
    for status in client.list_paged("crm.status.list"):
        entity = str(status.get("ENTITY_ID") or "")
        if entity == "SOURCE":
            sources[str(status["STATUS_ID"])] = str(status.get("NAME") or "")
        elif entity == "DEAL_STAGE" or entity.startswith("DEAL_STAGE_"):
            stages.append(str(status["STATUS_ID"]))
    return {
        "company_fields": dict(client.call("crm.company.fields")["result"]),
        "requisite_fields": dict(client.call("crm.requisite.fields")["result"]),
        "address_types": {str(t["ID"]): str(t["NAME"]) for t in client.call("crm.enum.addresstype")["result"]},
        "categories": categories,
        "stages": stages,
        "sources": sources,
    }


_EDM_ROW = re.compile(r"_RowType$")


def parse_metadata(xml_text: str) -> dict[str, list[str]]:
    """Entity type -> property names from an OData `$metadata` document (tabular-part row
    types `Document_X_Товары_RowType` become `Document_X_Товары`)."""
    root = ET.fromstring(xml_text)
    out: dict[str, list[str]] = {}
    for et in root.iter():
        if et.tag.endswith("}EntityType") or et.tag.endswith("}ComplexType"):
            name = _EDM_ROW.sub("", et.get("Name") or "")
            out[name] = [p.get("Name") or "" for p in et if p.tag.endswith("}Property")]
    return out


def base_metadata(client: Any) -> dict[str, list[str]] | None:
    """`$metadata` through the 1C client's session and credentials (it is XML, which the
    client's JSON pages cannot carry); None when the base does not give it."""
    auth = getattr(client, "_auth_header", None)
    if auth is None:
        return None
    try:
        response = client.session.get(client.base_url + "$metadata", headers={"Authorization": auth},
                                      timeout=(min(30.0, client.timeout_s), client.timeout_s))
        client.requests_sent += 1
        if response.status_code != 200:
            return None
        return parse_metadata(response.content.decode("utf-8"))
    except Exception:  # a huge or odd $metadata: the caller falls back to one record per entity
        return None


def base_facts(client: Any, profile: str | None = None) -> dict[str, list[str]]:
    """Published entity set -> its fields (from `$metadata`; one record when it has none)."""
    entity_sets = sorted(str(s.get("name") or s.get("url")) for s in client.get_page("", {}))
    metadata = base_metadata(client) or {}
    fields = {name: list(metadata.get(name, [])) for name in entity_sets}
    for spec in PROFILES.get(profile or "", {}).values():
        if spec and spec["entity"] in fields and not fields[spec["entity"]]:
            fields[spec["entity"]] = _sampled_fields(client, spec["entity"])
    return fields


SAMPLE_ROWS = 50


def _sampled_fields(client: Any, entity: str) -> list[str]:
    """The fields seen in the first records of `entity` (a catalog's folders carry fewer fields
    than its items, so one record is not enough)."""
    seen: set[str] = set()
    for row in client.get_page(entity, {"$top": str(SAMPLE_ROWS)}):
        seen.update(row)
    return sorted(seen)


# (source, mapping file, its mtime, hour) already checked in this process: a pipeline checks
# once per source, not once per entity; a changed file or a new hour checks again
_CHECKED: set[tuple[str, str, float, int]] = set()


def check_before_load(
    source: str, make_client: Any, env: Mapping[str, str] | None = None, concept: str | None = None
) -> dict[str, Any] | None:
    """When a mapping file exists, check it against the source before anything is loaded
    (raises MappingError naming key, value, alternatives). Without a file: the demo's
    mapping, unchecked (today's behaviour). Returns the mapping checked, or None.

    `concept` (1C only): check just that object, cheaply (the service document and its first
    records instead of `$metadata`), as a single entity's load does."""
    if source not in ("bitrix24", "onec"):
        return None
    path = mapping_path(env)
    if not path.exists():
        return None
    mapping = load(path)
    key = (source, str(path.resolve()), path.stat().st_mtime, int(time.time() // 3600))
    if key in _CHECKED:
        return mapping
    client = make_client()
    if source == "bitrix24":
        check_bitrix24(mapping, portal_facts(client), source=str(path))
    elif concept is None:
        check_onec(mapping, base_facts(client, mapping["onec"]["profile"]), source=str(path))
    else:
        spec = onec_entities(mapping).get(concept)
        if spec:
            sets: dict[str, list[str]] = {str(s.get("name") or s.get("url")): [] for s in client.get_page("", {})}
            if spec["entity"] in sets:
                sets[spec["entity"]] = _sampled_fields(client, spec["entity"])
                if not sets[spec["entity"]]:  # an empty object: nothing to compare its fields with
                    return mapping
            check_onec(mapping, sets, source=str(path), only=concept)
        return mapping
    _CHECKED.add(key)
    return mapping


def onec_entity_set(concept: str, default: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The 1C entity set a load reads for `concept` (`sales_documents`, ...): the mapping file's
    profile and overrides when there is a file, else `default` (УТ 11). None: this configuration
    has no such object (the load is skipped)."""
    path = mapping_path(env)
    if not path.exists():
        return default
    spec = onec_entities(load(path)).get(concept)
    return spec["entity"] if spec else None


def apply_file_aliases(specs: Mapping[str, Any], mapping: Mapping[str, Any] | None = None,
                       env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The file kinds (`ingestion.files.specs.load_specs()`) with the mapping's `files.aliases`
    added to their columns' header spellings. Without a mapping file: unchanged. An unknown
    kind or column header is a MappingError naming what exists."""
    import dataclasses

    if mapping is None:
        path = mapping_path(env)
        if not path.exists():
            return dict(specs)
        mapping = load(path)
    out = dict(specs)
    for kind, by_header in (mapping.get("files") or {}).get("aliases", {}).items():
        if kind not in out:
            raise MappingError(f"files.aliases.{kind}", kind, "is not a file kind", sorted(out))
        headers = {c.header: c for c in out[kind].columns}
        for header in by_header:
            if header not in headers:
                raise MappingError(f"files.aliases.{kind}.{header}", header, f"is not a column of {kind}", list(headers))
        out[kind] = dataclasses.replace(out[kind], columns=tuple(
            dataclasses.replace(c, aliases=(*c.aliases, *(str(a).strip() for a in by_header.get(c.header, ()))))
            for c in out[kind].columns
        ))
    return out


# ---------------------------------------------------------------------------------- dbt
def dbt_vars(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """The `--vars` dict staging reads (names and readers in DBT_VARS_DOC)."""
    b24 = mapping["bitrix24"]
    company = b24["company"]
    deals = b24["deals"]

    def part(kind: str) -> dict[str, Any]:
        return {c: s[kind] for c, s in company.items() if s and kind in s}

    inn = company.get("inn") or {}
    return {
        "hc_b24_company_fields": part("field"),
        "hc_b24_company_values": {c: s["values"] for c, s in company.items() if s and s.get("values")},
        "hc_b24_company_address": {
            c: {"part": s["address"], "type": str(s.get("address_type", ""))}
            for c, s in company.items() if s and "address" in s
        },
        "hc_b24_inn_field": inn.get("requisite", "RQ_INN"),
        "hc_b24_new_client_pipelines": list(deals["new_client_pipelines"]),
        "hc_b24_repeat_pipelines": list(deals["repeat_pipelines"]),
        "hc_b24_won_stages": [] if deals["won_stages"] == "auto" else list(deals["won_stages"]),
        "hc_b24_lost_stages": [] if deals["lost_stages"] == "auto" else list(deals["lost_stages"]),
        "hc_b24_lead_source_channels": dict(b24["lead_sources"]),
        "hc_onec_profile": mapping["onec"]["profile"],
        "hc_onec_entities": {k: v for k, v in onec_entities(mapping).items() if v},
    }


def dbt_vars_in_force(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The vars a dbt run passes for the mapping file in force (`HAPPYCLIENT_MAPPING` or the
    default path); {} without a file: the defaults in dbt_project.yml are the demo's mapping."""
    path = mapping_path(env)
    if not path.exists():
        if ((os.environ if env is None else env).get(ENV_VAR) or "").strip():
            raise FileNotFoundError(f"mapping file {path} ({ENV_VAR}) does not exist")
        return {}
    return dbt_vars(load(path))


def dump(mapping: Mapping[str, Any], header: str = "") -> str:
    """YAML text of a mapping, with a comment header (Cyrillic kept readable)."""
    body = yaml.safe_dump(dict(mapping), allow_unicode=True, sort_keys=False, width=110)
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    return ("\n".join(lines) + "\n" if lines else "") + body
