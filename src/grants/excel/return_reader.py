"""A received return form as plain rows (grants.services.form_rows.ReturnRows), or refused.

The cells are where grants.excel.form_grid says (no workbook writer is imported to read a
form). The file is read by grants.excel.safe_read (every check of a hostile workbook) from a
path or from a file name and its bytes, as a web upload gives them. Every row from the first
expenditure line down is read by kind; grants.services.returns_import decides, with the form
as issued, which rows are lines and what each must hold.
"""

from __future__ import annotations

from pathlib import Path

from grants.excel import cells, form_shape
from grants.excel import form_grid as grid
from grants.excel.form_grid import instructions_sheet, read_display, total_labels
from grants.excel.safe_read import Sheet
from grants.excel.xlsx_rules import column_letter
from grants.services.form_rows import Problem, Received, ReturnRow, ReturnRows, Typed
from grants.text import Kind

MAX_ROWS, MAX_COLUMNS = 1000, 50
PROGRESS = "progress and outcomes"
COLUMNS = {
    name: column_letter(col + 1)
    for name, col in (
        ("title", grid.TITLE), ("cost", grid.COST), ("spend", grid.SPEND),
        ("progress", grid.PROGRESS), ("measure", grid.MEASURE), ("target", grid.TARGET),
        ("actual", grid.ACTUAL),
    )
}  # fmt: skip


def read_return(source: Path | Received) -> tuple[ReturnRows | None, list[Problem]]:
    """The form's rows, or why the file is not a return form that can be read."""
    sheet, problems = form_shape.open_form(
        source, "return form issued by `grants returns issue`", grid.RETURN_SHEET,
        instructions_sheet("return-form"), (MAX_ROWS, MAX_COLUMNS),
    )  # fmt: skip
    if sheet is None:
        return None, problems
    return rows_of(source.name, sheet), []


def rows_of(name: str, sheet: Sheet) -> ReturnRows:
    at = sheet.at
    identity = at(grid.FORM_ROW, 1)
    return ReturnRows(
        name, sheet.sha256, sheet.content,
        Typed(_ref(grid.FORM_ROW, 1), identity.value),
        read_display(sheet),
        cells.text(at(grid.COMPLETED_BY_ROW, 1), _ref(grid.COMPLETED_BY_ROW, 1), "completed by"),
        cells.day(at(grid.COMPLETED_ON_ROW, 1), _ref(grid.COMPLETED_ON_ROW, 1),
                  "the date completed"),
        [line_row(sheet, row) for row in range(grid.RETURN_FIRST_LINE_ROW, len(sheet.rows))],
        grid.RETURN_SHEET, grid.RETURN_FIRST_LINE_ROW, COLUMNS,
    )  # fmt: skip


def line_row(sheet: Sheet, row: int) -> ReturnRow:
    """What a row of the lines holds (0-based): the locked title and cost as saved, spend to
    date in pence, progress and outcomes, the output measure, its target and actual."""
    at = sheet.at
    title = at(row, grid.TITLE).value
    first = next(
        ((_ref(row, col), c.value) for col, c in enumerate(sheet.rows[row])
         if c.value not in (None, "")),
        None,
    )  # fmt: skip
    return ReturnRow(
        row, at(row, grid.NUMBER).value,
        Typed(_ref(row, grid.TITLE), title),
        Typed(_ref(row, grid.COST), at(row, grid.COST).value),
        cells.amount(at(row, grid.SPEND), _ref(row, grid.SPEND), "spend to date"),
        cells.text(at(row, grid.PROGRESS), _ref(row, grid.PROGRESS), PROGRESS, Kind.FREE),
        cells.text(at(row, grid.MEASURE), _ref(row, grid.MEASURE), "output measure"),
        cells.count(at(row, grid.TARGET), _ref(row, grid.TARGET), "output target"),
        cells.count(at(row, grid.ACTUAL), _ref(row, grid.ACTUAL), "output actual"),
        str(title or "").strip() in total_labels("return-form"),
        first,
    )  # fmt: skip


def _ref(row: int, col: int) -> str:
    return cells.ref(grid.RETURN_SHEET, row, col)


__all__ = ["MAX_COLUMNS", "MAX_ROWS", "line_row", "read_return", "rows_of"]
