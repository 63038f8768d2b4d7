"""A filed return against the workbook it came from: the ledger keeps the workbook received
(table attachment), so `grants verify` can say when a return's recorded figures are not the
ones its workbook holds (a return edited in an export, say, with its workbook left as sent).

grants.services.verify takes ``differences`` as its reader of workbooks (services read no
workbook themselves): the command line and the web service pass it in.
"""

from __future__ import annotations

from typing import Any

from grants.excel import return_form as grid
from grants.excel.return_reader import MAX_COLUMNS, MAX_ROWS, line_row
from grants.excel.safe_read import UnsafeFile, read_sheet
from grants.services.form_rows import Received

FIELDS = ("spend to date (pence)", "progress", "output measure", "output target", "output actual")


def differences(content: bytes, figures: list[list[Any]]) -> list[str]:
    """Where the figures recorded for a return (its rows of return_figure: id, position,
    title, cell, spend, progress, measure, target, actual) are not what its workbook says."""
    try:
        sheet = read_sheet(Received("return.xlsx", content), grid.SHEET, MAX_ROWS, MAX_COLUMNS)
    except UnsafeFile as exc:
        return [f"its workbook cannot be read ({exc})"]
    out: list[str] = []
    for figure in figures:
        position, recorded = figure[1], tuple(figure[4:9])
        if not isinstance(position, int) or position < 1:
            continue  # a figure with no place on the form: named by the chain
        row = grid.FIRST_LINE_ROW + position - 1
        if row >= len(sheet.rows):
            found: tuple[Any, ...] = (None,) * len(FIELDS)
        else:
            x = line_row(sheet, row)
            found = tuple(c.value for c in (x.spend, x.progress, x.measure, x.target, x.actual))
        for name, mine, theirs in zip(FIELDS, recorded, found, strict=True):
            if mine != theirs:
                out.append(f"line {position}'s {name} is {mine!r} where its workbook has "
                           f"{theirs!r}")  # fmt: skip
    return out


__all__ = ["differences"]
