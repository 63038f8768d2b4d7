"""The plain-text books: located errors, all-or-nothing loads, idempotence, round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grants.db.models import Entry, Organisation
from grants.errors import BooksError
from grants.ledger.loader import read_books
from tests.conftest import BOOKS, Grants
from tests.helpers import FUND, NOW, books, load_text

GOOD = (
    FUND
    + """
2017-04-01 award FUND 2017-18 1,000
  source: "paper.txt:12"

2017-04-01 allocate FUND 2017-18 A 600
2017-04-01 allocate FUND 2017-18 A1 250.50
  share: 41.75%

2017-06-30 pay FUND 2017-18 A1 100
  id: pay-1

2017-07-01 reverse pay-1
  reason: "paid twice"

2017-04-01 stated FUND 2017-18 1,100

2018-03-31 balance FUND 2017-18 allocated 600
2018-03-31 printed FUND 2017-18 unallocated 0.5
  scale: 000
"""
)


def problems_of(tmp_path: Path, text: str) -> list[str]:
    return [str(p) for p in read_books(books(tmp_path, text), "t", NOW).problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2017-04-01 award FUND 2017-18 1,00\n",
            "books.grants:1: '1,00' is not an amount of money",
        ),
        ("2017-04-01 award FUND 2017-18 0.1.2\n", "books.grants:1: '0.1.2' is not an amount"),
        ("2017-04-01 award FUND 2017 100\n", "books.grants:1: '2017' is not a financial year"),
        ("2017-13-01 award FUND 2017-18 100\n", "books.grants:1: 2017-13-01 is not a date"),
        ("2017-04-01 awrd FUND 2017-18 100\n", "books.grants:1: unknown directive 'awrd'"),
        ("2017-04-01 award FUND 2017-18\n", "books.grants:1: award takes 3 arguments"),
        ("award FUND 2017-18 100\n", "books.grants:1: cannot read 'award FUND 2017-18 100'"),
        ("; notes\n  note: x\n", "books.grants:2: indented line with no directive above it"),
        ('2017-04-01 org X "open\n', "books.grants:1: a quoted text is not closed"),
        ('2017-04-01 org X "Y"\n  colour: red\n', "books.grants:2: org has no metadata 'colour'"),
        ('2017-04-01 org x "Y"\n', "books.grants:1: 'x' is not a valid organisation code"),
        (
            "2017-04-01 pay FUND 2017-18 A -5\n",
            "books.grants:1: pay amounts must be more than zero",
        ),
        ("2017-04-01 reverse abc\n", "books.grants:1: a reversal needs a reason"),
        ('include "missing.grants"\n', "books.grants:1: no such file: "),
        (
            "2017-04-01 allocate FUND 2017-18 A 1\n  share: 140%\n",
            "books.grants:2: share '140%' is not a percentage",
        ),
    ],
)
def test_problems_are_located(tmp_path: Path, text: str, expected: str) -> None:
    found = problems_of(tmp_path, text)
    assert any(expected in p for p in found), found


def test_check_reports_rule_breaks_and_failed_assertions_with_lines(
    tmp_path: Path, grants: Grants
) -> None:
    path = books(
        tmp_path,
        FUND + "2017-04-01 award FUND 2017-18 100\n" + "2017-04-01 allocate FUND 2017-18 A 150\n",
    )
    result = grants("ledger", "check", str(path))
    assert result.exit_code == 1
    assert (
        "books.grants:15: allocate of £150.00 to FUND 2017-18 A would take the unallocated"
        in result.output
    )
    path = books(
        tmp_path,
        FUND + "2017-04-01 award FUND 2017-18 100\n2018-03-31 balance FUND 2017-18 awarded 99\n",
    )
    result = grants("ledger", "check", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    assert report["errors"] == [
        {
            "file": report["errors"][0]["file"],
            "line": 15,
            "severity": "error",
            "message": "FUND 2017-18 awarded is 100.00 (£), not 99.00 as asserted (difference -1.00)",
        }
    ]


def test_a_file_with_any_error_records_nothing(
    tmp_path: Path, grants: Grants, session: Session
) -> None:
    path = books(tmp_path, GOOD + "2018-01-01 pay FUND 2017-18 A1 1,000,000\n")
    result = grants("ledger", "load", str(path))
    assert result.exit_code == 1
    assert "nothing was recorded" in result.output
    assert session.scalar(select(func.count()).select_from(Organisation)) == 0
    assert session.scalar(select(func.count()).select_from(Entry)) == 0


def test_load_twice_changes_nothing(tmp_path: Path, session: Session) -> None:
    first = load_text(session, tmp_path, GOOD)
    assert first.created["journal entry"] == 5
    assert [str(d).rsplit("/", 1)[-1] for d in first.discrepancies] == [
        "books.grants:31: discrepancy: FUND 2017-18 unallocated is 0.4 (£'000), not 0.5 as printed "
        "(difference +0.1)"
    ]
    second = load_text(session, tmp_path, GOOD)
    assert second.created == {} or all(n == 0 for n in second.created.values())
    assert second.skipped["journal entry"] == 5
    assert session.scalar(select(func.count()).select_from(Entry)) == 5


def test_reference_data_cannot_be_changed_by_loading(tmp_path: Path, session: Session) -> None:
    load_text(session, tmp_path, GOOD)
    with pytest.raises(BooksError) as error:
        load_text(session, tmp_path, GOOD.replace('"Line B"', '"Line Bee"'))
    assert "line 'B' is already recorded differently (name 'Line B' -> 'Line Bee')" in str(
        error.value.problems[0]
    )


def test_export_round_trips_exactly(tmp_path: Path, grants: Grants) -> None:
    """Books -> database (this engine) -> text -> empty SQLite database -> identical text."""
    assert grants("ledger", "load", str(BOOKS)).exit_code == 0
    first = tmp_path / "first"
    other = grants.restored(first, tmp_path / "other.db")
    second = tmp_path / "second"
    assert other("ledger", "export", "-o", str(second)).exit_code == 0
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_text() == (second / name).read_text(), name
    # Loading the export back into the database it came from changes nothing.
    again = grants("ledger", "load", str(first / "main.grants"), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["created"].get("journal entry", 0) == 0


def test_money_in_commitments_and_schedules_round_trip_exactly(
    tmp_path: Path, grants: Grants
) -> None:
    """Claims (by quarter and by dates), receipts (on a claim, on the award, reversed),
    commitments (with and without conditions), a carry-forward and instalments (from the
    books and from a command): books -> database -> text -> empty SQLite database -> the same text."""
    from tests.test_money_in import CLAIM, LGF

    text = LGF + CLAIM + """
