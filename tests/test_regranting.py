"""Regranting: a line that has been paid grants on to its own children, and every level's
totals are kept without counting money twice (docs/design.md, grants.services.rules)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from grants.errors import BooksError, RuleError
from grants.periods import parse_period
from grants.services.balances import Balances, entries_behind
from tests.conftest import Grants
from tests.helpers import FUND, books, entry, load_text, record, reversal

Y = parse_period("2017-18")


@pytest.fixture
def fund(session: Session, tmp_path: Path) -> Session:
    load_text(session, tmp_path, FUND)
    record(session, entry("award", 1000), entry("allocate", 600, "A"))
    return session


def value(session: Session, metric: str, target: str | None = None) -> Decimal:
    pence = Balances(session).value("FUND", Y, metric, target)
    assert pence is not None
    return Decimal(pence) / 100


def passed_on(amount: str | int, child: str, parent: str = "A") -> object:
    return entry("pay", amount, child, to_line=parent)


def test_a_paid_line_grants_on_to_its_children(fund: Session) -> None:
    record(fund, entry("pay", 600, "A"))  # A's recipient is paid all of A first
    record(fund, entry("allocate", 250, "A1"))  # then A grants on: refused before regranting
    record(fund, passed_on(200, "A1"))
    assert value(fund, "paid", "A1") == 200
    assert value(fund, "paid", "A") == 600  # A's branch: 600 in, the 200 passed on inside it
    assert value(fund, "paid") == 600  # the council paid 600 once
    behind = entries_behind(fund, "FUND", Y, "A", "paid")
    assert behind.total == 600
    assert [e.amount for e in behind.entries] == [Decimal("600.00")]  # the pass-on nets out


def test_children_roll_up_into_their_parent(fund: Session) -> None:
    record(fund, entry("allocate", 250, "A1"), entry("allocate", 100, "A2"))
    record(fund, entry("pay", 53, "A1"), entry("pay", 40, "A2"), entry("spent", 20, "A1"))
    record(fund, entry("pay", 10, "A"))
    assert value(fund, "paid", "A") == 53 + 40 + 10
    assert value(fund, "reported", "A") == 20
    rows = {r.line: r for r in Balances(fund).rows() if r.line}
    assert rows["A"].paid == 103 and rows["A"].reported == 20
    assert rows["A1"].paid == 53
    assert entries_behind(fund, "FUND", Y, "A", "paid").total == 103


def test_the_council_cannot_pay_a_child_its_parent_was_paid_for(fund: Session) -> None:
    record(fund, entry("allocate", 250, "A1"), entry("pay", 600, "A"))
    with pytest.raises(RuleError, match=r"what is left to pay of the allocation to A .*£0\.01"):
        record(fund, entry("pay", "0.01", "A1"))


def test_no_one_passes_on_what_they_were_not_paid(fund: Session) -> None:
    record(fund, entry("allocate", 250, "A1"), entry("pay", 100, "A"))
    with pytest.raises(RuleError, match=r"what A's recipient was paid and has not passed on"):
        record(fund, passed_on("100.01", "A1"))
    record(fund, passed_on(100, "A1"))


def test_a_child_is_not_passed_more_than_its_allocation(fund: Session) -> None:
    record(fund, entry("allocate", 250, "A1"), entry("pay", 600, "A"))
    with pytest.raises(RuleError, match=r"to pay of the allocation to A1 .*short by £0\.01"):
        record(fund, passed_on("250.01", "A1"))


def test_money_is_passed_on_only_by_the_parent(fund: Session) -> None:
    record(fund, entry("allocate", 100, "B"), entry("pay", 100, "B"))
    record(fund, entry("allocate", 250, "A1"))
    with pytest.raises(RuleError, match="A1's parent is A, not B"):
        record(fund, passed_on(10, "A1", parent="B"))
    with pytest.raises(RuleError, match="A's parent is none"):
        record(fund, entry("pay", 10, "A", to_line="A"))


def test_a_payment_passed_on_cannot_be_taken_back_from_under_the_child(fund: Session) -> None:
    first = record(fund, entry("pay", 600, "A"))
    record(fund, entry("allocate", 250, "A1"), passed_on(250, "A1"))
    with pytest.raises(RuleError, match="what A's recipient was paid and has not passed on"):
        record(fund, reversal(str(first.entry_ids[0])))


def test_a_parent_grants_on_no_more_than_its_allocation(fund: Session) -> None:
    record(fund, entry("pay", 600, "A"), entry("allocate", 600, "A1"))
    with pytest.raises(RuleError, match=r"what is left of the allocation to A .*£0\.01"):
        record(fund, entry("allocate", "0.01", "A2"))


def _rows(grants: Grants) -> dict[str | None, dict[str, str]]:
    result = grants("balance", "--stream", "PCC-CSF", "--year", "2017-18", "--json")
    assert result.exit_code == 0, result.output
    return {r["line"]: r for r in json.loads(result.output)}


def test_the_partnership_passes_on_what_the_council_paid_it(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    """On the Oxfordshire books: the council pays SOP the CSP line, SOP passes part of it on
    to Cherwell's partnership; the export writes the payment passed on and loads back."""
    before = _rows(oxfordshire)
    csp = Decimal(before["CSP"]["allocated"])
    cherwell = Decimal(before["CHERWELL"]["allocated"])
    pay = oxfordshire("pay", "PCC-CSF", "2017-18", "CSP", str(csp), "--date", "2017-06-30")
    assert pay.exit_code == 0, pay.output
    part = (cherwell / 2).quantize(Decimal("1"))
    on = oxfordshire("pay", "PCC-CSF", "2017-18", "CHERWELL", str(part), "--from", "CSP",
                     "--date", "2017-07-31")  # fmt: skip
    assert on.exit_code == 0, on.output
    after = _rows(oxfordshire)
    assert Decimal(after["CHERWELL"]["paid"]) == part
    assert Decimal(after["CSP"]["paid"]) == csp  # the branch's: nothing counted twice
    assert Decimal(after[None]["paid"]) == Decimal(before[None]["paid"]) + csp
    again = oxfordshire("pay", "PCC-CSF", "2017-18", "CHERWELL", "1", "--date", "2017-08-01")
    assert again.exit_code == 1
    assert "what is left to pay of the allocation to CSP (PCC-CSF 2017-18)" in again.output
    wrong = oxfordshire("pay", "PCC-CSF", "2017-18", "CHERWELL", "1", "--from", "PH")
    assert wrong.exit_code == 1
    assert "CHERWELL's parent is CSP, not PH" in wrong.output
    checked = oxfordshire("verify")  # postings and limits recomputed from the entries
    assert checked.exit_code == 0 and "the record holds" in checked.output, checked.output
    first = tmp_path / "first"
    assert oxfordshire("ledger", "export", "-o", str(first)).exit_code == 0
    text = "".join(p.read_text() for p in sorted(first.glob("*.grants")))
    block = text.split(f"pay PCC-CSF 2017-18 CHERWELL {part:,.2f}\n")[1].split("\n\n")[0]
    assert "\n  from: CSP\n" in f"\n{block}\n"
    other = Grants(f"sqlite:///{tmp_path / 'other.db'}")
    assert other("db", "upgrade", "--for-restore").exit_code == 0
    loaded = other("ledger", "load", str(first / "main.grants"))
    assert loaded.exit_code == 0, loaded.output
    second = tmp_path / "second"
    assert other("ledger", "export", "-o", str(second)).exit_code == 0
    for path in sorted(first.glob("*.grants")):
        assert path.read_text() == (second / path.name).read_text(), path.name


