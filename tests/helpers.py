"""Small builders shared by the tests."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from textwrap import dedent

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from grants.db.engine import make_engine
from grants.db.models import Base
from grants.ledger.loader import LoadReport, load
from grants.money import money, to_pence
from grants.periods import parse_period
from grants.services import access
from grants.services.journal import Journal, NewEntry, Recorded
from grants.services.rules import Operation

NOW = datetime(2017, 11, 30, 9, 0, 0)

FUND = """\
2017-04-01 org FUNDER "A funder"
  role: funder

2017-04-01 stream FUND "A fund"
  kind: other
  funder: FUNDER

2017-04-01 line FUND A "Line A"
2017-04-01 line FUND B "Line B"
2017-04-01 line FUND A1 "Child A1"
  parent: A
2017-04-01 line FUND A2 "Child A2"
  parent: A
"""


def books(tmp_path: Path, text: str, name: str = "books.grants") -> Path:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def load_text(session: Session, tmp_path: Path, text: str) -> LoadReport:
    """Load books as the test database's first person (an officer), unless the session is
    already bound to someone."""
    if access.actor_of(session) is None:
        from tests.conftest import officer

        access.bind(session, officer(session))
    return load(session, books(tmp_path, text), "tester", NOW)


_counter = iter(range(10**9))


def entry(
    kind: str,
    amount: str | int,
    line: str | None = None,
    *,
    year: str = "2017-18",
    stream: str = "FUND",
    over: bool = False,
    to_line: str | None = None,
    to_year: str | None = None,
) -> NewEntry:
    op = Operation(
        kind,
        stream,
        parse_period(year),
        to_pence(money(str(amount))),
        line=line,
        to_line=to_line,
        to_period=parse_period(to_year) if to_year else None,
        over_allocation=over,
    )
    return NewEntry(op, date(2017, 4, 1), "tester", NOW, key=f"k{next(_counter)}")


def reversal(ref: str, reason: str = "mistake") -> NewEntry:
    return NewEntry(
        None, date(2017, 5, 1), "tester", NOW, reverses=ref, reason=reason, key=f"k{next(_counter)}"
    )


def record(session: Session, *items: NewEntry) -> Recorded:
    return Journal(session).record(list(items))


def plant_funder_account(conn: Connection, stream: str = "OTHER") -> None:
    """What an attacker does: an account inserted directly, under ``stream``, with the key the
    next load then gives CSF's funder account in 2017-18 (and its id, 1)."""
    other = conn.execute(text("SELECT id FROM stream WHERE code = :s"), {"s": stream}).scalar_one()
    conn.execute(text(
        "INSERT INTO account (id, key, stream_id, first_year, last_year, line_id, role) "
        "VALUES (1, 'CSF|2017|2017||funder', :o, 2017, 2017, NULL, 'funder')"
    ), {"o": other})  # fmt: skip


def row_counts(url: str) -> dict[str, int]:
    """How many rows each table of the ledger holds (to show that nothing was written)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()
