"""The seal of a SQLite write takes its entries from the rows the journal wrote
(grants.db.seal_held): the chain is byte for byte the one reading them back would make, a
database that stores a sampled entry differently refuses the commit, and one that alters an
entry outside the sample is found by `grants verify`.

Every test runs on both engines: PostgreSQL always reads back, and must go on doing so.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from grants.db import seal, seal_held
from grants.db.engine import make_session_factory
from grants.errors import Tampered
from grants.periods import parse_period
from grants.services import access
from grants.services.journal import Journal, NewEntry
from grants.services.rules import Operation
from grants.services.verify import verify
from tests.conftest import officer
from tests.helpers import FUND, load_text, row_counts

EXAMPLES = int(os.environ.get("GRANTS_HELD_EXAMPLES", "40"))
NOW = datetime(2018, 3, 31, 12, 0, 0)
# Text every text column is given: what JSON, SQLite's affinity or a reader might take for
# something else.
HOSTILE = [
    "", "123", "1e5", " 12 ", "0x10", "-0", "0", "1.0", "+5", ".5", "9223372036854775808",
    "NULL", "null", "true", "[1]", "{}", "'", '"', "''", "\\", "\\n", "a\nb", "\r\n", "\t",
    "é", "漢字", "😀", "\u2028", "\ufeff", "2017-04-01", "2017-04-01 00:00:00", "1 ; 2",
]  # fmt: skip
texts = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=16),
)
maybe = st.none() | texts
_keys = count(1)


@st.composite
def batches(draw: st.DrawFn) -> list[NewEntry]:
    """Entries of every kind the journal writes, each with hostile text in its text
    columns: awards over ranges of years and with tranches, allocations with shares and
    over-allocations, payments, claims, receipts, virements and reversals, some with ids."""
    stamp = draw(st.sampled_from([NOW, datetime(2019, 1, 2, 3, 4, 5, 678901)]))
    ids = iter(draw(st.lists(texts, min_size=12, max_size=12, unique=True)))

    def new(op: Operation | None, **more: Any) -> NewEntry:
        fields = {
            "printed": draw(maybe), "reason": draw(maybe), "source": draw(maybe),
            "origin": draw(maybe), "note": draw(maybe),
        }  # fmt: skip
        fields.update(more)
        given = f"b{next(_keys)}-{next(ids)}" if draw(st.booleans()) else None
        return NewEntry(
            op, date(2017, 4, draw(st.integers(1, 30))), draw(texts) or "someone", stamp,
            ref=given, key=uuid.uuid4().hex, **fields,
        )  # fmt: skip

    year, years = parse_period("2017-18"), parse_period("2018-19:2020-21")
    tranche = draw(maybe)
    out = [
        new(Operation("award", "FUND", year, 10**9, tranche=tranche)),
        new(Operation("award", "FUND", years, 10**9)),
        new(
            Operation("allocate", "FUND", year, 5 * 10**6, line="A"),
            share=Decimal(draw(st.sampled_from(["12.5", "100", "0.01", "33.333"]))),
        ),
        new(Operation("allocate", "FUND", year, 10**6, line="A1")),
        new(Operation("pay", "FUND", year, draw(st.integers(1, 10**6)), line="A1")),
        new(Operation("allocate", "FUND", years, 2 * 10**9, line="B", over_allocation=True)),
        new(Operation("virement", "FUND", year, 1000, line="A", to_line="B")),
        new(Operation("claim", "FUND", year, 5000, tranche=f"{draw(texts)}{next(_keys)}")),
        new(Operation("receipt", "FUND", year, 700)),
    ]
    paid = out[4]
    if paid.ref is not None and draw(st.booleans()):
        out.append(new(None, reverses=paid.ref))
    return out


@pytest.fixture
def fund(engine: Engine, tmp_path: Path) -> Engine:
    with make_session_factory(engine)() as session, session.begin():
        load_text(session, tmp_path, FUND)
    return engine


def _writing(engine: Engine) -> Session:
    session = make_session_factory(engine)()
    session.begin()
    with make_session_factory(engine, read_only=True)() as reading, reading.begin():
        actor = officer(reading)
    access.bind(session, actor)
    return session


SealRow = tuple[Any, ...]


def _seal_rows(session: Session, after: int) -> list[SealRow]:
    return [tuple(r) for r in session.execute(
        text("SELECT seq, tbl, row_id, form, digest FROM seal WHERE seq > :n ORDER BY seq"),
        {"n": after},
    )]  # fmt: skip


def sealed_both_ways(
    engine: Engine,
    write: Callable[[Session], None],
    before_commit: Callable[[Session], None] | None = None,
) -> tuple[list[SealRow], list[SealRow], bool]:
    """``write`` in one transaction; the links the seal makes reading every record back (in
    a savepoint, then undone) and the links the commit made; and whether the commit sealed
    the entries from the rows held."""
    used: list[int] = []
    held_entries = seal_held.held_entries

    def noting(*args: Any, **kwargs: Any) -> Any:
        used.append(1)
        return held_entries(*args, **kwargs)

    session = _writing(engine)
    try:
        write(session)
        session.flush()
        marks = session.info["grants_marks"]
        savepoint = session.begin_nested()
        seal.seal_new(session.connection(), marks, session.info["grants_order"])
        read_back = _seal_rows(session, marks.head.count)
        savepoint.rollback()
        if before_commit is not None:
            before_commit(session)
        seal_held.held_entries = noting  # type: ignore[assignment]
        try:
            session.commit()
        finally:
            seal_held.held_entries = held_entries  # type: ignore[assignment]
    finally:
        session.close()
    with make_session_factory(engine, read_only=True)() as reading, reading.begin():
        committed = _seal_rows(reading, marks.head.count)
    return read_back, committed, bool(used)


def _verified(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [str(p) for p in verify(connection).problems]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=batches(), split=st.integers(0, 10))
def test_the_chain_from_the_rows_written_is_the_chain_read_back(
    fund: Engine, batch: list[NewEntry], split: int
) -> None:
    """Every link the same, byte for byte, sealed from what was written and read back, in
    one batch or two; then `grants verify` finds the record whole."""

    def write(session: Session) -> None:
        journal = Journal(session)
        journal.record(batch[:split])
        journal.record(batch[split:])

    read_back, committed, held = sealed_both_ways(fund, write)
    assert committed == read_back
    assert len(committed) == len(batch)
    assert held == (fund.dialect.name == "sqlite")
    assert _verified(fund) == []


def test_a_held_row_unlike_the_stored_one_changes_the_chain(
    fund: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison above is not idle: a held row that differs from what was stored (here
    one outside the sample, changed before the commit) gives another chain, which verify
    names."""
    if fund.dialect.name != "sqlite":
        pytest.skip("PostgreSQL reads every entry back")
    monkeypatch.setattr(seal_held, "SAMPLE", 0)  # only the first and the last read back
    entries = [_allocation(i) for i in range(5)]

    def change_the_third(session: Session) -> None:
        held: seal_held.Held = session.info[seal_held.HELD]
        row = list(held.entries[0][2])
        row[23] = "not what was written"  # its note
        held.entries[0][2] = tuple(row)

    read_back, committed, used = sealed_both_ways(
        fund, lambda s: Journal(s).record([_award(), *entries]), change_the_third
    )
    assert used
    assert committed != read_back
    assert [a == b for a, b in zip(read_back, committed, strict=True)].index(False) == 2
    problems = _verified(fund)
    assert problems and "entry 3" in problems[0]


