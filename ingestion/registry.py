"""Every entity we ingest: its source, raw table and how it is read (docs/architecture.md)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal[
    "b24_list",  # crm.*.list with ID filter: full via fast mode, then incremental by modified field
    "b24_append",  # immutable history (crm.stagehistory.list): incremental by >ID
    "b24_dictionary",  # small lists read in full every time with offset paging
    "b24_product_rows",  # crm.deal.productrows.get per (modified) deal
    "onec_catalog",  # full read, DataVersion comparison
    "onec_document",  # incremental by Date with a re-read window
    "file",  # user files of one kind in FILES_DIR
]


@dataclass(frozen=True)
class EntitySpec:
    name: str  # "bitrix24.deals"
    source: Literal["bitrix24", "onec", "files"]
    raw_table: str  # "bitrix24__deals" (in schema raw)
    kind: Kind
    method: str | None = None  # Bitrix24 method or 1C entity set
    params: dict[str, Any] = field(default_factory=dict)
    id_field: str = "ID"  # several fields joined by "+": a composite key, its values joined by "|"
    modified_field: str | None = None  # DATE_MODIFY, LAST_UPDATED
    file_kind: str | None = None

    @property
    def entity(self) -> str:
        return self.name.split(".", 1)[1]

    def key_of(self, row: dict[str, Any]) -> str:
        """The record's source_key: its id_field, or the composite key's values joined by "|"."""
        return "|".join(str(row[f]) for f in self.id_field.split("+"))


def _b24(entity: str, kind: Kind, method: str, **kw: Any) -> EntitySpec:
    return EntitySpec(f"bitrix24.{entity}", "bitrix24", f"bitrix24__{entity}", kind, method, **kw)


def _onec(entity: str, kind: Kind, entity_set: str) -> EntitySpec:
    return EntitySpec(f"onec.{entity}", "onec", f"onec__{entity}", kind, entity_set, id_field="Ref_Key")


def _file(kind: str) -> EntitySpec:
    return EntitySpec(f"files.{kind}", "files", f"files__{kind}", "file", file_kind=kind)


_SPECS = [
    _b24("companies", "b24_list", "crm.company.list", params={"select": ["*", "UF_*"]}, modified_field="DATE_MODIFY"),
    _b24("requisites", "b24_list", "crm.requisite.list", modified_field="DATE_MODIFY"),
    # addresses have no ID: the key is TYPE_ID|ENTITY_TYPE_ID|ENTITY_ID (one address per type and owner)
    _b24("addresses", "b24_dictionary", "crm.address.list", id_field="TYPE_ID+ENTITY_TYPE_ID+ENTITY_ID"),
    _b24("contacts", "b24_list", "crm.contact.list", modified_field="DATE_MODIFY"),
    _b24("leads", "b24_list", "crm.lead.list", params={"select": ["*", "UF_*"]}, modified_field="DATE_MODIFY"),
    _b24("deals", "b24_list", "crm.deal.list", params={"select": ["*", "UF_*"]}, modified_field="DATE_MODIFY"),
    _b24("deal_stage_history", "b24_append", "crm.stagehistory.list", params={"entityTypeId": 2}),
    _b24("activities", "b24_list", "crm.activity.list", params={"select": ["*"]}, modified_field="LAST_UPDATED"),
    _b24("users", "b24_dictionary", "user.get"),
    _b24("departments", "b24_dictionary", "department.get"),
    _b24("statuses", "b24_dictionary", "crm.status.list"),
    _b24("deal_categories", "b24_dictionary", "crm.category.list", params={"entityTypeId": 2}, id_field="id"),
    _b24("deal_product_rows", "b24_product_rows", "crm.deal.productrows.get"),
    _b24("products", "b24_list", "crm.product.list"),
    _onec("counterparties", "onec_catalog", "Catalog_Контрагенты"),
    _onec("partners", "onec_catalog", "Catalog_Партнеры"),
    _onec("business_regions", "onec_catalog", "Catalog_БизнесРегионы"),
    _onec("users", "onec_catalog", "Catalog_Пользователи"),
    _onec("departments", "onec_catalog", "Catalog_СтруктураПредприятия"),
    _onec("products", "onec_catalog", "Catalog_Номенклатура"),
    _onec("sales_documents", "onec_document", "Document_РеализацияТоваровУслуг"),
    _onec("returns", "onec_document", "Document_ВозвратТоваровОтКлиента"),
    *(
        _file(kind)
        for kind in (
            "rosstat_outlets",
            "potential_clients",
            "sales_plans",
            "assortment_matrix",
            "nps_answers",
            "marketing_spend",
            "sales_lines",
        )
    ),
]

ENTITIES: dict[str, EntitySpec] = {spec.name: spec for spec in _SPECS}
SOURCES: tuple[str, ...] = ("bitrix24", "onec", "files")


def entities_of(source: str) -> list[EntitySpec]:
    """The entities of one source, in load order (dictionaries first)."""
    if source not in SOURCES:
        raise KeyError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    return [spec for spec in _SPECS if spec.source == source]
