"""The cells of a workbook, read once, and two ways of writing the same cells again: plain
XlsxWriter in constant-memory mode (the capital workbook's floor) and raw XML in a zip
(reported for information).

``read(path)`` reads a workbook with openpyxl (read-only, formulas as text, and again for the
formulas' saved results) into memory: every sheet in order, and each row's cells that hold
something, a string, a number or a formula with its result. The writers write those cells
and nothing else: no formats, column widths, row heights, merged ranges, charts or print
set-up.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name


@dataclass(frozen=True)
class Formula:
    text: str  # without its "="
    result: object


Value = str | int | float | Formula
Row = tuple[int, tuple[tuple[int, Value], ...]]  # 0-based row, (0-based column, value)...


@dataclass
class Sheet:
    name: str
    rows: list[Row]

    @property
    def cells(self) -> int:
        return sum(len(cells) for _, cells in self.rows)


def read(path: Path) -> list[Sheet]:
    """Every sheet's filled cells: formulas from one reading, their results from another."""
    texts = openpyxl.load_workbook(path, read_only=True, data_only=False)
    results = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out = []
    for ws, saved in zip(texts.worksheets, results.worksheets, strict=True):
        rows: list[Row] = []
        for r, (cells, values) in enumerate(zip(ws.iter_rows(), saved.iter_rows(), strict=True)):
            kept: list[tuple[int, Value]] = []
            for c, (cell, value) in enumerate(zip(cells, values, strict=True)):
                if cell.value is None:
                    continue
                if cell.data_type == "f":
                    kept.append((c, Formula(str(cell.value)[1:], value.value)))
                else:
                    kept.append((c, cell.value))
            if kept:
                rows.append((r, tuple(kept)))
        out.append(Sheet(ws.title, rows))
    texts.close()
    results.close()
    return out


def xlsxwriter_floor(sheets: list[Sheet], path: Path) -> None:
    """The same cells through XlsxWriter's public methods, each cell by its own type, the
    sheets streamed (constant memory) as the product streams them."""
    wb = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False},
    )
    for sheet in sheets:
        ws = wb.add_worksheet(sheet.name)
        string, number, formula = ws.write_string, ws.write_number, ws.write_formula
        for r, cells in sheet.rows:
            for c, value in cells:
                if isinstance(value, str):
                    string(r, c, value)
                elif isinstance(value, Formula):
                    formula(r, c, value.text, None, value.result)
                else:
                    number(r, c, value)
    wb.close()


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.'
    'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="'
    'application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="'
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{sheets}'
    "</Types>"
)
_SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://'
    'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
    'http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_BOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.'
    'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships"><sheets>{sheets}</sheets></workbook>'
)
_BOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://'
    'schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>'
)
_SHEET_REL = (
    '<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet{n}.xml"/>'
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.'
    'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def raw_xml(sheets: list[Sheet], path: Path) -> None:
    """The same cells as worksheet XML (strings in-line, formulas with their results) in a
    deflated zip: the least any writer of these cells could do in Python."""
    columns = [xl_col_to_name(c) for c in range(64)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        types = "".join(_SHEET_TYPE.format(n=n) for n in range(1, len(sheets) + 1))
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES.format(sheets=types))
        zf.writestr("_rels/.rels", _ROOT_RELS)
        names = "".join(
            f'<sheet name="{s.name.translate(_ESCAPES)}" sheetId="{n}" r:id="rId{n}"/>'
            for n, s in enumerate(sheets, start=1)
        )
        zf.writestr("xl/workbook.xml", _BOOK.format(sheets=names))
        rels = "".join(_SHEET_REL.format(n=n) for n in range(1, len(sheets) + 1))
        zf.writestr("xl/_rels/workbook.xml.rels", _BOOK_RELS.format(rels=rels))
        for n, sheet in enumerate(sheets, start=1):
            with zf.open(f"xl/worksheets/sheet{n}.xml", "w") as out:
                out.write(_SHEET_HEAD.encode())
                chunk: list[str] = []
                for r, cells in sheet.rows:
                    number = r + 1
                    chunk.append(f'<row r="{number}">')
                    for c, value in cells:
                        ref = f"{columns[c]}{number}"
                        if isinstance(value, str):
                            chunk.append(
                                f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">'
                                f"{value.translate(_ESCAPES)}</t></is></c>"
                            )
                        elif isinstance(value, Formula):
                            result = "" if value.result is None else f"<v>{value.result}</v>"
                            chunk.append(
                                f'<c r="{ref}"><f>{value.text.translate(_ESCAPES)}</f>{result}</c>'
                            )
                        else:
                            chunk.append(f'<c r="{ref}"><v>{value}</v></c>')
                    chunk.append("</row>")
                    if len(chunk) > 20_000:
                        out.write("".join(chunk).encode())
                        chunk.clear()
                chunk.append("</sheetData></worksheet>")
                out.write("".join(chunk).encode())
