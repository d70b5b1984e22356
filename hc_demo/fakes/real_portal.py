"""A second Bitrix24 data set shaped like a real portal, made from the demo's by renaming.

The demo portal keeps region, channel, potential and size in `UF_CRM_HC_*` fields and has two
pipelines `0` and `1` with the standard stage ids. A real portal looks different; this module
rewrites a generated demo `bitrix24/` directory into that shape, record for record, so every
number the marts compute stays comparable with the demo's:

* custom fields are numbered (`UF_CRM_1612345678`) and labelled: channel and size are list
  fields (values are item ids, the names are in the field's `LIST`), potential is a number;
  a decoy «Регион (старое поле)» exists but is empty everywhere;
* the region is no field at all: it is the `PROVINCE` of the requisite's legal address
  (`crm.address.list`, TYPE_ID 6, ENTITY_TYPE_ID 8 = requisite). Companies without a
  requisite get an address-only requisite (`ADDRESS_ONLY` = Y, no ИНН), as the portal
  creates when only an address is typed into the card;
* the repeat-sales pipeline is `7` «Допродажи и повторные заказы» (stages `C7:…`), the new-client
  pipeline `0` is «Продажи», in-progress stages have portal-made ids (`UC_…`), and an empty
  pipeline `9` «Тендеры» exists;
* lead source `WEB` is the custom source `UC_SEO`.

`SHAPE` says what was renamed, for tests and for hand-checking a proposed mapping.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hc_demo import reference as ref

CHANNEL_FIELD = "UF_CRM_1612345678"
POTENTIAL_FIELD = "UF_CRM_1612345701"
SIZE_FIELD = "UF_CRM_1612345723"
OLD_REGION_FIELD = "UF_CRM_1598765432"
NOTE_FIELD = "UF_CRM_1598765499"
CHANNEL_ITEMS = {str(45 + i): name for i, name in enumerate(ref.CHANNELS)}
SIZE_ITEMS = {str(51 + i): name.capitalize() for i, name in enumerate(ref.SIZES)}
REPEAT_PIPELINE = 7
EMPTY_PIPELINE = 9
PIPELINE_NAMES = {0: "Продажи", REPEAT_PIPELINE: "Допродажи и повторные заказы", EMPTY_PIPELINE: "Тендеры"}
SOURCE_RENAMES = {"WEB": "UC_SEO"}
ADDRESS_TYPE = "6"  # legal address
SHAPE: dict[str, Any] = {
    "channel_field": CHANNEL_FIELD,
    "potential_field": POTENTIAL_FIELD,
    "size_field": SIZE_FIELD,
    "region_address": "PROVINCE",
    "repeat_pipeline": str(REPEAT_PIPELINE),
    "new_client_pipeline": "0",
    "empty_pipeline": str(EMPTY_PIPELINE),
}


def _userfield(i: int, name: str, kind: str, label: str, items: dict[str, str] | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "ID": str(301 + i),
        "ENTITY_ID": "CRM_COMPANY",
        "FIELD_NAME": name,
        "USER_TYPE_ID": kind,
        "XML_ID": None,
        "SORT": str(100 + 10 * i),
        "MULTIPLE": "N",
        "MANDATORY": "N",
        "SHOW_FILTER": "E",
        "SHOW_IN_LIST": "Y",
        "EDIT_IN_LIST": "Y",
        "IS_SEARCHABLE": "N",
        "SETTINGS": {"DISPLAY": "LIST", "LIST_HEIGHT": 1} if items else {"DEFAULT_VALUE": ""},
        "EDIT_FORM_LABEL": label,
        "LIST_COLUMN_LABEL": label,
        "LIST_FILTER_LABEL": label,
    }
    if items:
        record["LIST"] = [
            {"ID": k, "SORT": str(10 * (n + 1)), "VALUE": v, "DEF": "N", "XML_ID": f"hc{k}"}
            for n, (k, v) in enumerate(items.items())
        ]
    return record


USERFIELDS = [
    _userfield(0, OLD_REGION_FIELD, "string", "Регион (старое поле)"),
    _userfield(1, CHANNEL_FIELD, "enumeration", "Канал продаж", CHANNEL_ITEMS),
    _userfield(2, POTENTIAL_FIELD, "double", "Потенциал, руб/год"),
    _userfield(3, SIZE_FIELD, "enumeration", "Размер клиента", SIZE_ITEMS),
    _userfield(4, NOTE_FIELD, "string", "Комментарий менеджера"),
]


def _read(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def _stage_renames() -> dict[str, str]:
    """Demo STAGE_ID -> the real-shaped portal's, for both pipelines."""
    out: dict[str, str] = {}
    for n, (sid, _) in enumerate(ref.PIPELINE_0_STAGES):
        new = sid if sid == "NEW" else f"UC_{n:02d}K7M"
        out[sid] = new
        out[f"C1:{sid}"] = f"C{REPEAT_PIPELINE}:{new}"
    for sid in ("WON", "LOSE"):
        out[sid] = sid
        out[f"C1:{sid}"] = f"C{REPEAT_PIPELINE}:{sid}"
    return out


