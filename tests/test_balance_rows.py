"""`grants balance`'s rows are the figures Balances.value gives, line by line: a parent's paid
and reported its branch's, money passed on counted once, underspend carried out of one year
and into the next, and as of any day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from grants.periods import parse_period
from grants.services.balances import BalanceRow, Balances, day_after
from tests import test_balance_reads

Y = parse_period("2017-18")
NEXT = parse_period("2018-19")

# The ledger: two streams over two years, lines three deep, payments passed on, spend, an
# underspend carried forward, entries on several days (the balance reads' own).
ledger = test_balance_reads.ledger


def pounds(pence: int | None) -> Decimal | None:
    return None if pence is None else (Decimal(pence) / 100).quantize(Decimal("0.01"))


def expected(b: Balances, row: BalanceRow) -> BalanceRow:
    """The row as Balances.value makes each of its figures."""
    s, p, line = row.stream, row.period, row.line
    if line is None:
        return BalanceRow(
            s, p, None, "", None, pounds(b.value(s, p, "awarded", None)),
            pounds(b.value(s, p, "stated", None)),
            *(pounds(b.value(s, p, m, None)) for m in ("allocated", "unallocated", "paid",
                                                       "reported", "claimed", "received",
                                                       "committed")),
        )  # fmt: skip
    split = b.by_line[(s, p.first.start, p.last.start, line)].get("split")
    return BalanceRow(
        s, p, line, row.name, row.parent, None, None, pounds(b.value(s, p, "allocated", line)),
        None if split is None else pounds(b.value(s, p, "unallocated", line)),
        pounds(b.value(s, p, "paid", line)), pounds(b.value(s, p, "reported", line)), None,
        None, pounds(b.value(s, p, "committed", line)), pounds(b.value(s, p, "carried", line)),
        pounds(b.value(s, p, "brought", line)),
    )  # fmt: skip


@pytest.mark.parametrize("on", [None, date(2017, 7, 1), date(2017, 9, 1), date(2018, 3, 31)])
def test_each_row_is_the_figures_of_its_stream_or_line(ledger: Session, on: date | None) -> None:
    b = Balances(ledger, as_of=day_after(on))
    rows = b.rows()
    assert rows, "the ledger has balances"
    for row in rows:
        assert row == expected(b, row)
        for figure in row[5:]:
            assert figure is None or figure.as_tuple().exponent == -2  # pounds and pence


def test_the_rows_are_in_order_with_a_parent_branch_summed(ledger: Session) -> None:
    rows = Balances(ledger, "FUND").rows(Y)
    assert [(r.line, r.parent) for r in rows] == [
        (None, None), ("A", None), ("B", None), ("A1", "A"), ("A2", "A"), ("A11", "A1"),
    ]  # the stream, then its lines as declared  # fmt: skip
    by_line = {r.line: r for r in rows}
    assert by_line["A"].paid == Decimal("340.00")  # 300 + 40; the 20 passed on counts once
    assert by_line["A1"].paid == Decimal("40.00")  # 40 paid, 20 of it passed on to A11, +20
    assert by_line["A1"].reported == Decimal("15.00")  # A11's spend
    assert by_line["A"].unallocated == Decimal("250.00")  # 600 less A1's 250 and A2's 100
    assert by_line["B"].carried == Decimal("50.00")
    assert by_line[None].awarded == Decimal("1000.00")
    assert by_line[None].allocated == Decimal("900.00")
    brought = Balances(ledger, "FUND").rows(NEXT)
    assert [r.brought for r in brought if r.line == "B"] == [Decimal("50.00")]
