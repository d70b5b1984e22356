"""Land one kind of user file (`ingest("files.<kind>")`): every file of the kind in FILES_DIR
(or the files named on the command line) in the load's one transaction.

- A file rejected as a whole (unreadable, empty, undecodable, a required column missing, a
  mapped column twice) fails the load: nothing of the kind changes (the rows loaded before stay,
  none is marked deleted), the load is logged `failed` and the command exits non-zero.
- Bad rows go to `ingest_state.quarantine` (file, row, column, value, reason, raw cells). They
  are spooled to a temporary file while the rows stream into the COPY, then copied in, so a file
  with millions of bad rows never holds them in memory.
- The same key in two files of one kind is a duplicate (quarantined, naming the other file).
- A kind whose files all have the size, modification time and content (SHA-256) of the last
  successful load, read under the same mapping and rules, is skipped (`--full-refresh` re-reads).
- Symbolic links in FILES_DIR are refused (said, never followed).
"""
from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from .. import landing
from ..config import ConfigError, SourceSettings
from ..mapping import apply_file_aliases
from ..registry import entities_of
from .readers import NotRegular
from .specs import FileSpec, load_specs
from .validate import ErrorRow, FileParser
from .values import DateBounds

if TYPE_CHECKING:
    from ..run import _Load

FILES_FORMAT = 2  # the parsing rules' version: a file last loaded under other rules is re-read
SHOWN_ERRORS = 20


class FileRejectedError(RuntimeError):
    """A file of the kind cannot be read as a whole; the kind's previous rows are kept."""


class NoFilesError(RuntimeError):
    """No file of a kind the user asked for."""


def _scan(settings: SourceSettings) -> tuple[list[Path], list[Path]]:
    """(regular files, symbolic links) in FILES_DIR, sorted by name."""
    if settings.files_dir is None:
        raise ConfigError("FILES_DIR is not set: point it at the directory with the user files")
    if not settings.files_dir.is_dir():
        raise ConfigError(f"FILES_DIR={settings.files_dir} is not a directory")
    files: list[Path] = []
    links: list[Path] = []
    for path in sorted(settings.files_dir.iterdir()):
        if path.is_symlink():
            links.append(path)
        elif path.is_file():
            files.append(path)
    return files, links


def files_of_kind(kind: str, settings: SourceSettings) -> list[Path]:
    spec = load_specs(settings.files_mapping)[kind]
    return [p for p in _scan(settings)[0] if spec.matches(p.name)]


def _link_refused(path: Path) -> str:
    return (f"refused {path.name}: a symbolic link (links in FILES_DIR are not followed; copy the file "
            "into the directory)")


def report_unmatched(settings: SourceSettings, say: Callable[[str], None]) -> None:
    """Say which files in FILES_DIR match no kind, and which FILES_MAPPING kinds are unknown."""
    specs = load_specs(settings.files_mapping)
    known = [s.file_kind for s in entities_of("files") if s.file_kind in specs]
    for kind in specs:
        if kind not in known:
            say(f"FILES_MAPPING: kind {kind!r} is not a file kind the product loads (known: {', '.join(known)}); "
                "its files are ignored")
    files, links = _scan(settings)
    loaded = {k for k in known if any(specs[k].matches(p.name) for p in files)}
    for link in links:  # a link of a kind that is loaded is said by that load
        if not any(specs[k].matches(link.name) for k in loaded):
            say(_link_refused(link))
    for path in files:
        if not any(specs[k].matches(path.name) for k in known):
            say(f"ignored {path.name}: its name matches no file kind; name it after its kind (e.g. "
                "sales_lines_2025.csv), or give its kind in FILES_MAPPING (files: [...]) or on the command "
                "line (happyclient ingest files.sales_lines --file <path>)")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _rules_digest(spec: FileSpec, bounds: DateBounds) -> str:
    return hashlib.sha256(repr((FILES_FORMAT, spec, bounds.earliest, bounds.future_days)).encode()).hexdigest()[:16]


