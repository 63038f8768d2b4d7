"""Balances read narrowly (a stream, a year, a line, the top-level lines, as of a day) give
the same figures as the whole journal read at once; reads shared within a command give the
same answer until something new is posted; a payment's check reads the branch's sums, not
its every line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from grants.errors import RuleError, Tampered
from grants.periods import Period, parse_period
from grants.services import balance_catalogue
from grants.services import balances as balances_module
from grants.services.account_span import SPAN, of_span
from grants.services.balance_reads import fetch, shared
from grants.services.balances import METRICS, Balances, read
from grants.services.journal import NewEntry
from tests.helpers import FUND, entry, load_text, record

Y = parse_period("2017-18")
NEXT = parse_period("2018-19")

MORE = """\
2017-04-01 line FUND A11 "Grandchild A11"
  parent: A1
2017-04-01 stream OTHER "Another fund"
  kind: other
  funder: FUNDER
2017-04-01 line OTHER X "Line X"
"""


def dated(item: NewEntry, day: date) -> NewEntry:
    item.day = day
    return item


@pytest.fixture
def ledger(session: Session, tmp_path: Path) -> Session:
    """Two streams over two years: lines three deep, payments passed on, spend, an
    underspend carried forward, entries on several days."""
    load_text(session, tmp_path, FUND + "\n" + MORE)
    record(
        session,
        entry("award", 1000),
        entry("allocate", 600, "A"),
        entry("allocate", 300, "B"),
        entry("allocate", 250, "A1"),
        entry("allocate", 100, "A2"),
        entry("allocate", 50, "A11"),
        entry("pay", 300, "A"),
        dated(entry("pay", 40, "A1"), date(2017, 7, 1)),
        dated(entry("pay", 20, "A11", to_line="A1"), date(2017, 8, 1)),
        dated(entry("spent", 15, "A11"), date(2017, 9, 1)),
        dated(entry("pay", 100, "B"), date(2017, 10, 1)),
        entry("award", 500, year="2018-19"),
        entry("allocate", 200, "B", year="2018-19"),
        dated(entry("carry-forward", 50, "B", to_year="2018-19"), date(2018, 3, 31)),
        entry("award", 70, stream="OTHER"),
        dated(entry("allocate", 70, "X", stream="OTHER"), date(2017, 6, 1)),
    )
    return session


def figures(b: Balances, stream: str, period: Period, lines: list[str | None]) -> dict:
    out = {}
    for line in lines:
        for metric in METRICS:
            if line is not None and metric in ("awarded", "stated", "claimed", "received"):
                continue
            try:
                out[(line, metric)] = b.value(stream, period, metric, line)
            except ValueError:
                continue
    return out


LINES: list[str | None] = [None, "A", "A1", "A11", "A2", "B"]


@pytest.mark.parametrize("on", [None, date(2017, 6, 30), date(2017, 8, 1), date(2018, 3, 31)])
def test_a_narrowed_read_gives_the_figures_of_the_whole(ledger: Session, on: date | None) -> None:
    before = balances_module.day_after(on)
    whole = Balances(ledger, as_of=before)
    for period in (Y, NEXT):
        expected = figures(whole, "FUND", period, LINES)
        assert figures(Balances(ledger, "FUND", as_of=before), "FUND", period, LINES) == expected
        narrowed = Balances(ledger, "FUND", as_of=before, period=period)
        assert figures(narrowed, "FUND", period, LINES) == expected
        assert set(narrowed.periods) == {k for k in whole.periods if k[0] == "FUND"
                                         and k[1].overlaps(period)}  # fmt: skip
        for line in ("A", "A1", "B"):
            lined = Balances(ledger, "FUND", as_of=before, period=period, lines=[line])
            assert figures(lined, "FUND", period, [None, line]) == figures(
                whole, "FUND", period, [None, line]
            )
        top = Balances(ledger, "FUND", as_of=before, top_level_only=True)
        assert figures(top, "FUND", period, [None, "B"]) == figures(
            whole, "FUND", period, [None, "B"]
        )
        assert not top.has_line("FUND", period, "A1")
    assert figures(Balances(ledger, "OTHER", as_of=before), "OTHER", Y, [None, "X"]) == figures(
        whole, "OTHER", Y, [None, "X"]
    )
    rows = Balances(ledger, "FUND", as_of=before, period=Y).rows(Y)
    assert rows == [r for r in whole.rows(Y) if r.stream == "FUND"]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_the_rows_grouped_a_chunk_at_a_time_give_the_figures_of_all_at_once(
    ledger: Session, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """The rows are grouped as they are fetched: every chunk's rows, the last one's too, and
    a line's roles split across two chunks, count as when the rows came at once."""
    whole = {on: Balances(ledger, as_of=on) for on in (None, date(2017, 8, 2))}
    monkeypatch.setattr(balance_catalogue, "_CHUNK", chunk)
    for on, expected in whole.items():
        b = Balances(ledger, as_of=on)
        assert b.periods == expected.periods and b.line_totals == expected.line_totals
        for stream, lines in (("FUND", LINES), ("OTHER", [None, "X"])):
            for period in (Y, NEXT):
                assert figures(b, stream, period, lines) == figures(expected, stream, period, lines)
        assert b.rows() == expected.rows()
        assert b.names == expected.names


