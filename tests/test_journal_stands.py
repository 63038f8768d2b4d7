"""Where the journal stands (its next ids and running turnover) as a write finds it: read with
the chain's marks when a writing transaction begins, or by the journal itself when it is not
the first to write in the transaction or the session was not made by the factory. On SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from grants.db.engine import make_session_factory
from grants.services import access
from grants.services.verify import verify
from tests.conftest import officer
from tests.helpers import FUND, entry, load_text, record


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _journal(session: Session) -> list[tuple[int, int]]:
    """(id, turnover) of every entry, and the posting ids, in order."""
    return [tuple(r) for r in session.execute(text("SELECT id, turnover_pence FROM entry "
                                                    "ORDER BY id"))]  # fmt: skip


def _expected_turnover(session: Session) -> list[int]:
    rows = session.execute(
        text("SELECT entry_id, SUM(ABS(amount_pence)) FROM posting GROUP BY entry_id ORDER BY 1")
    ).all()
    running, out = 0, []
    for _, moved in rows:
        running += int(moved)
        out.append(running)
    return out


def _ledger(engine: Engine, tmp_path: Path) -> None:
    with make_session_factory(engine)() as session, session.begin():
        load_text(session, tmp_path, FUND)
        record(session, entry("award", 1000))


def test_the_first_write_takes_ids_and_turnover_from_the_marks(
    engine: Engine, tmp_path: Path
) -> None:
    _ledger(engine, tmp_path)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        access.bind(session, officer(session))
        with statements(engine) as seen:
            record(session, entry("allocate", 600, "A"))
        assert not [s for s in seen if "MAX(id)" in s.upper() and "seal" not in s]
        assert not [s for s in seen if "turnover_pence FROM entry" in s]
        assert not [s for s in seen if "pg_advisory_xact_lock" in s]  # held since BEGIN
        with statements(engine) as seen:  # the second write of the transaction reads them
            record(session, entry("allocate", 100, "B"), entry("pay", 50, "A"))
        assert [s for s in seen if s.startswith("SELECT MAX(id) FROM")]
    with factory() as session, session.begin():
        access.bind(session, officer(session))
        record(session, entry("pay", 25, "B"))
    with make_session_factory(engine, read_only=True)() as reading, reading.begin():
        journal = _journal(reading)
        assert [i for i, _ in journal] == list(range(1, len(journal) + 1))
        assert [t for _, t in journal] == _expected_turnover(reading)
        postings = reading.execute(text("SELECT id FROM posting ORDER BY id")).scalars().all()
        assert postings == list(range(1, len(postings) + 1))
        found = verify(reading.connection())  # the chain, postings, turnover and ids whole
        # (the helper gives each entry a key of its own, not one its words make)
        assert [p for p in found.problems if p.check != "key"] == []


def test_a_session_not_made_by_the_factory_reads_where_the_journal_stands(
    engine: Engine, tmp_path: Path
) -> None:
    _ledger(engine, tmp_path)
    with Session(engine) as session, session.begin():
        access.bind(session, officer(session))
        before = _journal(session)
        record(session, entry("allocate", 600, "A"))
        after = _journal(session)
        assert [i for i, _ in after] == [i for i, _ in before] + [before[-1][0] + 1]
        assert [t for _, t in after] == _expected_turnover(session)
        session.rollback()


def test_a_session_holds_the_writers_lock_only_within_the_transaction_that_took_it(
    engine: Engine, tmp_path: Path
) -> None:
    """Before its first statement and after its commit a session has no transaction: it
    holds no lock, and the journal asks for the writers' lock itself."""
    from grants.db.engine import under_writers_lock

    _ledger(engine, tmp_path)
    with make_session_factory(engine)() as session:
        assert not under_writers_lock(session)
        session.execute(text("SELECT 1"))
        assert under_writers_lock(session)
        session.commit()
        assert not under_writers_lock(session)
    with Session(engine) as plain:
        plain.execute(text("SELECT 1"))
        assert not under_writers_lock(plain)
