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


def _return_codes(wb: xlsxwriter.Workbook, ws: Worksheet) -> list[object]:
    """Cells given by name and by number, out of bounds, on a row already written out, at
    infinity and beyond the length of a cell: what each write returns."""
    bold = wb.add_format({"bold": True})
    return [
        ws.write_string("B2", "by name", bold),
        ws.write_number("C2", 1.5),
        ws.write_formula("D2", "=C2*2", None, 3.0),
        ws.write_string(2, 1, "by number"),
        ws.write_number(2, 2, 2.5, bold),
        ws.write_formula(2, 3, "=C3*2", bold, 5.0),
        ws.write_formula(2, 4, "SUM(C2:C3)", None, 4.0),  # without its "="
        ws.write_formula(2, 5, "{=SUM(C2:C3)}", None, 4.0),  # an array formula
        ws.write_formula(2, 6, "=XLOOKUP(1,C2:C3,D2:D3)", None, 3.0),  # a dynamic one
        ws.write_number(3, 2, float("inf")),
        ws.write_number(3, 3, 7),  # an int
        ws.write_string(3, 4, "x" * 40_000),  # cut to the limit
        ws.write_string(-1, 0, "above the sheet"),
        ws.write_number(0, 20_000, 1.0),  # beyond the last column
        ws.write_string(1, 0, "a row already written out"),
        ws.write_number(1, 1, 1.0),
        ws.write_formula(1, 2, "=1", None, 1.0),
        ws.write_string(5, 0, "the last row"),
        ws.write_number(5, 8, 2.0),  # the widest column yet
    ]


def test_cells_by_name_and_refused_cells_as_xlsxwriter_has_them(tmp_path: Path) -> None:
    """A cell given by its A1 name, or one XlsxWriter refuses or writes its own way, takes
    XlsxWriter's path: the same return codes and the same bytes."""
    out = {}
    for worksheet_class in (_Sheet, None):
        path = tmp_path / f"{worksheet_class.__name__ if worksheet_class else 'plain'}.xlsx"
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(tmp_path),
                                             "nan_inf_to_errors": True})  # fmt: skip
        ws = wb.add_worksheet("Sheet", worksheet_class=worksheet_class)
        codes = _return_codes(wb, ws)
        wb.close()
        with zipfile.ZipFile(path) as zf:
            out[worksheet_class] = (codes, zf.read("xl/worksheets/sheet1.xml"))
    assert out[_Sheet] == out[None]
    assert -1 in out[None][0] and -2 in out[None][0]