def _unchanged(previous: dict[str, Any] | None, rules: str, paths: list[Path], hashes: dict[str, str]) -> bool:
    if not previous or previous.get("rules") != rules:
        return False
    before = previous.get("files") or {}
    if sorted(before) != sorted(p.name for p in paths):
        return False
    for path in paths:
        stat = path.stat()
        old = before[path.name]
        if (old.get("size"), old.get("mtime")) != (stat.st_size, stat.st_mtime):
            return False
        hashes[path.name] = _sha256(path)
        if old.get("sha256") != hashes[path.name]:
            return False
    return True


class _QuarantineSpool:
    """Rejected rows as COPY lines in a temporary file, copied into ingest_state.quarantine
    after the rows (one connection cannot run another statement during a COPY)."""

    def __init__(self, load_id: str, say: Callable[[str], None]) -> None:
        self.load_id = load_id
        self.say = say
        self.fh = tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed by __exit__
        self.count = 0
        self.shown = 0  # errors said so far; not wound back by `reset`, so a re-read file says each once
        # the same rows as values, for a ClickHouse warehouse (no COPY): load_id, source, file,
        # row, field, value, reason, payload (JSON text)
        self.kept: list[tuple[Any, ...]] = []

    def __enter__(self) -> _QuarantineSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()

    def writer(self, source: str) -> Callable[[list[ErrorRow]], None]:
        prefix = f"{landing._copy_text(self.load_id)}\t{landing._copy_text(source)}\t"

        def write(errors: list[ErrorRow]) -> None:
            lines = []
            for err, raw in errors:
                if self.shown <= self.count < SHOWN_ERRORS:
                    self.say(f"rejected: {err}")
                    self.shown = self.count + 1
                self.count += 1
                self.kept.append((self.load_id, source, err.file, err.row, err.field,
                                  None if err.value is None else str(err.value).replace("\x00", ""), err.reason,
                                  None if raw is None else landing._json(raw).replace("\\\\", "\\")))
                lines.append(
                    prefix + "\t".join((
                        _text(err.file), "\\N" if err.row is None else str(err.row), _text(err.field),
                        _text(err.value), _text(err.reason),
                        "\\N" if raw is None else landing._json(raw),
                    )) + "\n")
            self.fh.write("".join(lines))

        return write

    def mark(self) -> tuple[Any, int, int]:
        return self.fh.tell(), self.count, len(self.kept)

    def reset(self, mark: tuple[Any, int, int]) -> None:
        """Forget the rows written since `mark` (a file whose fast load was rolled back)."""
        self.fh.seek(mark[0])
        self.fh.truncate()
        self.count = mark[1]
        del self.kept[mark[2]:]

    def copy_into(self, conn: Any) -> int:
        if self.count:
            self.fh.seek(0)
            landing._copy_lines(conn, sql.SQL(
                "copy {}.quarantine (load_id, source, file, row_number, field, value, reason, payload) from stdin"
            ).format(sql.Identifier(landing.STATE_SCHEMA)), self.fh)
        if self.count > SHOWN_ERRORS:
            self.say(f"... and {self.count - SHOWN_ERRORS} more errors (see ingest_state.quarantine)")
        return self.count


def _text(value: str | None) -> str:
    if value is None:
        return "\\N"
    return landing._copy_text(value.replace("\x00", ""))


