"""Run one load: read an entity from its source and land it in ONE warehouse transaction.

`ingest()` opens a transaction, streams the source's records into `raw.*`, marks records gone
from the source as deleted, writes quarantined rows and advances the entity's cursor, then
commits. Any failure rolls all of it back, so the previous rows and cursor stay as they were
and the next run simply repeats the load. The load log (`ingest_state.loads`) is written
outside that transaction and records failures too (with the error text redacted).

A ClickHouse WAREHOUSE_URL (clickhouse://, chdb:// in tests) runs the same loaders through
`ingestion.clickhouse_landing`: rows, deletion marks and the cursor are versions written by the
load's id and become visible together when its one commit row is written (`_ClickHouseLoad`).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from hc_base.redact import redact
from hc_base.warehouse_url import is_clickhouse_url

from . import clickhouse_landing as ch
from . import landing
from .bitrix24.auth import OAuthAuth, WebhookAuth
from .bitrix24.client import Bitrix24Client, rows_of
from .bitrix24.token_store import token_store
from .config import ConfigError, SourceSettings
from .files.load import files_of_kind, load_file_kind
from .files.load import report_unmatched as _report_unmatched_files
from .mapping import check_before_load, onec_entity_set
from .onec.client import OneCClient
from .registry import ENTITIES, SOURCES, EntitySpec, entities_of

logger = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
Log = Callable[[str], None]
PROGRESS_EVERY = 1000
# large regular user files take the Arrow fast path on either engine (bench/ingest turns it off
# to time the generic landing)
FILES_FAST_PATH = True


@dataclass(frozen=True)
class LoadResult:
    entity: str
    load_id: str
    rows_landed: int
    rows_quarantined: int
    rows_deleted: int
    cursor: dict[str, Any] | None
    # user files: rows read, rows rejected (quarantined) and the errors found in them, and
    # whether the load was skipped because every file is unchanged since the last one
    rows_read: int | None = None
    rows_rejected: int = 0
    errors: int = 0
    skipped: bool = False


class IngestError(RuntimeError):
    """One or more entities of a source failed to load; the message lists them."""


@dataclass
class _Load:
    spec: EntitySpec
    conn: psycopg.Connection
    settings: SourceSettings
    warehouse_url: str
    load_id: str
    full_refresh: bool
    progress: Progress | None
    log: Log
    landed: int = 0
    quarantined: int = 0
    deleted: int = 0
    seen: int = 0
    table_was_empty: bool = False
    files: Sequence[Path] | None = None  # user files named on the command line (their kind is the entity's)
    require_files: bool = False
    rows_read: int | None = None
    rows_rejected: int = 0
    errors: int = 0
    skipped: bool = False
    final_cursor: dict[str, Any] | None = None

    def counted(self, records: Iterable[landing.Record], total: int | None = None) -> Iterator[landing.Record]:
        for record in records:
            self.seen += 1
            if self.progress is not None and self.seen % PROGRESS_EVERY == 0:
                self.progress(self.seen, total)
            yield record

    def land(self, records: Iterable[landing.Record], source: str) -> None:
        self.landed += landing.land(self.conn, self.spec.raw_table, self.counted(records), source=source, load_id=self.load_id)

    def mark_deleted(self, live_keys: Iterable[str], scope: tuple[str, list[Any]] | None = None,
                     in_scope: Callable[[dict[str, Any]], bool] | None = None) -> None:
        """Mark rows gone from the source; skipped when the table was empty before this load.
        `scope` is the SQL condition on Postgres, `in_scope` the same test on a row's payload (ClickHouse)."""
        if not self.table_was_empty:
            self.deleted = self._mark_deleted(live_keys, scope, in_scope)

    def _mark_deleted(self, live_keys: Iterable[str], scope: tuple[str, list[Any]] | None,
                      in_scope: Callable[[dict[str, Any]], bool] | None) -> int:
        return landing.mark_deleted(self.conn, self.spec.raw_table, live_keys, scope=scope)

    def cursor(self) -> dict[str, Any] | None:
        """The entity's stored cursor; none on a full refresh."""
        return None if self.full_refresh else self._stored_cursor()

    def _stored_cursor(self) -> dict[str, Any] | None:
        return landing.get_cursor(self.conn, self.spec.source, self.spec.entity)

    def live_versions(self) -> dict[str, str | None]:
        """source_key -> the payload's DataVersion of the rows not marked deleted (1C catalogs)."""
        rows = self.conn.execute(
            sql.SQL(
                "select source_key, payload->>'DataVersion' from {}.{} where _deleted_at is null"
            ).format(sql.Identifier(landing.RAW_SCHEMA), sql.Identifier(self.spec.raw_table))
        ).fetchall()
        return {key: version for key, version in rows}

    engine = "postgres"  # the warehouse's engine (a class attribute, not a field)

    @property
    def arrow_fast_path(self) -> bool:
        """Whether large regular user files take the Arrow fast path (ingestion.files.arrow_path):
        COPY on Postgres, inserts of Arrow columns on ClickHouse."""
        return FILES_FAST_PATH

    def store_quarantine(self, spool: Any) -> int:
        """Write a file load's rejected rows (ingestion.files.load._QuarantineSpool)."""
        return int(spool.copy_into(self.conn))


@dataclass
class _ClickHouseLoad(_Load):
    """The same load on a ClickHouse warehouse (ingestion.clickhouse_landing): `conn` is a
    clickhouse-connect client; rows, deletion marks and the cursor carry the load id and become
    visible together when the load commits."""

    def land(self, records: Iterable[landing.Record], source: str) -> None:
        self.landed += ch.land(self.conn, self.spec.raw_table, self.counted(records), source=source,
                               load_id=self.load_id)

    def _mark_deleted(self, live_keys: Iterable[str], scope: tuple[str, list[Any]] | None,
                      in_scope: Callable[[dict[str, Any]], bool] | None) -> int:
        keys: list[str] | None = None
        if scope is not None:
            if in_scope is None:
                raise ValueError("a scoped reconciliation on ClickHouse needs the in_scope test")
            keys = [key for key, payload in self._live_payloads() if in_scope(payload)]
        return ch.mark_deleted(self.conn, self.spec.raw_table, live_keys, load_id=self.load_id, scope=keys)

    def _stored_cursor(self) -> dict[str, Any] | None:
        return ch.get_cursor(self.conn, self.spec.source, self.spec.entity)

    def _live_payloads(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(source_key, payload) of the rows not marked deleted."""
        result = self.conn.query(
            f"select source_key, payload from {ch.RAW_DATABASE}.{landing.raw_table_name(self.spec.raw_table)}"
            " where _deleted_at is null")
        for key, payload in result.result_rows:
            yield key, json.loads(payload)

    def live_versions(self) -> dict[str, str | None]:
        return {key: payload.get("DataVersion") for key, payload in self._live_payloads()}

    engine = "clickhouse"

    def store_quarantine(self, spool: Any) -> int:
        return ch.quarantine_rows(self.conn, spool.kept)


def ingest(
    entity: str,
    *,
    warehouse_url: str,
    settings: SourceSettings,
    full_refresh: bool = False,
    progress: Progress | None = None,
    log: Log | None = None,
    files: Sequence[Path] | None = None,
    require_files: bool = False,
) -> LoadResult:
    """Load one entity (`bitrix24.deals`, `onec.sales_documents`, `files.sales_plans`, ...).

    For a file kind, `files` names the files to load as that kind (instead of the FILES_DIR
    patterns), and `require_files` makes "no file of this kind" an error."""
    spec = ENTITIES.get(entity)
    if spec is None:
        raise KeyError(f"unknown entity {entity!r}; known: {', '.join(sorted(ENTITIES))}")
    say: Log = log or logger.info
    if spec.source in ("bitrix24", "onec"):  # a mapping that does not fit stops before reading
        check_before_load(spec.source, lambda: bitrix24_client(settings, warehouse_url) if spec.source == "bitrix24"
                          else onec_client(settings), concept=spec.entity if spec.source == "onec" else None)
    if spec.source == "onec":  # the 1C configuration's name for this object (ingestion.mapping)
        spec = replace(spec, method=onec_entity_set(spec.entity, spec.method))
        if spec.method is None:
            say(f"{entity}: this 1C configuration has no such object (mapping); skipped")
            ensure_raw_tables(warehouse_url, [spec.raw_table])  # its raw table exists, empty
            return LoadResult(entity, "", 0, 0, 0, None)
    load_id = landing.new_load_id(spec.source, spec.entity)
    if is_clickhouse_url(warehouse_url):
        load = _ingest_clickhouse(spec, warehouse_url, settings, load_id, full_refresh, progress, say, files,
                                  require_files)
        return _finish(entity, load, progress, say)
    with psycopg.connect(warehouse_url, autocommit=True) as log_conn:
        landing.ensure_schema(log_conn, [spec.raw_table])
        landing.log_load_start(log_conn, load_id, spec.source, spec.entity)
        try:
            with psycopg.connect(warehouse_url) as conn:
                load = _Load(spec, conn, settings, warehouse_url, load_id, full_refresh, progress, say,
                             files=files, require_files=require_files)
                empty = conn.execute(
                    sql.SQL("select not exists (select 1 from {}.{})").format(
                        sql.Identifier(landing.RAW_SCHEMA), sql.Identifier(spec.raw_table))
                ).fetchone()
                load.table_was_empty = empty == (True,)
                cursor = _LOADERS[spec.kind](load)
                if cursor is not None:
                    landing.set_cursor(conn, spec.source, spec.entity, cursor)
                conn.commit()
        except BaseException as exc:
            landing.log_load_end(log_conn, load_id, status="failed", error=redact(f"{type(exc).__name__}: {exc}")[:2000])
            raise
        landing.log_load_end(
            log_conn, load_id, status="success", rows_landed=load.landed, rows_quarantined=load.quarantined
        )
    return _finish(entity, load, progress, say, cursor)


def _finish(entity: str, load: _Load, progress: Progress | None, say: Log,
            cursor: dict[str, Any] | None = None) -> LoadResult:
    load_id = load.load_id
    if progress is not None:
        progress(load.seen, load.seen)
    if load.rows_read is not None and not load.skipped:
        say(
            f"{entity}: {load.rows_read} rows read, {load.seen} loaded ({load.landed} new or changed), "
            f"{load.rows_rejected} rows quarantined with {load.errors} errors, {load.deleted} marked deleted "
            f"(load {load_id})"
        )
    elif not load.skipped:
        say(
            f"{entity}: {load.seen} read, {load.landed} new or changed, {load.deleted} marked deleted, "
            f"{load.quarantined} quarantined (load {load_id})"
        )
    return LoadResult(entity, load_id, load.landed, load.quarantined, load.deleted, cursor or load.final_cursor,
                      load.rows_read, load.rows_rejected, load.errors, load.skipped)


def ensure_raw_tables(warehouse_url: str, raw_tables: Sequence[str] | None = None) -> None:
    """The load-state tables and the raw tables (default: every one of the registry), empty when
    new, on either engine."""
    if is_clickhouse_url(warehouse_url):
        handle = ch.connect(warehouse_url)
        try:
            ch.ensure_schema(handle, raw_tables)
        finally:
            handle.close()
        return
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        landing.ensure_schema(conn, raw_tables)


def _ingest_clickhouse(spec: EntitySpec, warehouse_url: str, settings: SourceSettings, load_id: str,
                       full_refresh: bool, progress: Progress | None, say: Log, files: Sequence[Path] | None,
                       require_files: bool) -> _Load:
    """One load into a ClickHouse warehouse: versions written by `load_id`, committed by one row
    (ingestion.clickhouse_landing); a failure leaves them invisible and logs the load failed."""
    handle = ch.connect(warehouse_url)
    try:
        ch.ensure_schema(handle, [spec.raw_table])
        started = ch._now()
        ch.log_load(handle, load_id, spec.source, spec.entity, status="running", started_at=started)
        load = _ClickHouseLoad(spec, handle, settings, warehouse_url, load_id, full_refresh, progress, say,
                               files=files, require_files=require_files)
        try:
            ch.discard_uncommitted(handle, spec.raw_table)
            count = handle.query(f"select count() from {ch.RAW_DATABASE}.{spec.raw_table}").result_rows[0][0]
            load.table_was_empty = count == 0
            cursor = _LOADERS[spec.kind](load)
            if cursor is not None:
                ch.set_cursor(handle, spec.source, spec.entity, cursor, load_id=load_id)
            ch.commit_load(handle, load_id)
        except BaseException as exc:
            ch.log_load(handle, load_id, spec.source, spec.entity, status="failed", started_at=started,
                        error=redact(f"{type(exc).__name__}: {exc}")[:2000])
            raise
        ch.log_load(handle, load_id, spec.source, spec.entity, status="success", started_at=started,
                    rows_landed=load.landed, rows_quarantined=load.quarantined)
        load.final_cursor = cursor
        return load
    finally:
        handle.close()


def ingest_source(
    source: str,
    *,
    warehouse_url: str,
    settings: SourceSettings,
    full_refresh: bool = False,
    progress: Progress | None = None,
    log: Log | None = None,
) -> list[LoadResult]:
    """Load every entity of `source` (`bitrix24`, `onec`, `files`). An entity that fails does
    not stop the others; `IngestError` lists the failures at the end."""
    if source not in SOURCES:
        raise KeyError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    say: Log = log or logger.info
    specs = entities_of(source)
    if source == "bitrix24" and not settings.bitrix24_configured:
        bitrix24_client(settings, warehouse_url)  # raises the ConfigError that says what to set
    if source == "onec":
        onec_client(settings)  # raises ConfigError when ONEC_ODATA_URL is missing
    # a mapping file that does not fit the source stops here, before any load (ingestion.mapping)
    check_before_load(source, lambda: bitrix24_client(settings, warehouse_url) if source == "bitrix24"
                      else onec_client(settings))
    if source == "files":
        _report_unmatched_files(settings, say)
        specs = [s for s in specs if _files_for(s, settings)]
        if not specs:
            raise IngestError(f"no user files found in {settings.files_dir} (see the README's «Files» section "
                              "for the file names of each kind)")
    results: list[LoadResult] = []
    failures: list[str] = []
    for spec in specs:
        try:
            results.append(
                ingest(spec.name, warehouse_url=warehouse_url, settings=settings, full_refresh=full_refresh,
                       progress=progress, log=say)
            )
        except Exception as exc:  # keep loading the other entities
            message = redact(f"{spec.name}: {exc or type(exc).__name__}")
            say(f"FAILED {message}")
            failures.append(message)
    if failures:
        raise IngestError(f"{len(failures)} of {len(specs)} {source} loads failed:\n" + "\n".join(failures))
    return results


# ---------------------------------------------------------------------------- Bitrix24


def bitrix24_client(settings: SourceSettings, warehouse_url: str) -> Bitrix24Client:
    if settings.bitrix24_webhook_url:
        auth: WebhookAuth | OAuthAuth = WebhookAuth(settings.bitrix24_webhook_url)
    elif settings.bitrix24_oauth_configured:
        auth = OAuthAuth(
            settings.bitrix24_portal_url or "",
            settings.bitrix24_client_id or "",
            settings.bitrix24_client_secret or "",
            settings.bitrix24_refresh_token or "",
            token_store(warehouse_url),
        )
    else:
        raise ConfigError(
            "Bitrix24 is not configured: set BITRIX24_WEBHOOK_URL, or BITRIX24_PORTAL_URL + "
            "BITRIX24_CLIENT_ID + BITRIX24_CLIENT_SECRET + BITRIX24_REFRESH_TOKEN"
        )
    return Bitrix24Client(
        auth,
        rate_per_s=settings.bitrix24_rate_per_s,
        burst=settings.bitrix24_burst,
        timeout_s=settings.bitrix24_timeout_s,
    )


def _parse_dt(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _b24_records(rows: Iterable[dict[str, Any]], id_field: str, modified_field: str | None,
                 tracker: list[datetime | None]) -> Iterator[landing.Record]:
    for row in rows:
        modified = _parse_dt(row.get(modified_field)) if modified_field else None
        if modified is not None and (tracker[0] is None or modified > tracker[0]):
            tracker[0] = modified
        yield str(row[id_field]), row, modified


def _load_b24_list(load: _Load) -> dict[str, Any] | None:
    spec = load.spec
    client = bitrix24_client(load.settings, load.warehouse_url)
    method = spec.method or ""
    previous = load.cursor()
    since = _parse_dt((previous or {}).get("max_modified")) if spec.modified_field else None
    tracker: list[datetime | None] = [since]
    if since is None:
        rows = client.list_all(method, spec.params, id_field=spec.id_field)
        keys: set[str] = set()

        def remember(records: Iterable[landing.Record]) -> Iterator[landing.Record]:
            for record in records:
                keys.add(record[0])
                yield record

        load.land(remember(_b24_records(rows, spec.id_field, spec.modified_field, tracker)), "bitrix24")
        load.mark_deleted(keys)
    else:
        window = since - timedelta(minutes=load.settings.bitrix24_overlap_minutes)
        load.log(f"{spec.name}: incremental from {window.isoformat()} ({spec.modified_field})")
        rows = client.list_modified_since(method, window, spec.modified_field or "DATE_MODIFY", spec.params)
        load.land(_b24_records(rows, spec.id_field, spec.modified_field, tracker), "bitrix24")
        live = client.list_ids(method, {k: v for k, v in spec.params.items() if k != "select"}, id_field=spec.id_field)
        load.mark_deleted(live)
    return {"max_modified": tracker[0].isoformat() if tracker[0] else None, "rows_read": load.seen}


def _load_b24_append(load: _Load) -> dict[str, Any] | None:
    spec = load.spec
    client = bitrix24_client(load.settings, load.warehouse_url)
    last_id = int((load.cursor() or {}).get("last_id") or 0)
    params = dict(spec.params)
    params["filter"] = {**dict(params.get("filter") or {}), f">{spec.id_field}": last_id}
    top = [last_id]
    keys: set[str] = set()

    def records() -> Iterator[landing.Record]:
        for row in client.list_all(spec.method or "", params, id_field=spec.id_field):
            key = str(row[spec.id_field])
            top[0] = max(top[0], int(key))
            keys.add(key)
            yield key, row, None

    load.land(records(), "bitrix24")
    if last_id == 0:  # a full read: anything not seen is gone
        load.mark_deleted(keys)
    return {"last_id": top[0]}


def _load_b24_dictionary(load: _Load) -> dict[str, Any] | None:
    spec = load.spec
    client = bitrix24_client(load.settings, load.warehouse_url)
    keys: set[str] = set()

    def records() -> Iterator[landing.Record]:
        for row in client.list_paged(spec.method or "", spec.params):
            key = spec.key_of(row)
            keys.add(key)
            yield key, row, None

    load.land(records(), "bitrix24")
    load.mark_deleted(keys)
    return {"rows_read": load.seen}


def _load_b24_product_rows(load: _Load) -> dict[str, Any] | None:
    spec = load.spec
    client = bitrix24_client(load.settings, load.warehouse_url)
    since = _parse_dt((load.cursor() or {}).get("max_modified"))
    deal_params = {"select": ["ID", "DATE_MODIFY"]}
    if since is None:
        deals = client.list_all("crm.deal.list", deal_params)
    else:
        window = since - timedelta(minutes=load.settings.bitrix24_overlap_minutes)
        deals = client.list_modified_since("crm.deal.list", window, "DATE_MODIFY", deal_params)
    tracker: list[datetime | None] = [since]
    deal_ids: list[str] = []
    for deal in deals:
        deal_ids.append(str(deal["ID"]))
        modified = _parse_dt(deal.get("DATE_MODIFY"))
        if modified is not None and (tracker[0] is None or modified > tracker[0]):
            tracker[0] = modified
    keys: set[str] = set()

    def records() -> Iterator[landing.Record]:
        for deal_id, result in client.get_many(spec.method or "", {d: {"id": d} for d in deal_ids}):
            for row in rows_of(result):
                row = dict(row)
                row.setdefault("OWNER_ID", deal_id)
                key = str(row["ID"])
                keys.add(key)
                yield key, row, None

    load.land(records(), "bitrix24")
    if since is None:
        load.mark_deleted(keys)
    elif deal_ids:
        owners = set(deal_ids)
        load.mark_deleted(keys, scope=("t.payload->>'OWNER_ID' = any(%s)", [deal_ids]),
                          in_scope=lambda payload: str(payload.get("OWNER_ID")) in owners)
    return {"max_modified": tracker[0].isoformat() if tracker[0] else None, "deals_read": len(deal_ids)}


# ---------------------------------------------------------------------------- 1C


def onec_client(settings: SourceSettings) -> OneCClient:
    if not settings.onec_odata_url:
        raise ConfigError(
            "1C is not configured: set ONEC_ODATA_URL (…/odata/standard.odata/), ONEC_USER and ONEC_PASSWORD"
        )
    return OneCClient(
        settings.onec_odata_url, settings.onec_user or "", settings.onec_password or "",
        timeout_s=settings.onec_timeout_s, page_size=settings.onec_page_size,
    )


def _load_onec_catalog(load: _Load) -> dict[str, Any] | None:
    spec = load.spec
    client = onec_client(load.settings)
    known: dict[str, str | None] = {}
    if not load.full_refresh:
        known = load.live_versions()
    keys: set[str] = set()
    unchanged = [0]

    def records() -> Iterator[landing.Record]:
        for row in client.get_entity(spec.method or ""):
            key = str(row["Ref_Key"])
            keys.add(key)
            version = row.get("DataVersion")
            if version is not None and key in known and known[key] == version:
                unchanged[0] += 1
                continue  # DataVersion changes on every write in 1C: same version, same record
            yield key, row, None

    load.land(records(), "onec")
    load.mark_deleted(keys)
    return {"rows_read": len(keys), "unchanged": unchanged[0]}


def _load_onec_document(load: _Load) -> dict[str, Any] | None:
    spec = load.spec
    client = onec_client(load.settings)
    previous = load.cursor() or {}
    max_date: str | None = previous.get("max_date")
    odata_filter = None
    window: str | None = None
    if max_date:
        start = datetime.fromisoformat(max_date) - timedelta(days=load.settings.onec_reread_days)
        window = start.strftime("%Y-%m-%dT%H:%M:%S")
        odata_filter = f"Date ge datetime'{window}'"
        load.log(f"{spec.name}: re-reading documents dated from {window}")
    keys: set[str] = set()
    top = [max_date]

    def records() -> Iterator[landing.Record]:
        for row in client.get_entity(spec.method or "", filter=odata_filter):
            key = str(row["Ref_Key"])
            keys.add(key)
            date = row.get("Date")
            if isinstance(date, str) and (top[0] is None or date > top[0]):
                top[0] = date
            yield key, row, None

    load.land(records(), "onec")
    scope = None if window is None else ("t.payload->>'Date' >= %s", [window])
    load.mark_deleted(keys, scope=scope,
                      in_scope=lambda payload: isinstance(payload.get("Date"), str) and payload["Date"] >= (window or ""))
    return {"max_date": top[0]}


# ---------------------------------------------------------------------------- files


def _files_for(spec: EntitySpec, settings: SourceSettings) -> list[Path]:
    return files_of_kind(spec.file_kind or "", settings)


def _load_files(load: _Load) -> dict[str, Any] | None:
    return load_file_kind(load)


_LOADERS: dict[str, Callable[[_Load], dict[str, Any] | None]] = {
    "b24_list": _load_b24_list,
    "b24_append": _load_b24_append,
    "b24_dictionary": _load_b24_dictionary,
    "b24_product_rows": _load_b24_product_rows,
    "onec_catalog": _load_onec_catalog,
    "onec_document": _load_onec_document,
    "file": _load_files,
}