def test_the_figures_read_narrowly_are_the_journals(ledger: Session) -> None:
    b = Balances(ledger, "FUND", as_of=date(2017, 8, 2), period=Y)
    assert b.value("FUND", Y, "paid", "A") == (300 + 40) * 100  # 20 passed on within A1
    assert b.value("FUND", Y, "paid", "A1") == 40 * 100
    assert b.value("FUND", Y, "paid", "A11") == 20 * 100
    assert b.value("FUND", Y, "reported", "A") == 0  # spend dated 1 September
    assert Balances(ledger, "FUND", period=Y).value("FUND", Y, "reported", "A") == 15 * 100
    assert Balances(ledger, "NONE").periods == {}


def test_reads_are_shared_within_a_command_until_something_is_posted(ledger: Session) -> None:
    with shared(ledger):
        first = read(ledger, "FUND")
        assert read(ledger, "FUND") is first
        assert read(ledger, "FUND", as_of=date(2017, 8, 1)) is not first
        record(ledger, entry("pay", 5, "B"))  # a write through the journal's own connection
        again = read(ledger, "FUND")
        assert again is not first
        assert again.value("FUND", Y, "paid", "B") == 105 * 100
        assert read(ledger, "FUND") is again
    assert read(ledger, "FUND") is not read(ledger, "FUND")  # shared only within the block


def test_a_payment_beneath_a_branch_is_held_to_what_its_other_lines_were_paid(
    ledger: Session,
) -> None:
    # A's allocation (600) is all paid once A2's sibling and niece are paid the rest: a
    # payment to A2 reads only A2 and A, and must still count A1's and A11's.
    record(ledger, entry("pay", 200, "A1"))  # A's branch: 300 + 40 + 200 (+ 20 - 20) = 540
    with pytest.raises(RuleError, match=r"what is left to pay of the allocation to A .*£0\.01"):
        record(ledger, entry("pay", "60.01", "A2"))
    record(ledger, entry("pay", 60, "A2"))  # exactly what is left of A's
    with pytest.raises(RuleError, match=r"what is left to pay of the allocation to A "):
        record(ledger, entry("pay", "0.01", "A2"))
    # A11 passed on from A1 moves nothing into A's branch: allowed while A1 holds it.
    record(ledger, entry("pay", 10, "A11", to_line="A1"))


def test_what_a_line_beneath_carried_forward_counts_as_paid_in_the_branch_above(
    ledger: Session,
) -> None:
    # A11's underspend (50 allocated, 20 passed on to it) carried into 2018-19 counts as
    # paid in 2017-18 at A1 and A, though a payment to A2 reads neither A1 nor A11.
    record(ledger, entry("carry-forward", 30, "A11", to_year="2018-19"))
    record(ledger, entry("pay", 180, "A1"))  # all A1 has left: 250 - 40 - 30
    # A's branch: 300 + 40 + 30 + 180 = 550 of its 600.
    with pytest.raises(RuleError, match=r"what is left to pay of the allocation to A .*£0\.01"):
        record(ledger, entry("pay", "50.01", "A2"))
    record(ledger, entry("pay", 50, "A2"))


def test_an_accounts_span_is_its_stream_and_years_exactly(ledger: Session) -> None:
    """The one integer balances are grouped by gives back each account's stream and years,
    on both engines; a stream id beyond PostgreSQL's INTEGER once multiplied stays exact; a
    year of more than four digits gives no span, which is refused (as one the ledger never
    writes) rather than read as another stream's; so is a span that is not an integer."""
    rows = fetch(ledger, f"SELECT {SPAN}, a.stream_id, a.first_year, a.last_year FROM account a")
    assert rows
    for span, *columns in rows:
        assert of_span(span) == tuple(columns)
    one = "SELECT {} FROM (SELECT {} AS stream_id, {} AS first_year, {} AS last_year) a"
    assert of_span(fetch(ledger, one.format(SPAN, 2_000_000, 2017, 2027))[0][0]) == (
        2_000_000,
        2017,
        2027,
    )
    assert fetch(ledger, one.format(SPAN, 1, 12017, 2018))[0][0] is None
    for odd in (None, 120142014.0):
        with pytest.raises(Tampered, match="an account's stream or years are not ones"):
            of_span(odd)


PREFIXED = """\
2017-04-01 stream FUND2 "A fund whose code begins with another's"
  kind: other
  funder: FUNDER
2017-04-01 line FUND2 A "Line A of FUND2"
2017-04-01 stream FUN "A fund whose code another's begins with"
  kind: other
  funder: FUNDER
2017-04-01 line FUN A "Line A of FUN"
"""


def test_a_streams_accounts_found_by_their_keys_are_its_own_exactly(
    session: Session, tmp_path: Path
) -> None:
    """A stream read alone (on SQLite, its accounts found through their keys' index) gives
    its rows of the whole ledger's, when other streams' codes begin with its code or it
    begins with theirs."""
    load_text(session, tmp_path, FUND + PREFIXED)
    record(
        session,
        *(entry("award", 1000 + n, stream=s) for n, s in enumerate(("FUND", "FUND2", "FUN"))),
        *(
            entry("allocate", 100 + n, "A", stream=s)
            for n, s in enumerate(("FUND", "FUND2", "FUN"))
        ),
        entry("award", 500, year="2018-19", stream="FUND2"),
    )
    whole = Balances(session).rows()
    assert {r.stream for r in whole} == {"FUND", "FUND2", "FUN"}
    for code in ("FUND", "FUND2", "FUN"):
        assert Balances(session, code).rows() == [r for r in whole if r.stream == code]
        assert Balances(session, code, period=Y).rows(Y) == [
            r for r in whole if r.stream == code and r.period.overlaps(Y)
        ]