def _award() -> NewEntry:
    op = Operation("award", "FUND", parse_period("2017-18"), 10**9)
    return NewEntry(op, date(2017, 4, 1), "tester", NOW, key=uuid.uuid4().hex)


def _allocation(i: int) -> NewEntry:
    op = Operation("allocate", "FUND", parse_period("2017-18"), 100 + i, line="A")
    return NewEntry(op, date(2017, 4, 1), "tester", NOW, key=uuid.uuid4().hex, note=f"n{i}")


def _plant(engine: Engine, entry_id: int) -> None:
    """A trigger that rewrites entry ``entry_id``'s note as it goes in (the update guard
    taken off first, as anyone who can change the schema can)."""
    assert engine.url.database is not None
    with sqlite3.connect(engine.url.database) as conn:
        conn.execute("DROP TRIGGER entry_no_update")
        conn.execute(
            f"CREATE TRIGGER planted AFTER INSERT ON entry WHEN NEW.id = {entry_id} "
            "BEGIN UPDATE entry SET note = 'planted' WHERE id = NEW.id; END"
        )


@pytest.mark.parametrize("planted_at", [1, 40, 81])
def test_a_sampled_entry_stored_otherwise_refuses_the_commit(
    fund: Engine, db_url: str, planted_at: int
) -> None:
    if fund.dialect.name != "sqlite":
        pytest.skip("the trigger is SQLite's; PostgreSQL reads every entry back")
    assert planted_at in seal_held.sample(1, 81)
    _plant(fund, planted_at)
    before = row_counts(db_url)
    session = _writing(fund)
    Journal(session).record([_award(), *(_allocation(i) for i in range(80))])
    with pytest.raises(Tampered, match=f"stored entry {planted_at} differently.*nothing was"):
        session.commit()
    session.rollback()
    session.close()
    assert row_counts(db_url) == before


