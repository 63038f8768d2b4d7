"""Rows written in bulk (grants.db.bulk): exactly as given on both engines, and, on
PostgreSQL, a load into empty tables leaves every key, index, guard, policy and grant as it
was, and a row that breaks a key found only as the key is built again undoes the whole load.
"""

from __future__ import annotations

import gc
import threading
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from grants.db import bulk, seal
from grants.errors import GrantsError
from grants.services.journal import ENTRY_COLUMNS
from tests.conftest import Grants
from tests.helpers import books
from tests.test_access import BOOKS

# Text a note can hold, each awkward for some way of writing rows: COPY's own delimiters,
# escapes and end-of-data marker, quotes, line ends, characters beyond ASCII.
AWKWARD = [
    "tab\there",
    "new\nline",
    "carriage\r\nreturn",
    "back\\slash \\\\ and \\t",
    "\\N",
    "\\.",
    "NULL",
    "",
    "  spaces around  ",
    "quotes ' and \" and ,;|",
    "£1,000 é ß 日本 😀",
    "\x01\x1f control",
    "end\n\\.\n",
]


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A transaction on the ledger (with the Oxfordshire books), rolled back at the end."""
    with engine.connect() as conn:
        conn.begin()
        yield conn
        conn.rollback()


def _entries(conn: Connection, first_id: int, notes: list[str | None]) -> list[tuple[Any, ...]]:
    stream_id = conn.execute(text("SELECT MIN(id) FROM stream")).scalar_one()
    rows = []
    for i, note in enumerate(notes):
        values: dict[str, Any] = dict.fromkeys(ENTRY_COLUMNS)
        values |= {
            "id": first_id + i, "key": f"k{uuid.uuid4().hex}", "ref": f"bulk-{first_id + i}",
            "kind": "award", "day": date(2017, 4, 1 + i % 28), "stream_id": stream_id,
            "first_year": 2017, "last_year": 2017, "amount_pence": 100 + i,
            "over_allocation": i % 2 == 0, "actor": "tester", "reason": note,
            "recorded_at": datetime(2017, 11, 30, 9, i % 60, i % 60), "note": note,
            "source": None if i % 3 else note, "turnover_pence": 10**15 + i,
        }  # fmt: skip
        rows.append(tuple(values[c] for c in ENTRY_COLUMNS))
    return rows


@pytest.mark.parametrize("copies", [1, 4], ids=["few rows", "many rows"])
def test_awkward_text_dates_and_nulls_go_in_exactly(
    oxfordshire: Grants, connection: Connection, copies: int
) -> None:
    first = connection.execute(text("SELECT COALESCE(MAX(id), 0) + 1 FROM entry")).scalar_one()
    notes: list[str | None] = [*AWKWARD, None][: 5 if copies == 1 else None] * copies
    rows = _entries(connection, first, notes)
    bulk.insert_rows(connection, "entry", ENTRY_COLUMNS, rows)
    back = connection.exec_driver_sql(
        f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entry WHERE id >= {first} ORDER BY id"
    ).all()
    engine = connection.dialect.name
    for want, got in zip(rows, back, strict=True):
        got = list(got)
        if engine == "sqlite":  # SQLite keeps dates, times and booleans as text and numbers
            day, at, over = (ENTRY_COLUMNS.index(c) for c in ("day", "recorded_at",
                                                              "over_allocation"))  # fmt: skip
            got[day] = date.fromisoformat(got[day])
            got[at] = datetime.fromisoformat(got[at])
            got[over] = bool(got[over])
        assert tuple(got) == want
    assert len(back) == len(rows)


def _schema(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Everything about the tables a load must leave as it was: their indexes and
    constraints, triggers (the guards), row-level security and its policies, and grants."""
    if conn.dialect.name == "sqlite":
        return {"objects": [tuple(r) for r in conn.exec_driver_sql(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")]}  # fmt: skip
    queries = {
        "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = current_schema() ORDER BY 1, 2",
        "constraints": "SELECT conrelid::regclass::text, conname, contype, condeferrable, "
        "condeferred, convalidated, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2",
        "triggers": "SELECT tgrelid::regclass::text, tgname, tgenabled, pg_get_triggerdef(oid) "
        "FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2",
        "policies": "SELECT tablename, policyname, permissive, roles::text, cmd, qual, "
        "with_check FROM pg_policies ORDER BY 1, 2",
        "tables": "SELECT relname, relkind, relrowsecurity, relforcerowsecurity, "
        "relacl::text, relowner FROM pg_class "
        "WHERE relnamespace = current_schema()::regnamespace ORDER BY 1",
    }
    return {k: [tuple(r) for r in conn.exec_driver_sql(q)] for k, q in queries.items()}


def test_a_load_into_an_empty_ledger_leaves_every_key_and_guard_as_it_was(
    grants: Grants, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        # Row-level security and a grant on the journal, as `grants db roles` would leave.
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE entry ENABLE ROW LEVEL SECURITY")
            conn.exec_driver_sql("CREATE POLICY bulk_test ON entry USING (amount_pence > 0)")
            conn.exec_driver_sql("GRANT SELECT ON entry, posting TO PUBLIC")
    with engine.connect() as conn:
        before = _schema(conn)
    dropped: list[str] = []
    monkeypatch.setattr(bulk, "MANY", 1)  # the few entries of these books count as a load
    if postgres:
        from grants.db import bulk_postgres

        drop = bulk_postgres.drop_keys

        def noting(connection: Connection, tables: Any) -> Any:
            found = drop(connection, tables)
            dropped.extend(d.name for d in found)
            return found

        monkeypatch.setattr(bulk_postgres, "drop_keys", noting)
    loaded = grants("ledger", "load", str(books(tmp_path, BOOKS)))
    assert loaded.exit_code == 0, loaded.output
    with engine.connect() as conn:
        after = _schema(conn)
        count = conn.execute(text("SELECT COUNT(*) FROM entry")).scalar_one()
    assert count == 5
    if postgres:  # the load did build them again (so this test compares something)
        assert {"uq_entry_key", "fk_posting_entry_id_entry", "ix_posting_account_amount",
                "uq_account_key"} <= set(dropped)  # fmt: skip
    assert after == before
    assert grants("verify").exit_code == 0


def _waits_on_entry(engine: Engine, load: threading.Thread) -> bool:
    """Whether a transaction other than the caller's waits for a lock on ``entry`` (the
    load's drop, held by the reader), watched until then or until the load has ended."""
    from grants.db.engine import ACCESS

    with engine.connect().execution_options(**{ACCESS: "read"}) as watch:
        for _ in range(6000):
            waiting = watch.exec_driver_sql(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted "
                "AND relation = 'entry'::regclass)"
            ).scalar_one()
            if waiting or not load.is_alive():
                return bool(waiting)
            watch.rollback()
            load.join(0.01)
    raise AssertionError("the load neither ended nor waited within a minute")


@pytest.mark.parametrize("then", ["stream", "line", "claim", "commitment"])
def test_a_reader_of_entry_then_of_another_table_is_never_deadlocked_by_a_load(
    engine: Engine, tmp_path: Path, dropped: list[str], then: str
) -> None:
    """A reader that has read the empty journal and then reads a table the load's key drops
    also lock (``stream``, ``line``; ``claim``, ``commitment``, which lean on ``entry``)
    must never meet the load in a deadlock, which PostgreSQL breaks by aborting one of
    them. The load takes every lock its drops need at once without waiting: as the reader
    holds ``entry``, it drops nothing and writes its rows with the keys kept."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps its keys in a load, under its one writer")
    from grants.db.engine import ACCESS, make_session_factory
    from tests.helpers import load_text

    with engine.connect() as conn:
        before = _schema(conn)
    failed: list[BaseException] = []

    def load() -> None:
        try:
            with make_session_factory(engine)() as session, session.begin():
                session.connection().exec_driver_sql("SET LOCAL lock_timeout = '60s'")
                load_text(session, tmp_path, BOOKS)
        except BaseException as exc:  # reported in the test's own thread
            failed.append(exc)

    with engine.connect().execution_options(**{ACCESS: "read"}) as reader:
        reader.begin()
        reader.exec_driver_sql("SET LOCAL lock_timeout = '60s'")
        assert reader.exec_driver_sql("SELECT COUNT(*) FROM entry").scalar_one() == 0
        loading = threading.Thread(target=load)
        loading.start()
        try:
            _waits_on_entry(engine, loading)
            reader.exec_driver_sql(f"SELECT COUNT(*) FROM {then}").scalar_one()
            reader.rollback()
        finally:
            loading.join(120)
    assert not loading.is_alive()
    assert not failed, failed
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM entry")).scalar_one() == 5
        assert _schema(conn) == before
    assert dropped == []  # the reader held entry: the keys stayed, checked row by row


def test_a_duplicate_found_as_its_key_is_built_again_undoes_the_whole_load(engine: Engine) -> None:
    from grants.db.engine import make_session_factory

    stream = (
        "INSERT INTO stream (id, code, name, kind, day) "
        "VALUES (900, 'BULK', 'Bulk', 'other', '2017-04-01')"
    )
    rows = [(i, "S900|2017-18||award" if i in (3, 7) else f"S900|2017-18|L{i}|paid", 900,
             2017, 2017, None, "award") for i in range(1, 20)]  # fmt: skip
    with engine.connect() as conn:
        before = _schema(conn)
    with pytest.raises((GrantsError, IntegrityError)) as raised:
        with make_session_factory(engine)() as session, session.begin():
            conn = session.connection()
            conn.exec_driver_sql(stream)
            columns = ("id", "key", "stream_id", "first_year", "last_year", "line_id", "role")
            with bulk.indexes_after(conn, ("account", "entry", "posting")):
                bulk.insert_rows(conn, "account", columns, rows)
    message = str(raised.value)
    # Two of the load's own rows, into an empty table: no row held before it is blamed.
    assert "grants verify" not in message
    if engine.dialect.name == "postgresql":
        assert isinstance(raised.value, GrantsError), message
        assert message.startswith("nothing was recorded: the rows written to account include")
        assert "uq_account_key" in message and "S900|2017-18||award" in message
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM account")).scalar_one() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM stream WHERE id = 900")).scalar_one() == 0
        assert _schema(conn) == before


def test_a_reference_to_no_row_found_as_its_key_is_built_again_is_named(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite checks each reference as its row goes in")
    from grants.db.engine import make_session_factory

    postings = [(i, 1, 1, 100) for i in range(1, 20)]  # entry 1 and account 1: neither made
    with pytest.raises(GrantsError, match="include a row naming one that does not exist"):
        with make_session_factory(engine)() as session, session.begin():
            conn = session.connection()
            with bulk.indexes_after(conn, ("account", "entry", "posting")):
                bulk.insert_rows(conn, "posting", ("id", "entry_id", "account_id",
                                                   "amount_pence"), postings)  # fmt: skip


def test_a_failure_to_lock_other_than_a_busy_table_is_raised(connection: Connection) -> None:
    """Only a table another transaction holds makes a load keep its keys quietly: any other
    failure of the lock (here a table that is not there) is raised, not taken for a busy
    table, so a fault is seen rather than making every load slower without saying why."""
    if connection.dialect.name != "postgresql":
        pytest.skip("SQLite keeps its keys in a load")
    from grants.db import bulk_postgres

    with pytest.raises(DBAPIError, match="no_such_table"):
        bulk_postgres._locked_at_once(connection, ["stream", "no_such_table"])
    # The savepoint is rolled back: the transaction goes on.
    assert connection.execute(text("SELECT 1")).scalar_one() == 1
    assert bulk_postgres._locked_at_once(connection, ["stream", "line"])


def test_keys_are_built_again_when_the_block_fails_and_the_transaction_goes_on(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps its keys in a load")
    with engine.connect() as conn:
        before = _schema(conn)  # in the transaction the test then rolls back
        with pytest.raises(ValueError), bulk.indexes_after(conn, ("account", "entry", "posting")):
            assert "uq_entry_key" not in str(_schema(conn)["constraints"])
            raise ValueError("a failure of the caller's own")
        assert _schema(conn) == before
        conn.rollback()


def test_a_role_under_row_security_writes_with_insert_and_keeps_the_keys(engine: Engine) -> None:
    """PostgreSQL takes no COPY into a table whose row-level security applies to the role
    (the ledger's working role once `grants db roles` has run), and that role owns no table,
    so it cannot take their keys off: rows go in with INSERT, keys checked row by row."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    role = f"bulk_{uuid.uuid4().hex[:8]}"
    with engine.connect() as conn:
        conn.begin()  # the role is made and dropped with the transaction
        conn.exec_driver_sql(f"CREATE ROLE {role}")
        conn.exec_driver_sql(f"GRANT SELECT, INSERT ON seal TO {role}")
        conn.exec_driver_sql("ALTER TABLE seal ENABLE ROW LEVEL SECURITY")
        conn.exec_driver_sql("CREATE POLICY bulk_test ON seal USING (true) WITH CHECK (true)")
        conn.exec_driver_sql(f"SET LOCAL ROLE {role}")
        start = conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM seal")).scalar_one()
        rows = [(start + i, "bulk", i, 1, f"{i:064x}") for i in range(1, 41)]
        with bulk.indexes_after(conn, ("seal",)):
            assert "uq_seal_tbl" in str(_schema(conn)["constraints"])
            bulk.insert_rows(conn, "seal", seal.SEAL_COLUMNS, rows)
        got = conn.execute(text("SELECT COUNT(*) FROM seal WHERE tbl = 'bulk'")).scalar_one()
        assert got == 40
        conn.rollback()


def test_a_failed_read_is_reported_as_a_database_error(engine: Engine) -> None:
    """The chain's reader uses the driver's own cursor; its failures still come as
    SQLAlchemy's errors, which the commands turn into a message."""
    with engine.connect() as conn, pytest.raises((DBAPIError, Exception)) as raised:
        list(seal.stream_rows(conn, "SELECT no_such_column FROM entry"))
    if engine.dialect.name == "postgresql":
        assert isinstance(raised.value, DBAPIError)


def _seal_keys(conn: Connection) -> list[str]:
    return [
        name
        for (name,) in conn.exec_driver_sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'seal'::regclass "
            "AND contype IN ('p', 'u') ORDER BY 1"
        )
    ]


def _links(conn: Connection, count: int) -> tuple[int, list[tuple[Any, ...]]]:
    start = conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM seal")).scalar_one()
    return start, [(start + i, "bulk", i, 1, f"{i:064x}") for i in range(1, count + 1)]


def test_many_links_appended_to_a_short_chain_go_in_before_its_keys(
    oxfordshire: Grants, engine: Engine
) -> None:
    """A load appends more links than the chain holds: on PostgreSQL the chain's primary
    key and unique key are built once after them, and the schema ends as it began."""
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        conn.begin()
        before = _schema(conn)
        start, rows = _links(conn, 10_000)
        with bulk.keys_after_append(conn, "seal", start, len(rows)):
            if postgres:
                assert _seal_keys(conn) == []
            bulk.insert_rows(conn, "seal", seal.SEAL_COLUMNS, rows)
        assert _schema(conn) == before
        if postgres:
            assert _seal_keys(conn) == ["pk_seal", "uq_seal_tbl"]
        got = conn.execute(text("SELECT COUNT(*) FROM seal WHERE tbl = 'bulk'")).scalar_one()
        assert got == len(rows)
        conn.rollback()


def test_a_few_links_or_a_long_chain_keep_the_keys(oxfordshire: Grants, engine: Engine) -> None:
    with engine.connect() as conn:
        conn.begin()
        for holding, adding in ((0, bulk.MANY - 1), (bulk.MANY + 1, bulk.MANY)):
            with bulk.keys_after_append(conn, "seal", holding, adding):
                if engine.dialect.name == "postgresql":
                    assert _seal_keys(conn) == ["pk_seal", "uq_seal_tbl"]
        conn.rollback()


def test_a_link_repeated_in_a_load_undoes_it(oxfordshire: Grants, engine: Engine) -> None:
    with engine.connect() as conn:
        before = _schema(conn)
    with pytest.raises((GrantsError, IntegrityError)) as raised:
        with engine.connect() as conn, conn.begin():
            start, rows = _links(conn, 10_000)
            rows.append(rows[5])  # the same link twice
            with bulk.keys_after_append(conn, "seal", start, len(rows)):
                bulk.insert_rows(conn, "seal", seal.SEAL_COLUMNS, rows)
    if engine.dialect.name == "postgresql":
        message = str(raised.value)
        assert message.startswith("nothing was recorded: the rows written to seal include")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM seal WHERE tbl = 'bulk'")).scalar_one() == 0
        assert _schema(conn) == before


def test_no_other_transaction_writes_or_reads_the_chain_while_its_keys_are_off(
    oxfordshire: Grants, engine: Engine
) -> None:
    """Dropping a key locks the table until the load's transaction ends. Every writer of
    records first waits for the ledger's writer lock, which the load holds; a transaction
    that does not (one that writes no record, or reads) still waits for the table, and
    with a lock timeout is refused, rather than adding or seeing links no key checks."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps the chain's keys in a load")
    from sqlalchemy.exc import OperationalError

    from grants.db.engine import ACCESS

    with engine.connect() as load:
        load.begin()
        start, rows = _links(load, 10_000)
        with bulk.keys_after_append(load, "seal", start, len(rows)):
            bulk.insert_rows(load, "seal", seal.SEAL_COLUMNS, rows)
            for access, sql in (
                ("change", "INSERT INTO seal (seq, tbl, row_id, form, digest) "
                 f"VALUES ({start + 1}, 'other', 1, 1, '{'0' * 64}')"),
                ("read", "SELECT COUNT(*) FROM seal"),
            ):  # fmt: skip
                with (
                    engine.connect().execution_options(**{ACCESS: access}) as other,
                    pytest.raises(OperationalError) as refused,
                ):
                    other.begin()
                    other.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
                    other.exec_driver_sql(sql)
                assert getattr(refused.value.orig, "sqlstate", None) == "55P03"
        load.rollback()


def test_a_reader_of_the_chain_keeps_its_keys_rather_than_holds_the_load(
    oxfordshire: Grants, engine: Engine
) -> None:
    """A transaction reading the chain (verify, in its one transaction) holds a lock on it
    that dropping a key would wait for, and every reader after it with the load: the load
    keeps the keys and appends its links checked row by row instead, without waiting."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps the chain's keys in a load")
    from grants.db.engine import ACCESS

    with engine.connect().execution_options(**{ACCESS: "read"}) as reader:
        reader.begin()
        reader.exec_driver_sql("SELECT COUNT(*) FROM seal").scalar_one()
        with engine.connect() as load:
            load.begin()
            load.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
            start, rows = _links(load, 10_000)
            with bulk.keys_after_append(load, "seal", start, len(rows)):
                assert _seal_keys(load) == ["pk_seal", "uq_seal_tbl"]
                bulk.insert_rows(load, "seal", seal.SEAL_COLUMNS, rows)
            got = load.execute(text("SELECT COUNT(*) FROM seal WHERE tbl = 'bulk'"))
            assert got.scalar_one() == len(rows)
            load.rollback()
        reader.rollback()


def test_the_cycle_collector_is_left_running_while_other_threads_run() -> None:
    """The collector is the whole process's: in the web service, a page that verifies the
    chain or reads balances must not pause it under every other request."""
    assert gc.isenabled()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with bulk.no_cycle_collection(1_000_000):
            assert gc.isenabled()
    finally:
        stop.set()
        other.join()
    if threading.active_count() == 1:  # a process of one thread (a command): paused
        with bulk.no_cycle_collection(1_000_000):
            assert not gc.isenabled()
        assert gc.isenabled()


def test_a_sqlite_engine_binds_none_as_null_through_an_adapter(tmp_path: Path) -> None:
    """sqlite3 looks a None's adapter up through two failing attribute lookups unless one is
    registered (grants.db.engine.bind_none_directly): making a SQLite engine registers it,
    and the value bound is still NULL, by executemany and execute alike."""
    import sqlite3

    from grants.db.engine import make_engine

    key = (type(None), sqlite3.PrepareProtocol)
    was = sqlite3.adapters.pop(key, None)
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'nulls.db'}")
        assert sqlite3.adapters.get(key) is not None
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (a INTEGER, b TEXT)")
            conn.exec_driver_sql("INSERT INTO t VALUES (?, ?)", [(1, None), (None, "x")])
            conn.exec_driver_sql("INSERT INTO t VALUES (?, ?)", (None, None))
            kinds = conn.exec_driver_sql("SELECT typeof(a), typeof(b) FROM t ORDER BY rowid")
            assert kinds.all() == [("integer", "null"), ("null", "text"), ("null", "null")]
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM t WHERE b IS NULL").scalar() == 2
        engine.dispose()
    finally:
        if was is None:
            sqlite3.adapters.pop(key, None)
        else:
            sqlite3.adapters[key] = was
