"""What a recipient sees of a received form must be all there is: the form's sheet shown, no
sheet besides the form's own two (a second face, shown while the form's sheet is hidden),
and no row or column of the form hidden. Checked before any cell is read as a figure."""

from __future__ import annotations

from pathlib import Path

from grants.excel import cells
from grants.excel.safe_read import Sheet, UnsafeFile, read_sheet
from grants.excel.xlsx_rules import column_letter
from grants.services.form_rows import Problem, Received

CODE = "E_TEMPLATE_MODIFIED"


def problems(file: str, sheet: Sheet, instructions: str) -> list[Problem]:
    """Why the workbook does not show what it holds, each naming the sheet, row or column."""
    found: list[Problem] = []

    def refuse(message: str) -> None:
        found.append(Problem(file, None, f"{message} [{CODE}]"))

    name = sheet.name
    state = sheet.states.get(name, "visible")
    if state != "visible":
        how = "very hidden (only a macro or an XML editor can do that)" if state == "veryHidden" \
            else "hidden"  # fmt: skip
        refuse(f"the form's sheet {name!r} is {how}: unhide it, send the form as issued")
    for other in sheet.sheetnames:
        if other not in (name, instructions):
            refuse(f"the workbook has a sheet {other!r} the form does not: send the form as "
                   "issued, with no sheets added")  # fmt: skip
    if sheet.active is not None and sheet.states.get(sheet.active, "visible") != "visible":
        refuse(f"the workbook opens at the hidden sheet {sheet.active!r}: send the form as issued")
    for first, last in _runs(sorted(sheet.hidden_columns)):
        one = first == last
        a, b = column_letter(first + 1), column_letter(last + 1)
        which = f"column {a} is" if one else f"columns {a} to {b} are"
        refuse(f"{which} hidden on the {name!r} sheet: unhide {'it' if one else 'them'} and "
               "send again")  # fmt: skip
    for first, last in _runs(sorted(r for r in sheet.hidden_rows if r < len(sheet.rows))):
        one = first == last
        which = f"row {first + 1} is" if one else f"rows {first + 1} to {last + 1} are"
        refuse(f"{which} hidden on the {name!r} sheet: unhide {'it' if one else 'them'} and "
               "send again")  # fmt: skip
    return found


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted numbers as runs of consecutive ones: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and runs[-1][1] == n - 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


__all__ = ["problems"]


def open_form(
    source: Path | Received, form: str, sheet_name: str, instructions: str, limits: tuple[int, int]
) -> tuple[Sheet | None, list[Problem]]:
    """The form's sheet read as a hostile file, or why it is not a ``form`` that can be read
    (``form`` names it in the message: "return form issued by `grants returns issue`")."""
    name = source.name
    try:
        sheet = read_sheet(source, sheet_name, *limits)
    except UnsafeFile as exc:
        return None, [Problem(name, exc.where, f"{exc} [{exc.code}]")]
    if sheet_name not in sheet.sheetnames:
        message = f"there is no sheet {sheet_name!r}: this is not a {form} [E_TEMPLATE_MISMATCH]"
        return None, [Problem(name, None, message)]
    if sheet.beyond is not None:
        message = "the sheet is filled far beyond the form: use the form as issued"
        where = cells.ref(sheet_name, *sheet.beyond)
        return None, [Problem(name, where, f"{message} [E_SHEET_TOO_BIG]")]
    shape = problems(name, sheet, instructions)
    return (None, shape) if shape else (sheet, [])