def test_an_unsampled_entry_stored_otherwise_is_found_by_verify(fund: Engine) -> None:
    if fund.dialect.name != "sqlite":
        pytest.skip("the trigger is SQLite's; PostgreSQL reads every entry back")
    unsampled = next(i for i in range(2, 81) if i not in seal_held.sample(1, 81))
    _plant(fund, unsampled)
    session = _writing(fund)
    Journal(session).record([_award(), *(_allocation(i) for i in range(80))])
    session.commit()
    session.close()
    problems = _verified(fund)
    assert any(f"entry {unsampled}" in p for p in problems), problems


def test_rows_written_inside_a_savepoint_are_read_back(fund: Engine) -> None:
    """Rows written in a savepoint may be undone with it: once any are, the seal reads every
    entry back, whether the savepoint was rolled back or not."""

    def write(session: Session) -> None:
        Journal(session).record([_award(), _allocation(1)])
        savepoint = session.begin_nested()
        Journal(session).record([_allocation(2)])
        savepoint.rollback()
        Journal(session).record([_allocation(3)])

    read_back, committed, held = sealed_both_ways(fund, write)
    assert committed == read_back and len(committed) == 3
    assert not held
    assert _verified(fund) == []


def test_rows_undone_under_the_journal_are_not_sealed(fund: Engine) -> None:
    """A savepoint of the connection's own, rolled back between two batches of a load: the
    rows held for the batch undone are not in the table, and the seal reads back."""
    entries = [_award(), *(_allocation(i) for i in range(6))]

    def write(session: Session) -> None:
        with Journal(session).in_batches(len(entries), None) as record:
            record(entries[:2])
            savepoint = session.connection().begin_nested()
            record(entries[2:4])
            savepoint.rollback()
            record(entries[4:])

    read_back, committed, held = sealed_both_ways(fund, write)
    assert committed == read_back and len(committed) == 5
    assert not held


def test_entries_the_held_rows_do_not_cover_are_read_back(fund: Engine) -> None:
    def write(session: Session) -> None:
        Journal(session).record([_award(), _allocation(1)])
        session.info.pop(seal_held.HELD, None)  # as if written by another path
        Journal(session).record([_allocation(2)])

    read_back, committed, held = sealed_both_ways(fund, write)
    assert committed == read_back and len(committed) == 3
    assert not held
    assert _verified(fund) == []


def test_nothing_held_outlives_its_transaction(fund: Engine) -> None:
    session = _writing(fund)
    Journal(session).record([_award()])
    assert (seal_held.HELD in session.info) == (fund.dialect.name == "sqlite")
    session.rollback()
    assert seal_held.HELD not in session.info
    session.begin()
    Journal(session).record([_award()])
    session.commit()
    assert seal_held.HELD not in session.info
    session.close()
    assert _verified(fund) == []


def test_a_load_in_batches_is_read_back(fund: Engine) -> None:
    """`grants ledger load` (``in_batches``) does not hold its rows: the seal reads them
    back, after an entry held before it as well."""
    entries = [_award(), *(_allocation(i) for i in range(30))]

    def write(session: Session) -> None:
        Journal(session).record(entries[:1])
        with Journal(session).in_batches(len(entries) - 1, None) as record:
            for at in range(1, len(entries), 7):
                assert not record(entries[at : at + 7]).refused

    read_back, committed, held = sealed_both_ways(fund, write)
    assert committed == read_back and len(committed) == len(entries)
    assert not held
    assert _verified(fund) == []


def test_the_sample() -> None:
    assert seal_held.sample(5, 7) == [5, 6, 7]
    picked = seal_held.sample(1, 100_000)
    assert picked[0] == 1 and picked[-1] == 100_000 and len(picked) == seal_held.SAMPLE + 2
