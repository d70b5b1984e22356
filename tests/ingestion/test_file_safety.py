"""Bad user files must not delete good data, and nothing in them is guessed (issue 14 items 3a,
3-8, 10b and LOW; issue 15 items 5, 8, 9). Each test reproduces the attack or the bad file."""
from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from openpyxl import Workbook

from hc_base.warehouse_url import is_clickhouse_url
from ingestion.__main__ import main
from ingestion.config import SourceSettings
from ingestion.files import readers
from ingestion.files.specs import MappingError, load_specs
from ingestion.files.validate import FileParser
from ingestion.files.values import DateBounds, parse_date, parse_number, parse_percent, parse_text
from ingestion.run import IngestError, ensure_raw_tables, ingest, ingest_source

SPECS = load_specs()
HEADER = "ИНН;Клиент;Дата;Номер документа;Товар;Количество;Сумма;Менеджер;Регион;Канал"
INN = "7707083893"


def line(doc: str, amount: str = "10", quantity: str = "1", day: str = "14.03.2025", client: str = "ООО Ромашка") -> str:
    return f"{INN};{client};{day};{doc};Мыло;{quantity};{amount};Иванов;Коми;Розница\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def parse(path: Path, kind: str = "sales_lines", **kw: Any) -> tuple[list[tuple[str, Any]], FileParser]:
    """Both paths (row by row and columnar) must agree; returns the row-by-row records."""
    slow = FileParser(path, SPECS[kind], **kw)
    records = [(k, p) for k, p, _ in slow.records()]
    fast = FileParser(path, SPECS[kind], **kw)
    columnar = [(k, p if isinstance(p, dict) else json.loads(p)) for k, p, _ in fast.json_records()]
    assert columnar == records
    assert (fast.errors, fast.rows_read, fast.rows_rejected, fast.rejected) == (
        slow.errors, slow.rows_read, slow.rows_rejected, slow.rejected)
    check_arrow(path, kind, records, slow, **kw)
    return records, slow


ARROW_USED: list[str] = []


def check_arrow(path: Path, kind: str, records: list[tuple[str, Any]], slow: FileParser, **kw: Any) -> None:
    """The Arrow fast path (any size here), where it takes the file, gives the same records and errors."""
    from ingestion.files import arrow_path

    old, arrow_path.MIN_BYTES = arrow_path.MIN_BYTES, 0
    old_batch, arrow_path.BATCH_BYTES = arrow_path.BATCH_BYTES, 20_000  # many batches: state across them
    old_first, arrow_path.FIRST_ROWS = arrow_path.FIRST_ROWS, 7  # and a first batch cut short
    try:
        parser = FileParser(path, SPECS[kind], **kw)
        got = parser.arrow_records()
    finally:
        arrow_path.MIN_BYTES = old
        arrow_path.BATCH_BYTES = old_batch
        arrow_path.FIRST_ROWS = old_first
    if got is None:
        return
    ARROW_USED.append(path.name)
    pairs = [(k, json.loads(p)) for batch in got
             for k, p in zip(batch.keys.to_pylist(), batch.payloads.to_pylist(), strict=True)]
    assert pairs == ([] if slow.rejected else [(k, json.loads(json.dumps(p))) for k, p in records])
    assert (parser.errors, parser.rows_read, parser.rows_rejected, parser.rejected) == (
        slow.errors, slow.rows_read, slow.rows_rejected, slow.rejected)


def errors_of(parser: FileParser) -> list[tuple[int | None, str | None, str]]:
    return [(e.row, e.field, e.reason) for e, _ in parser.errors]


# ---------------------------------------------------------------------------- values (item 8)


