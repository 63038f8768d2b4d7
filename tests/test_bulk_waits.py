"""A PostgreSQL load and the readers beside it (grants.db.bulk_postgres): a short reader
holding a table the load's key drops lock is waited out, a long one is not; and a row that
breaks a key is refused with the same message whether the keys were dropped and built again
or kept (tests/test_bulk.py holds the rest, the deadlock among it)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from grants.db import bulk
from grants.errors import GrantsError
from tests.conftest import Grants
from tests.helpers import books, plant_funder_account
from tests.test_access import BOOKS
from tests.test_bulk import _schema


def _refused_locks(engine: Engine) -> threading.Event:
    """Set when a LOCK TABLE ... NOWAIT of this engine's is refused (another holds a table)."""
    refused = threading.Event()

    def seen(context: Any) -> None:
        if "LOCK TABLE" in (context.statement or ""):
            refused.set()

    event.listen(engine, "handle_error", seen)
    return refused


def _load_beside_a_reader(engine: Engine, tmp_path: Path, hold: float | None) -> float:
    """Load the books in a thread while a reader holds ``stream`` (read before the load
    began): until ``hold`` seconds after the load first finds it held, or (None) until the
    load has ended. How long the load took."""
    from grants.db.engine import ACCESS, make_session_factory
    from tests.helpers import load_text

    refused = _refused_locks(engine)
    failed: list[BaseException] = []
    took: list[float] = []

    def load() -> None:
        start = time.monotonic()
        try:
            with make_session_factory(engine)() as session, session.begin():
                load_text(session, tmp_path, BOOKS)
        except BaseException as exc:  # reported in the test's own thread
            failed.append(exc)
        took.append(time.monotonic() - start)

    with engine.connect().execution_options(**{ACCESS: "read"}) as reader:
        reader.begin()
        reader.exec_driver_sql("SELECT COUNT(*) FROM stream").scalar_one()
        loading = threading.Thread(target=load)
        loading.start()
        try:
            if hold is not None:
                assert refused.wait(60), "the load never asked for the tables"
                time.sleep(hold)
                reader.rollback()
            loading.join(120)
            assert refused.is_set()  # the reader did hold a table the load asked for
        finally:
            loading.join(120)
    assert not loading.is_alive()
    assert not failed, failed
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM entry")).scalar_one() == 5
    return took[0]


def test_a_load_waits_out_a_short_reader_and_drops_its_keys(
    engine: Engine, tmp_path: Path, dropped: list[str]
) -> None:
    """A page of the web service holds ``stream`` for some 50 ms as the load asks for it:
    the load asks again, without waiting, and drops its keys once the page has let go."""
    with engine.connect() as conn:
        before = _schema(conn)
    _load_beside_a_reader(engine, tmp_path, 0.05)
    assert {"uq_entry_key", "uq_account_key", "fk_account_stream_id_stream"} <= set(dropped)
    with engine.connect() as conn:
        assert _schema(conn) == before


def test_a_load_keeps_its_keys_beside_a_long_reader(
    engine: Engine, tmp_path: Path, dropped: list[str]
) -> None:
    """A reader that holds ``stream`` for longer than the load asks (LOCK_PATIENCE): the load
    keeps its keys, checked row by row, and is not held up beyond that bound."""

    with engine.connect() as conn:
        before = _schema(conn)
    _load_beside_a_reader(engine, tmp_path, None)
    assert dropped == []
    with engine.connect() as conn:
        assert _schema(conn) == before


# -- a row that breaks a key, keys dropped or kept --------------------------------------

_DUPLICATE = "S900|2017-18||award"


