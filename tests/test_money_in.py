"""Money in: claims to a funder and the cash received, in the books and as commands, their
limits, balances and reconcile's findings, on both engines."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Claim, Entry
from grants.errors import BooksError
from grants.periods import parse_period
from grants.services.balances import Balances
from grants.services.reconcile import reconcile
from tests.conftest import Grants
from tests.helpers import books, load_text, row_counts

LGF = """\
2017-04-01 org MHCLG "The ministry"
  role: funder

2017-04-01 stream LGF "Local Growth Fund"
  kind: lgf
  funder: MHCLG

2017-04-01 line LGF P1 "Project one"

2017-04-01 award LGF 2017-18 1,000
2017-04-01 allocate LGF 2017-18 P1 800
2017-05-01 pay LGF 2017-18 P1 500
2017-06-30 spent LGF 2017-18 P1 300
"""

CLAIM = """
2017-07-15 claim LGF 2017-18 Q1-2017 400
  quarter: Q1
  eligible: 450
  evidence: "Claim form LGF/17/1"
"""

PERIOD = parse_period("2017-18")


def figure(session: Session, metric: str) -> int | None:
    return Balances(session).value("LGF", PERIOD, metric, None)


def test_a_claim_and_its_receipts_are_balances_beside_the_award(
    session: Session, tmp_path: Path
) -> None:
    load_text(session, tmp_path, LGF + CLAIM + """
2017-08-15 receipt LGF 2017-18 250
  claim: Q1-2017

2017-08-20 receipt LGF 2017-18 100
""")  # fmt: skip
    assert figure(session, "awarded") == 100_000
    assert figure(session, "claimed") == 40_000
    assert figure(session, "received") == 35_000
    # Money in moves nothing out: allocated, paid and reported are as before.
    assert (figure(session, "allocated"), figure(session, "paid")) == (80_000, 50_000)
    details = session.scalars(select(Claim)).one()
    entry = session.get(Entry, details.entry_id)
    assert entry is not None and (entry.kind, entry.tranche) == ("claim", "Q1-2017")
    assert (details.starts, details.ends) == (date(2017, 4, 1), date(2017, 6, 30))
    assert (details.eligible_pence, details.evidence) == (45_000, "Claim form LGF/17/1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2017-07-15 claim LGF 2017-18 BIG 1,000.01\n  quarter: Q1\n  eligible: 2,000\n"
            "  evidence: form\n",
            "+1: claim BIG of £1,000.01 from LGF 2017-18 would take what is "
            "awarded and not yet claimed for LGF 2017-18 below zero, short by £0.01",
        ),
        (
            "2017-08-15 receipt LGF 2017-18 10\n  claim: NOPE\n",
            "+1: there is no claim NOPE of LGF 2017-18: record the claim first",
        ),
        (
            CLAIM.lstrip() + "2017-08-15 receipt LGF 2017-18 400.01\n  claim: Q1-2017\n",
            "+5: receipt of £400.01 from LGF 2017-18 on claim Q1-2017 would take "
            "what is still owed on claim Q1-2017 (LGF 2017-18) below zero, short by £0.01",
        ),
        (
            "2017-08-15 receipt LGF 2017-18 1,000.01\n",
            "+1: receipt of £1,000.01 from LGF 2017-18 would take what is "
            "awarded and not yet received for LGF 2017-18 below zero, short by £0.01",
        ),
        (
            CLAIM.lstrip() + CLAIM,
            "+6: claim Q1-2017 of LGF 2017-18 is already recorded",
        ),
        (
            "2017-07-15 claim LGF 2017-18 Q1 500\n  quarter: Q1\n  eligible: 450\n"
            "  evidence: form\n",
            "+1: the amount claimed (500.00) is more than the eligible expenditure (450.00)",
        ),
        (
            "2017-07-15 claim LGF 2017-18 Q1 400\n  quarter: Q1\n  eligible: 450\n",
            "+1: a claim needs evidence",
        ),
        (
            "2017-07-15 claim LGF 2017-18 Q1 400\n  quarter: Q5\n  eligible: 450\n"
            "  evidence: form\n",
            "+2: quarter 'Q5' is not a quarter: write Q1, Q2, Q3 or Q4",
        ),
        (
            "2017-07-15 claim LGF 2017-18 Q1 400\n  from: 2018-01-01\n  to: 2018-04-30\n"
            "  eligible: 450\n  evidence: form\n",
            "+1: the claim's expenditure runs to 2018-04-30, outside 2017-18",
        ),
    ],
)
def test_money_in_that_breaks_a_rule_is_refused_at_its_line_and_nothing_is_written(
    session: Session, tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(BooksError) as error:
        load_text(session, tmp_path, LGF + "\n" + text)
    found = [str(p) for p in error.value.problems]
    offset, message = expected.split(": ", 1)
    line = LGF.count("\n") + 1 + int(offset)  # the text follows a blank line
    assert any(f"books.grants:{line}: {message}" in p for p in found), found
    assert session.scalars(select(Entry)).first() is None


def test_the_commands_record_claims_and_receipts_and_refuse_by_option(
    grants: Grants, tmp_path: Path
) -> None:
    assert grants("ledger", "load", str(books(tmp_path, LGF))).exit_code == 0
    made = grants("claim", "LGF", "2017-18", "q1-2017", "400", "--from", "2017-04-01", "--to",
                  "2017-06-30", "--eligible", "450", "--evidence", "form 1", "--json")  # fmt: skip
    assert made.exit_code == 0, made.output
    told = json.loads(made.output)
    assert (told["kind"], told["amount"], told["claim"]) == ("claim", "400.00", "Q1-2017")
    before = row_counts(grants.url)
    unknown = grants("receipt", "LGF", "2017-18", "10", "--claim", "Q2-2017")
    assert unknown.exit_code == 1
    assert unknown.output.startswith(
        "Error: --claim Q2-2017: there is no claim Q2-2017 of LGF 2017-18"
    ), unknown.output
    both = grants("claim", "LGF", "2017-18", "Q2", "1", "--quarter", "Q2", "--from",
                  "2017-07-01", "--eligible", "1", "--evidence", "x")  # fmt: skip
    assert both.exit_code == 1 and "not both" in both.output
    undated = grants("claim", "LGF", "2017-18", "Q2", "1", "--eligible", "1", "--evidence", "x")
    assert undated.exit_code == 1 and "--from and --to, or --quarter" in undated.output
    assert row_counts(grants.url) == before  # nothing written (the refusals aside)
    paid = grants("receipt", "LGF", "2017-18", "400", "--claim", "Q1-2017", "--json")
    assert paid.exit_code == 0, paid.output
    rows = json.loads(grants("balance", "--summary", "--json").output)
    assert (rows[0]["claimed"], rows[0]["received"]) == ("400.00", "400.00")
    shown = grants("balance", "--summary").output
    assert "claimed" in shown and "£400.00" in shown
    for command in ("claim", "receipt"):
        assert grants(command, "--help").exit_code == 0


def test_reconcile_reports_money_in_as_of_its_date(session: Session, tmp_path: Path) -> None:
    load_text(session, tmp_path, LGF + CLAIM + """