@pytest.mark.parametrize(("text", "reason"), [
    ("1.234", "ambiguous"), ("1_000", "1 234,56"), ("\u0661\u0662\u0663", "digits 0-9"), ("12%", "percent sign"),
    ("1e5", "exponent"), ("1e300", "exponent"), ("12345678901234567890123", "too large"),
    ("1000000000000000", "too large"), ("1 23 4", "1 234,56"), ("5-", "1 234,56"),
])
def test_numbers_are_not_guessed(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_number(text)


def test_number_rules() -> None:
    assert parse_number("1,234") == 1.234  # a lone comma is the decimal separator
    assert parse_number("1.234,5") == 1234.5 and parse_number("1,234.5") == 1234.5
    assert parse_number("1.234.567") == 1234567 and parse_number("999999999999999") == 999999999999999
    assert parse_number("1234.567") == 1234.567  # not a thousands group: four digits before the dot
    assert parse_percent("12,5%") == 12.5 and parse_percent("25") == 25
    with pytest.raises(ValueError, match="too large"):
        parse_number(1e300)  # an XLSX number cell


def test_dates_are_strict_and_bounded() -> None:
    bounds = DateBounds(date(1990, 1, 1), 366, today=date(2026, 12, 4))
    assert parse_date("20250131") == date(2025, 1, 31)  # YYYYMMDD (issue 15 item 8)
    assert parse_date(20250131.0) == date(2025, 1, 31)
    assert parse_date("2025-01-31T10:00:00+03:00") == date(2025, 1, 31)
    assert parse_date("31.12.99") == date(2099, 12, 31)  # two-digit years are 20yy ...
    with pytest.raises(ValueError, match="more than 366 days after today"):
        bounds.check(parse_date("31.12.99"))  # ... and then out of bounds, never 1999 by a guess
    for early in ("01.01.1900", "0001-01-01"):
        with pytest.raises(ValueError, match="before 1990-01-01"):
            bounds.check(parse_date(early))
    with pytest.raises(ValueError, match="expected a date"):
        parse_date("2024-01-01 garbage")
    assert bounds.check(date(2027, 6, 1)) and bounds.is_future(date(2027, 6, 1))


def test_formula_text_is_rejected() -> None:
    for text in ('=HYPERLINK("http://x";"x")', "@SUM(A1)", "+A1", "-cmd|' /C calc'!A0"):
        with pytest.raises(ValueError, match="formula"):
            parse_text(text)
    assert parse_text("+7 (812) 555-00-00") == "+7 (812) 555-00-00" and parse_text("-") == "-"


def test_bad_values_in_a_file_are_quarantined_naming_row_column_value(tmp_path: Path) -> None:
    future = (date.today() + timedelta(days=30)).strftime("%d.%m.%Y")
    text = HEADER + "\n" + "".join([
        line("Д-1"),  # row 2: good
        line("Д-2", amount="1e300"),  # row 3: 3a
        line("Д-3", quantity="12345678901234567890123"),
        line("Д-4", day="31.12.99"),
        line("Д-5", day="01.01.1900"),
        line("Д-6", day="2024-01-01 garbage"),
        line("Д-7", amount="1.234"),
        line("Д-8", amount="12%"),
        line("Д-9", client='=HYPERLINK("http://evil","Ромашка")'),
        line("Д-10", day=future),  # loaded, with a warning
        line("Д-11", day="20250314"),
    ])
    records, parser = parse(write(tmp_path / "sales_lines.csv", text))
    assert [k for k, _ in records] == ["Д-1|1", "Д-10|1", "Д-11|1"]
    assert [(e.row, e.field, e.value) for e, _ in parser.errors] == [
        (3, "Сумма", "1e300"), (4, "Количество", "12345678901234567890123"), (5, "Дата", "31.12.99"),
        (6, "Дата", "01.01.1900"), (7, "Дата", "2024-01-01 garbage"), (8, "Сумма", "1.234"), (9, "Сумма", "12%"),
        (10, "Клиент", '=HYPERLINK("http://evil","Ромашка")')]
    assert parser.rows_rejected == 8 and parser.rows_read == 11
    assert parser.future_dates == {date.today() + timedelta(days=30)}
    assert parser.errors[0][1] is not None and parser.errors[0][1]["Сумма"] == "1e300"  # raw cells kept


# ---------------------------------------------------------------------------- row shape (items 4-6)


def test_unterminated_quote_skips_its_row_and_keeps_the_others(tmp_path: Path) -> None:
    text = HEADER + "\n" + line("Д-1") + line("Д-2", client='"ООО Ромашка') + line("Д-3") + line("Д-4")
    records, parser = parse(write(tmp_path / "sales_lines.csv", text))
    assert [k for k, _ in records] == ["Д-1|1", "Д-3|1", "Д-4|1"]
    assert errors_of(parser) == [(3, None, "unterminated quote starting at row 3: the row is skipped and reading "
                                           "resumes on the next line")]


def test_unterminated_quote_in_a_large_file(tmp_path: Path) -> None:
    # the rest of the file is longer than the csv field limit: the reader gives up mid-file
    rows = [line(f"Д-{i}") for i in range(1, 3000)]
    rows[10] = line("Д-11", client='"ООО Ромашка')
    records, parser = parse(write(tmp_path / "sales_lines.csv", HEADER + "\n" + "".join(rows)))
    assert len(records) == 2998 and "Д-11|1" not in dict(records)
    assert errors_of(parser) == [(12, None, "unterminated quote starting at row 12: the row is skipped and reading "
                                            "resumes on the next line")]


def test_quoted_cells_over_several_lines_still_load(tmp_path: Path) -> None:
    text = HEADER + "\n" + line("Д-1", client='"ООО\nРомашка"') + line("Д-2", client='"ООО ""Лютик""\r\nи ко"')
    records, parser = parse(write(tmp_path / "sales_lines.csv", text))
    assert [(k, p["client_name"]) for k, p in records] == [("Д-1|1", "ООО\nРомашка"), ("Д-2|1", 'ООО "Лютик"\r\nи ко')]
    assert parser.errors == []


def test_cell_over_the_field_limit_is_one_bad_row(tmp_path: Path) -> None:
    text = HEADER + "\n" + line("Д-1") + line("Д-2", client="Я" * 200_000) + line("Д-3") + line(
        "Д-4", client='"' + "Ю" * 140_000 + '"') + line("Д-5")
    records, parser = parse(write(tmp_path / "sales_lines.csv", text))
    assert [k for k, _ in records] == ["Д-1|1", "Д-3|1", "Д-5|1"]
    assert errors_of(parser) == [(3, "Клиент", "a cell longer than 131,072 characters"),
                                 (5, "Клиент", "a cell longer than 131,072 characters")]


def test_shifted_row_from_a_decimal_comma_in_a_comma_file(tmp_path: Path) -> None:
    header = HEADER.replace(";", ",")
    text = header + "\n" + f"{INN},ИП,14.03.2025,Д-1,Мыло,1,100,50,Петров,СПб,Розница\n" + \
        f"{INN},ИП,14.03.2025,Д-2,Мыло,1,\"100,50\",Петров,СПб,Розница\n"
    records, parser = parse(write(tmp_path / "sales_lines.csv", text))
    assert [(k, p["amount"], p["manager"]) for k, p in records] == [("Д-2|1", 100.5, "Петров")]
    (err, raw), = parser.errors
    assert (err.row, err.reason.split(" (")[0]) == (2, "the row has 11 cells but the header has 10 columns")
    assert raw is not None and raw["(column 11)"] == "Розница"


# ---------------------------------------------------------------------------- whole files (items 3, 7, LOW)


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("sales_lines_typo.csv", HEADER.replace("Дата", "Дта") + "\n" + line("Д-1"), "closest: «Дта» looks like «Дата»"),
    ("sales_lines_empty.csv", "", "the file is empty"),
    ("sales_lines_fake.xlsx", "ИНН;Дата\n", "not a ZIP archive"),
    ("sales_lines_dup.csv", HEADER + ";Сумма\n" + line("Д-1").rstrip("\n") + ";5\n", "column «Сумма» appears 2 times"),
    ("sales_lines_alias_dup.csv", HEADER.replace("ИНН", "ИНН контрагента").replace(
        "Сумма", "ИНН контрагента") + "\n" + line("Д-1"), "column «ИНН контрагента» appears 2 times"),
])
def test_file_rejected_as_a_whole(tmp_path: Path, name: str, content: str, reason: str) -> None:
    records, parser = parse(write(tmp_path / name, content))
    assert records == [] and parser.rejected is not None and reason in parser.rejected


