"""Spending plans and the reporting calendar in the books: plan, agree, due."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import PlanAgreement, PlanLine, ReturnStage
from tests.conftest import Grants
from tests.helpers import books

FUND = """\
2017-04-01 org PCC "The Commissioner"
  role: funder
2017-04-01 org HMG "Government"
  role: funder
2017-04-01 stream CSF "Community safety fund"
  kind: pcc-csf
  funder: PCC
2017-04-01 stream LGF "Growth fund"
  kind: lgf
  funder: HMG
2017-04-01 line CSF CHERWELL "Cherwell"
2017-04-01 line LGF ROAD "A road"
2017-04-01 award CSF 2017-18 100,000
2017-04-01 allocate CSF 2017-18 CHERWELL 58,542
"""

PLAN = """\
2017-04-01 due CSF 2017-18 mid-year 2017-10-31
  to: 2017-09-30
  note: "due dates as agreed with the OPCC"
2017-04-01 due CSF 2017-18 end-year 2018-04-30
  to: 2018-03-31
2017-06-20 plan CSF 2017-18 CHERWELL "Three IDVA posts"
  cost: 40,000
  objectives: "Support high-risk victims of domestic abuse"
  pcc-objective: 1
  other-funding: "Cherwell District Council: £5,000"
2017-06-20 plan CSF 2017-18 CHERWELL "ASB caseworker"
  cost: 18,542
  pcc-objective: 2