def load_file_kind(load: _Load) -> dict[str, Any] | None:
    spec = load.spec
    settings = load.settings
    kind = spec.file_kind or ""
    file_spec = apply_file_aliases(load_specs(settings.files_mapping))[kind]  # + the mapping's header spellings
    if load.files:
        paths = []
        for named in load.files:
            path = Path(named)
            if path.is_symlink():
                raise FileRejectedError(_link_refused(path))
            if not path.is_file():
                raise NoFilesError(f"{spec.name}: {path} is not a file")
            paths.append(path)
        where = ", ".join(str(p) for p in paths)
    else:
        files, links = _scan(settings)
        for link in links:
            if file_spec.matches(link.name):
                load.log(_link_refused(link))
        paths = [p for p in files if file_spec.matches(p.name)]
        where = str(settings.files_dir)
    if not paths:
        message = f"{spec.name}: no files matching {', '.join(file_spec.files)} in {where}"
        if load.require_files:
            raise NoFilesError(message)
        load.log(message)
        return None
    bounds = DateBounds(settings.files_date_min, settings.files_future_days)
    rules = _rules_digest(file_spec, bounds)
    hashes: dict[str, str] = {}
    load.rows_read = 0
    previous = None if load.table_was_empty else load.cursor()  # an emptied raw table is always reloaded
    if _unchanged(previous, rules, paths, hashes):
        load.skipped = True
        load.log(f"{spec.name}: skipped, {len(paths)} file(s) unchanged since the last load (same size, time and "
                 "content); --full-refresh re-reads them")
        return previous
    keys: dict[str, str] = {}  # key -> file, over every file of the kind
    seen_files: dict[str, Any] = {}
    with _QuarantineSpool(load.load_id, load.log) as spool:
        _load_paths(load, file_spec, kind, paths, bounds, hashes, keys, spool, seen_files)
        load.quarantined += load.store_quarantine(spool)
    load.mark_deleted(keys)
    return {"rules": rules, "files": seen_files}


def _load_paths(load: _Load, file_spec: FileSpec, kind: str, paths: list[Path], bounds: DateBounds,
                hashes: dict[str, str], keys: dict[str, str], spool: _QuarantineSpool,
                seen_files: dict[str, Any]) -> None:
    for path in paths:
        source = f"file:{path.name}"
        sink = spool.writer(source)
        parser = FileParser(path, file_spec, bounds=bounds, sink=sink, prior_keys=keys)

        def remember(records: Iterable[landing.Record], name: str = path.name) -> Iterator[landing.Record]:
            for record in records:
                keys[record[0]] = name
                yield record

        # on Postgres the fast path streams (rows go to the database at once) and can find the file
        # irregular part way: it then rolls back to its savepoint, and the file is read by rows
        fast = parser.arrow_records(stream=load.engine != "clickhouse") if load.arrow_fast_path else None
        if fast is not None:
            mark = spool.mark()
            try:
                _land_arrow(load, fast, source, keys, path.name)
            except NotRegular:
                spool.reset(mark)
                load.log(f"{path.name}: irregular part way (a row with another cell count, text that is not "
                         "UTF-8, or a cell over the csv limit); read again row by row")
                parser = FileParser(path, file_spec, bounds=bounds, sink=sink, prior_keys=keys)
                fast = None
        if fast is None:
            load.land(remember(parser.json_records()), source)
        if parser.rejected is not None:
            raise FileRejectedError(
                f"{path.name}: {parser.rejected}. The file was not loaded, and nothing of {kind} changed "
                "(the rows loaded before are kept)")
        if parser.errors:
            sink(parser.errors)
            parser.errors = []
        if parser.future_dates:
            shown = ", ".join(d.isoformat() for d in sorted(parser.future_dates))
            load.log(f"warning: {path.name}: dates after today were loaded (check them): {shown}")
        load.rows_read += parser.rows_read
        load.rows_rejected += parser.rows_rejected
        load.errors += parser.error_count
        stat = path.stat()
        seen_files[path.name] = {
            "size": stat.st_size, "mtime": stat.st_mtime,
            "sha256": hashes.get(path.name) or (str(parser.sha256) if parser.sha256 is not None else _sha256(path)),
            "rows": parser.rows_read, "rejected": parser.rows_rejected, "errors": parser.error_count,
            "encoding": parser.encoding,
        }