def test_missing_column_lists_headers_found(tmp_path: Path) -> None:
    _, parser = parse(write(tmp_path / "sales_plans.csv", "Мсяц;ID менеджера\n01.2025;1\n"), "sales_plans")
    assert parser.rejected is not None
    assert "headers found: «Мсяц», «ID менеджера»" in parser.rejected and "«Мсяц» looks like «Месяц»" in parser.rejected


def test_encodings_are_named(tmp_path: Path) -> None:
    text = HEADER + "\n" + line("Д-1") + line("Д-2")
    records, parser = parse(write(tmp_path / "sales_lines_u16.txt", text.replace(";", "\t"), "utf-16"))
    assert parser.encoding == "utf-16" and [k for k, _ in records] == ["Д-1|1", "Д-2|1"]  # Excel «Unicode text»
    no_bom = tmp_path / "sales_lines_u16le.csv"
    no_bom.write_bytes(text.encode("utf-16-le"))
    _, parser = parse(no_bom)
    assert parser.rejected is not None and "UTF-16 without a byte-order mark" in parser.rejected
    mixed = tmp_path / "sales_lines_mixed.csv"
    mixed.write_bytes((HEADER + "\n" + line("Д-1")).encode() + line("Д-2", client="ООО Лютик").encode("cp1251"))
    _, parser = parse(mixed)
    assert parser.rejected is not None and "mixed encodings: the file is UTF-8 up to line 3" in parser.rejected


