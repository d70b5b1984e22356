"""A minimal in-test Bitrix24 responder for crm.deal.list (fast mode) and batch over a row list."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .scripted_server import Reply, Seen


def _flat(params: dict[str, Any]) -> dict[str, str]:
    """JSON body -> the flat PHP keys a batch command would carry (only what we need)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            for k, v in value.items():
                out[f"{key}[{k}]"] = str(v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                out[f"{key}[{i}]"] = str(v)
        else:
            out[key] = str(value)
    return out


@dataclass
class ListHandler:
    rows: list[dict[str, Any]]
    command_errors: dict[int, dict[str, str]] = field(default_factory=dict)  # batch number -> {cmd key: code}
    after_batch: Callable[[int, ListHandler], None] | None = None
    batches: int = 0
    widths: list[int] = field(default_factory=list)
    commands: list[dict[str, str]] = field(default_factory=list)

    def page(self, params: dict[str, str]) -> list[dict[str, Any]]:
        self.commands.append(params)
        assert params.get("start") == "-1", "only fast mode is expected"
        after = int(params.get("filter[>ID]", "0") or 0)
        descending = params.get("order[ID]") == "DESC"
        chosen = sorted((r for r in self.rows if int(r["ID"]) > after), key=lambda r: int(r["ID"]), reverse=descending)
        return chosen[:50]

    def __call__(self, seen: Seen) -> Reply:
        body = seen.json()
        if not seen.path.endswith("/batch"):
            assert seen.path.endswith("/crm.deal.list"), seen.path
            return Reply(200, {"result": self.page(_flat(body)), "total": 0, "time": {}})
        self.batches += 1
        self.widths.append(len(body["cmd"]))
        result: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for key, cmd in body["cmd"].items():
            method, _, query = cmd.partition("?")
            assert method == "crm.deal.list"
            code = self.command_errors.get(self.batches, {}).get(key)
            if code is not None:
                errors[key] = {"error": code, "error_description": "scripted"}
                continue
            result[key] = self.page(dict(parse_qsl(query)))
        if self.after_batch is not None:
            self.after_batch(self.batches, self)
        return Reply(200, {"result": {"result": result or [], "result_error": errors or [], "result_total": [],
                                      "result_next": [], "result_time": []},
                           "time": {"start": 1.0, "finish": 1.1, "operating_reset_at": 0, "operating": 0}})


def deal_rows(n: int, start_id: int = 1, step: int = 1) -> list[dict[str, Any]]:
    return [{"ID": str(start_id + i * step), "TITLE": f"Сделка {i}", "OPPORTUNITY": f"{i}.50",
             "DATE_MODIFY": "2025-01-01T10:00:00+03:00"} for i in range(n)]
