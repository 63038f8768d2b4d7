"""Spending plan forms out and back: issue, fill as a recipient would, import; the plan
stage of the reporting calendar in reconcile."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from grants.db.models import PlanLine
from grants.formatting import day
from tests.conftest import Grants
from tests.helpers import books
from tests.test_plans import FUND

CALENDAR = """\
2017-04-01 due CSF 2017-18 plan 2017-06-30
  note: "the grant agreement is signed in June"
2017-04-01 due CSF 2017-18 mid-year 2017-10-31
  to: 2017-09-30
"""
FORM = "csf-2017-18-plan-cherwell.xlsx"


@pytest.fixture
def issued(grants: Grants, tmp_path: Path) -> Path:
    assert grants("ledger", "load", str(books(tmp_path, FUND + CALENDAR))).exit_code == 0
    result = grants("plan", "issue", "--stream", "CSF", "--year", "2017-18",
                    "-o", str(tmp_path / "plans"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 plan form in" in result.output
    return tmp_path / "plans" / FORM


LINES = {
    "B13": "Three IDVA posts", "C13": "Support high-risk victims", "D13": 1,
    "E13": "£40,000", "G13": "Cherwell District Council £5,000",
    "B14": "ASB caseworker", "D14": "2", "E14": 18542,
}  # fmt: skip


def fill(form: Path, target: Path, **cells: object) -> Path:
    """Fill the plan form as a recipient would (openpyxl standing in for Excel)."""
    values: dict[str, object] = {"B9": "Jo Bloggs", "B10": datetime(2017, 5, 20), **LINES}
    values.update(cells)
    wb = openpyxl.load_workbook(form)
    ws = wb["Plan"]
    for ref, value in values.items():
        ws[ref] = value
    wb.save(target)
    return target


def plan_lines(engine: Engine) -> list[tuple[object, ...]]:
    """The plan lines recorded, read in a short transaction of its own (the CLI writes next)."""
    with Session(engine) as session:
        return [
            (p.position, p.title, p.cost_pence, p.pcc_objective, p.other_funding, p.origin, p.day)
            for p in session.scalars(select(PlanLine).order_by(PlanLine.position))
        ]


def test_the_form_is_locked_except_its_inputs(issued: Path) -> None:
    wb = openpyxl.load_workbook(issued)
    ws = wb["Plan"]
    assert ws.protection.sheet
    assert str(ws["B3"].value).startswith("grants plan form 2|CSF|2017-18|CHERWELL|")
    assert ws["B8"].value == 58542
    assert (
        ws["B7"].value
        == f"for {day(date(2017, 4, 1))} to {day(date(2018, 3, 31))}; due {day(date(2017, 6, 30))}"
    )
    for ref in ("B13", "C13", "D13", "E13", "G13", "B32", "B9", "B10"):
        assert ws[ref].protection.locked is False, ref
    for ref in ("A13", "F13", "B3", "B8", "E33", "E34"):
        assert ws[ref].protection.locked is not False, ref
    assert ws["E33"].value == "=SUM(E13:E32)" and ws["B33"].value == "Total"
    notes = [c.value for c in wb["Instructions"]["A"]]
    # The books give no objectives of their own: the neutral ones name the books' funder.
    assert "Strategic objectives of The Commissioner" in notes
    assert "3. The third strategic objective of The Commissioner's plan" in notes


def test_a_filled_plan_is_recorded_once(
    grants: Grants, issued: Path, tmp_path: Path, engine: Engine
) -> None:
    filled = fill(issued, tmp_path / "cherwell.xlsx")
    dry = grants("plan", "import", "--dry-run", str(filled))
    assert dry.exit_code == 0, dry.output
    assert ("cherwell.xlsx: would record the spending plan for CSF CHERWELL 2017-18: 2 new "
            "lines, 0 already recorded, costing £58,542.00 of the allocation of "
            "£58,542.00") in dry.output  # fmt: skip
    assert plan_lines(engine) == []
    result = grants("plan", "import", "--received", "2017-05-22", str(filled))
    assert result.exit_code == 0, result.output
    rows = plan_lines(engine)
    assert [r[:5] for r in rows] == [
        (1, "Three IDVA posts", 4_000_000, 1, "Cherwell District Council £5,000"),
        (2, "ASB caseworker", 1_854_200, 2, None),
    ]
    assert [(r[5], str(r[6])) for r in rows] == [
        ("cherwell.xlsx:Plan!B13", "2017-05-22"), ("cherwell.xlsx:Plan!B14", "2017-05-22"),
    ]  # fmt: skip
    with Session(engine) as session:
        note = session.scalars(select(PlanLine.note)).first()
    assert (
        note
        == f"completed by Jo Bloggs; completed on {day(date(2017, 5, 20))}; received {day(date(2017, 5, 22))}"
    )
    again = grants("plan", "import", str(filled))
    assert again.exit_code == 0
    assert (
        f"already imported (its lines are in the plan, dated {day(date(2017, 5, 22))})"
        in again.output
    )
    assert len(plan_lines(engine)) == 2
    # The return forms now list the plan's lines.
    out = tmp_path / "returns"
    issue = grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                   "mid-year", "-o", str(out))  # fmt: skip
    assert issue.exit_code == 0 and "2 lines, its plan" in issue.output


def test_a_second_form_adds_lines_and_cannot_change_recorded_ones(
    grants: Grants, issued: Path, tmp_path: Path, engine: Engine
) -> None:
    first = fill(issued, tmp_path / "first.xlsx", B14=None, D14=None, E14=None)
    assert grants("plan", "import", str(first)).exit_code == 0
    stale = fill(issued, tmp_path / "stale.xlsx", B13="Something else")
    result = grants("plan", "import", str(stale))
    assert result.exit_code == 1
    assert "stale.xlsx:Plan!B3: the form's identity does not match" in result.output
    result = grants("plan", "issue", "--stream", "CSF", "--year", "2017-18", "-o",
                    str(tmp_path / "again"))  # fmt: skip
    assert "1 line recorded" in result.output
    wb = openpyxl.load_workbook(tmp_path / "again" / FORM)
    assert wb["Plan"]["B13"].value == "Three IDVA posts"
    assert wb["Plan"]["B13"].protection.locked is not False
    changed = tmp_path / "changed.xlsx"
    ws = wb["Plan"]
    ws["E13"], ws["B14"], ws["D14"], ws["E14"] = 30000, "ASB caseworker", 2, 18542
    wb.save(changed)
    result = grants("plan", "import", str(changed))
    assert result.exit_code == 1
    assert (
        "changed.xlsx:Plan!B13: line 1, 'Three IDVA posts' at £40,000.00, is already "
        "recorded and cannot be changed here: use the form as issued"
    ) in result.output
    ws["E13"] = 40000
    wb.save(changed)
    result = grants("plan", "import", str(changed))
    assert result.exit_code == 0, result.output
    assert "1 new line, 1 already recorded" in result.output
    assert [r[1] for r in plan_lines(engine)] == ["Three IDVA posts", "ASB caseworker"]


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        ({"E13": "forty thousand"}, "Plan!E13: the cost to the fund: "),
        ({"E13": -5}, "Plan!E13: the cost to the fund cannot be negative (-£5.00)"),
        ({"E13": None}, "Plan!E13: give the line's cost to the fund, such as 12,345.67"),
        ({"B13": None}, "Plan!B13: the line has no expenditure title"),
        ({"B13": "=A1"}, "Plan!B13: the expenditure title is a formula: type the text itself"),
        ({"B14": "three idva posts"},
         "Plan!B14: 'three idva posts' is already line 1: each line of a plan needs its own"),
        ({"D13": 7}, "Plan!D13: 7 is not a PCC strategic objective: give 1 to 5"),
        ({"D14": None}, "Plan!D14: give the PCC strategic objective the line serves, 1 to 5"),
        ({"B10": datetime(2015, 1, 1)}, "Plan!B10: the date completed 01/01/2015 is not between"),
        ({"A40": "extra line"}, "Plan!A40: something was added below the form ('extra line')"),
        ({"B13": "x" * 201}, "Plan!B13: the title is 201 characters: keep it to 200"),
        ({"B13": "Three \u202eposts"}, "Plan!B13: the expenditure title 'Three \\u202eposts' "
         "has U+202E RIGHT-TO-LEFT OVERRIDE at character 7: a bidirectional control, which "
         "can show text in another order than it is stored; type it again without it"),
        ({"C13": "Support\u2060victims"}, "Plan!C13: the objectives 'Support\\u2060victims' "
         "has U+2060 WORD JOINER at character 8: an invisible character"),
        ({"E13": 1_000_000_000_000}, "Plan!E13: the cost to the fund: 1000000000000 is "
         "larger than one entry may hold (at most £999,999,999,999.99); check the amount\n"),
    ],
)  # fmt: skip
def test_cell_problems_name_the_cell_and_nothing_is_written(
    grants: Grants, issued: Path, tmp_path: Path, engine: Engine,
    cells: dict[str, object], problem: str,
) -> None:  # fmt: skip
    filled = fill(issued, tmp_path / "bad.xlsx", **cells)
    result = grants("plan", "import", str(filled))
    assert result.exit_code == 1
    assert f"bad.xlsx:{problem}" in result.output
    assert "Traceback" not in result.output
    assert plan_lines(engine) == []


def test_a_hostile_file_is_refused_before_it_is_parsed(
    grants: Grants, issued: Path, tmp_path: Path, engine: Engine
) -> None:
    fake = tmp_path / "plan.xlsx"
    fake.write_text("Title,Cost\nIDVA,40000\n", encoding="utf-8")
    result = grants("plan", "import", str(fake))
    assert result.exit_code == 1
    assert "plan.xlsx: this is not an Excel .xlsx workbook" in result.output
    assert "[E_NOT_XLSX]" in result.output
    return_form = tmp_path / "return.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Return"
    wb.save(return_form)
    result = grants("plan", "import", str(return_form))
    assert result.exit_code == 1 and "there is no sheet 'Plan'" in result.output
    assert plan_lines(engine) == []


def test_an_agreed_plan_takes_no_form_and_no_new_lines(
    grants: Grants, issued: Path, tmp_path: Path, engine: Engine
) -> None:
    assert grants("plan", "import", str(fill(issued, tmp_path / "plan.xlsx"))).exit_code == 0
    assert grants("plan", "agree", "CSF", "2017-18", "CHERWELL", "--date",
                  "2017-06-20").exit_code == 0  # fmt: skip
    result = grants("plan", "issue", "--stream", "CSF", "--year", "2017-18", "-o",
                    str(tmp_path / "again"))  # fmt: skip
    assert result.exit_code == 1
    assert f"CHERWELL: the plan was agreed on {day(date(2017, 6, 20))}; no form" in result.output
    assert "no plan of CSF 2017-18 can take a form (agreed, or full): nothing to ask for" in (
        result.output
    )
    late = fill(issued, tmp_path / "late.xlsx", B13="New work", E13=1)
    result = grants("plan", "import", str(late))
    assert result.exit_code == 1
    assert ("late.xlsx:Plan!B3: the spending plan for CHERWELL 2017-18 was agreed on 20 June "
            "2017: its lines are fixed") in result.output  # fmt: skip
    assert len(plan_lines(engine)) == 2


def test_outside_the_pcc_fund_the_objective_stays_blank(
    grants: Grants, tmp_path: Path, engine: Engine
) -> None:
    lgf = (
        FUND
        + "2017-04-01 award LGF 2017-18 500,000\n2017-04-01 allocate LGF 2017-18 ROAD 500,000\n"
    )
    assert grants("ledger", "load", str(books(tmp_path, lgf))).exit_code == 0
    out = tmp_path / "plans"
    result = grants("plan", "issue", "--stream", "LGF", "--year", "2017-18", "-o", str(out))
    assert result.exit_code == 0, result.output
    form = out / "lgf-2017-18-plan-road.xlsx"
    wb = openpyxl.load_workbook(form)
    assert wb["Plan"]["D13"].value == "PCC fund only"
    assert not any(
        "strategic objective" in str(c.value).casefold() for c in wb["Instructions"]["A"]
    )
    values = {"B13": "Junction works", "E13": 500000, "D13": 3}
    bad = fill(form, tmp_path / "bad.xlsx", **{**{k: None for k in LINES}, **values})
    result = grants("plan", "import", str(bad))
    assert result.exit_code == 1
    assert ("bad.xlsx:Plan!D13: a PCC strategic objective applies to the PCC Community Safety "
            "Fund only: leave the cell blank") in result.output  # fmt: skip
    good = fill(form, tmp_path / "good.xlsx", **{**{k: None for k in LINES}, **values, "D13": None})
    result = grants("plan", "import", str(good))
    assert result.exit_code == 0, result.output
    assert [r[1:4] for r in plan_lines(engine)] == [("Junction works", 50_000_000, None)]


def reconcile(g: Grants, as_of: str) -> tuple[int, list[tuple[str, str | None, str]]]:
    result = g("reconcile", "--stream", "CSF", "--json", "--as-of", as_of)
    data = json.loads(result.output)
    return result.exit_code, [
        (f["severity"], f["line"], f["message"])
        for f in data["findings"]
        if f["check"] == "plans due"
    ]


def test_the_plan_stage_is_met_by_the_plan_then_its_agreement(
    grants: Grants, issued: Path, tmp_path: Path
) -> None:
    assert reconcile(grants, "2017-06-30") == (0, [])
    assert reconcile(grants, "2017-07-05") == (
        1, [("error", "CHERWELL", f"no spending plan is recorded; it was due {day(date(2017, 6, 30))} (5 days "
                                  "ago)")],
    )  # fmt: skip
    filled = fill(issued, tmp_path / "plan.xlsx")
    assert grants("plan", "import", "--received", "2017-07-03", str(filled)).exit_code == 0
    assert reconcile(grants, "2017-07-05") == (
        0,
        [
            ("warning", "CHERWELL", f"the spending plan was recorded {day(date(2017, 7, 3))}, after it was "
                                    f"due ({day(date(2017, 6, 30))})"),
            ("warning", "CHERWELL", f"the spending plan (recorded {day(date(2017, 7, 3))}) is not yet "
             "agreed: record the agreement with `grants plan agree CSF 2017-18 CHERWELL`"),
        ],
    )  # fmt: skip
    agreed = grants("plan", "agree", "CSF", "2017-18", "CHERWELL", "--date", "2017-07-04")
    assert agreed.exit_code == 0 and "warning" not in agreed.output  # the plan is the allocation
    assert reconcile(grants, "2017-07-05") == (
        0, [("warning", "CHERWELL", f"the spending plan was recorded {day(date(2017, 7, 3))}, after it was "
                                    f"due ({day(date(2017, 6, 30))})")],
    )  # fmt: skip


def test_return_forms_are_not_issued_for_the_plan_stage(grants: Grants, issued: Path) -> None:
    result = grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                    "plan", "-o", str(issued.parent / "x"))  # fmt: skip
    assert result.exit_code == 1
    assert ("the plan stage is met by a spending plan, not a return: issue plan forms with "
            "`grants plan issue --stream CSF --year 2017-18`") in result.output  # fmt: skip


def test_the_plan_stage_needs_no_end_date_but_others_do(
    grants: Grants, tmp_path: Path, engine: Engine
) -> None:
    bad = FUND + "2017-04-01 due CSF 2017-18 mid-year 2017-10-31\n"
    result = grants("ledger", "load", str(books(tmp_path, bad)))
    assert result.exit_code == 1 and "a stage needs `to:`" in result.output
    assert plan_lines(engine) == []


def test_a_title_that_looks_like_a_formula_goes_out_as_text(
    grants: Grants, issued: Path, tmp_path: Path
) -> None:
    """Text a recipient typed reaches the forms we write as inert text, never a formula."""
    filled = fill(issued, tmp_path / "plan.xlsx", B14='=HYPERLINK("http://x","y")')
    ws = openpyxl.load_workbook(filled)["Plan"]
    assert ws["B14"].data_type == "f"  # openpyxl wrote it as a live formula: refused
    result = grants("plan", "import", str(filled))
    assert result.exit_code == 1 and "Plan!B14: the expenditure title is a formula" in result.output
    wb = openpyxl.load_workbook(filled)
    wb["Plan"]["B14"].value = '=HYPERLINK("http://x","y")'
    wb["Plan"]["B14"].data_type = "s"  # typed as text (as Excel stores '=... with a quote)
    wb.save(tmp_path / "text.xlsx")
    result = grants("plan", "import", str(tmp_path / "text.xlsx"))
    assert result.exit_code == 0, result.output
    out = tmp_path / "returns"
    assert grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                  "mid-year", "-o", str(out)).exit_code == 0  # fmt: skip
    form = openpyxl.load_workbook(out / "csf-2017-18-mid-year-cherwell.xlsx")["Return"]
    assert form["B14"].data_type == "s"
    assert form["B14"].value == '=HYPERLINK("http://x","y")'


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed here")
def test_a_plan_saved_by_libreoffice_with_a_mistake_then_corrected(
    grants: Grants, issued: Path, tmp_path: Path, engine: Engine
) -> None:
    """As a new user would: a mistake, the message naming the cell, the fix, the import."""

    def saved(filled: Path) -> Path:
        out = tmp_path / f"saved-{filled.parent.name}"
        done = subprocess.run(
            [SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
             "--convert-to", "xlsx", "--outdir", str(out), str(filled)],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return out / filled.name

    wrong = saved(fill(issued, tmp_path / "cherwell.xlsx", E14="18,542.5.0"))
    result = grants("plan", "import", str(wrong))
    assert result.exit_code == 1
    assert "cherwell.xlsx:Plan!E14: the cost to the fund: " in result.output
    assert "is not an amount of money: type pounds and pence, such as 12,345.67" in (result.output)
    assert "negative" not in result.output  # no form cell takes a negative amount
    assert plan_lines(engine) == []
    (tmp_path / "fixed").mkdir()
    right = saved(fill(issued, tmp_path / "fixed" / "cherwell.xlsx", E14="18,542.00"))
    result = grants("plan", "import", "--received", "2017-06-01", str(right))
    assert result.exit_code == 0, result.output
    assert [r[1:4] for r in plan_lines(engine)] == [
        ("Three IDVA posts", 4_000_000, 1), ("ASB caseworker", 1_854_200, 2),
    ]  # fmt: skip
    code, due = reconcile(grants, "2017-07-05")
    assert code == 0
    assert due == [("warning", "CHERWELL", f"the spending plan (recorded {day(date(2017, 6, 1))}) is not yet "
                    "agreed: record the agreement with `grants plan agree CSF 2017-18 "
                    "CHERWELL`")]  # fmt: skip


def test_a_plan_may_be_due_before_its_year_starts(grants: Grants, tmp_path: Path) -> None:
    early = FUND + "2017-02-01 due CSF 2017-18 plan 2017-03-31\n"
    result = grants("ledger", "load", str(books(tmp_path, early)))
    assert result.exit_code == 0, result.output
    assert reconcile(grants, "2017-04-05") == (
        1, [("error", "CHERWELL", f"no spending plan is recorded; it was due {day(date(2017, 3, 31))} (5 days "
                                  "ago)")],
    )  # fmt: skip
    late = FUND + "2017-02-01 due CSF 2017-18 plan 2015-03-31\n"
    result = grants("ledger", "load", str(books(tmp_path, late, "late.grants")))
    assert result.exit_code == 1
    assert ("the spending plan for 2017-18 is due 2015-03-31: give a day from 2016-04-01 to "
            "2018-03-31") in result.output  # fmt: skip


def test_a_plan_with_as_many_lines_as_a_form_holds_gets_no_form(
    grants: Grants, tmp_path: Path
) -> None:
    lines = "".join(
        f'2017-05-01 plan CSF 2017-18 CHERWELL "Line {i}"\n  cost: 100\n  pcc-objective: 1\n'
        for i in range(1, 21)
    )
    assert grants("ledger", "load", str(books(tmp_path, FUND + lines))).exit_code == 0
    result = grants("plan", "issue", "--stream", "CSF", "--year", "2017-18", "-o",
                    str(tmp_path / "plans"))  # fmt: skip
    assert result.exit_code == 1
    assert ("CHERWELL: the plan already has 20 lines, as many as a form holds; no form (add "
            "lines with `grants plan add`)") in result.output  # fmt: skip


def test_agreeing_a_plan_that_is_not_the_allocation_warns(
    grants: Grants, issued: Path, tmp_path: Path
) -> None:
    short = fill(issued, tmp_path / "short.xlsx", B14=None, D14=None, E14=None)
    result = grants("plan", "import", str(short))
    assert result.exit_code == 0, result.output
    assert ("short.xlsx:Plan!E33: the plan's lines cost £40,000.00, £18,542.00 less than the "
            "allocation of £58,542.00") in result.output  # fmt: skip
    agreed = grants("plan", "agree", "CSF", "2017-18", "CHERWELL", "--date", "2017-06-20")
    assert agreed.exit_code == 0
    assert ("warning: the agreed plan's lines cost £40,000.00, £18,542.00 less than the "
            "allocation of £58,542.00; `grants reconcile` reports it") in agreed.output  # fmt: skip
