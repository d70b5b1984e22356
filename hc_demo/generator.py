"""Deterministic demo data of a North-West Russian non-food distributor.

`generate()` writes what the connectors would fetch from 1C and Bitrix24 plus the user files:

    out_dir/bitrix24/<raw entity>.jsonl   one legacy REST record per line (companies.jsonl, ...)
    out_dir/onec/<1C entity>.jsonl        one OData record per line (Catalog_Контрагенты.jsonl, ...)
    out_dir/files/                        reference files with Russian headers
    out_dir/manifest.json                 what was generated

Same seed and parameters give byte-identical files. Sales documents are streamed in date order
so `target_lines` in the millions does not need the documents in memory.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from hc_demo import files_writer
from hc_demo.bitrix_writer import write_bitrix
from hc_demo.onec_writer import write_catalogs, write_documents
from hc_demo.population import TAIL_BEHAVIOURS, Population

DEFAULT_CLIENTS = 3000
GENERATOR_VERSION = 3  # bump whenever the output for a seed changes (cached demo data is keyed by it)
Progress = Callable[[str, int, int], None]


@dataclass
class DemoManifest:
    out_dir: Path
    as_of: date
    seed: int
    clients: int
    long_tail: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)  # "<system>/<entity>" -> records
    paths: dict[str, Path] = field(default_factory=dict)  # same keys -> file

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "generator_version": GENERATOR_VERSION,
            "as_of": self.as_of.isoformat(),
            "seed": self.seed,
            "clients": self.clients,
            "counts": self.counts,
            "paths": {k: str(v.relative_to(self.out_dir)) for k, v in self.paths.items()},
        }
        if self.long_tail:  # only when asked for: the default manifest stays as it was
            out["long_tail"] = self.long_tail
        if rosstat_outlets_scale(self.clients) != 1.0:  # above the default size only, as above
            out["rosstat_outlets_scale"] = rosstat_outlets_scale(self.clients)
        return out


def _rng(seed: int, part: str) -> random.Random:
    """An independent stream per part, so changing one part leaves the others' numbers alone."""
    return random.Random(f"{seed}:{part}")


def rosstat_outlets_scale(clients: int) -> float:
    """The factor on the reference regions' Rosstat outlets for `clients`: 1 up to the default
    3,000 clients (the seed case table's «Общая КБ», the demo unchanged), proportional above, so
    a larger company's clients stay the same fraction of its regions' outlets (coverage ≤ 1)."""
    return max(1.0, clients / DEFAULT_CLIENTS)


def generate(
    out_dir: Path,
    *,
    seed: int = 42,
    clients: int = DEFAULT_CLIENTS,
    as_of: date = date(2026, 10, 31),
    years: int = 3,
    lines_per_doc: float = 4.0,
    target_lines: int | None = None,
    long_tail: float = 0.0,
    progress: Progress | None = None,
) -> DemoManifest:
    """Write a complete demo data set into `out_dir` (created if needed) and return its manifest.

    `long_tail` (0 to <1): the share of clients who are one-off or rare buyers (half each; a rare
    buyer buys 2 to 5 times in the whole history), as in real client bases; their purchases do
    not scale with `target_lines`, so at equal lines more clients means a longer tail and not
    just thinner buyers. 0 (the default) leaves the demo exactly as it was.
    """
    if clients < 10:
        raise ValueError(f"clients must be at least 10, got {clients}")
    if years < 2:
        raise ValueError(f"years must be at least 2 (attraction needs a full previous year), got {years}")
    if lines_per_doc < 1.0:
        raise ValueError(f"lines_per_doc must be >= 1, got {lines_per_doc}")
    if not 0.0 <= long_tail < 1.0:
        raise ValueError(f"long_tail must be in [0, 1), got {long_tail}")
    out_dir = Path(out_dir)
    onec_dir, b24_dir, files_dir = out_dir / "onec", out_dir / "bitrix24", out_dir / "files"
    for d in (onec_dir, b24_dir, files_dir):
        d.mkdir(parents=True, exist_ok=True)

    def report(stage: str, done: int, total: int) -> None:
        if progress:
            progress(stage, done, total)

    pop = Population(_rng(seed, "population"), clients=clients, as_of=as_of, years=years, long_tail=long_tail)
    report("clients", clients, clients)
    frequency = 1.0
    if target_lines:
        probe = _rng(seed, "probe")
        per_buyer = [(p.behaviour in TAIL_BEHAVIOURS, len(pop.schedule(p, 1.0, probe))) for p in pop.buyers]
        docs = sum(n for _, n in per_buyer)
        if not long_tail:
            frequency = max(0.05, target_lines / (docs * lines_per_doc * 1.025))
        else:  # the tail's documents are fixed; the others' frequency makes up the rest
            fixed = sum(n for tail, n in per_buyer if tail)
            frequency = max(0.05, (target_lines / (lines_per_doc * 1.025) - fixed) / max(1, docs - fixed))
    sched_rng = _rng(seed, "schedule")
    for p in pop.buyers:
        p.schedule = pop.schedule(p, frequency, sched_rng)
    lists = pop.potential_lists()

    manifest = DemoManifest(out_dir, as_of, seed, clients, long_tail)
    keys, counts = write_catalogs(onec_dir, pop, _rng(seed, "onec"))
    sales = write_documents(
        onec_dir, pop, keys, _rng(seed, "documents"), lines_per_doc=lines_per_doc, progress=progress
    )
    counts["Document_РеализацияТоваровУслуг"] = sales.documents
    counts["Document_ВозвратТоваровОтКлиента"] = sales.returns
    for entity, n in counts.items():
        manifest.counts[f"onec/{entity}"] = n
        manifest.paths[f"onec/{entity}"] = onec_dir / f"{entity}.jsonl"
    manifest.counts["onec/sales_lines"] = sales.lines
    manifest.counts["onec/unposted_documents"] = sales.unposted
    manifest.counts["onec/deleted_documents"] = sales.deleted
    report("1C", 1, 1)

    b24 = write_bitrix(b24_dir, pop, keys.products, _rng(seed, "bitrix24"))
    for entity, n in b24.counts.items():
        manifest.counts[f"bitrix24/{entity}"] = n
        manifest.paths[f"bitrix24/{entity}"] = b24_dir / f"{entity}.jsonl"
    report("Bitrix24", 1, 1)

    frng = _rng(seed, "files")
    written = {
        files_writer.ROSSTAT: files_writer.write_rosstat(files_dir, pop, frng, rosstat_outlets_scale(clients)),
        files_writer.POTENTIAL: files_writer.write_potential(files_dir, lists),
        files_writer.PLANS: files_writer.write_plans(files_dir, pop, sales, b24, frng),
        files_writer.ASSORTMENT: files_writer.write_assortment(files_dir, keys.products, frng),
        files_writer.MARKETING: files_writer.write_marketing(files_dir, pop, b24, frng),
        files_writer.NPS: files_writer.write_nps(files_dir, pop, frng),
    }
    for name, n in written.items():
        manifest.counts[f"files/{name}"] = n
        manifest.paths[f"files/{name}"] = files_dir / name
    report("files", 1, 1)
    (out_dir / "manifest.json").write_text(
        json.dumps(manifest.to_json(), ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest
