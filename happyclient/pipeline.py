"""Run the Dagster job `happyclient_pipeline` in this process, printing one line per step."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hc_base.redact import redact
from orchestration import SKIPPED_METADATA

StepCallback = Callable[[str, str], None]  # (step key, "started" | "succeeded" | "failed" | "skipped")

_REPORTED = {
    "STEP_START": "started",
    "STEP_SUCCESS": "succeeded",
    "STEP_FAILURE": "failed",
    "STEP_SKIPPED": "skipped",
    "STEP_UP_FOR_RETRY": "will retry",
}


class PipelineError(RuntimeError):
    """The pipeline run failed; the message lists the failed steps and their errors."""


@dataclass
class PipelineResult:
    run_id: str
    success: bool
    steps: dict[str, str] = field(default_factory=dict)  # step key -> last status
    errors: dict[str, str] = field(default_factory=dict)  # step key -> error message (redacted)
    skipped: dict[str, str] = field(default_factory=dict)  # step key -> why it did nothing


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def error_summary(error: str, max_lines: int = 12) -> str:
    """The last `max_lines` non-empty lines of an error, without terminal colours."""
    lines = [line.rstrip() for line in _ANSI.sub("", error).splitlines() if line.strip()]
    shown = lines[-max_lines:]
    prefix = f"(... {len(lines) - len(shown)} more lines)\n      " if len(lines) > len(shown) else ""
    return prefix + "\n      ".join(shown)


_DBT_NODE = re.compile(r"^(?:\d\d:\d\d:\d\d\s+)?(\d+) of (\d+) (START|OK|ERROR|FAIL|WARN|PASS|SKIP)\b\s*(.*)$")
_DBT_DOTS = re.compile(r"\s*\.{2,}.*$|\s+\[.*$")


class DbtProgress:
    """A text stream for the pipeline's redirected output that copies everything into `sink` and
    reports dbt's progress through `report`: «dbt N of M: <model>» when a model, seed or snapshot
    starts, ERROR / FAIL / WARN lines as they come, and for the many tests one line at most every
    `every` seconds. So a long build is never silent on the console, and the log file keeps all."""

    def __init__(
        self,
        sink: Any,
        report: Callable[[str], None],
        *,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self.report = report
        self.every = every
        self.clock = clock
        self._pending = ""
        self._last_test_report: float | None = None

    def write(self, text: str) -> int:
        self.sink.write(text)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._line(line)
        return len(text)

    def flush(self) -> None:
        self.sink.flush()

    def isatty(self) -> bool:
        return False

    def _line(self, raw: str) -> None:
        match = _DBT_NODE.match(_ANSI.sub("", raw).strip())
        if match is None:
            return
        index, total, status, rest = match.groups()
        what = _DBT_DOTS.sub("", rest).strip()
        if status in ("ERROR", "FAIL", "WARN"):
            self.report(f"dbt {index} of {total}: {status} {what}")
        elif status == "START" and not what.startswith(("test ", "unit_test ")):
            self.report(f"dbt {index} of {total}: {what}")
        elif status == "START":
            now = self.clock()
            if self._last_test_report is None or now - self._last_test_report >= self.every:
                self._last_test_report = now
                self.report(f"dbt {index} of {total}: {what}")


def step_status(event_type: str) -> str | None:
    """The progress word for a Dagster event type, or None when it is not reported."""
    return _REPORTED.get(event_type)


@contextmanager
def _environ(values: Mapping[str, str]) -> Any:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def ensure_dagster_instance(dagster_home: Path) -> Path:
    """The instance's dagster.yaml, with telemetry off (added to an existing file without it)."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if not any(line.startswith("telemetry:") for line in text.splitlines()):
        prefix = text if not text or text.endswith("\n") else text + "\n"
        path.write_text(prefix + "telemetry:\n  enabled: false\n", encoding="utf-8")
    return path


def run_pipeline(
    env: Mapping[str, str],
    *,
    dagster_home: Path | None = None,
    exclude_groups: Iterable[str] = (),
    on_step: StepCallback | None = None,
    tags: Mapping[str, str] | None = None,
) -> PipelineResult:
    """Execute `happyclient_pipeline` in-process with `env` set (WAREHOUSE_URL, source settings...).

    `dagster_home` (a directory) keeps the run in that Dagster instance so the UI shows it;
    without it the run uses an ephemeral instance. `exclude_groups` leaves asset groups out
    (`superset` when no Superset runs).
    """
    import dagster as dg

    with _environ(env):
        from orchestration.definitions import PIPELINE_JOB, defs

        job = defs.resolve_job_def(PIPELINE_JOB)
        graph = defs.resolve_asset_graph()
        excluded = set(exclude_groups)
        selection = [
            key
            for key in graph.get_all_asset_keys()
            if graph.get(key).is_materializable and graph.get(key).group_name not in excluded
        ]
        if dagster_home is not None:
            ensure_dagster_instance(dagster_home)
            os.environ["DAGSTER_HOME"] = str(dagster_home)
            instance = dg.DagsterInstance.get()
        else:
            instance = dg.DagsterInstance.ephemeral()
        run_id = str(uuid.uuid4())
        result = PipelineResult(run_id=run_id, success=False)

        def listener(entry: Any) -> None:
            event = entry.dagster_event
            if event is None or not entry.step_key:
                return
            if event.event_type_value == "ASSET_MATERIALIZATION":
                why = _skip_reason(event)
                if why:
                    result.skipped[entry.step_key] = why
                return
            status = step_status(event.event_type_value)
            if status is None:
                return
            if status == "succeeded" and entry.step_key in result.skipped:
                status = f"skipped: {result.skipped[entry.step_key]}"
            result.steps[entry.step_key] = status
            if status == "failed":
                result.errors[entry.step_key] = redact(_ANSI.sub("", _error_text(event)))
            if on_step is not None:
                on_step(entry.step_key, status)

        instance.add_event_listener(run_id, listener)
        try:
            outcome = job.execute_in_process(
                instance=instance,
                run_id=run_id,
                asset_selection=selection,
                raise_on_error=False,
                tags=dict(tags or {}),
                run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            )
        finally:
            if dagster_home is None:
                instance.dispose()
        result.success = bool(outcome.success)
        return result


def _skip_reason(event: Any) -> str | None:
    materialization = getattr(getattr(event, "event_specific_data", None), "materialization", None)
    value = (getattr(materialization, "metadata", None) or {}).get(SKIPPED_METADATA)
    return None if value is None else str(getattr(value, "value", value))


def _error_text(event: Any) -> str:
    data = getattr(event, "event_specific_data", None)
    error = getattr(data, "error", None)
    if error is None:
        return event.message or "failed"
    message = getattr(error, "message", str(error)).strip()
    cause = getattr(error, "cause", None)
    while cause is not None:
        message += " | caused by: " + getattr(cause, "message", str(cause)).strip()
        cause = getattr(cause, "cause", None)
    return message[-4000:]
