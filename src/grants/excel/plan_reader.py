"""A received spending plan form as plain rows (grants.services.form_rows.PlanRows), or
refused: read from a path or from a file name and its bytes (a web upload) by
grants.excel.safe_read, every line row read by kind. grants.services.plan_forms decides, with
the form as issued, which rows are recorded lines and which are new."""

from __future__ import annotations

from pathlib import Path

from grants.excel import cells, form_shape
from grants.excel import plan_form as grid
from grants.excel.form_header import instructions_sheet, read_display, total_labels
from grants.excel.safe_read import Sheet
from grants.services.form_rows import PlanRow, PlanRows, Problem, Received, Typed
from grants.text import MAX_FREE, Kind

MAX_ROWS, MAX_COLUMNS = 1000, 50


def read_plan(source: Path | Received) -> tuple[PlanRows | None, list[Problem]]:
    """The form's rows, or why the file is not a plan form that can be read."""
    sheet, problems = form_shape.open_form(
        source, "plan form issued by `grants plan issue`", grid.SHEET,
        instructions_sheet("plan-form"), (MAX_ROWS, MAX_COLUMNS),
    )  # fmt: skip
    if sheet is None:
        return None, problems
    return rows_of(source.name, sheet), []


def rows_of(name: str, sheet: Sheet) -> PlanRows:
    at = sheet.at
    below = []
    for row in range(grid.TOTAL_ROW + 2, len(sheet.rows)):
        for col, c in enumerate(sheet.rows[row]):
            if c.value not in (None, ""):
                below.append((_ref(row, col), c.value))
                break
    total_label = str(at(grid.TOTAL_ROW, grid.TITLE).value or "").strip()
    return PlanRows(
        name, sheet.sha256, sheet.content,
        Typed(_ref(grid.FORM_ROW, 1), at(grid.FORM_ROW, 1).value),
        read_display(sheet),
        cells.text(at(grid.COMPLETED_BY_ROW, 1), _ref(grid.COMPLETED_BY_ROW, 1), "completed by"),
        cells.day(at(grid.COMPLETED_ON_ROW, 1), _ref(grid.COMPLETED_ON_ROW, 1),
                  "the date completed"),
        [_line(sheet, row) for row in range(grid.FIRST_LINE_ROW, grid.TOTAL_ROW)],
        _ref(grid.TOTAL_ROW, grid.TITLE),
        total_label in total_labels("plan-form"),
        _ref(grid.TOTAL_ROW, grid.COST),
        below,
    )  # fmt: skip


def _line(sheet: Sheet, row: int) -> PlanRow:
    at = sheet.at
    objective = at(row, grid.OBJECTIVE)
    return PlanRow(
        row, row - grid.FIRST_LINE_ROW + 1,
        cells.text(at(row, grid.TITLE), _ref(row, grid.TITLE), "the expenditure title",
                   Kind.NAME, MAX_FREE),
        cells.text(at(row, grid.OBJECTIVES), _ref(row, grid.OBJECTIVES), "the objectives",
                   Kind.FREE),
        cells.count(objective, _ref(row, grid.OBJECTIVE), "the PCC strategic objective"),
        objective.value == grid.not_pcc(),
        cells.amount(at(row, grid.COST), _ref(row, grid.COST), "the cost to the fund"),
        cells.text(at(row, grid.OTHER), _ref(row, grid.OTHER), "other funding", Kind.FREE),
    )  # fmt: skip


def _ref(row: int, col: int) -> str:
    return cells.ref(grid.SHEET, row, col)


__all__ = ["MAX_COLUMNS", "MAX_ROWS", "read_plan", "rows_of"]