@pytest.mark.parametrize("kept", [False, True], ids=["keys dropped", "keys kept"])
def test_a_duplicate_is_refused_alike_whether_the_keys_were_dropped_or_kept(
    engine: Engine, kept: bool
) -> None:
    """Two accounts with one key in a load into an empty journal: found as the key is built
    again, or (a reader holding ``stream``, so the keys were kept) as the row goes in, the
    load is refused with the same message, and nothing is written. Found as the row goes in,
    the row clashed with might have been one the table held, so that message also points at
    `grants verify`; found as the key of the empty table is built, it cannot have been."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps its keys in a load")
    from grants.db.engine import ACCESS, make_session_factory

    rows = [(i, _DUPLICATE if i in (3, 7) else f"S900|2017-18|L{i}|paid", 900, 2017, 2017,
             None, "award") for i in range(1, 3000)]  # fmt: skip
    columns = ("id", "key", "stream_id", "first_year", "last_year", "line_id", "role")
    with engine.connect() as conn:
        before = _schema(conn)
    with engine.connect().execution_options(**{ACCESS: "read"}) as reader:
        reader.begin()
        if kept:
            reader.exec_driver_sql("SELECT COUNT(*) FROM stream").scalar_one()
        with pytest.raises(GrantsError) as raised:
            with make_session_factory(engine)() as session, session.begin():
                conn = session.connection()
                conn.exec_driver_sql("INSERT INTO stream (id, code, name, kind, day) "
                                     "VALUES (900, 'BULK', 'Bulk', 'other', '2017-04-01')")  # fmt: skip
                with bulk.indexes_after(conn, ("account", "entry", "posting")):
                    assert ("uq_account_key" in str(_schema(conn)["constraints"])) is kept
                    bulk.insert_rows(conn, "account", columns, rows)
        reader.rollback()
    assert str(raised.value).startswith(
        "nothing was recorded: the rows written to account include a row with the same value "
        f"as another where each must be different (uq_account_key: Key (key)=({_DUPLICATE}) "
    )
    assert str(raised.value).endswith(bulk.HELD_ROW) is kept
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM account")).scalar_one() == 0
        assert _schema(conn) == before


_REFERENCE = """\
2017-04-01 org PCC "The Commissioner"
  role: funder

2017-04-01 stream CSF "Community safety fund"
  kind: pcc-csf
  funder: PCC

2017-04-01 stream OTHER "Other fund"
  kind: pcc-csf
  funder: PCC
"""


@pytest.mark.parametrize("many", [False, True], ids=["a few rows", "a load's many rows"])
def test_a_load_that_breaks_a_key_says_so_and_records_nothing(
    grants: Grants, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, many: bool
) -> None:
    """An account planted behind the ledger's back, under another stream, with the key a
    load then gives one of its own: `grants ledger load` names the table and the key (not
    the driver's error as a database error), says that a row the ledger did not write may
    be the other, exits 1 and records nothing."""
    if many:
        monkeypatch.setattr(bulk, "MANY", 1)
    assert grants("ledger", "load", str(books(tmp_path, _REFERENCE, "ref.grants"))).exit_code == 0
    with engine.begin() as conn:
        plant_funder_account(conn)
    entries = books(tmp_path, "2017-04-01 award CSF 2017-18 100,000\n", "entries.grants")
    loaded = grants("ledger", "load", str(entries))
    assert loaded.exit_code == 1
    clash = "include a row with the same value as another where each must be different"
    if engine.dialect.name == "postgresql":
        expected = (f"Error: nothing was recorded: the rows written to account {clash} "
                    "(uq_account_key: Key (key)=(CSF|2017|2017||funder) already exists.); "
                    "a row already there that the ledger did not write (added behind its "
                    "back) may be the other: `grants verify` names such a row\n")  # fmt: skip
    else:
        expected = (f"Error: nothing was recorded: the rows written to account {clash} "
                    "(UNIQUE constraint failed: account.key); a row already there that the "
                    "ledger did not write (added behind its back) may be the other: "
                    "`grants verify` names such a row\n")  # fmt: skip
    assert loaded.output == expected
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM entry")).scalar_one() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM account")).scalar_one() == 1
