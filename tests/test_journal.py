"""The rules of the journal, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from grants.db.engine import make_session_factory
from grants.errors import NotFound, RuleError
from grants.periods import parse_period
from grants.services.balances import Balances
from tests.helpers import FUND, entry, load_text, record, reversal

Y = parse_period("2017-18")


@pytest.fixture
def fund(session: Session, tmp_path: Path) -> Session:
    load_text(session, tmp_path, FUND)
    return session


def value(
    session: Session, metric: str, target: str | None = None, year: str = "2017-18"
) -> Decimal:
    pence = Balances(session).value("FUND", parse_period(year), metric, target)
    assert pence is not None
    return Decimal(pence) / 100


def test_award_allocate_pay_balances(fund: Session) -> None:
    record(
        fund, entry("award", 1000), entry("allocate", 600, "A"), entry("allocate", "250.50", "A1")
    )
    record(fund, entry("pay", 100, "A1"), entry("spent", 40, "A1"))
    assert value(fund, "awarded") == 1000
    assert value(fund, "allocated") == 600
    assert value(fund, "unallocated") == 400
    assert value(fund, "allocated", "A") == 600
    assert value(fund, "unallocated", "A") == Decimal("349.50")
    assert value(fund, "allocated", "A1") == Decimal("250.50")
    assert value(fund, "paid") == 100
    assert value(fund, "paid", "A1") == 100
    assert value(fund, "reported") == 40


def test_every_entry_balances(fund: Session) -> None:
    record(fund, entry("award", 1000), entry("allocate", 600, "A"), entry("pay", 5, "A"))
    record(fund, entry("clawback", 5, "A"), entry("virement", 100, "A", to_line="B"))
    record(fund, entry("reprofile", 50, year="2017-18", to_year="2018-19"))
    unbalanced = fund.execute(
        text("SELECT entry_id FROM posting GROUP BY entry_id HAVING SUM(amount_pence) <> 0")
    ).all()
    assert unbalanced == []
    assert fund.execute(text("SELECT SUM(amount_pence) FROM posting")).scalar() == 0


def test_allocation_beyond_the_award_is_refused(fund: Session) -> None:
    record(fund, entry("award", 1000))
    with pytest.raises(RuleError, match=r"short by £0\.01.*over-allocation"):
        record(fund, entry("allocate", "1000.01", "A"))
    assert value(fund, "allocated") == 0


def test_over_allocation_when_marked_is_recorded_and_reported(fund: Session) -> None:
    record(fund, entry("award", 1000))
    result = record(fund, entry("allocate", 1100, "A", over=True))
    assert [w for _, w in result.warnings] == [
        "allocate of £1,100.00 to FUND 2017-18 A over-allocates the unallocated award of "
        "FUND 2017-18 by £100.00 (marked as intended)"
    ]
    assert value(fund, "unallocated") == -100


def test_children_beyond_their_parent_are_refused(fund: Session) -> None:
    record(fund, entry("award", 1000), entry("allocate", 500, "A"), entry("allocate", 300, "A1"))
    with pytest.raises(RuleError, match=r"allocation to A .* short by £100\.00"):
        record(fund, entry("allocate", 300, "A2"))
    record(fund, entry("allocate", 200, "A2"))
    assert value(fund, "unallocated", "A") == 0


def test_negative_and_zero_payments_are_refused(fund: Session) -> None:
    record(fund, entry("award", 1000), entry("allocate", 500, "A"))
    for amount in ("-1", "0"):
        with pytest.raises(RuleError, match="more than zero"):
            record(fund, entry("pay", amount, "A"))


def test_payment_beyond_the_allocation_is_refused(fund: Session) -> None:
    record(fund, entry("award", 1000), entry("allocate", 500, "A"), entry("allocate", 200, "A1"))
    # A's recipient may be paid its children's share too, to pass on (regranting), but
    # never more than A's allocation; nor may the council then pay A1 as well.
    with pytest.raises(RuleError, match=r"short by £0\.01"):
        record(fund, entry("pay", "500.01", "A"))
    record(fund, entry("pay", 500, "A"))
    with pytest.raises(RuleError, match=r"to pay of the allocation to A .*short by £0\.01"):
        record(fund, entry("pay", "0.01", "A1"))


def test_reversal_restores_every_balance_and_happens_once(fund: Session) -> None:
    first = record(fund, entry("award", 1000), entry("allocate", 400, "B"))
    alloc_id = str(first.entry_ids[1])
    record(fund, reversal(alloc_id))
    assert value(fund, "allocated") == 0
    assert value(fund, "unallocated") == 1000
    with pytest.raises(RuleError, match="already reversed"):
        record(fund, reversal(alloc_id))


def test_reversing_a_reversal_is_refused(fund: Session) -> None:
    first = record(fund, entry("award", 1000))
    second = record(fund, reversal(str(first.entry_ids[0])))
    with pytest.raises(RuleError, match="itself a reversal"):
        record(fund, reversal(str(second.entry_ids[0])))


def test_a_reversal_that_would_overspend_is_refused(fund: Session) -> None:
    first = record(fund, entry("award", 1000), entry("allocate", 800, "A"))
    with pytest.raises(RuleError, match="unallocated award of FUND 2017-18 below zero"):
        record(fund, reversal(str(first.entry_ids[0])))
    record(fund, entry("pay", 100, "A"))
    with pytest.raises(RuleError, match="allocation to A"):
        record(fund, reversal(str(first.entry_ids[1])))


def test_unknown_names_are_refused(fund: Session) -> None:
    with pytest.raises(NotFound, match="no funding stream 'NOPE'"):
        record(fund, entry("award", 1, stream="NOPE"))
    record(fund, entry("award", 10))
    with pytest.raises(NotFound, match="no line 'ZZ'"):
        record(fund, entry("allocate", 1, "ZZ"))
    with pytest.raises(NotFound, match="no line 'ZY'"):
        record(fund, entry("virement", 1, "A", to_line="ZY"))
    with pytest.raises(NotFound, match="no journal entry '999'"):
        record(fund, reversal("999"))


def test_virement_needs_lines_with_the_same_parent(fund: Session) -> None:
    record(fund, entry("award", 1000), entry("allocate", 500, "A"), entry("allocate", 100, "B"))
    with pytest.raises(RuleError, match="same parent"):
        record(fund, entry("virement", 10, "B", to_line="A1"))
    record(fund, entry("virement", 100, "B", to_line="A"))
    assert value(fund, "allocated", "A") == 600


def test_clawback_returns_paid_money_to_the_award(fund: Session) -> None:
    record(fund, entry("award", 1000), entry("allocate", 500, "A"), entry("pay", 200, "A"))
    with pytest.raises(RuleError, match="paid to A"):
        record(fund, entry("clawback", "200.01", "A"))
    record(fund, entry("clawback", 50, "A"))
    assert value(fund, "paid", "A") == 150
    assert value(fund, "allocated", "A") == 450
    assert value(fund, "unallocated") == 550


def test_the_journal_is_append_only(engine: Engine, tmp_path: Path) -> None:
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        load_text(session, tmp_path, FUND)
        record(session, entry("award", 1000))
    for statement in (
        "UPDATE entry SET amount_pence = 1",
        "DELETE FROM entry",
        "UPDATE posting SET amount_pence = 1",
        "DELETE FROM posting",
    ):
        with factory() as session, pytest.raises((IntegrityError, DBAPIError)) as error:
            with session.begin():
                session.execute(text(statement))
        assert "append-only" in str(error.value)
    if engine.dialect.name == "postgresql":
        with factory() as session, pytest.raises(DBAPIError, match="append-only"):
            with session.begin():
                session.execute(text("TRUNCATE posting"))


def test_each_entry_keeps_its_own_day_and_time_when_a_batch_repeats_them(fund: Session) -> None:
    """A load binds a day or time it has just bound again without working out its text (a
    books line reads its day as an object of its own, so equal values rarely share one):
    every entry still stores its own, when values come back, as equal objects or not. The
    text is reused only on SQLite; on PostgreSQL the driver binds each value itself."""
    days = [date(2017, 5, 1), date(2017, 5, 1), date(2017, 6, 2), date(2017, 5, 1)]
    times = [datetime(2017, 5, 1, 9), datetime(2017, 5, 1, 9), datetime(2017, 5, 1, 9, 0, 1),
             datetime(2017, 5, 1, 9)]  # fmt: skip
    if fund.get_bind().dialect.name == "sqlite":
        # The same moment in two time zones is equal, and written as two texts.
        days += [date(2017, 5, 1)] * 2
        times += [datetime(2017, 5, 1, 9, tzinfo=UTC),
                  datetime(2017, 5, 1, 10, tzinfo=timezone(timedelta(hours=1)))]  # fmt: skip
    items = [replace(entry("award", 1000 + i), day=d, recorded_at=t)
             for i, (d, t) in enumerate(zip(days, times, strict=True))]  # fmt: skip
    record(fund, *items)
    stored = fund.execute(text("SELECT day, recorded_at FROM entry ORDER BY id")).all()
    as_read = [(str(d), str(t)) for d, t in stored]
    assert as_read == [(d.isoformat(), t.isoformat(" ")) for d, t in zip(days, times, strict=True)]
