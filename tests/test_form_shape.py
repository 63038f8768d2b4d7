"""A received form shows all it holds, and holds what was issued: both kinds of form (a
return and a spending plan form) are refused, naming the sheet, row, column or cell, when a
sheet is hidden or added (a workbook with two faces), a row or column hidden, a locked cell
beyond the header changed (a label, a line's number, a total's formula), or a number stored
as Excel never writes one."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from grants.db.models import PlanLine, ReturnFiling
from tests.conftest import Grants
from tests.helpers import books
from tests.test_plan_forms import CALENDAR
from tests.test_plan_forms import FORM as PLAN_FORM
from tests.test_plan_forms import fill as fill_plan
from tests.test_plans import FUND, PLAN
from tests.test_returns import CHERWELL
from tests.test_returns import fill as fill_return

Fill = Callable[..., Path]
KINDS = ["return", "plan"]


def form(grants: Grants, tmp_path: Path, kind: str) -> tuple[Path, str, Fill]:
    """An issued form of the kind: its path, its sheet, and how a recipient fills it."""
    out = tmp_path / "forms"
    if kind == "return":
        assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN))).exit_code == 0
        result = grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                        "mid-year", "-o", str(out))  # fmt: skip
        assert result.exit_code == 0, result.output
        return out / CHERWELL, "Return", fill_return
    assert grants("ledger", "load", str(books(tmp_path, FUND + CALENDAR))).exit_code == 0
    result = grants("plan", "issue", "--stream", "CSF", "--year", "2017-18", "-o", str(out))
    assert result.exit_code == 0, result.output
    return out / PLAN_FORM, "Plan", fill_plan


def send(grants: Grants, kind: str, path: Path) -> tuple[int, str]:
    result = grants("returns" if kind == "return" else "plan", "import", str(path))
    return result.exit_code, result.output


def recorded(engine: Engine, kind: str) -> int:
    """Returns filed, or plan lines recorded (the plan form's books have none of their own)."""
    with Session(engine) as session:
        table = ReturnFiling if kind == "return" else PlanLine
        return session.scalar(select(func.count()).select_from(table)) or 0


def edited(path: Path, target: Path, edit: Callable[[openpyxl.Workbook], None]) -> Path:
    wb = openpyxl.load_workbook(path)
    edit(wb)
    wb.save(target)
    return target


@pytest.mark.parametrize("kind", KINDS)
def test_the_form_as_filled_imports(grants: Grants, tmp_path: Path, kind: str) -> None:
    path, _, fill = form(grants, tmp_path, kind)
    code, output = send(grants, kind, fill(path, tmp_path / "f.xlsx"))
    assert code == 0, output


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_form_sheet_is_refused(
    grants: Grants, tmp_path: Path, engine: Engine, kind: str, state: str
) -> None:
    path, sheet, fill = form(grants, tmp_path, kind)

    def hide(wb: openpyxl.Workbook) -> None:
        wb.active = 1
        wb[sheet].sheet_state = state

    code, output = send(grants, kind, edited(fill(path, tmp_path / "f.xlsx"), tmp_path / "h.xlsx",
                                              hide))  # fmt: skip
    assert code == 1
    assert f"h.xlsx: the form's sheet {sheet!r} is {'hidden' if state == 'hidden' else 'very'}" \
        in output  # fmt: skip
    assert recorded(engine, kind) == 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("suffix", ["\u200b", " ", "1", " (2)"])
def test_a_sheet_added_is_refused_naming_it(
    grants: Grants, tmp_path: Path, engine: Engine, kind: str, suffix: str
) -> None:
    """A second face: a copy of the form, named like it, shown first, the real one hidden or
    not; or any other sheet. Names are compared exactly."""
    path, sheet, fill = form(grants, tmp_path, kind)
    name = (sheet.lower() if suffix == "1" else sheet) + suffix

    def add(wb: openpyxl.Workbook) -> None:
        copy = wb.copy_worksheet(wb[sheet])
        copy.title = name
        wb.move_sheet(copy, -(len(wb.sheetnames) - 1))
        wb.active = 0

    code, output = send(grants, kind, edited(fill(path, tmp_path / "f.xlsx"), tmp_path / "x.xlsx",
                                              add))  # fmt: skip
    assert code == 1
    assert (f"x.xlsx: the workbook has a sheet {name!r} the form does not: send the form as "
            "issued, with no sheets added") in output  # fmt: skip
    assert recorded(engine, kind) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_hidden_rows_and_columns_are_refused_naming_them(
    grants: Grants, tmp_path: Path, engine: Engine, kind: str
) -> None:
    path, sheet, fill = form(grants, tmp_path, kind)

    def hide(wb: openpyxl.Workbook) -> None:
        wb[sheet].column_dimensions["D"].hidden = True
        wb[sheet].row_dimensions[14].hidden = True

    code, output = send(grants, kind, edited(fill(path, tmp_path / "f.xlsx"), tmp_path / "h.xlsx",
                                              hide))  # fmt: skip
    assert code == 1
    assert f"h.xlsx: column D is hidden on the {sheet!r} sheet: unhide it and send again" in output
    assert f"h.xlsx: row 14 is hidden on the {sheet!r} sheet: unhide it and send again" in output
    assert recorded(engine, kind) == 0


LOCKED = {
    "return": [
        ("A1", "Anything"), ("A4", "Paid to"), ("C12", "Budget"), ("A13", 2),
        ("C15", "=99"), ("C15", "=SUM(C13:C14)*2"), ("D15", 0),
        ("B16", None),
    ],
    "plan": [
        ("A1", "Anything"), ("A8", "Grant"), ("E12", "Cost"), ("A13", 7),
        ("F13", "=1"), ("E33", "=SUM(E13:E32)*2"), ("B34", "Spare"), ("E34", "=0"),
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "ref", "value"), [(k, r, v) for k, cells in LOCKED.items() for r, v in cells]
)
def test_a_changed_locked_cell_is_refused_naming_it(
    grants: Grants, tmp_path: Path, engine: Engine, kind: str, ref: str, value: object
) -> None:
    path, sheet, fill = form(grants, tmp_path, kind)
    code, output = send(grants, kind, fill(path, tmp_path / "f.xlsx", **{ref: value}))
    assert code == 1, output
    assert f"f.xlsx:{sheet}!{ref}: this cell shows " in output
    assert "this cell is the council's and locked" in output
    assert recorded(engine, kind) == 0


def stored(path: Path, target: Path, sheet_part: str, ref: str, raw: str) -> Path:
    """A copy of the workbook whose cell ``ref`` stores ``raw`` as its number."""
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == sheet_part:
                text, n = re.subn(rf'(<c r="{ref}"[^>]*>)<v>[^<]*</v>', rf"\g<1><v>{raw}</v>",
                                  data.decode())  # fmt: skip
                assert n == 1
                data = text.encode()
            zout.writestr(info, data)
    return target


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("raw", ["1_000", "INF", "NaN", "0x10", " 12 "])
def test_a_number_excel_would_not_write_is_refused_naming_its_cell(
    grants: Grants, tmp_path: Path, engine: Engine, kind: str, raw: str
) -> None:
    path, sheet, fill = form(grants, tmp_path, kind)
    ref = "D13" if kind == "return" else "E14"
    filled = fill(path, tmp_path / "f.xlsx", **{ref: 1000})
    bad = stored(filled, tmp_path / "v.xlsx", "xl/worksheets/sheet1.xml", ref, raw)
    code, output = send(grants, kind, bad)
    assert code == 1
    assert f"v.xlsx:{sheet}!{ref}: {sheet}!{ref} holds a value Excel does not write ({raw!r})" \
        in output  # fmt: skip
    assert recorded(engine, kind) == 0
    good = stored(filled, tmp_path / "g.xlsx", "xl/worksheets/sheet1.xml", ref, "1.0E3")
    code, output = send(grants, kind, good)
    assert code == 0, output
