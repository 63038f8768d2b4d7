"""A load into an empty journal builds its indexes after its rows, and keeps every check,
on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from grants.db import bulk
from grants.db.engine import make_session_factory, seal_now
from grants.errors import RuleError
from grants.periods import parse_period
from grants.services import journal_chunks
from grants.services.journal import BIG_BATCH, Journal, NewEntry
from grants.services.rules import Operation
from grants.services.verify import verify
from tests.helpers import FUND, NOW, load_text

Y = parse_period("2017-18")


def indexes(engine: Engine) -> dict[str, list[tuple[str, bool, object]]]:
    found = inspect(engine)
    n = engine.dialect.name
    return {
        t: sorted(
            (i["name"], bool(i["unique"]), str(i.get("dialect_options", {}).get(f"{n}_where")))
            for i in found.get_indexes(t)
        )
        for t in ("account", "entry", "posting")
    }


def many(n: int) -> list[NewEntry]:
    items = [NewEntry(Operation("award", "FUND", Y, 10**12), date(2017, 4, 1), "t", NOW)]
    for i in range(n - 1):
        op = Operation("allocate", "FUND", Y, 100 + i, line="AB"[i % 2])
        items.append(NewEntry(op, date(2017, 4, 1), "t", NOW))
    return items


def test_a_big_load_into_an_empty_journal_ends_with_every_index(
    engine: Engine, tmp_path: Path
) -> None:
    before = indexes(engine)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        load_text(session, tmp_path, FUND)
        result = Journal(session).record(many(BIG_BATCH))
    assert len(result.entry_ids) == BIG_BATCH
    assert indexes(engine) == before
    with make_session_factory(engine, read_only=True)() as session, session.begin():
        assert verify(session.connection()).ok
        # The load's rows are found through the indexes made again.
        key = session.execute(text("SELECT key FROM entry WHERE id = 77")).scalar()
        plan = session.execute(text("SELECT id FROM entry WHERE key = :k"), {"k": key}).all()
        assert plan == [(77,)]


def test_an_index_built_after_the_rows_refuses_two_alike(empty_url: str) -> None:
    from grants.db import migrate
    from grants.db.engine import make_engine

    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine)
        before = indexes(engine)
        with engine.connect() as connection:
            connection.begin()
            connection.execute(
                text(
                    "INSERT INTO organisation (id, code, name, role, day) VALUES "
                    "(1, 'F', 'F', 'funder', '2017-04-01')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO stream (id, code, name, kind, funder_id, day) VALUES "
                    "(1, 'S', 'S', 'other', 1, '2017-04-01')"
                )
            )
            row = "'2017-04-01', 1, 2017, 2017, 100, false, 'x', '2017-04-01 09:00:00', 'award'"
            with pytest.raises((bulk.NotUnique, IntegrityError), match="uq_entry_key"):
                with bulk.indexes_after(connection, ("entry",)):
                    for i in (1, 2):
                        connection.execute(
                            text(
                                "INSERT INTO entry (id, key, ref, day, stream_id, first_year, "
                                "last_year, amount_pence, over_allocation, actor, recorded_at, "
                                f"kind) VALUES ({i}, 'same', 'r{i}', {row})"
                            )
                        )
            connection.rollback()
        assert indexes(engine) == before
        with engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM entry")).scalar() == 0
    finally:
        engine.dispose()


# -- a big batch written on a second thread while the next chunk is checked ------------------


def _journal_rows(session: Session) -> dict[str, list[tuple[object, ...]]]:
    seal_now(session)
    return {
        t: [tuple(r) for r in session.execute(text(f"SELECT * FROM {t} ORDER BY 1"))]
        for t in ("account", "entry", "posting", "seal")
    }


def _recorded(engine: Engine, tmp_path: Path, batch: list[NewEntry]) -> dict[str, Any]:
    """The rows a batch adds to the ledger (with its seal), rolled back after."""
    with make_session_factory(engine)() as session:
        session.begin()
        load_text(session, tmp_path, FUND)
        Journal(session).record(batch)
        rows = _journal_rows(session)
        session.rollback()
    return rows


@pytest.fixture
def writers(monkeypatch: pytest.MonkeyPatch) -> list[bulk.Writer]:
    """Every Writer made from now on."""
    made: list[bulk.Writer] = []
    enter = bulk.Writer.__enter__

    def counted(self: bulk.Writer) -> bulk.Writer:
        made.append(self)
        return enter(self)

    monkeypatch.setattr(bulk.Writer, "__enter__", counted)
    return made


def test_a_batch_written_in_chunks_has_the_rows_and_seal_of_one_written_whole(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writers: list[bulk.Writer]
) -> None:
    batch = many(BIG_BATCH + journal_chunks.CHUNK // 2)  # the last chunk half full
    chunked = _recorded(engine, tmp_path, batch)
    assert len(writers) == 1 and not writers[0]._thread.is_alive()
    monkeypatch.setattr(bulk, "threads_fine", lambda _: False)
    whole = _recorded(engine, tmp_path, batch)
    assert len(writers) == 1  # no writer the second time
    assert len(chunked["entry"]) >= len(batch)
    assert chunked == whole


@pytest.mark.parametrize("keep_going", [False, True], ids=["first refusal", "every refusal"])
def test_an_entry_refused_after_chunks_were_written_writes_nothing(
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    writers: list[bulk.Writer],
    keep_going: bool,
) -> None:
    batch = many(BIG_BATCH)
    # Beyond the award, in the last chunk: the chunks before it are written by then.
    batch.append(NewEntry(Operation("allocate", "FUND", Y, 10**13, line="A"), date(2017, 4, 1),
                          "t", NOW))  # fmt: skip
    errors = []
    for fine in (True, False):
        monkeypatch.setattr(bulk, "threads_fine", lambda _, fine=fine: fine)
        with make_session_factory(engine)() as session:
            session.begin()
            load_text(session, tmp_path, FUND)
            before = _journal_rows(session)
            with pytest.raises(RuleError) as refused:
                Journal(session).record(batch, keep_going=keep_going)
            errors.append((type(refused.value), str(refused.value)))
            assert _journal_rows(session) == before  # nothing written; the transaction goes on
            Journal(session).record(many(3))
            assert len(_journal_rows(session)["entry"]) == len(before["entry"]) + 3
            session.rollback()
    assert len(writers) == 1
    assert errors[0] == errors[1]


def _missing_table(connection: Connection) -> None:
    connection.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")


def test_an_error_of_the_writer_is_raised_in_the_callers_thread_with_its_message(
    engine: Engine,
) -> None:
    with engine.connect() as connection, connection.begin():
        with pytest.raises(DBAPIError) as alone:
            _missing_table(connection)
    for then in ("block ends", "statement", "submit"):
        with engine.connect() as connection:
            connection.begin()
            with pytest.raises(type(alone.value)) as piped:
                with bulk.Writer(connection) as writer:
                    writer.submit(functools.partial(_missing_table, connection))
                    if then == "statement":
                        connection.exec_driver_sql("SELECT 1")
                    elif then == "submit":
                        writer.submit(lambda: None)
                        writer.submit(lambda: None)
            assert str(piped.value) == str(alone.value)
            assert not writer._thread.is_alive()
            connection.rollback()


def test_an_interrupt_in_the_callers_thread_joins_the_writer_and_drops_what_is_pending(
    engine: Engine,
) -> None:
    ran: list[str] = []

    def slow() -> None:
        time.sleep(0.2)
        ran.append("slow")

    with engine.connect() as connection:
        connection.begin()
        with pytest.raises(KeyboardInterrupt):
            with bulk.Writer(connection, depth=2) as writer:
                writer.submit(slow)
                writer.submit(lambda: ran.append("after"))
                raise KeyboardInterrupt
        assert not writer._thread.is_alive()
        assert ran == ["slow"]
        connection.rollback()


def test_a_statement_of_the_callers_thread_waits_until_the_writer_is_idle(
    engine: Engine,
) -> None:
    with engine.connect() as connection:
        connection.begin()
        connection.exec_driver_sql("CREATE TEMPORARY TABLE written (n INTEGER)")

        def slow_rows() -> None:
            time.sleep(0.3)
            connection.exec_driver_sql("INSERT INTO written (n) VALUES (1), (2), (3)")

        with bulk.Writer(connection) as writer:
            writer.submit(slow_rows)
            # Sent at once, it would find no row: it waits for the writer.
            seen = connection.exec_driver_sql("SELECT COUNT(*) FROM written").scalar()
        assert seen == 3
        connection.rollback()