def _land_arrow(load: _Load, batches: Iterable[Any], source: str, keys: dict[str, str], name: str) -> None:
    """`landing.land` for the Arrow fast path's batches (keys unique): COPY straight into an
    empty raw table, else into the landing temp table and the same upsert. Each batch is
    copied while the next one is read and converted. A batch that proves the file irregular
    (`NotRegular`, streaming) rolls back what this file landed and takes its keys out of `keys`."""
    if load.engine == "clickhouse":
        _insert_arrow(load, batches, source, keys, name)
        return
    conn = load.conn
    table = landing._raw(load.spec.raw_table)
    conn.execute(sql.SQL("lock table {} in share row exclusive mode").format(table))
    seen_before = load.seen
    added: list[list[str]] = []  # the keys this file put into `keys`, taken out again on a rollback
    try:
        with conn.transaction():  # a savepoint: a batch that proves the file irregular undoes the COPY
            _copy_arrow(load, batches, source, keys, name, added)
    except NotRegular:
        for key_list in added:
            for key in key_list:
                keys.pop(key, None)
        load.seen = seen_before
        raise


def _copy_arrow(load: _Load, batches: Iterable[Any], source: str, keys: dict[str, str], name: str,
                added: list[list[str]]) -> None:
    from .arrow_path import copy_lines

    conn = load.conn
    table = landing._raw(load.spec.raw_table)
    first_load = conn.execute(sql.SQL("select not exists (select 1 from {})").format(table)).fetchone() == (True,)
    if first_load:
        loaded_at = conn.execute("select now()").fetchone()[0].isoformat()  # type: ignore[index]
        tail = f"\t{landing._copy_text(source)}\t{landing._copy_text(load.load_id)}\t{loaded_at}\t\\N"
        statement = sql.SQL(
            "copy {} (source_key, payload, _source, _load_id, _loaded_at, _modified_at) from stdin").format(table)
    else:
        conn.execute("create temp table if not exists _hc_landing (source_key text, payload text, modified_at timestamptz)")
        conn.execute("truncate _hc_landing")
        tail = "\t\\N"
        statement = sql.SQL("copy _hc_landing (source_key, payload, modified_at) from stdin")
    count = 0
    # a queued writer sends each block from its own thread while the next block is converted
    with conn.cursor() as cur, cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        for batch in batches:
            key_list = batch.python_keys()
            added.append(key_list)
            keys.update(dict.fromkeys(key_list, name))
            for block in copy_lines(batch, tail):
                copy.write(block)
            count += len(batch.keys)
            if load.progress is not None:
                load.progress(load.seen + count, None)
    load.seen += count
    if first_load:
        load.landed += count
        landing.analyze_if_changed(conn, load.spec.raw_table, count)  # as landing.land does
        return
    changed = landing.upsert_from_landing_table(conn, load.spec.raw_table, source, load.load_id)
    load.landed += changed
    landing.analyze_if_changed(conn, load.spec.raw_table, changed)


def _insert_arrow(load: _Load, batches: Iterable[Any], source: str, keys: dict[str, str], name: str) -> None:
    """`_land_arrow` on ClickHouse: each batch's columns inserted as one Arrow table
    (`clickhouse_landing.land_columns`: only new or changed rows, as versions of the load)."""
    from .. import clickhouse_landing as ch

    count = 0

    def columns() -> Iterator[tuple[Any, Any]]:
        nonlocal count
        for batch in batches:
            keys.update(dict.fromkeys(batch.python_keys(), name))
            yield batch.keys, batch.payloads
            count += len(batch.keys)
            if load.progress is not None:
                load.progress(load.seen + count, None)

    for written in ch.land_columns(load.conn, load.spec.raw_table, columns(), source=source, load_id=load.load_id,
                                   table_was_empty=load.table_was_empty):
        load.landed += written
    load.seen += count


def _copy_blocks(conn: Any, statement: sql.Composable, blocks: Iterable[Any]) -> None:
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for block in blocks:
            copy.write(block)