2017-06-30 agree CSF 2017-18 CHERWELL
"""


def test_plans_agreements_and_calendar_load(
    grants: Grants, tmp_path: Path, session: Session
) -> None:
    result = grants("ledger", "load", str(books(tmp_path, FUND + PLAN)))
    assert result.exit_code == 0, result.output
    assert "1 plan agreement, 2 plan line" in result.output and "2 return stage" in result.output
    again = grants("ledger", "load", str(books(tmp_path, FUND + PLAN)))
    assert again.exit_code == 0 and "nothing new" in again.output
    lines = session.scalars(select(PlanLine).order_by(PlanLine.position)).all()
    assert [(p.position, p.title, p.cost_pence, p.pcc_objective) for p in lines] == [
        (1, "Three IDVA posts", 4_000_000, 1),
        (2, "ASB caseworker", 1_854_200, 2),
    ]
    assert lines[0].other_funding == "Cherwell District Council: £5,000"
    assert session.scalars(select(PlanAgreement)).one().day.isoformat() == "2017-06-30"
    stages = {s.stage: (s.covers_to.isoformat(), s.due.isoformat())
              for s in session.scalars(select(ReturnStage))}  # fmt: skip
    assert stages == {
        "mid-year": ("2017-09-30", "2017-10-31"),
        "end-year": ("2018-03-31", "2018-04-30"),
    }


def test_plans_export_and_load_again_to_the_same_text(grants: Grants, tmp_path: Path) -> None:
    assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN))).exit_code == 0
    first, second = tmp_path / "first", tmp_path / "second"
    assert grants("ledger", "export", "-o", str(first)).exit_code == 0
    text = (first / "ledger-0001.grants").read_text(encoding="utf-8")
    assert '2017-06-20 plan CSF 2017-18 CHERWELL "Three IDVA posts"' in text
    assert "2017-06-30 agree CSF 2017-18 CHERWELL" in text
    assert "2017-04-01 due CSF 2017-18 mid-year 2017-10-31\n  to: 2017-09-30" in text
    fresh = Grants(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert fresh("db", "upgrade", "--for-restore").exit_code == 0
    assert fresh("ledger", "load", str(first / "main.grants")).exit_code == 0
    assert fresh("ledger", "export", "-o", str(second)).exit_code == 0
    for path in first.iterdir():
        assert (second / path.name).read_text() == path.read_text(), path.name


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ('2017-07-01 plan CSF 2017-18 CHERWELL "Late addition"\n  cost: 1\n', 1,
         "the plan for CHERWELL 2017-18 was agreed on 2017-06-30: its expenditure titles are "
         "fixed and returns must use them"),
        ("2017-06-30 agree CSF 2016-17 CHERWELL\n", 1,
         "there is no plan for CHERWELL 2016-17 to agree"),
        ('2017-06-20 plan LGF 2017-18 ROAD "Design"\n  cost: 1\n  pcc-objective: 2\n', 1,
         "pcc-objective applies to the PCC Community Safety Fund only"),
        ('2017-06-20 plan CSF 2017-18 CHERWELL "More"\n  cost: 1\n  pcc-objective: 6\n', 3,
         "pcc-objective '6' is not one of the PCC's objectives 1 to 5"),
        ('2017-06-20 plan CSF 2017-18 CHERWELL "More"\n', 1, "a plan line needs `cost:`"),
        ('2017-06-20 plan CSF 2017-18 CHERWELL "More"\n  cost: -5\n', 2, "cost -5 is negative"),
        ('2017-06-20 plan CSF 2017-19 CHERWELL "More"\n  cost: 5\n', 1,
         "'2017-19' is not a financial year: did you mean 2017-18 to 2018-19?"),
        ('2017-06-20 plan CSF 2017-18 NOWHERE "More"\n  cost: 5\n', 1,
         "there is no line 'NOWHERE' in stream 'CSF'"),
        ('2017-06-20 plan CSF 2017-18 CHERWELL "ASB caseworker"\n  cost: 5\n', 1,
         "the plan already has 'ASB caseworker' with other figures"),
        ("2017-04-01 due CSF 2017-18 q1 2017-07-31\n  to: 2018-06-30\n", 2,
         "to: 2018-06-30 is not in 2017-18 (2017-04-01 to 2018-03-31)"),
        ("2017-04-01 due CSF 2017-18 q1 2017-06-01\n  to: 2017-06-30\n", 1,
         "the return is due (2017-06-01) before the end of the period (2017-06-30)"),
        ("2017-04-01 due CSF 2017-18 Mid_Year 2017-10-31\n  to: 2017-09-30\n", 1,
         "'Mid_Year' is not a stage name"),
        ("2017-04-01 due CSF 2017-18 mid-year 2017-11-30\n  to: 2017-09-30\n", 1,
         "CSF 2017-18 already has the stage mid-year, due 2017-10-31"),
        ("2017-04-01 due CSF 2017-18 q1 31/07/2017\n  to: 2017-06-30\n", 1,
         "'31/07/2017' is not a date: write it as YYYY-MM-DD"),
    ],
)  # fmt: skip
def test_plan_and_calendar_mistakes_name_the_line(
    grants: Grants, tmp_path: Path, extra: str, line: int, message: str
) -> None:
    path = books(tmp_path, FUND + PLAN + extra)
    result = grants("ledger", "load", str(path))
    assert result.exit_code == 1, result.output
    # ``line``: the line of ``extra`` the problem is at.
    at = len((FUND + PLAN).splitlines()) + line
    assert f"{path}:{at}: {message}" in result.output
    assert "nothing was recorded" in result.output


def test_an_agreed_plan_takes_no_new_lines_in_a_later_load(grants: Grants, tmp_path: Path) -> None:
    assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN))).exit_code == 0
    backdated = '2017-06-25 plan CSF 2017-18 CHERWELL "Backdated extra"\n  cost: 1\n'
    path = books(tmp_path, FUND + PLAN + backdated, "later.grants")
    result = grants("ledger", "load", str(path))
    assert result.exit_code == 1
    assert "the plan for CHERWELL 2017-18 was agreed on 2017-06-30" in result.output


def test_plans_recorded_by_command_follow_the_books_rules(grants: Grants, tmp_path: Path) -> None:
    assert grants("ledger", "load", str(books(tmp_path, FUND))).exit_code == 0
    added = grants("plan", "add", "CSF", "2017-18", "CHERWELL", "Three IDVA posts", "--cost",
                   "40,000", "--pcc-objective", "1", "--date", "2017-06-20")  # fmt: skip
    assert added.exit_code == 0, added.output
    agreed = grants("plan", "agree", "CSF", "2017-18", "CHERWELL", "--date", "2017-06-30")
    assert agreed.exit_code == 0, agreed.output
    late = grants("plan", "add", "CSF", "2017-18", "CHERWELL", "Late", "--cost", "1")
    assert late.exit_code == 1
    assert "Error: the plan for CHERWELL 2017-18 was agreed on 2017-06-30" in late.output
    bad = grants("plan", "add", "CSF", "2017-18", "CHERWELL", "X", "--cost", "12.345")
    assert bad.exit_code == 1 and "has fractions of a penny" in bad.output
    shown = json.loads(grants("plan", "show", "--stream", "CSF", "--year", "2017-18",
                              "--json").output)  # fmt: skip
    assert shown == [{"line": "CHERWELL", "position": 1, "title": "Three IDVA posts",
                      "cost": "40000.00", "pcc_objective": 1, "other_funding": None,
                      "agreed": "2017-06-30"}]  # fmt: skip
    out = tmp_path / "export"
    assert grants("ledger", "export", "-o", str(out)).exit_code == 0
    text = (out / "ledger-0001.grants").read_text(encoding="utf-8")
    assert "origin: \"command: grants plan add CSF 2017-18 CHERWELL 'Three IDVA posts'" in text
