"""Where a form's cells are, and reading its locked cells back: what an importer needs of
the forms, without the code that writes them (grants.excel.form_header, return_form), so that
reading a received form imports no workbook writer.

The header block (identity and whom the form is for, rows 2 to 9) is every form's; the return
form's grid below it is fixed here, because the importer (grants.services.returns_import)
reads back the cells grants.excel.return_form writes.
"""

from __future__ import annotations

import functools
from typing import Any

from grants.excel import templates
from grants.excel.safe_read import Sheet

# The header block (0-based rows; the values in column B).
FORM_ROW, RECIPIENT_ROW, ALLOCATION_ROW, YEAR_ROW, PERIOD_ROW, ALLOCATED_ROW = 2, 3, 4, 5, 6, 7
COMPLETED_BY_ROW, COMPLETED_ON_ROW = 8, 9
HEADING_ROW = 11  # the table's headings, under the block
# The locked cells of the block that say whom and what the form is for (0-based rows of
# column B): an importer compares them with what was issued.
DISPLAY_ROWS = (RECIPIENT_ROW, ALLOCATION_ROW, YEAR_ROW, PERIOD_ROW, ALLOCATED_ROW)

# The return form's grid.
RETURN_SHEET = "Return"
RETURN_FIRST_LINE_ROW = 12
# Columns of the expenditure lines (0-based).
NUMBER, TITLE, COST, SPEND, PROGRESS, MEASURE, TARGET, ACTUAL = range(8)
INPUT_COLUMNS = (SPEND, PROGRESS, MEASURE, TARGET, ACTUAL)


@functools.lru_cache(maxsize=1 << 16)  # a form's 1,000 rows of 50 columns, as read_display asks
def cell(row: int, col: int) -> str:
    """A cell's A1 reference from its 0-based row and column (as the writer names it), for
    any column: a received sheet may hold cells beyond Excel's last (XFD), and the problem
    that says so names them."""
    number, letters = col + 1, ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


@functools.lru_cache(maxsize=4)
def instructions_sheet(template: str) -> str:
    """The name of a form's instructions sheet (an importer reads no other sheet)."""
    return str(_layout(template)["sheet"]["instructions_sheet"])


@functools.lru_cache(maxsize=4)
def total_labels(template: str) -> frozenset[str]:
    """A form's Total row label: as the template has it now, or `Total`, as first issued."""
    return frozenset({str(_layout(template)["labels"]["total"]), "Total"})


@functools.lru_cache(maxsize=4)
def _layout(template: str) -> dict[str, Any]:
    """A form's template, read and checked once for both of the above (the reader asks for
    both as it reads its first form)."""
    return templates.load(template)


def read_display(sheet: Sheet) -> dict[str, object]:
    """The cells of a received form as saved (``Sheet!B4`` -> value; a formula's text), to
    compare with the locked cells recorded when the form was issued: a cell not listed is
    empty."""
    name, rows = sheet.name, sheet.rows
    shown: dict[str, object] = {_key(name, row, 1): sheet.at(row, 1).value for row in DISPLAY_ROWS}
    for r, c in sheet.filled:  # row by row, each row's cells in column order
        shown[_key(name, r, c)] = rows[r][c].value
    return shown


@functools.lru_cache(maxsize=1 << 16)  # as cell()
def _key(sheet: str, row: int, col: int) -> str:
    return f"{sheet}!{cell(row, col)}"


__all__ = [
    "ACTUAL", "ALLOCATED_ROW", "ALLOCATION_ROW", "COMPLETED_BY_ROW", "COMPLETED_ON_ROW", "COST",
    "DISPLAY_ROWS", "FORM_ROW", "HEADING_ROW", "INPUT_COLUMNS", "MEASURE", "NUMBER",
    "PERIOD_ROW", "PROGRESS", "RECIPIENT_ROW", "RETURN_FIRST_LINE_ROW", "RETURN_SHEET", "SPEND",
    "TARGET", "TITLE", "YEAR_ROW", "cell", "instructions_sheet", "read_display", "total_labels",
]  # fmt: skip
