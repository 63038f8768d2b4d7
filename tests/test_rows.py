"""A streamed sheet's rows (grants.excel.rows) are the bytes XlsxWriter itself writes, for
every kind of cell, format and row."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from grants.excel.book import _Sheet

TEXTS = [
    "Scheme 1", "", " leading", "trailing ", "  ", "a & b < c > d", 'say "hi"', "£1,000 – 5%",
    "line\nbreak", "tab\there", "carriage\rreturn", "bell\x07", "_x0041_ looks escaped",
    "<r>not rich</r>", "<r>half", "non\u00a0breaking", "\u2028", "\ufffe", "emoji 😀", "x" * 40,
    "_x", "a_xb", "fish & chips", "1 > 0",
]  # fmt: skip
NUMBERS = [0, 1, -1, 0.1, 44.122, -1234567.891, 1e-12, 1.5e20, 123456789012345678, 2**53 + 1]


def _fill(wb: xlsxwriter.Workbook, ws: Worksheet) -> None:
    bold = wb.add_format({"bold": True})
    money = wb.add_format({"num_format": "#,##0"})
    row_format = wb.add_format({"italic": True})
    column_format = wb.add_format({"font_color": "red"})
    ws.set_column(3, 3, 12, column_format)
    row = 0
    for i, text in enumerate(TEXTS):
        ws.write_string(row, 0, text)
        ws.write_string(row, 1, text, bold)
        ws.write_string(row, 3, text)  # the column's format
        ws.write_number(row, 2, NUMBERS[i % len(NUMBERS)], money if i % 2 else None)
        row += 1
    for i, number in enumerate(NUMBERS):
        ws.set_row(row, 30 if i % 3 == 0 else None, row_format if i % 2 else None)
        ws.write_number(row, 0, number)
        ws.write_number(row, 3, number)
        ws.write_formula(row, 1, f'=SUM(A{row + 1}:A{row + 1})&"<>"', None, number)
        ws.write_formula(row, 2, "=A1", bold, float(number))
        row += 1
    for value in ["text", "", "#N/A", True, False, None]:
        ws.write_formula(row, 0, "=B1", None, value)  # type: ignore[arg-type]
        ws.write_blank(row, 1, None, bold)
        ws.write_boolean(row, 2, bool(row % 2))
        ws.write_datetime(row, 4, date(2017, 4, 1), money)
        row += 1
    ws.write_rich_string(row, 0, "plain ", bold, "bold", " again")
    ws.write_array_formula(row, 1, row, 1, "{=SUM(A1:A3*B1:B3)}", None, 7)
    ws.write_dynamic_array_formula(row, 2, row, 2, "=LEN(A1:A3)", None, 3)
    ws.write_comment(row, 0, "a comment")
    row += 1
    ws.set_row(row, 40)  # a row of height alone
    row += 2
    ws.merge_range(row, 0, row, 3, "merged", bold)
    ws.write_url(row + 1, 0, "https://example.org/a?b=1&c=2", None, "a link")
    ws.write_number(row + 2, 300, 5)  # a column beyond the first 256


def _sheet_xml(tmp_path: Path, worksheet_class: type[Worksheet] | None) -> bytes:
    path = tmp_path / f"{worksheet_class.__name__ if worksheet_class else 'plain'}.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(tmp_path)})
    ws = wb.add_worksheet("Sheet", worksheet_class=worksheet_class)
    _fill(wb, ws)
    wb.close()
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/worksheets/sheet1.xml")


def test_streamed_rows_are_the_bytes_xlsxwriter_writes(tmp_path: Path) -> None:
    ours = _sheet_xml(tmp_path, _Sheet)
    theirs = _sheet_xml(tmp_path, None)
    assert b"<row " in ours and b"xml:space" in ours and b"&amp;" in ours
    assert ours == theirs