2017-08-15 receipt LGF 2017-18 250
  claim: Q1-2017

2017-08-20 receipt LGF 2017-18 100
""")  # fmt: skip
    found = {
        f.check: (f.severity, f.message, f.amount_pence)
        for f in reconcile(session, "LGF", None, date(2017, 12, 31))
    }
    assert found["claims not yet paid"] == (
        "warning",
        "claim Q1-2017 of £400.00, made on 15 July 2017, is 169 days old and £150.00 of it "
        "is not yet received",
        15_000,
    )
    assert found["awards not yet claimed"][2] == 60_000
    assert found["receipts without a claim"][0] == "warning"
    assert (
        "£100.00 received on 20 August 2017 matches no claim"
        in (found["receipts without a claim"][1])
    )
    # £350 received, £300 of spend reported.
    assert found["received ahead of spend"][2] == 5_000
    # Before the receipts were dated, the claim was wholly owed and nothing was received.
    earlier = {f.check: f.amount_pence for f in reconcile(session, "LGF", None, date(2017, 8, 1))}
    assert earlier["claims not yet paid"] == 40_000
    assert "received ahead of spend" not in earlier
    assert "receipts without a claim" not in earlier


def test_a_reversed_receipt_is_owed_again(session: Session, tmp_path: Path) -> None:
    load_text(session, tmp_path, LGF + CLAIM + """
2017-08-15 receipt LGF 2017-18 400
  claim: Q1-2017
  id: r1

2017-08-16 reverse r1
  reason: "returned by the bank"
""")  # fmt: skip
    assert figure(session, "received") == 0
    owed = {f.check: f.amount_pence for f in reconcile(session, "LGF", None, date(2018, 1, 1))}
    assert owed["claims not yet paid"] == 40_000
    assert Decimal(figure(session, "claimed") or 0) == 40_000


def test_an_award_that_has_been_claimed_cannot_be_reversed_below_the_claims(
    session: Session, tmp_path: Path
) -> None:
    text = LGF.replace(
        "2017-04-01 award LGF 2017-18 1,000", "2017-04-01 award LGF 2017-18 1,000\n  id: aw"
    )
    with pytest.raises(BooksError) as error:
        load_text(session, tmp_path, text + CLAIM + """
2017-08-01 reverse aw
  reason: "awarded in error"
""")  # fmt: skip
    found = [str(p) for p in error.value.problems]
    assert any(
        "reversing entry aw would take what is awarded and not yet claimed for LGF 2017-18 "
        "below zero, short by £400.00" in p
        for p in found
    ), found
