"""User files: value parsers, format detection, mapping, row-level validation, templates."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from ingestion.files import columnar
from ingestion.files.readers import detect_delimiter, detect_encoding, read_table
from ingestion.files.specs import MappingError, load_specs
from ingestion.files.validate import FileParser
from ingestion.files.values import parse_date, parse_inn, parse_month, parse_number
from ingestion.landing import JsonText

TEMPLATES = Path(__file__).resolve().parents[2] / "ingestion" / "files" / "templates"
SPECS = load_specs()
SALES_HEADER = "ИНН;Клиент;Дата;Номер документа;Товар;Количество;Сумма;Менеджер;Регион;Канал"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1 234,56", 1234.56), ("1\u00a0234\u00a0567,5", 1234567.5), ("1\u202f000", 1000), ("-12,5", -12.5),
     ("1234.56", 1234.56), ("1.234,56", 1234.56), ("1,234.56", 1234.56), ("0", 0), (7, 7), (2.5, 2.5)],
)
def test_parse_number(text: object, expected: float) -> None:
    got = parse_number(text)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("bad", ["abc", "1,2,3", "12 руб", "nan"])
def test_parse_number_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_number(bad)


def test_parse_dates_and_months() -> None:
    assert parse_date("05.03.2025") == date(2025, 3, 5)
    assert parse_date("5.3.25") == date(2025, 3, 5)
    assert parse_date("2025-03-05") == date(2025, 3, 5)
    assert parse_date("05.03.2025 14:22:01") == date(2025, 3, 5)
    assert parse_date(datetime(2025, 3, 5, 10, 0)) == date(2025, 3, 5)
    with pytest.raises(ValueError, match="calendar"):
        parse_date("31.02.2025")
    with pytest.raises(ValueError, match="dd.mm.yyyy"):
        parse_date("March 5")
    assert parse_month("17.03.2025") == date(2025, 3, 1)
    assert parse_month("03.2025") == date(2025, 3, 1)
    assert parse_month("2025-03") == date(2025, 3, 1)
    with pytest.raises(ValueError):
        parse_month("13.2025")


def test_parse_inn() -> None:
    assert parse_inn("7707083893") == "7707083893"  # Sberbank, check digit 3
    assert parse_inn("500100732259") == "500100732259"
    assert parse_inn(7707083893.0) == "7707083893"  # XLSX number cell
    with pytest.raises(ValueError, match="check digits"):
        parse_inn("7707083894")
    with pytest.raises(ValueError, match="10 or 12 digits"):
        parse_inn("77070838")


def test_detection() -> None:
    assert detect_encoding("Регион;Год".encode()) == "utf-8"
    assert detect_encoding("\ufeffРегион;Год".encode("utf-8")) == "utf-8-sig"
    assert detect_encoding("Регион;Год".encode("cp1251")) == "cp1251"
    assert detect_delimiter("a;b;c") == ";" and detect_delimiter("a\tb\tc") == "\t"
    assert detect_delimiter("Потенциальная емкость, руб/год;Год") == ";"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def parse(path: Path, kind: str) -> tuple[list[tuple[str, dict[str, object], None]], FileParser]:
    parser = FileParser(path, SPECS[kind])
    return list(parser.records()), parser


def test_windows_1251_tab_file_with_bad_rows_loads_the_good_ones(tmp_path: Path) -> None:
    text = (
        SALES_HEADER.replace(";", "\t") + "\r\n"
        "7707083893\tООО «Ромашка»\t14.03.2025\tЦБ-1\tПорошок\t2\t1 234,56\tИванов\tСанкт-Петербург\tРозница\r\n"
        "7707083893\tООО «Ромашка»\t14.03.2025\tЦБ-1\tМыло\t1,5\t10\tИванов\tСанкт-Петербург\tРозница\r\n"
        "7707083893\tООО «Ромашка»\t31.02.2025\tЦБ-2\tМыло\tмного\t10\t\t\t\r\n"
        "\t\t\t\t\t\t\t\t\t\r\n"
        "1234567890\tИП\t01.04.2025\tЦБ-3\tМыло\t1\t5\t\t\t\r\n"
    )
    path = write(tmp_path / "sales_lines_2025.txt", text, "cp1251")
    records, parser = parse(path, "sales_lines")
    assert parser.encoding == "cp1251" and parser.delimiter == "\t"
    assert [r[0] for r in records] == ["ЦБ-1|1", "ЦБ-1|2"]
    assert records[0][1] == {
        "inn": "7707083893", "client_name": "ООО «Ромашка»", "date": "2025-03-14", "document_number": "ЦБ-1",
        "product": "Порошок", "quantity": 2, "amount": 1234.56, "manager": "Иванов",
        "region": "Санкт-Петербург", "channel": "Розница",
    }
    assert records[1][1]["quantity"] == 1.5 and records[1][1]["manager"] == "Иванов"
    errors = [(e.file, e.row, e.field, e.value, e.reason) for e, _ in parser.errors]
    assert errors == [
        ("sales_lines_2025.txt", 4, "Дата", "31.02.2025", "not a real calendar date"),
        ("sales_lines_2025.txt", 4, "Количество", "много", "expected a number like 1 234,56"),
        ("sales_lines_2025.txt", 6, "ИНН", "1234567890", "ИНН check digits are wrong"),
    ]
    # the quarantined row keeps the raw cells by Russian header
    assert parser.errors[0][1] is not None and parser.errors[0][1]["Количество"] == "много"
    assert str(parser.errors[1][0]) == "sales_lines_2025.txt, row 4, column «Количество»: expected a number like 1 234,56 (value 'много')"
    assert parser.rows_read == 4  # the empty line 5 is skipped


def test_utf8_bom_semicolon_file_and_duplicates(tmp_path: Path) -> None:
    text = (
        "\ufeffМесяц;Источник;Затраты, руб\n"
        "01.2025;WEB;150 000,00\n"
        "2025-01;WEB;1\n"
        "02.2025;;5\n"
        "02.2025;CALL;-5\n"
    )
    records, parser = parse(write(tmp_path / "marketing_spend.csv", text), "marketing_spend")
    assert parser.encoding == "utf-8-sig"
    assert records == [("2025-01-01|WEB", {"month": "2025-01-01", "source_id": "WEB", "spend_rub": 150000}, None)]
    reasons = [(e.row, e.field, e.reason) for e, _ in parser.errors]
    assert reasons == [
        (3, None, "duplicate key; the same month+source_id is on row 2"),
        (4, "Источник", "required value is empty"),
        (5, "Затраты, руб", "must be at least 0"),
    ]


def test_missing_required_column_rejects_the_file(tmp_path: Path) -> None:
    records, parser = parse(write(tmp_path / "rosstat_outlets.csv", "Регион;Год\nКоми;2025\n"), "rosstat_outlets")
    assert records == []
    (err, raw), = parser.errors
    assert (err.row, err.field) == (1, "Количество торговых точек") and raw is None
    assert "templates/rosstat_outlets.csv" in err.reason


def test_unreadable_file_is_one_error(tmp_path: Path) -> None:
    records, parser = parse(write(tmp_path / "rosstat_outlets.xlsx", "not a zip"), "rosstat_outlets")
    assert records == [] and "not a readable XLSX" in parser.errors[0][0].reason


def test_xlsx_with_typed_cells(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append([])
    ws.append(["Дата", "ИНН", "Отдел", "Оценка"])
    ws.append([datetime(2025, 5, 6), 7707083893, "Отдел продаж СПб", 9])
    ws.append(["07.05.2025", "500100732259", None, 11])
    ws.append([None, None, None, None])
    ws.append(["08.05.2025", "500100732259", "Отдел регионов", "10"])
    path = tmp_path / "nps_answers.xlsx"
    wb.save(path)
    table = read_table(path)
    assert table.header_row == 2
    records, parser = parse(path, "nps_answers")
    assert records == [
        ("nps_answers.xlsx|3", {"answered_on": "2025-05-06", "inn": "7707083893", "department": "Отдел продаж СПб", "score": 9}, None),
        ("nps_answers.xlsx|6", {"answered_on": "2025-05-08", "inn": "500100732259", "department": "Отдел регионов", "score": 10}, None),
    ]
    assert [(e.row, e.field, e.reason) for e, _ in parser.errors] == [(4, "Оценка", "must be between 0 and 10")]


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_templates_match_their_spec(kind: str) -> None:
    records, parser = parse(TEMPLATES / f"{kind}.csv", kind)
    assert parser.errors == [] and len(records) == 1
    spec = SPECS[kind]
    assert set(records[0][1]) == {c.key for c in spec.columns}


def test_mapping_override(tmp_path: Path) -> None:
    override = write(tmp_path / "map.yaml", (
        "marketing_spend:\n  key: [month, source_id]\n  columns:\n"
        "    Период: {key: month, type: month, required: true}\n"
        "    Канал: {key: source_id, type: text, required: true, aliases: [Источник]}\n"
        "    Сумма: {key: spend_rub, type: number, required: true}\n"))
    specs = load_specs(override)
    assert [c.header for c in specs["marketing_spend"].columns] == ["Период", "Канал", "Сумма"]
    assert specs["sales_lines"] == SPECS["sales_lines"]
    path = write(tmp_path / "marketing_spend.csv", "Период;Источник;Сумма\n03.2025;WEB;5,5\n")
    parser = FileParser(path, specs["marketing_spend"])
    assert list(parser.records()) == [("2025-03-01|WEB", {"month": "2025-03-01", "source_id": "WEB", "spend_rub": 5.5}, None)]
    bad = write(tmp_path / "bad.yaml", "sales_lines:\n  key: [nope]\n  columns:\n    ИНН: {key: inn, type: money}\n")
    with pytest.raises(MappingError, match="unknown type 'money'"):
        load_specs(bad)


def _both(path: Path, kind: str) -> tuple[list[tuple[str, dict[str, object]]], FileParser, FileParser]:
    slow = FileParser(path, SPECS[kind])
    expected = [(k, p) for k, p, _ in slow.records()]
    fast = FileParser(path, SPECS[kind])
    got = [(k, p) for k, p, _ in fast.json_records()]
    assert all(isinstance(p, JsonText) for _, p in got) == (path.suffix != ".xlsx")  # JSON text, not dicts
    # what lands: jsonb cannot hold NUL, so landing drops it from either kind of payload
    landed = [(k, json.loads(json.dumps(p, ensure_ascii=False).replace("\\u0000", ""))) for k, p in expected]
    assert [(k, p if isinstance(p, dict) else json.loads(p)) for k, p in got] == landed
    assert (fast.errors, fast.rows_read, fast.encoding, fast.delimiter) == (
        slow.errors, slow.rows_read, slow.encoding, slow.delimiter)
    return expected, slow, fast


def test_columnar_path_gives_the_same_records_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columnar, "CHUNK_ROWS", 3)  # duplicates and document counters across chunks
    text = (
        SALES_HEADER + "\n"
        '7707083893;"ООО ""Кавычки"" \\ и ;";05.03.2025;ЦБ-1;Мыло;1;1 234,50;;;\n'
        "7707083893;ИП\x00;05.03.2025;ЦБ-1;Мыло;2,0;-5;Иванов;;\n"
        "7707083893;ИП;05.03.2025; ;Мыло;1;5;;;\n"  # blank required document number: rejected
        "7707083893;ИП;05.03.2025;ЦБ-2;Мыло;1;1.234,5;;;\n"
        ";;;;;;;;;\n"
        "7707083893;ИП;05.03.2025;ЦБ-2;Мыло;x;5;;;\n"
        "7707083894;ИП;31.02.2025;ЦБ-3;;1;5;;;\n"
        "7707083893;ИП;5.3.25;ЦБ-3;Мыло;1000;25;;;\n"
        "7707083893;ИП;05.03.2025;ЦБ-4;Мыло;1;100;50;Петров;СПб;Розница\n"  # shifted: 11 cells (issue 14 item 4)
        "7707083893;ИП;05.03.2025;ЦБ-4;Мыло;1\n"  # short row: 6 cells, quarantined (it was loaded before)
        "7707083893;ИП;05.03.2025;ЦБ-4;Мыло;1;5;;;;;\n"  # extra empty cells at the end are fine
    )
    expected, _, fast = _both(write(tmp_path / "sales_lines_a.csv", text), "sales_lines")
    assert [k for k, _ in expected] == ["ЦБ-1|1", "ЦБ-1|2", "ЦБ-2|1", "ЦБ-3|2", "ЦБ-4|1"]  # ЦБ-2|2 and ЦБ-3|1 rejected
    assert expected[0][1]["client_name"] == 'ООО "Кавычки" \\ и ;' and expected[1][1]["client_name"] == "ИП\x00"
    assert expected[1][1]["quantity"] == 2 and expected[2][1]["amount"] == 1234.5 and expected[3][1]["amount"] == 25
    assert [(e.row, e.field) for e, _ in fast.errors] == [
        (4, "Номер документа"), (7, "Количество"), (8, "ИНН"), (8, "Дата"), (8, "Товар"), (10, None), (11, None)]
    assert "has 11 cells but the header has 10 columns" in fast.errors[-2][0].reason
    assert fast.errors[-2][1] is not None and fast.errors[-2][1]["(column 11)"] == "Розница"
    duplicates = "Месяц;Источник;Затраты, руб\n01.2025;WEB;1\n02.2025;WEB;2\n2025-01;WEB;3\n01.2025;CALL;4\n03.2025;WEB;5\n"
    expected, _, fast = _both(write(tmp_path / "marketing_spend.csv", duplicates, "cp1251"), "marketing_spend")
    assert len(expected) == 4 and [(e.row, e.field) for e, _ in fast.errors] == [(4, None)]
    _both(write(tmp_path / "rosstat_outlets.csv", "Регион;Год\nКоми;2025\n"), "rosstat_outlets")  # rejected file


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_columnar_path_on_templates(kind: str) -> None:
    _both(TEMPLATES / f"{kind}.csv", kind)
