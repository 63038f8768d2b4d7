"""A streamed sheet's rows written out as XlsxWriter writes them, with less work a cell.

In constant-memory mode XlsxWriter writes each row to the sheet's file as the next row is
begun (``Worksheet._write_single_row``), cell by cell through ``_write_cell``: a list of
attributes escaped one by one, three regular expressions on every string, a write a cell.
:func:`write_single_row` writes the same bytes for the cells the workbooks hold (numbers,
plain strings, formulas with a number for their value) as one write a row, and hands any
other cell (rich text, a blank, a boolean, an array formula, a string with a control
character, a line break or ``_x`` in it) to XlsxWriter's own ``_write_cell``.
tests/test_rows.py compares the two byte for byte; like grants.excel.book it relies on
XlsxWriter's private row and cell tables, which pyproject.toml pins to versions below 3.4.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import (
    CellDatetimeTuple,
    CellFormulaTuple,
    CellNumberTuple,
    CellStringTuple,
    Worksheet,
)

_COLUMNS = [xl_col_to_name(c) for c in range(256)]
# The kinds of cell written here (any other goes through XlsxWriter's _write_cell).
_OURS = frozenset({CellNumberTuple, CellDatetimeTuple, CellStringTuple, CellFormulaTuple})


def _column(col: int) -> str:
    return _COLUMNS[col] if col < len(_COLUMNS) else xl_col_to_name(col)


def _style(sheet: Worksheet, cell: Any, col: int, row_info: Any, known: dict[int, str]) -> str:
    """The cell's ``s`` attribute as ``_write_cell`` chooses it: the cell's format, else
    its row's, else its column's."""
    if cell.format:
        return _index(cell.format, known)
    if row_info is not None and row_info.row_format:
        return _index(row_info.row_format, known)
    column = sheet.col_info.get(col)
    if column is not None and column.column_format is not None:
        return _index(column.column_format, known)
    return ""


def _index(cell_format: Format, known: dict[int, str]) -> str:
    """`` s="N"``: a format's index, kept once XlsxWriter has given it one for good (the
    workbook holds its formats, so an id stands for one format while the sheet is written)."""
    text = known.get(id(cell_format))
    if text is None:
        text = f' s="{cell_format._get_xf_index()}"'
        if cell_format.xf_index is not None:
            known[id(cell_format)] = text
    return text


def _escaped(text: str) -> str:
    """XlsxWriter's ``_escape_data``."""
    if "&" in text or "<" in text or ">" in text:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def write_single_row(sheet: Worksheet, current_row_num: int = 0) -> None:
    """``Worksheet._write_single_row`` for a sheet in constant-memory mode."""
    row_num = sheet.previous_row
    cells = sheet.table.get(row_num)
    if not cells or row_num in sheet.comments:
        Worksheet._write_single_row(sheet, current_row_num)
        return
    sheet.previous_row = current_row_num
    row_info = sheet.row_info.get(row_num)
    if row_info is None:
        sheet._write_row(row_num, None)
    else:
        sheet._write_row(row_num, None, row_info)
    number = str(row_num + 1)
    known: dict[int, str] = sheet.__dict__.setdefault("_grants_styles", {})
    columns, named = _COLUMNS, len(_COLUMNS)
    parts: list[str] = []
    for col in sorted(cells):
        cell = cells[col]
        kind = cell.__class__
        if kind in _OURS:  # each holds its format second
            style = known.get(id(cell[1])) if cell[1] is not None else None
            if style is None:
                style = _style(sheet, cell, col, row_info, known)
            ref = (columns[col] if col < named else xl_col_to_name(col)) + number
        if kind is CellNumberTuple or kind is CellDatetimeTuple:
            parts.append(f'<c r="{ref}"{style}><v>{cell[0]:.16G}</v></c>')
            continue
        if kind is CellStringTuple:
            text = cell[0]
            # Written as it is: no control character or line break to escape (a printable
            # string has none), no ``_xHHHH_`` look-alike, not rich text.
            if text.isprintable() and "_x" not in text and not text.startswith("<r>"):
                space = ' xml:space="preserve"' if text[:1] == " " or text[-1:] == " " else ""
                if "&" in text or "<" in text or ">" in text:
                    text = _escaped(text)
                parts.append(f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>')
                continue
        elif kind is CellFormulaTuple and cell[2].__class__ in (int, float):
            parts.append(f'<c r="{ref}"{style}><f>{_escaped(cell[0])}</f><v>{cell[2]}</v></c>')
            continue
        if parts:  # anything else as XlsxWriter writes it, in its place
            sheet.fh.write("".join(parts))
            parts.clear()
        sheet._write_cell(row_num, col, cell)
    parts.append("</row>")
    sheet.fh.write("".join(parts))
    sheet.table.clear()


__all__ = ["write_single_row"]