2017-10-15 claim LGF 2017-18 Q2-2017 100
  from: 2017-07-01
  to: 2017-09-30
  eligible: 100
  evidence: "Claim form LGF/17/2"
  source: "remittance 42"

2017-08-15 receipt LGF 2017-18 250
  claim: Q1-2017
  id: r1

2017-08-16 reverse r1
  reason: "returned by the bank"

2017-08-20 receipt LGF 2017-18 100

2017-06-01 commit LGF 2017-18 P1 500
  agreement: "GA/2017/P1"
  conditions: "Outputs as in schedule 2\\nClaims quarterly in arrears"
  from: 2017-06-01
  to: 2018-03-31

2018-03-31 carry-forward LGF 2017-18 2018-19 P1 100
  approval: "MHCLG/CF/2018/7"

2017-06-01 schedule LGF 2017-18 P1 400
  basis: milestone
  due: 2017-09-30
  milestone: "Planning consent"
  source: "GA/2017/P1 schedule 1"
"""  # fmt: skip
    assert grants("ledger", "load", str(books(tmp_path, text))).exit_code == 0
    assert grants("schedule", "LGF", "2017-18", "P1", "100", "--basis", "milestone", "--due",
                  "2018-03-31", "--milestone", "Completion").exit_code == 0  # fmt: skip
    assert grants("receipt", "LGF", "2017-18", "50", "--claim", "Q2-2017").exit_code == 0
    assert grants("commit", "LGF", "2017-18", "P1", "100", "--agreement", "GA/2017/P1b",
                  "--from", "2017-09-01", "--to", "2018-03-31").exit_code == 0  # fmt: skip
    first = tmp_path / "first"
    other = grants.restored(first, tmp_path / "other.db")
    exported = (first / "ledger-0001.grants").read_text()
    assert "claim LGF 2017-18 Q1-2017 400.00\n  from: 2017-04-01\n  to: 2017-06-30\n" in exported
    second = tmp_path / "second"
    assert other("ledger", "export", "-o", str(second)).exit_code == 0
    for name in sorted(p.name for p in first.iterdir()):
        assert (first / name).read_text() == (second / name).read_text(), name
    again = grants("ledger", "load", str(first / "main.grants"), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["created"].get("journal entry", 0) == 0