def _category(value: Any) -> Any:
    if value is None or str(value) != "1":
        return value
    return str(REPEAT_PIPELINE) if isinstance(value, str) else REPEAT_PIPELINE


def make_real_portal(demo_dir: Path, out_dir: Path) -> Path:
    """Write the real-shaped copy of `demo_dir` (a generated demo, or its `bitrix24/`) to
    `out_dir/bitrix24`; the 1C and file parts are copied unchanged. Returns `out_dir`."""
    demo_dir = Path(demo_dir)
    src = demo_dir / "bitrix24" if (demo_dir / "bitrix24").is_dir() else demo_dir
    dst = Path(out_dir) / "bitrix24"
    dst.mkdir(parents=True, exist_ok=True)
    for other in ("onec", "files"):
        if (demo_dir / other).is_dir() and not (Path(out_dir) / other).exists():
            shutil.copytree(demo_dir / other, Path(out_dir) / other)
    stages = _stage_renames()
    regions: dict[str, str] = {}
    channel_ids = {v: k for k, v in CHANNEL_ITEMS.items()}
    size_ids = {v.lower(): k for k, v in SIZE_ITEMS.items()}
    companies = []
    for row in _read(src / "companies.jsonl"):
        regions[str(row["ID"])] = row.pop("UF_CRM_HC_REGION", None)
        channel = row.pop("UF_CRM_HC_CHANNEL", None)
        potential = row.pop("UF_CRM_HC_POTENTIAL", None)
        size = row.pop("UF_CRM_HC_SIZE", None)
        row[OLD_REGION_FIELD] = None
        row[CHANNEL_FIELD] = channel_ids.get(channel) if channel else None
        row[POTENTIAL_FIELD] = potential
        row[SIZE_FIELD] = size_ids.get(str(size).lower()) if size else None
        row[NOTE_FIELD] = None
        companies.append(row)
    _write(dst / "companies.jsonl", companies)

    requisites = list(_read(src / "requisites.jsonl"))
    with_requisite = {str(r["ENTITY_ID"]) for r in requisites if str(r.get("ENTITY_TYPE_ID")) == "4"}
    next_id = 1 + max((int(r["ID"]) for r in requisites), default=0)
    for company in companies:
        if str(company["ID"]) not in with_requisite:
            requisites.append(
                {
                    "ID": str(next_id),
                    "ENTITY_TYPE_ID": "4",
                    "ENTITY_ID": str(company["ID"]),
                    "PRESET_ID": "1",
                    "DATE_CREATE": company.get("DATE_CREATE"),
                    "DATE_MODIFY": company.get("DATE_MODIFY"),
                    "CREATED_BY_ID": company.get("ASSIGNED_BY_ID"),
                    "MODIFY_BY_ID": company.get("ASSIGNED_BY_ID"),
                    "NAME": "Адрес",
                    "CODE": None,
                    "XML_ID": None,
                    "ORIGINATOR_ID": None,
                    "ACTIVE": "Y",
                    "ADDRESS_ONLY": "Y",
                    "SORT": "500",
                    "RQ_COMPANY_NAME": None,
                    "RQ_COMPANY_FULL_NAME": None,
                    "RQ_INN": None,
                    "RQ_KPP": None,
                }
            )
            next_id += 1
    _write(dst / "requisites.jsonl", requisites)
    addresses = []
    for req in requisites:
        region = regions.get(str(req["ENTITY_ID"]))
        if str(req.get("ENTITY_TYPE_ID")) != "4" or not region:
            continue
        addresses.append(
            {
                "TYPE_ID": ADDRESS_TYPE,
                "ENTITY_TYPE_ID": "8",
                "ENTITY_ID": str(req["ID"]),
                "ADDRESS_1": f"ул. Промышленная, д. {int(req['ID']) % 90 + 1}",
                "ADDRESS_2": None,
                "CITY": None,
                "POSTAL_CODE": None,
                "REGION": None,
                "PROVINCE": region,
                "COUNTRY": "Россия",
                "COUNTRY_CODE": "RU",
                "LOC_ADDR_ID": str(1000 + int(req["ID"])),
                "ANCHOR_TYPE_ID": "4",
                "ANCHOR_ID": str(req["ENTITY_ID"]),
            }
        )
    _write(dst / "addresses.jsonl", addresses)

    categories = []
    for row in _read(src / "deal_categories.jsonl"):
        row["id"] = _category(row["id"])
        row["name"] = PIPELINE_NAMES.get(int(row["id"]), row["name"])
        categories.append(row)
    categories.append(
        {
            "id": EMPTY_PIPELINE,
            "name": PIPELINE_NAMES[EMPTY_PIPELINE],
            "sort": 300,
            "entityTypeId": 2,
            "isDefault": "N",
            "originId": "",
            "originatorId": "",
        }
    )
    _write(dst / "deal_categories.jsonl", categories)

    statuses = []
    for row in _read(src / "statuses.jsonl"):
        if row.get("ENTITY_ID") == "DEAL_STAGE_1":
            row["ENTITY_ID"] = f"DEAL_STAGE_{REPEAT_PIPELINE}"
        if str(row.get("ENTITY_ID", "")).startswith("DEAL_STAGE"):
            row["STATUS_ID"] = stages.get(row["STATUS_ID"], row["STATUS_ID"])
            row["CATEGORY_ID"] = _category(row.get("CATEGORY_ID"))
        if row.get("ENTITY_ID") == "SOURCE":
            row["STATUS_ID"] = SOURCE_RENAMES.get(row["STATUS_ID"], row["STATUS_ID"])
        statuses.append(row)
    for n, (sid, name, semantics, extra) in enumerate(
        (
            ("NEW", "Приём заявки", None, "process"),
            ("WON", "Контракт", "S", "success"),
            ("LOSE", "Отказ", "F", "failure"),
        )
    ):
        statuses.append(
            {
                "ID": str(900 + n),
                "ENTITY_ID": f"DEAL_STAGE_{EMPTY_PIPELINE}",
                "STATUS_ID": f"C{EMPTY_PIPELINE}:{sid}",
                "NAME": name,
                "NAME_INIT": "",
                "SORT": str(10 * (n + 1)),
                "SYSTEM": "Y",
                "CATEGORY_ID": str(EMPTY_PIPELINE),
                "COLOR": "#39A8EF",
                "SEMANTICS": semantics,
                "EXTRA": {"SEMANTICS": extra, "COLOR": "#39A8EF"},
            }
        )
    _write(dst / "statuses.jsonl", statuses)

    def deal_like(name: str) -> None:
        rows = []
        for row in _read(src / f"{name}.jsonl"):
            if "STAGE_ID" in row:
                row["STAGE_ID"] = stages.get(row["STAGE_ID"], row["STAGE_ID"])
            if "CATEGORY_ID" in row:
                row["CATEGORY_ID"] = _category(row["CATEGORY_ID"])
            if row.get("SOURCE_ID") in SOURCE_RENAMES:
                row["SOURCE_ID"] = SOURCE_RENAMES[row["SOURCE_ID"]]
            rows.append(row)
        _write(dst / f"{name}.jsonl", rows)

    for name in ("deals", "deal_stage_history", "leads"):
        deal_like(name)
    for path in src.glob("*.jsonl"):
        if not (dst / path.name).exists():
            shutil.copy2(path, dst / path.name)
    (dst / "company_userfields.json").write_text(json.dumps(USERFIELDS, ensure_ascii=False, indent=1), encoding="utf-8")
    return Path(out_dir)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m hc_demo.fakes.real_portal",
        description="Write the demo data set shaped like a real Bitrix24 portal.",
    )
    parser.add_argument("demo", type=Path, help="generated demo directory (python -m hc_demo)")
    parser.add_argument(
        "out", type=Path, help="output directory; serve it with python -m hc_demo.fakes.bitrix24 --data"
    )
    args = parser.parse_args(argv)
    make_real_portal(args.demo, args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
