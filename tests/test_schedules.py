"""Payment schedules: instalments per allocation in the books and as a command, one basis
per schedule, and reconcile's payments due and overdue as of its date, on both engines."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Instalment
from grants.errors import BooksError
from grants.services.reconcile import reconcile
from tests.conftest import Grants
from tests.helpers import FUND, books, load_text, row_counts

BASE = (
    FUND
    + """
2017-04-01 award FUND 2017-18 1,000
2017-04-01 allocate FUND 2017-18 A 600
"""
)

QUARTERLY = """
2017-04-01 schedule FUND 2017-18 A 300
  basis: quarterly
  due: 2017-07-01

2017-04-01 schedule FUND 2017-18 A 300
  basis: quarterly
  due: 2017-10-01
"""


def due(session: Session, on: date) -> list[tuple[str, int | None, str]]:
    return [
        (f.severity, f.amount_pence, f.message)
        for f in reconcile(session, "FUND", None, on)
        if f.check == "payments due"
    ]


def test_instalments_not_covered_by_payments_are_due_and_overdue(
    session: Session, tmp_path: Path
) -> None:
    load_text(session, tmp_path, BASE + QUARTERLY + "\n2017-07-05 pay FUND 2017-18 A 200\n")
    assert [(i.basis, i.amount_pence, i.due) for i in session.scalars(select(Instalment))] == [
        ("quarterly", 30_000, date(2017, 7, 1)),
        ("quarterly", 30_000, date(2017, 10, 1)),
    ]
    # The £200 paid covers the first instalment in part; the second is not yet due.
    assert due(session, date(2017, 9, 15)) == [
        ("warning", 10_000, "A's quarterly instalment of £300.00 due 1 July 2017 is 76 days "
                            "overdue: £100.00 of it not yet paid"),
        ("info", 30_000, "A's quarterly instalment of £300.00 due 1 October 2017 falls due in "
                         "16 days: not yet paid"),
    ]  # fmt: skip
    assert due(session, date(2017, 10, 1))[1][:2] == ("info", 30_000)
    assert "is due today" in due(session, date(2017, 10, 1))[1][2]
    # Before the payment was dated, the first instalment was wholly overdue.
    assert due(session, date(2017, 7, 3))[0][:2] == ("warning", 30_000)
    # Before anything was due, nothing is reported (the second is more than 30 days away).
    assert due(session, date(2017, 6, 30)) == [
        ("info", 30_000, "A's quarterly instalment of £300.00 due 1 July 2017 falls due in 1 "
                         "days: not yet paid"),
    ]  # fmt: skip


def test_a_paid_schedule_reports_nothing(session: Session, tmp_path: Path) -> None:
    load_text(session, tmp_path, BASE + QUARTERLY + "\n2017-07-05 pay FUND 2017-18 A 600\n")
    assert due(session, date(2018, 3, 31)) == []


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (
            QUARTERLY + "\n2017-04-01 schedule FUND 2017-18 A 1\n  basis: in-arrears\n"
            "  due: 2018-01-01\n",
            11,  # at its basis
            "A's schedule for FUND 2017-18 is quarterly, not in-arrears: a schedule has one basis",
        ),
        (
            "\n2017-04-01 schedule FUND 2017-18 A 1\n  basis: milestone\n  due: 2018-01-01\n",
            3,
            "an instalment on the milestone basis names its milestone",
        ),
        (
            "\n2017-04-01 schedule FUND 2017-18 A 1\n  basis: monthly\n  due: 2018-01-01\n",
            3,
            "basis 'monthly' is not one of: in-advance, in-arrears, quarterly, milestone",
        ),
        (
            "\n2017-04-01 schedule FUND 2017-18 A 1\n  basis: quarterly\n",
            2,
            "an instalment needs due",
        ),
        (
            "\n2017-04-01 schedule FUND 2017-18 Z 1\n  basis: quarterly\n  due: 2018-01-01\n",
            2,
            "there is no line 'Z' in stream 'FUND'",
        ),
    ],
)
def test_a_bad_instalment_is_refused_at_its_line(
    session: Session, tmp_path: Path, text: str, line: int, expected: str
) -> None:
    with pytest.raises(BooksError) as error:
        load_text(session, tmp_path, BASE + text)
    found = [str(p) for p in error.value.problems]
    where = f"books.grants:{BASE.count(chr(10)) + line}: "
    assert any(where in p and expected in p for p in found), found
    assert session.scalars(select(Instalment)).first() is None


def test_the_command_schedules_and_keeps_one_basis(grants: Grants, tmp_path: Path) -> None:
    assert grants("ledger", "load", str(books(tmp_path, BASE))).exit_code == 0
    made = grants("schedule", "FUND", "2017-18", "a", "300", "--basis", "milestone", "--due",
                  "2017-09-30", "--milestone", "Mid-year return accepted", "--json")  # fmt: skip
    assert made.exit_code == 0, made.output
    told = json.loads(made.output)
    assert (told["line"], told["amount"], told["due"]) == ("A", "300.00", "2017-09-30")
    before = row_counts(grants.url)
    other = grants("schedule", "FUND", "2017-18", "A", "300", "--basis", "in-advance", "--due",
                   "2017-04-01")  # fmt: skip
    assert other.exit_code == 1
    assert "is milestone, not in-advance: a schedule has one basis" in other.output
    unnamed = grants("schedule", "FUND", "2017-18", "A", "1", "--basis", "milestone", "--due",
                     "2017-12-01")  # fmt: skip
    assert unnamed.exit_code == 1 and "names its milestone" in unnamed.output
    assert row_counts(grants.url) == before
    assert grants("schedule", "--help").exit_code == 0
    assert grants("verify").exit_code == 0