def test_books_refuse_a_payment_passed_on_by_a_line_not_its_parent(
    session: Session, tmp_path: Path
) -> None:
    text = FUND + (
        "2017-04-01 award FUND 2017-18 1,000\n"
        "2017-04-01 allocate FUND 2017-18 A 600\n"
        "2017-04-01 allocate FUND 2017-18 A1 100\n"
        "2017-04-01 pay FUND 2017-18 A 600\n"
        "2017-04-02 pay FUND 2017-18 A1 50\n"
        "  from: B\n"
    )
    with pytest.raises(BooksError) as error:
        load_text(session, tmp_path, text)
    (problem,) = error.value.problems
    assert (Path(problem.file).name, problem.line) == ("books.grants", 18)
    assert "A1's parent is A, not B" in problem.message
    assert Balances(session).value("FUND", Y, "paid", None) in (None, 0)  # nothing recorded


def test_the_pcc_template_shows_the_partnership_with_its_districts_spend(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    """The CSP row of the mid-year template includes what Cherwell reported (with its
    source), and the total counts it once."""
    from openpyxl import load_workbook

    cherwell = _rows(oxfordshire)["CHERWELL"]
    spent = (Decimal(cherwell["allocated"]) / 4).quantize(Decimal("1"))
    text = f"2017-09-30 spent PCC-CSF 2017-18 CHERWELL {spent}\n  source: mid-year return\n"
    loaded = oxfordshire("ledger", "load", str(books(tmp_path, text, "spent.grants")))
    assert loaded.exit_code == 0, loaded.output
    out = tmp_path / "template.xlsx"
    made = oxfordshire("report", "pcc-template", "--stream", "PCC-CSF", "--year", "2017-18",
                       "--stage", "mid-year", "-o", str(out))  # fmt: skip
    assert made.exit_code == 0, made.output
    book = load_workbook(out)
    sheet = book.worksheets[0]
    by_label = {str(r[0].value): r for r in sheet.iter_rows() if r[0].value}
    csp = next(
        r for label, r in by_label.items() if label.endswith("Community Safety Partnerships")
    )
    district = next(r for label, r in by_label.items() if label.endswith("Cherwell"))
    assert (Decimal(str(csp[5].value)), Decimal(str(district[5].value))) == (spent, spent)
    sources = [" ".join(str(c.value) for c in row) for row in book["Sources"].iter_rows()]
    mine = [r for r in sources if "Community Safety Partnerships: spend reported to" in r]
    assert mine and "spent.grants" in mine[0], mine  # Cherwell's entry, where it came from
    total = next(r for r in sheet.iter_rows() if r[5].data_type == "f" and "SUM" in str(r[5].value))
    assert str(district[5].coordinate) not in str(total[5].value)  # a district is not added again
