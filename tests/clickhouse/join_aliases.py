"""`t.col as col` on the select items of joins, which ClickHouse needs (issue 13).

In a select over joined relations, ClickHouse names an output column `t.col` (not `col`) when
another joined relation has a column `col` too, so `outer.col` no longer resolves one level up.
Postgres names it `col` either way, so the alias changes nothing there. This tool finds the select
lists of selects with a join (in models and macros, Jinja left as it is) and aliases every item
that is a bare `relation.column` alone on its line (`{{ relation }}.column` too). Multi-line
expressions are left alone.

    python tests/clickhouse/join_aliases.py --check   # exit 1 and list the lines that need an alias
    python tests/clickhouse/join_aliases.py           # add them (after merging a model change)
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ITEM = re.compile(r"^(\s+)(\{\{ ?\w+ ?\}\}|\w+)\.(\w+)(,?)(\s*)$")
TOKENS = re.compile(r"\(|\)|'[^']*'|\b(select|from|where|group\s+by|order\s+by|having|partition\s+by|union|on|qualify"
                    r"|window|join)\b", re.I)
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")


def _needing_alias(lines: list[str]) -> list[int]:
    depth = 0
    clause: dict[int, str] = {}
    block: dict[int, int] = {}
    selects: list[dict] = []  # per select: has a join, candidate item lines
    for i, line in enumerate(lines):
        code = line.split("--")[0]
        if code == line and ITEM.match(line) and clause.get(depth) == "select" and depth in block:
            selects[block[depth]]["items"].append(i)
        plain = JINJA.sub(lambda m: "x" if m.group(0).startswith("{{") else "", code)
        for token in TOKENS.finditer(plain):
            word = token.group(0).lower()
            if word.startswith("'"):
                continue
            if word == "(":
                depth += 1
                clause.pop(depth, None)
                block.pop(depth, None)
            elif word == ")":
                clause.pop(depth, None)
                block.pop(depth, None)
                depth -= 1
            elif word == "select":
                clause[depth] = "select"
                selects.append({"join": False, "items": []})
                block[depth] = len(selects) - 1
            elif word == "join":
                if depth in block:
                    selects[block[depth]]["join"] = True
                clause[depth] = "from"
            else:
                clause[depth] = "from" if word == "from" else word
    out = []
    for select in selects:
        if not select["join"]:
            continue
        for i in select["items"]:
            if not ITEM.match(lines[i]).group(4):  # no comma: the last item, or an expression going on
                following = next((n.strip().lower() for n in lines[i + 1:] if n.strip() and not n.strip().startswith("--")), "")
                if not following.startswith(("from", ")", "{%")):
                    continue
            out.append(i)
    return out


def fix(path: Path, write: bool = True) -> list[int]:
    lines = path.read_text(encoding="utf-8").split("\n")
    found = _needing_alias(lines)
    for i in found:
        indent, relation, column, comma, _ = ITEM.match(lines[i]).groups()
        lines[i] = f"{indent}{relation}.{column} as {column}{comma}"
    if found and write:
        path.write_text("\n".join(lines), encoding="utf-8")
    return [i + 1 for i in found]


def sql_files() -> list[Path]:
    project = ROOT / "dbt_project"
    return sorted([*project.glob("models/**/*.sql"), *project.glob("macros/*.sql")])


if __name__ == "__main__":
    check = "--check" in sys.argv[1:]
    missing = {str(p.relative_to(ROOT)): fix(p, write=not check) for p in sql_files()}
    missing = {p: lines for p, lines in missing.items() if lines}
    for path, lines in missing.items():
        print(f"{path}: lines {lines}")
    sys.exit(1 if check and missing else 0)
