"""Where a dbt model reads other models: only in import CTEs at the top (jaffle-shop style).

An import CTE is `name as (select * from {{ ref('x') }})` (or `{{ source(...) }}`), optionally with
a `where` that reads nothing itself. Every ref()/source() of a model is in one, and no import CTE
comes after a logic CTE, so a model's inputs are listed once at its top, `dbt build --empty`
(which renders each ref as an aliased subquery) works, and a unit test's `given` is that list.

Allowed besides: `-- depends_on: {{ ref('x') }}` lines, dbt's way to declare a model that only a
macro of the model reads (an incremental fact's pre-hook, an incremental-only branch), and
`{{ macro(...) }},` in place of CTEs: a macro that writes logic CTEs over the model's imports
(macros read no models themselves: tests/dbt/test_project_structure.py checks that).
The branches of a Jinja if/else are alternatives: each may start with its own imports.
"""

from __future__ import annotations

import re

JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
DEPENDS_ON = re.compile(r"^[ \t]*--[ \t]*depends_on:[ \t]*\{\{[ \t]*ref\([^()]*\)[ \t]*\}\}[ \t]*$", re.M)
JINJA_STATEMENT = re.compile(r"\{%-?\s*(\w+).*?-?%\}", re.S)
READ = re.compile(r"\{\{-?[^}]*?\b(?:ref|source)\s*\(", re.S)
IMPORT_BODY = re.compile(
    r"^select\s+\*\s+from\s+\{\{\s*(?:ref|source)\s*\([^()]*\)\s*\}\}(?:\s+where\s+(?P<where>.+))?$", re.S | re.I
)
CTES_FROM_MACRO = re.compile(r"\s*\{\{-?\s*([A-Za-z_]\w*)\s*\([^{}]*\)\s*-?\}\}\s*,", re.S)
CTE_HEAD = re.compile(r"\s*([A-Za-z_]\w*)\s+as\s*\(", re.I)
BRANCH = re.compile(r"\s*\x00(if|else|endif)\x00")
BRANCH_WORDS = {"if": "if", "elif": "else", "else": "else", "endif": "endif"}


def _closing_paren(sql: str, open_at: int) -> int:
    """The index of the `)` that closes the `(` at `open_at` (quotes and -- comments skipped)."""
    depth, i, quote = 0, open_at, ""
    while i < len(sql):
        char = sql[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = len(sql) if newline < 0 else newline
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced parentheses after {sql[open_at:open_at + 80]!r}")


def _statement(match: re.Match[str]) -> str:
    """A Jinja statement out of the way: if/elif/else/endif become branch marks, the rest blanks."""
    kind = BRANCH_WORDS.get(match.group(1))
    return f"\x00{kind}\x00" if kind else " " * len(match.group(0))


def misplaced_reads(raw_code: str) -> list[str]:
    """What in a model's SQL (dbt's raw_code) breaks the import-CTE rule, one line per finding."""
    sql = DEPENDS_ON.sub("", JINJA_COMMENT.sub("", raw_code))
    sql = JINJA_STATEMENT.sub(_statement, sql)
    start = re.search(r"(?<!\w)with\s", sql, re.I)
    if not start:
        return [f"reads {m.group(0)!r} without import CTEs" for m in READ.finditer(sql)]
    found = [f"reads {m.group(0)!r} before its CTEs" for m in READ.finditer(sql[: start.start()])]
    pos, logic_seen, branches = start.end(), "", []
    while True:
        branch = BRANCH.match(sql, pos)
        if branch:
            kind = branch.group(1)
            if kind == "if":
                branches.append(logic_seen)
            elif kind == "else" and branches:
                logic_seen = branches[-1]
            elif kind == "endif" and branches:
                branches.pop()
            pos = branch.end()
            continue
        emitted = CTES_FROM_MACRO.match(sql, pos)
        if emitted:
            logic_seen = logic_seen or f"{emitted.group(1)}()"
            pos = emitted.end()
            continue
        head = CTE_HEAD.match(sql, pos)
        if not head:
            break
        close = _closing_paren(sql, head.end() - 1)
        name, body = head.group(1), sql[head.end() : close].strip()
        if READ.search(body):
            imported = IMPORT_BODY.match(body)
            if not imported or READ.search(imported.group("where") or ""):
                found.append(f"CTE {name} reads a model but is not an import CTE (select * from ref/source [where])")
            elif logic_seen:
                found.append(f"import CTE {name} comes after the logic CTE {logic_seen}: imports go at the top")
        else:
            logic_seen = logic_seen or name
        pos = close + 1
        comma = re.match(r"\s*,", sql[pos:])
        if not comma:
            break
        pos += comma.end()
    found += [f"reads {m.group(0)!r} outside its CTEs" for m in READ.finditer(sql[pos:])]
    return found