def test_whole_file_utf8_check_by_arrow_agrees_with_the_decoder(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`_file_encoding` checks a large file's UTF-8 with Arrow, in blocks cut after a line end; it
    must give what the line-counting decoder gives, which still names the line of a bad byte."""
    body = "".join(line(f"Д-{i}") for i in range(300))
    files = {
        "utf8": write(tmp_path / "a.csv", HEADER + "\n" + body),
        "bom": write(tmp_path / "b.csv", HEADER + "\n" + body, "utf-8-sig"),
        "mixed": tmp_path / "c.csv",
        "late_cp1251": tmp_path / "d.csv",
        "one_line": write(tmp_path / "e.csv", HEADER + ";" + "Я" * 500),  # no line end: one block
    }
    files["mixed"].write_bytes((HEADER + "\n" + body).encode() + line("Д-x", client="ООО Лютик").encode("cp1251"))
    files["late_cp1251"].write_bytes(("Client;Date\n" + "abc;01.01.2025\n" * 400).encode()
                                     + "Лютик;01.01.2025\n".encode("cp1251"))

    def outcome(path: Path) -> str:
        try:
            return readers._file_encoding(path)
        except readers.FileFormatError as exc:
            return f"error: {exc}"

    monkeypatch.setattr(readers, "FAST_UTF8_BYTES", 1 << 40)  # the decoder alone
    expected = {name: outcome(path) for name, path in files.items()}
    assert expected["utf8"] == "utf-8" and expected["bom"] == "utf-8-sig" and expected["late_cp1251"] == "cp1251"
    assert "mixed encodings: the file is UTF-8 up to line 302" in expected["mixed"]
    monkeypatch.setattr(readers, "FAST_UTF8_BYTES", 0)
    for block in (7, 100, 1 << 26):  # blocks shorter than a line, a few lines, the whole file
        monkeypatch.setattr(readers, "_UTF8_BLOCK", block)
        assert {name: outcome(path) for name, path in files.items()} == expected
        for name, valid in (("utf8", True), ("one_line", True), ("mixed", False), ("late_cp1251", False)):
            with files[name].open("rb") as fh:
                assert readers._all_utf8(fh) is valid, (name, block)


def test_arrow_fast_path_leaves_irregular_files_to_the_row_path(tmp_path: Path) -> None:
    """The fast path judges the encoding on the file's start and the structure by Arrow's read;
    anything else goes by rows, with the row path's errors: a shifted or short row, a lone CR, a
    quote, a cell near the csv limit, and text that stops being UTF-8 after 64 KiB. A blank line
    is read by Arrow as a row of empty cells, skipped and not counted, as the row path does."""
    body = "".join(line(f"Д-{i}") for i in range(800))  # > 64 KiB
    cases = {
        "extra_cell": body + line("Д-x").replace("Розница", "Розница;лишнее"),
        "short_row": body + "7707083893;ООО;14.03.2025;Д-y\n" + line("Д-z"),
        "lone_cr": body.replace("\n", "\r", 1),
        "quote": body + line("Д-x", client='ООО "Ромашка"'),
        "long_cell": body + line("Д-x", client="Я" * 140_000),
    }
    for name, text in cases.items():
        ARROW_USED.clear()
        parse(write(tmp_path / f"sales_lines_{name}.csv", HEADER + "\n" + text))
        assert ARROW_USED == [], name
    late = tmp_path / "sales_lines_late.csv"
    late.write_bytes((HEADER + "\n" + body).encode() + line("Д-x", client="ООО Лютик").encode("cp1251"))
    ARROW_USED.clear()
    records, parser = parse(late)
    assert ARROW_USED == [] and records == []
    assert parser.rejected is not None and "mixed encodings: the file is UTF-8 up to line 802" in parser.rejected
    for name, text, count in (("ok", body, 800), ("blank_lines", body + "\n\n" + line("Д-x") + "\n", 801)):
        ARROW_USED.clear()
        records, parser = parse(write(tmp_path / f"sales_lines_{name}.csv", HEADER + "\n" + text))
        assert [f"sales_lines_{name}.csv"] == ARROW_USED and len(records) == count and parser.rows_read == count


def test_xlsx_bomb_and_forged_rows_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # shared strings that expand far beyond the cap (a small file: zeros compress ~1000:1)
    bomb = tmp_path / "sales_lines_bomb.xlsx"
    wb = Workbook()
    wb.active.append(HEADER.split(";"))
    wb.save(bomb)
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings2.xml", b"0" * (8 << 20))  # 8 MiB
    monkeypatch.setattr(readers, "XLSX_MAX_SHARED_STRINGS", 4 << 20)
    assert bomb.stat().st_size < 100_000
    _, parser = parse(bomb)
    assert parser.rejected is not None and "over the limit" in parser.rejected and "FILES_XLSX_MAX_MB" in parser.rejected
    # a sheet with more rows than Excel allows (lowered here to 3): the load fails naming the file
    many = tmp_path / "sales_lines_many.xlsx"
    wb = Workbook()
    wb.active.append(HEADER.split(";"))
    for i in range(5):
        wb.active.append(line(f"Д-{i}").rstrip("\n").split(";"))
    wb.save(many)
    monkeypatch.setattr(readers, "XLSX_MAX_ROWS", 3)
    _, parser = parse(many)
    assert parser.rejected is not None and "the sheet declares 6 rows, more than Excel's 3" in parser.rejected


def test_many_bad_rows_stream_to_the_sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingestion.files import columnar, validate

    monkeypatch.setattr(validate, "FLUSH_ERRORS", 100)
    monkeypatch.setattr(columnar, "CHUNK_ROWS", 50)
    text = HEADER + "\n" + "".join(line(f"Д-{i}", amount="x") for i in range(1000))
    batches: list[int] = []
    parser = FileParser(write(tmp_path / "sales_lines.csv", text), SPECS["sales_lines"],
                        sink=lambda errors: batches.append(len(errors)))
    assert list(parser.json_records()) == []
    assert len(batches) >= 5 and max(batches) < 150 and sum(batches) + len(parser.errors) == 1000 == parser.error_count


def test_mapping_can_add_file_patterns_and_aliases(tmp_path: Path) -> None:
    override = write(tmp_path / "map.yaml", 'sales_lines:\n  files: ["Реализации*.csv"]\n  aliases:\n'
                                            '    Сумма: [Сумма в рублях]\n')
    specs = load_specs(override)
    assert specs["sales_lines"].matches("Реализации 2025.csv") and specs["sales_lines"].matches("sales_lines.csv")
    amount = next(c for c in specs["sales_lines"].columns if c.key == "amount")
    assert amount.aliases[-1] == "Сумма в рублях"
    with pytest.raises(MappingError, match="aliases for unknown columns"):
        load_specs(write(tmp_path / "bad.yaml", "sales_lines:\n  aliases:\n    Нет: [x]\n"))


def test_erp_and_english_headers_are_aliases(tmp_path: Path) -> None:
    onec = "ИНН контрагента;Контрагент;Дата документа;Номер;Номенклатура;Кол-во;Сумма с НДС;Ответственный;Регион;Канал сбыта"
    english = "Customer INN;Customer;Date;Document number;Product;Qty;Amount;Manager;Region;Channel"
    for n, header in enumerate((onec, english)):
        records, parser = parse(write(tmp_path / f"sales_lines_{n}.csv", header + "\n" + line("Д-1")))
        assert parser.errors == [] and records[0][1]["amount"] == 10 and records[0][1]["client_name"] == "ООО Ромашка"


# ---------------------------------------------------------------------------- the load (database)


# the landing tests run on each engine (ClickHouse on chDB in process), by the row-by-row reader
# and by the Arrow fast path (taking files of any size): the same rows, quarantine and counts
ENGINES = [
    pytest.param(("postgres", False), id="postgres"),
    pytest.param(("postgres", True), id="postgres-arrow"),
    pytest.param(("clickhouse", False), id="clickhouse", marks=pytest.mark.clickhouse),
    pytest.param(("clickhouse", True), id="clickhouse-arrow", marks=pytest.mark.clickhouse),
]


@pytest.fixture(params=ENGINES)
def warehouse(request: pytest.FixtureRequest, make_database: Callable[[str], str],
              monkeypatch: pytest.MonkeyPatch) -> str:
    engine, arrow = request.param
    if arrow:
        from ingestion.files import arrow_path

        monkeypatch.setattr(arrow_path, "MIN_BYTES", 0)
    if engine == "clickhouse":
        return str(request.getfixturevalue("chdb_warehouse"))
    return make_database("files")


def query(url: str, text: str) -> list[tuple[Any, ...]]:
    """Rows of a query on either engine; JSON text (ClickHouse) and jsonb (Postgres) as Python values."""
    from hc_base.warehouse_url import is_clickhouse_url

    if is_clickhouse_url(url):
        from hc_base.clickhouse import client

        with client(url) as handle:
            result = handle.query(text).result_rows
        return [tuple(json.loads(v) if isinstance(v, str) and v[:1] in "{[" else v for v in r) for r in result]
    with psycopg.connect(url) as conn:
        return conn.execute(text).fetchall()


def rows(url: str, table: str = "files__sales_lines") -> dict[str, tuple[Any, bool]]:
    return {k: (p, bool(d)) for k, p, d in query(
        url, f"select source_key, payload, _deleted_at is not null from raw.{table} order by 1")}


def loads(url: str) -> list[tuple[str, str, str | None]]:
    from hc_base.warehouse_url import is_clickhouse_url

    table = "load_log final" if is_clickhouse_url(url) else "loads"
    return query(url, f"select entity, status, error from ingest_state.{table} order by started_at")  # type: ignore[return-value]


def test_rejected_file_keeps_the_previous_rows_and_fails(tmp_path: Path, warehouse: str) -> None:
    files = tmp_path / "files"
    files.mkdir()
    settings = SourceSettings(files_dir=files)
    plans = "Месяц;ID менеджера;Менеджер;План выручки, руб\n01.2025;1;Иванов;100\n01.2025;2;Петров;200\n"
    write(files / "sales_plans.csv", plans)
    first = ingest("files.sales_plans", warehouse_url=warehouse, settings=settings)
    assert (first.rows_read, first.rows_landed) == (2, 2)
    for content, encoding in ((plans.replace("Месяц", "Мсяц"), "utf-8"), ("", "utf-8"), (plans, "utf-16-le")):
        write(files / "sales_plans.csv", content, encoding)
        with pytest.raises(Exception, match="sales_plans.csv: .*the rows loaded before are kept"):
            ingest("files.sales_plans", warehouse_url=warehouse, settings=settings)
        assert {k: d for k, (_, d) in rows(warehouse, "files__sales_plans").items()} == {
            "2025-01-01|1": False, "2025-01-01|2": False}  # nothing marked deleted
    assert [s for _, s, _ in loads(warehouse)] == ["success", "failed", "failed", "failed"]
    # the command exits non-zero
    write(files / "sales_plans.csv", plans.replace("Месяц", "Мсяц"))
    os.environ["WAREHOUSE_URL"] = warehouse
    try:
        os.environ["FILES_DIR"] = str(files)
        assert main(["files.sales_plans"]) == 1
        assert main(["files"]) == 1
    finally:
        os.environ.pop("WAREHOUSE_URL")
        os.environ.pop("FILES_DIR")


def test_same_key_in_two_files_is_reported(tmp_path: Path, warehouse: str) -> None:
    files = tmp_path / "files"
    files.mkdir()
    write(files / "sales_lines_a.csv", HEADER + "\n" + line("Д-1", amount="10") + line("Д-2"))
    write(files / "sales_lines_b.csv", HEADER + "\n" + line("Д-1", amount="99") + line("Д-3"))
    result = ingest("files.sales_lines", warehouse_url=warehouse, settings=SourceSettings(files_dir=files))
    assert (result.rows_read, result.rows_landed, result.rows_rejected, result.errors) == (4, 3, 1, 1)
    assert rows(warehouse)["Д-1|1"][0]["amount"] == 10  # the first file's row, not silently overwritten
    q = query(warehouse, "select file, row_number, value, reason from ingest_state.quarantine")
    assert q == [("sales_lines_b.csv", 2, "Д-1|1", "duplicate key; the same document_number+#row_in_document is in "
                                                     "sales_lines_a.csv")]


def test_bad_number_is_quarantined_then_the_fixed_file_loads(tmp_path: Path, warehouse: str) -> None:
    files = tmp_path / "files"
    files.mkdir()
    write(files / "sales_lines.csv", HEADER + "\n" + line("Д-1") + line("Д-2", amount="1e300"))
    result = ingest("files.sales_lines", warehouse_url=warehouse, settings=SourceSettings(files_dir=files))
    assert (result.rows_landed, result.rows_quarantined) == (1, 1)
    assert query(warehouse, "select file, row_number, field, value from ingest_state.quarantine") == [
        ("sales_lines.csv", 3, "Сумма", "1e300")]
    assert list(rows(warehouse)) == ["Д-1|1"]


def test_unchanged_files_are_skipped(tmp_path: Path, warehouse: str) -> None:
    files = tmp_path / "files"
    files.mkdir()
    path = write(files / "sales_lines.csv", HEADER + "\n" + line("Д-1") + line("Д-2", amount="x"))
    settings = SourceSettings(files_dir=files)
    said: list[str] = []
    first = ingest("files.sales_lines", warehouse_url=warehouse, settings=settings, log=said.append)
    assert (first.skipped, first.rows_read, first.rows_landed, first.rows_rejected, first.errors) == (False, 2, 1, 1, 1)
    assert any("2 rows read, 1 loaded (1 new or changed), 1 rows quarantined with 1 errors" in s for s in said)
    again = ingest("files.sales_lines", warehouse_url=warehouse, settings=settings, log=said.append)
    assert again.skipped and again.rows_landed == 0 and "unchanged since the last load" in said[-1]
    assert query(warehouse, "select count(*) from ingest_state.quarantine") == [(1,)]  # not twice
    assert not ingest("files.sales_lines", warehouse_url=warehouse, settings=settings, full_refresh=True).skipped
    # the raw table emptied (by hand): the files are read again
    if is_clickhouse_url(warehouse):
        query(warehouse, "truncate table raw.files__sales_lines__versions")
    else:
        with psycopg.connect(warehouse) as conn:
            conn.execute("truncate raw.files__sales_lines")
    assert ingest("files.sales_lines", warehouse_url=warehouse, settings=settings).rows_landed == 1
    # same size and time, other content: read again
    stat = path.stat()
    write(path, path.read_text(encoding="utf-8").replace("Д-2", "Д-3"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    changed = ingest("files.sales_lines", warehouse_url=warehouse, settings=settings)
    assert not changed.skipped and changed.rows_read == 2


def test_files_dir_messages_symlinks_and_kind_on_the_command_line(tmp_path: Path, warehouse: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    files = tmp_path / "files"
    files.mkdir()
    secret = write(tmp_path / "secret.csv", HEADER + "\n" + line("Д-9"))
    (files / "sales_lines_x.csv").symlink_to(secret)
    write(files / "Реализации 2025.csv", HEADER + "\n" + line("Д-1"))
    write(files / "marketing_spend.csv", "Month;Source;Spend\n01.2025;WEB;5\n")
    mapping = write(tmp_path / "map.yaml", "unknown_kind:\n  key: [a]\n  columns:\n    A: {key: a}\n")
    ensure_raw_tables(warehouse)
    said: list[str] = []
    settings = SourceSettings(files_dir=files, files_mapping=mapping)
    ingest_source("files", warehouse_url=warehouse, settings=settings, log=said.append)
    text = "\n".join(said)
    assert "refused sales_lines_x.csv: a symbolic link" in text
    assert "ignored Реализации 2025.csv: its name matches no file kind" in text
    assert "FILES_MAPPING: kind 'unknown_kind' is not a file kind" in text
    assert rows(warehouse) == {}  # the link was not followed
    # no file of a requested kind: non-zero; the kind given on the command line: loads
    os.environ.update({"WAREHOUSE_URL": warehouse, "FILES_DIR": str(files)})
    try:
        assert main(["files.sales_lines"]) == 1
        assert "no files matching" in capsys.readouterr().err
        assert main(["files.sales_lines", "--file", str(files / "Реализации 2025.csv")]) == 0
        assert "read=1" in capsys.readouterr().out
    finally:
        os.environ.pop("WAREHOUSE_URL")
        os.environ.pop("FILES_DIR")
    assert list(rows(warehouse)) == ["Д-1|1"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IngestError, match="no user files found"):
        ingest_source("files", warehouse_url=warehouse, settings=SourceSettings(files_dir=empty))


def test_arrow_fast_path_matches_on_a_large_regular_file(tmp_path: Path) -> None:
    rows = []
    for i in range(4000):
        amount = ["1 234,56", "10", "-5,5", "1.234,5", "x", "1e300", "1\u00a0000", "  7 ", "1.234", "0,00001"][i % 10]
        quantity = ["1", "2,5", "", "много"][i % 4] if i % 7 == 0 else "3"
        doc = f"Д-{i // 3}" if i % 50 else "Д-1"  # Д-1 repeated: duplicate keys are not made by #row_in_document
        doc = {0: doc, 1: "", 2: "=Д"}[(i % 97 == 0) + 2 * (i % 89 == 0) if i % (97 * 89) else 0]
        rows.append(line(doc, amount=amount, quantity=quantity, day=["14.03.2025", "31.02.2025", "20250314"][i % 3]))
        if i % 500 == 0:
            rows.append(";;;;;;;;;\n")  # blank rows: skipped, not counted
    text = HEADER + "\n" + "".join(rows)
    for encoding in ("utf-8", "cp1251"):
        ARROW_USED.clear()
        records, parser = parse(write(tmp_path / f"sales_lines_{encoding}.csv", text, encoding))
        assert [f"sales_lines_{encoding}.csv"] == ARROW_USED and len(records) > 1000 and parser.error_count > 1000
    ARROW_USED.clear()
    parse(write(tmp_path / "sales_lines_q.csv", HEADER + "\n" + line("Д-1", client='"ООО"')))
    assert ARROW_USED == []  # quotes: the row path


@pytest.fixture
def fast_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files landed by the Arrow fast path (`load._land_arrow`), in order."""
    from ingestion.files import load

    names: list[str] = []
    land_arrow = load._land_arrow

    def recording(*args: Any, **kwargs: Any) -> None:
        names.append(args[-1])
        land_arrow(*args, **kwargs)

    monkeypatch.setattr(load, "_land_arrow", recording)
    return names


@pytest.mark.parametrize("engine", ["postgres", pytest.param("clickhouse", marks=pytest.mark.clickhouse)])
def test_arrow_fast_path_lands_like_the_row_path(tmp_path: Path, make_database: Callable[[str], str],
                                                 monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
                                                 engine: str, fast_loads: list[str]) -> None:
    from ingestion.files import arrow_path

    files = tmp_path / "files"
    files.mkdir()
    # Д-5's amount is written 1e-05 by the row path, 0.00001 by the Arrow path
    # Д-6's client holds a backslash and a tab: JSON escapes, which COPY must carry as they are
    escaped = line("Д-6", client="ООО Рога\\Копыта\tи К")
    first = (HEADER + "\n" + line("Д-1") + line("Д-2", amount="x") + line("Д-3", amount="1 234,5")
             + line("Д-5", amount="0,00001") + escaped)
    second = (HEADER + "\n" + line("Д-1") + line("Д-3", amount="99") + line("Д-4") + line("Д-5", amount="0,00001")
              + escaped)
    got = []
    row, arrow = 1 << 40, 0  # arrow_path.MIN_BYTES
    # the row path, the Arrow path, and the row path then the Arrow path, each in its own warehouse:
    # rows the other path landed are compared as JSON (Д-1 unchanged)
    for paths in ((row, row), (arrow, arrow), (row, arrow)):
        fast_loads.clear()
        url = make_database("arrow") if engine == "postgres" else request.getfixturevalue("make_chdb_warehouse")()
        settings = SourceSettings(files_dir=files)
        results = []
        for text, min_bytes in zip((first, second), paths, strict=True):
            monkeypatch.setattr(arrow_path, "MIN_BYTES", min_bytes)
            write(files / "sales_lines.csv", text)
            results.append(ingest("files.sales_lines", warehouse_url=url, settings=settings))
        assert len(fast_loads) == paths.count(arrow)
        quarantine = query(url, "select file, row_number, field, value, reason, payload "
                                "from ingest_state.quarantine order by id")
        got.append(([(r.rows_read, r.rows_landed, r.rows_quarantined, r.rows_deleted) for r in results],
                    rows(url), quarantine))
    assert got[0] == got[1] == got[2]
    assert got[1][0] == [(5, 4, 1, 0), (5, 2, 0, 0)]  # Д-3 changed and Д-4 new; Д-1, Д-5 and Д-6 unchanged
    assert {k: (p["amount"], d) for k, (p, d) in got[1][1].items()} == {
        "Д-1|1": (10, False), "Д-3|1": (99, False), "Д-4|1": (10, False), "Д-5|1": (0.00001, False),
        "Д-6|1": (10, False)}
    assert got[1][1]["Д-6|1"][0]["client_name"] == "ООО Рога\\Копыта\tи К"


def test_a_file_irregular_past_its_first_batches_is_read_again_by_rows(
        tmp_path: Path, make_database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch,
        fast_loads: list[str]) -> None:
    """On Postgres the fast path streams: a shifted row found after batches were already copied
    (and rows quarantined, keys noted) rolls back to the file's savepoint, and the file is read
    again by rows. The end state, the quarantine and the errors said are exactly one row-path
    load's: nothing twice, nothing lost, the next file's duplicates still found."""
    from ingestion.files import arrow_path, validate

    monkeypatch.setattr(arrow_path, "BATCH_BYTES", 4096)  # blocks of about 30 lines
    monkeypatch.setattr(arrow_path, "FIRST_ROWS", 3)
    monkeypatch.setattr(validate, "FLUSH_ERRORS", 1)  # errors go to the quarantine spool (and are said) at once
    body = [line(f"Д-{i}", amount="x" if i % 37 == 5 else "10") for i in range(300)]
    body[40] = body[20]  # a document's second line
    first = HEADER + "\n" + "".join(body[:250]) + line("Д-s").replace("Розница", "Розница;лишнее") + "".join(body[250:])
    second = HEADER + "\n" + "".join(body[:250]).replace("10;Иванов", "11;Иванов") + line("Д-s")
    other = HEADER + "\n" + line("Д-7") + line("Д-new")  # Д-7 is in the first file: a duplicate
    outcomes = []
    for min_bytes in (1 << 40, 0):  # the row path, then the fast path
        monkeypatch.setattr(arrow_path, "MIN_BYTES", min_bytes)
        fast_loads.clear()
        files = tmp_path / f"files_{min_bytes}"
        files.mkdir()
        url = make_database("irregular")
        settings = SourceSettings(files_dir=files)
        said: list[list[str]] = []
        results = []
        write(files / "sales_lines_z.csv", other)
        for text in (first, second):
            write(files / "sales_lines_a.csv", text)
            said.append([])
            results.append(ingest("files.sales_lines", warehouse_url=url, settings=settings, log=said[-1].append))
        quarantine = query(url, "select file, row_number, field, value, reason, payload "
                                "from ingest_state.quarantine order by id")
        outcomes.append(([(r.rows_read, r.rows_landed, r.rows_quarantined) for r in results], rows(url), quarantine,
                         [[m for m in messages if m.startswith("rejected:")] for messages in said]))
        if min_bytes == 0:
            assert fast_loads.count("sales_lines_a.csv") == 2  # tried by Arrow both times
            assert [sum("irregular part way" in m for m in messages) for messages in said] == [1, 0]
    assert outcomes[0] == outcomes[1]
    loads_said, final, quarantine, rejected = outcomes[1]
    # 301 + 2 rows read; 8 bad amounts, the shifted row and Д-7 again (Д-20 twice is Д-20|1 and Д-20|2)
    assert loads_said[0] == (303, 293, 10)
    assert [len(set(messages)) for messages in rejected] == [len(messages) for messages in rejected] == [10, 8]
    assert {k for k in final if k.startswith("Д-s")} == {"Д-s|1"} and final["Д-1|1"][0]["amount"] == 11


def test_arrow_fast_path_duplicates_across_batches(tmp_path: Path) -> None:
    rows = [f"{m:02d}.20{y};SRC{s};{s}\n" for y in (20, 21, 22) for m in range(1, 13) for s in range(40)]
    text = "Месяц;Источник;Затраты, руб\n" + "".join(rows) + "".join(rows[::7]) + "01.2020;SRC0;x\n"
    other = "Месяц;Источник;Затраты, руб\n" + "".join(rows[::5])
    ARROW_USED.clear()
    keys: dict[str, str] = {}
    records, parser = parse(write(tmp_path / "marketing_spend_a.csv", text), "marketing_spend", prior_keys=keys)
    assert ARROW_USED == ["marketing_spend_a.csv"] and parser.rows_rejected == len(rows[::7]) + 1
    assert "is on row 2" in parser.errors[0][0].reason
    keys.update(dict.fromkeys((k for k, _ in records), "marketing_spend_a.csv"))
    _, parser = parse(write(tmp_path / "marketing_spend_b.csv", other), "marketing_spend", prior_keys=keys)
    assert parser.rows_rejected == len(rows[::5]) and "is in marketing_spend_a.csv" in parser.errors[0][0].reason


def test_arrow_fast_path_analyses_the_raw_table(tmp_path: Path, make_database: Callable[[str], str],
                                                monkeypatch: pytest.MonkeyPatch, fast_loads: list[str]) -> None:
    """The fast path lands through its own COPY, not `landing.land`: it must analyse the raw table
    it changed in the same run too (first load straight into the empty table, then the upsert)."""
    from ingestion.files import arrow_path

    monkeypatch.setattr(arrow_path, "MIN_BYTES", 0)
    files = tmp_path / "files"
    files.mkdir()
    url = make_database("arrowstats")
    settings = SourceSettings(files_dir=files)

    def analysed() -> tuple[int, float]:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("select pg_stat_clear_snapshot()")
            row = conn.execute(
                """select s.analyze_count, c.reltuples from pg_stat_user_tables as s
                   join pg_class as c on c.oid = s.relid
                   where s.schemaname = 'raw' and s.relname = 'files__sales_lines'""").fetchone()
        assert row is not None
        return int(row[0]), float(row[1])

    def wait(count: int) -> tuple[int, float]:
        import time

        for _ in range(50):  # statistics counters are flushed asynchronously
            if analysed()[0] >= count:
                break
            time.sleep(0.1)
        return analysed()

    write(files / "sales_lines.csv", HEADER + "\n" + "".join(line(f"Д-{i}") for i in range(1, 6)))
    ingest("files.sales_lines", warehouse_url=url, settings=settings)
    assert fast_loads == ["sales_lines.csv"]
    before = wait(1)
    assert before[0] >= 1 and before[1] == 5.0
    write(files / "sales_lines.csv", HEADER + "\n" + "".join(line(f"Д-{i}") for i in range(1, 9)))
    ingest("files.sales_lines", warehouse_url=url, settings=settings)
    after = wait(before[0] + 1)
    assert after[0] > before[0] and after[1] == 8.0


@pytest.mark.clickhouse
def test_a_fast_load_failing_half_way_on_clickhouse_changes_nothing(tmp_path: Path, chdb_warehouse: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """ClickHouse has no transaction: the fast path's batches are versions of the load, seen only
    once it commits. A failure after the first batch is inserted leaves the rows loaded before."""
    from ingestion import clickhouse_landing as ch
    from ingestion.files import arrow_path

    monkeypatch.setattr(arrow_path, "MIN_BYTES", 0)
    monkeypatch.setattr(arrow_path, "BATCH_BYTES", 4096)  # many batches
    files = tmp_path / "files"
    files.mkdir()
    settings = SourceSettings(files_dir=files)
    write(files / "sales_lines.csv", HEADER + "\n" + "".join(line(f"Д-{i}") for i in range(300)))
    assert ingest("files.sales_lines", warehouse_url=chdb_warehouse, settings=settings).rows_landed == 300
    before = rows(chdb_warehouse)
    write(files / "sales_lines.csv", HEADER + "\n" + "".join(line(f"Д-{i}", amount="7") for i in range(400)))
    inserted: list[int] = []
    insert = ch._insert_versions

    def failing(client: Any, table: str, versions: Any) -> int:
        if inserted:
            raise ConnectionError("the server went away")
        inserted.append(insert(client, table, versions))
        return inserted[-1]

    monkeypatch.setattr(ch, "_insert_versions", failing)
    with pytest.raises(ConnectionError):
        ingest("files.sales_lines", warehouse_url=chdb_warehouse, settings=settings)
    assert inserted and inserted[0] > 0  # a batch was written, by a load that never committed
    assert rows(chdb_warehouse) == before
    assert [status for _, status, _ in loads(chdb_warehouse)] == ["success", "failed"]
    monkeypatch.setattr(ch, "_insert_versions", insert)
    again = ingest("files.sales_lines", warehouse_url=chdb_warehouse, settings=settings)
    assert (again.rows_read, again.rows_landed) == (400, 400)
    assert {p["amount"] for p, _ in rows(chdb_warehouse).values()} == {7}
