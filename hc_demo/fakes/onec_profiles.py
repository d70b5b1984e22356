"""1C bases of other configurations, made from the demo's УТ 11 base by renaming.

The fake 1C (`hc_demo.fakes.onec`) serves whatever `<entity>.jsonl` files a directory holds
and derives `$metadata` and the service document from them, so a configuration profile is a
renamed copy of the demo base: the same documents, amounts and clients, under the entity,
tabular-part and field names of that configuration (`ingestion.mapping.PROFILES`):

* `ut11` — the demo as generated (captured УТ 11 shapes);
* `erp2` — УТ 11's names plus the regulated-accounting register ERP / КА 2 publish
  (`AccountingRegister_Хозрасчетный`, empty here) and ERP's `Catalog_РесурсныеСпецификации`;
* `bp3`  — Бухгалтерия 3.0: no `Catalog_Партнеры` / `Catalog_БизнесРегионы`, documents without
  `Партнер_Key`, `Менеджер_Key` → `Ответственный_Key`, `Подразделение_Key` →
  `ПодразделениеОрганизации_Key`, returns `Document_ВозвратТоваровОтПокупателя`, departments
  `Catalog_ПодразделенияОрганизаций`;
* `unf3` — УНФ 3: sales `Document_РасходнаяНакладная` with tabular part `Запасы`, returns
  `Document_ПриходнаяНакладная` (`ВидОперации` = `ВозвратОтПокупателя`), users
  `Catalog_Сотрудники`, departments `Catalog_СтруктурныеЕдиницы`, no partners or regions.

Only `ut11` rests on captured responses; the other names come from documented metadata.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ingestion.mapping import PROFILES

_UT11_NAMES = {concept: spec["entity"] for concept, spec in PROFILES["ut11"].items() if spec}
_FIELD_RENAMES: dict[str, dict[str, str | None]] = {
    "bp3": {
        "Партнер_Key": None,
        "Менеджер_Key": "Ответственный_Key",
        "Подразделение_Key": "ПодразделениеОрганизации_Key",
    },
    "unf3": {"Партнер_Key": None, "Менеджер_Key": "Ответственный_Key"},
}
_EXTRA_ENTITIES = {"erp2": ("AccountingRegister_Хозрасчетный", "Catalog_РесурсныеСпецификации")}


def _rename_fields(row: dict[str, Any], renames: dict[str, str | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in renames:
            new = renames[key]
            if new is not None:
                out[new] = value
        else:
            out[key] = value
    return out


def make_onec_profile(demo_dir: Path, out_dir: Path, profile: str) -> Path:
    """Write the demo's 1C base (`demo_dir` or its `onec/`) as configuration `profile` to
    `out_dir/onec`. Returns that directory."""
    if profile not in PROFILES:
        raise ValueError(f"unknown 1C profile {profile!r}; known: {', '.join(PROFILES)}")
    demo_dir = Path(demo_dir)
    src = demo_dir / "onec" if (demo_dir / "onec").is_dir() else demo_dir
    dst = Path(out_dir) / "onec"
    dst.mkdir(parents=True, exist_ok=True)
    target = PROFILES[profile]
    renames = _FIELD_RENAMES.get(profile, {})
    by_entity = {name: concept for concept, name in _UT11_NAMES.items()}
    for path in sorted(src.glob("*.jsonl")):
        concept = by_entity.get(path.stem)
        spec = target.get(concept) if concept else {"entity": path.stem}
        if concept and not spec:
            continue  # this configuration has no such object
        assert spec is not None
        lines_from = PROFILES["ut11"][concept].get("lines") if concept else None
        lines_to = spec.get("lines")
        extra: dict[str, Any] = {}
        if concept == "returns" and spec.get("filter"):
            extra = {"ВидОперации": "ВозвратОтПокупателя"}
        with path.open(encoding="utf-8") as fh, (dst / f"{spec['entity']}.jsonl").open("w", encoding="utf-8") as out:
            for line in fh:
                if not line.strip():
                    continue
                row = json.loads(line)
                if concept in ("sales_documents", "returns", "counterparties"):
                    row = _rename_fields(row, renames)
                if concept == "users" and (spec.get("fields") or {}).get("department") is None:
                    row.pop("Подразделение_Key", None)
                if lines_from and lines_to and lines_from != lines_to and lines_from in row:
                    row[lines_to] = row.pop(lines_from)
                row.update(extra)
                out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    for name in _EXTRA_ENTITIES.get(profile, ()):
        (dst / f"{name}.jsonl").write_text("", encoding="utf-8")
    for other in ("bitrix24", "files"):
        if (demo_dir / other).is_dir() and not (Path(out_dir) / other).exists():
            shutil.copytree(demo_dir / other, Path(out_dir) / other)
    return dst


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m hc_demo.fakes.onec_profiles", description="Write the demo's 1C base as another configuration."
    )
    parser.add_argument("demo", type=Path, help="generated demo directory (python -m hc_demo)")
    parser.add_argument("out", type=Path, help="output directory; serve it with python -m hc_demo.fakes.onec --data")
    parser.add_argument("profile", choices=sorted(PROFILES))
    args = parser.parse_args(argv)
    print(make_onec_profile(args.demo, args.out, args.profile))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
