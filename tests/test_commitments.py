"""Commitments: signed grant agreements between allocation and payment, in the books and as
a command, their limit, balances and reconcile's findings, on both engines."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Commitment, Entry
from grants.errors import BooksError
from grants.periods import parse_period
from grants.services.balances import Balances
from grants.services.reconcile import reconcile
from tests.conftest import Grants
from tests.helpers import FUND, books, load_text, row_counts

BASE = (
    FUND
    + """
2017-04-01 award FUND 2017-18 1,000
2017-04-01 allocate FUND 2017-18 A 600
2017-04-01 allocate FUND 2017-18 B 300
"""
)

AGREEMENT = """
2017-06-01 commit FUND 2017-18 A 400
  agreement: "GA/2017/A"
  conditions: "Quarterly returns\\nUnspent grant returned"
  from: 2017-06-01
  to: 2018-03-31
"""

PERIOD = parse_period("2017-18")


def test_a_commitment_is_the_lines_committed_balance_with_its_agreement(
    session: Session, tmp_path: Path
) -> None:
    load_text(session, tmp_path, BASE + AGREEMENT)
    balances = Balances(session)
    assert balances.value("FUND", PERIOD, "committed", "A") == 40_000
    assert balances.value("FUND", PERIOD, "committed", None) == 40_000
    # Committing moves no money: allocated and unallocated are as before.
    assert balances.value("FUND", PERIOD, "allocated", "A") == 60_000
    assert balances.value("FUND", PERIOD, "unallocated", None) == 10_000
    row = session.scalars(select(Commitment)).one()
    entry = session.get(Entry, row.entry_id)
    assert entry is not None and entry.kind == "commit"
    assert (row.agreement, row.conditions) == (
        "GA/2017/A",
        "Quarterly returns\nUnspent grant returned",
    )
    assert (row.starts, row.ends) == (date(2017, 6, 1), date(2018, 3, 31))


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (
            AGREEMENT + AGREEMENT.replace("GA/2017/A", "GA/2017/A2").replace(" 400", " 200.01"),
            8,
            "commit of £200.01 to FUND 2017-18 A would take what is allocated to A and not yet "
            "committed (FUND 2017-18) below zero, short by £0.01",
        ),
        (
            "\n2017-06-01 commit FUND 2017-18 A 1\n  from: 2017-06-01\n  to: 2018-03-31\n",
            2,
            "a commitment needs agreement",
        ),
        (
            "\n2017-06-01 commit FUND 2017-18 A 1\n  agreement: X\n  from: 2018-06-01\n"
            "  to: 2018-03-31\n",
            2,
            "the agreement starts (2018-06-01) after it ends (2018-03-31)",
        ),
        (
            "\n2017-06-01 commit FUND 2017-18 C 1\n  agreement: X\n  from: 2017-06-01\n"
            "  to: 2018-03-31\n",
            2,
            "stream FUND has no line 'C'",
        ),
    ],
)
def test_a_commitment_that_breaks_a_rule_is_refused_at_its_line(
    session: Session, tmp_path: Path, text: str, line: int, expected: str
) -> None:
    with pytest.raises(BooksError) as error:
        load_text(session, tmp_path, BASE + text)
    found = [str(p) for p in error.value.problems]
    where = f"books.grants:{BASE.count(chr(10)) + line}: "
    assert any(where in p and expected in p for p in found), found
    assert session.scalars(select(Entry)).first() is None


def test_the_command_commits_and_refuses_beyond_the_allocation(
    grants: Grants, tmp_path: Path
) -> None:
    assert grants("ledger", "load", str(books(tmp_path, BASE))).exit_code == 0
    made = grants("commit", "FUND", "2017-18", "b", "300", "--agreement", "GA-B", "--from",
                  "2017-06-01", "--to", "2018-03-31", "--json")  # fmt: skip
    assert made.exit_code == 0, made.output
    told = json.loads(made.output)
    assert (told["kind"], told["amount"], told["agreement"]) == ("commit", "300.00", "GA-B")
    before = row_counts(grants.url)
    beyond = grants("commit", "FUND", "2017-18", "B", "0.01", "--agreement", "GA-B2",
                    "--from", "2017-06-01", "--to", "2018-03-31")  # fmt: skip
    assert beyond.exit_code == 1
    assert "what is allocated to B and not yet committed" in beyond.output
    assert row_counts(grants.url) == before
    rows = json.loads(grants("balance", "--json").output)
    assert [r["committed"] for r in rows] == ["300.00", "0.00", "300.00"]
    assert "committed" in grants("balance").output
    assert grants("commit", "--help").exit_code == 0


def test_reconcile_names_a_payment_beyond_what_is_committed(
    session: Session, tmp_path: Path
) -> None:
    load_text(session, tmp_path, BASE + AGREEMENT + """
2017-07-01 pay FUND 2017-18 A 450
2017-07-01 pay FUND 2017-18 B 100
""")  # fmt: skip
    found = [
        (f.severity, f.line, f.amount_pence, f.message)
        for f in reconcile(session, "FUND", None, date(2018, 3, 31))
        if f.check == "paid beyond committed"
    ]
    # B has no agreement: its payment is not measured against one.
    assert found == [
        ("warning", "A", 5_000,
         "A was paid £450.00, £50.00 more than its signed agreements commit (£400.00)"),
    ]  # fmt: skip
    # Before the payments were dated, nothing is paid beyond.
    assert not [
        f for f in reconcile(session, "FUND", None, date(2017, 6, 30))
        if f.check == "paid beyond committed"
    ]  # fmt: skip


def test_a_virement_below_the_commitments_is_refused(session: Session, tmp_path: Path) -> None:
    """A virement (or clawback) that would leave a signed agreement uncovered is refused at
    its line, nothing recorded: the commitment is reversed first."""
    with pytest.raises(BooksError) as refused:
        load_text(session, tmp_path, BASE + AGREEMENT + """
2017-09-01 virement FUND 2017-18 A B 250
""")  # fmt: skip
    assert "what is allocated to A and not yet committed" in str(refused.value.problems[0])
    assert "short by £50.00" in str(refused.value.problems[0])
    assert not [f for f in reconcile(session, "FUND") if f.check == "committed beyond allocation"]
