"""Fixtures: every database test runs on SQLite and on PostgreSQL.

Each test run creates its own PostgreSQL database (dropped at the end) on
GRANTS_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres). Where
PostgreSQL is not reachable the PostgreSQL tests are skipped with the reason, except with
CI=true, where a missing PostgreSQL is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from grants.cli.main import cli
from grants.db.engine import make_engine, make_session_factory
from grants.db.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
BOOKS = ROOT / "ledger" / "oxfordshire" / "main.grants"
PG_ADMIN = os.environ.get("GRANTS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of this test run's own, dropped afterwards."""
    admin_url = PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        reason = f"PostgreSQL not reachable at {PG_ADMIN}: {str(exc).splitlines()[0]}"
        if IN_CI:
            pytest.fail(f"CI=true needs PostgreSQL: {reason}")
        pytest.skip(reason)
    name = f"grants_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database (no schema) on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grants.db'}"
    url: str = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def db_url(empty_url: str) -> str:
    """The URL of a database migrated to head, on each engine."""
    engine = make_engine(empty_url)
    upgrade(engine)
    engine.dispose()
    return empty_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session in one transaction, rolled back at the end of the test."""
    with make_session_factory(engine)() as session, session.begin():
        yield session
        session.rollback()


class Grants:
    """Runs the `grants` command against a test database, as a user would."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(
            cli,
            ["--database", self.url, "--actor", "officer", *args],
            input=input,
            catch_exceptions=False,
        )


@pytest.fixture
def grants(db_url: str) -> Grants:
    return Grants(db_url)


@pytest.fixture
def oxfordshire(grants: Grants) -> Grants:
    """A database with the Oxfordshire books loaded."""
    result = grants("ledger", "load", str(BOOKS))
    assert result.exit_code == 0, result.output
    return grants
