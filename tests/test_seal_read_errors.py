"""The chain's marks, read as every write begins and as it is sealed, fail as any other
statement does: the driver's error as SQLAlchemy reports it, and a connection the error
shows lost, or a read stopped part way, is not used again, its own cause the one reported."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError, OperationalError

from grants.db import seal
from grants.db.engine import make_session_factory
from grants.services import access, people
from tests.conftest import officer


def _failing_read(engine: Engine) -> DBAPIError:
    with make_session_factory(engine)() as session, session.begin():
        access.bind(session, officer(session))
        connection = session.connection()
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL statement_timeout = '20ms'")
            also = {"slow": "SELECT 1 FROM pg_sleep(1)"}
        else:
            also = {"wrong": "SELECT no_such_function(1)"}
        with pytest.raises(DBAPIError) as caught:
            seal.marks(connection, also=also)
        session.rollback()
    return caught.value


def test_a_failing_read_is_reported_as_sqlalchemy_reports_it(engine: Engine) -> None:
    read = _failing_read(engine)
    assert isinstance(read, OperationalError)
    said = (
        "canceling statement due to statement timeout"
        if engine.dialect.name == "postgresql"
        else "no such function"
    )
    assert said in str(read.orig)
    assert not read.connection_invalidated


def _write_with_connection_lost(engine: Engine) -> BaseException:
    other = create_engine(engine.url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            access.bind(session, officer(session))
            people.audit(session, access.actor_of(session), "filed", "import", "a return")
            session.flush()
            pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with other.connect() as killer:
                killer.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            time.sleep(0.2)
    except BaseException as exc:
        return exc
    finally:
        other.dispose()
    raise AssertionError("the write was sealed on a connection that was gone")


def test_a_connection_lost_as_the_write_is_sealed(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL server's connection, ended by the server")
    lost = _write_with_connection_lost(engine)
    assert isinstance(lost, OperationalError)
    assert lost.connection_invalidated
    assert "terminating connection due to administrator command" in str(lost.orig)
    # The pool does not hand the dead connection out again: the next write is recorded.
    with make_session_factory(engine)() as session, session.begin():
        access.bind(session, officer(session))
        people.audit(session, access.actor_of(session), "filed", "import", "a return")


class _Stopped:
    """A driver's cursor whose statement is stopped part way (Ctrl-C, a worker's timeout)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def execute(self, *_: Any) -> None:
        raise KeyboardInterrupt

    def close(self) -> None:
        self.real.close()


def test_a_read_stopped_part_way_leaves_its_connection_unused(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_session_factory(engine)() as session, session.begin():
        access.bind(session, officer(session))
        connection = session.connection()
        fairy = type(connection.connection)
        real = fairy.cursor
        monkeypatch.setattr(fairy, "cursor", lambda self, *a, **k: _Stopped(real(self, *a, **k)))
        with pytest.raises(KeyboardInterrupt):
            seal.marks(connection)
        monkeypatch.setattr(fairy, "cursor", real)
        assert connection.invalidated
        session.rollback()
    with make_session_factory(engine)() as session, session.begin():
        access.bind(session, officer(session))
        people.audit(session, access.actor_of(session), "filed", "import", "a return")
