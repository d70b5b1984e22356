"""Issue 15, item 8: whitespace-separated text (a fixed-width-like export, columns separated by
runs of spaces or tabs) is read where unambiguous; otherwise the file is rejected naming the row."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingestion.files import arrow_path
from ingestion.files.readers import WHITESPACE, FileFormatError, read_table
from ingestion.files.specs import load_specs
from ingestion.files.validate import FileParser

SPECS = load_specs()

# a fixed-width export: columns padded with spaces, two or more between columns, and values
# (client names, the header «Номер документа») holding single spaces
FIXED_WIDTH = (
    "ИНН         Клиент            Дата        Номер документа   Товар     Количество   Сумма\n"
    "7707083893  ООО Ромашка       14.03.2025  ЦБ-1              Порошок   2            1234,56\n"
    "7707083893  ООО Ромашка       14.03.2025  ЦБ-1              Мыло      1,5          10\n"
    "\n"
    "7707083893  ИП Лютиков А.А.   31.02.2025  ЦБ-2              Мыло      1            10\n"
    "7707083893  ИП Лютиков А.А.   01.04.2025  ЦБ-3              Мыло      много        5\n"
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_fixed_width_file_is_split_at_the_column_gaps(tmp_path: Path) -> None:
    path = write(tmp_path / "sales_lines_fixed.txt", FIXED_WIDTH, "cp1251")
    table = read_table(path)
    assert table.delimiter == WHITESPACE
    assert table.header == ["ИНН", "Клиент", "Дата", "Номер документа", "Товар", "Количество", "Сумма"]
    rows = list(table.rows)
    # line 4 is empty: skipped, and the numbers are the lines a user sees in an editor
    assert [n for n, _ in rows] == [2, 3, 5, 6]
    assert rows[0][1] == ["7707083893", "ООО Ромашка", "14.03.2025", "ЦБ-1", "Порошок", "2", "1234,56"]


def test_fixed_width_rows_are_validated_and_quarantined_with_file_row_and_field(tmp_path: Path) -> None:
    path = write(tmp_path / "sales_lines_fixed.txt", FIXED_WIDTH)
    parser = FileParser(path, SPECS["sales_lines"])
    records = list(parser.records())
    assert [key for key, _, _ in records] == ["ЦБ-1|1", "ЦБ-1|2"]
    assert records[0][1] == {"inn": "7707083893", "client_name": "ООО Ромашка", "date": "2025-03-14",
                             "document_number": "ЦБ-1", "product": "Порошок", "quantity": 2, "amount": 1234.56,
                             "manager": None, "region": None, "channel": None}  # optional columns absent
    assert records[1][1]["quantity"] == 1.5
    errors = [(e.file, e.row, e.field, e.value, e.reason) for e, _ in parser.errors]
    assert errors == [
        ("sales_lines_fixed.txt", 5, "Дата", "31.02.2025", "not a real calendar date"),
        ("sales_lines_fixed.txt", 6, "Количество", "много", "expected a number like 1 234,56"),
    ]
    assert str(parser.errors[1][0]) == (
        "sales_lines_fixed.txt, row 6, column «Количество»: expected a number like 1 234,56 (value 'много')")
    assert parser.errors[1][1] is not None and parser.errors[1][1]["Клиент"] == "ИП Лютиков А.А."
    # the columnar path (used for every text file when landing) gives the same records and errors
    fast = FileParser(path, SPECS["sales_lines"])
    got = [(k, json.loads(p)) for k, p, _ in fast.json_records()]
    assert got == [(k, p) for k, p, _ in records]
    assert (fast.errors, fast.rows_read, fast.delimiter) == (parser.errors, parser.rows_read, WHITESPACE)


def test_single_spaces_and_tab_runs_with_english_headers(tmp_path: Path) -> None:
    # single spaces in the header, no value holds a space: every run of spaces or tabs separates
    # columns (a header gap of two blanks next to single spaces would be ambiguous, see below)
    text = ("INN Date Document Product Qty Amount\n"
            "7707083893 2025-03-14\t\tD-1 Soap 2 100.5\n"
            "7707083893   2025-03-15 D-2 Soap \t1 7\n")
    path = write(tmp_path / "sales_lines_en.txt", text)
    parser = FileParser(path, SPECS["sales_lines"])
    records = list(parser.records())
    assert parser.errors == [] and parser.delimiter == WHITESPACE
    assert [(p["date"], p["document_number"], p["amount"]) for _, p, _ in records] == [
        ("2025-03-14", "D-1", 100.5), ("2025-03-15", "D-2", 7)]


def test_large_whitespace_file_takes_the_row_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrow_path, "MIN_BYTES", 0)  # the Arrow fast path reads one-character delimiters only
    parser = FileParser(write(tmp_path / "sales_lines_fixed.txt", FIXED_WIDTH), SPECS["sales_lines"])
    assert parser.arrow_records() is None


def test_a_value_with_a_space_in_a_single_space_file_is_rejected_naming_the_row(tmp_path: Path) -> None:
    text = ("INN Date Document Product Qty Amount\n"
            "7707083893 2025-03-14 D-1 Soap 2 100\n"
            "7707083893 2025-03-14 D-1 Green soap 2 100\n")  # 7 fields: which two belong together?
    path = write(tmp_path / "sales_lines_bad.txt", text)
    with pytest.raises(FileFormatError, match=r"sales_lines_bad\.txt: .* row 3 splits into 7 fields and the header into 6"):
        read_table(path)
    parser = FileParser(path, SPECS["sales_lines"])
    assert list(parser.records()) == []
    (error, raw), = parser.errors
    assert (error.file, raw) == ("sales_lines_bad.txt", None)
    assert "row 3 splits into 7 fields" in error.reason and parser.rejected


def test_two_fitting_splits_that_differ_are_ambiguous(tmp_path: Path) -> None:
    # «INN Date» is one column at the wide gaps and two at every space, and every row agrees with both
    text = ("INN Date  Document  Product  Qty  Amount\n"
            "7707083893 2025-03-14  D-1  Soap  2  100\n")
    with pytest.raises(FileFormatError, match=r"sales_lines_amb\.txt: .*ambiguous.*row 2 differs"):
        read_table(write(tmp_path / "sales_lines_amb.txt", text))


def test_delimited_files_are_not_taken_for_whitespace(tmp_path: Path) -> None:
    # a header with ; or , or single tabs keeps its delimiter, even when names hold spaces
    assert read_table(write(tmp_path / "a.csv", "Номер документа;Дата\nЦБ-1;01.01.2025\n")).delimiter == ";"
    assert read_table(write(tmp_path / "b.txt", "Номер документа\tДата\nЦБ 1\t01.01.2025\n")).delimiter == "\t"
    assert read_table(write(tmp_path / "c.csv", "Номер документа,Дата\nЦБ-1,01.01.2025\n")).delimiter == ","
