"""Fixtures: every database test runs on SQLite and on PostgreSQL.

Each test run creates its own PostgreSQL database (dropped at the end) on
GRANTS_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres). Where
PostgreSQL is not reachable the PostgreSQL tests are skipped with the reason, except with
CI=true, where a missing PostgreSQL is a failure.

A migrated ledger with its first person is built once per test run (per worker, under
pytest-xdist) on each engine, and each test that asks for one gets a fresh copy of it: a
copy of the SQLite file, or a PostgreSQL database created from it as a template; so is a
ledger with the Oxfordshire books loaded, for the tests that ask for `oxfordshire`. A copy
holds exactly what the migrations, `add_person` and `grants ledger load` would have
written, in a fraction of the time (on PostgreSQL, migrating takes about a second and
loading the books another).
"""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session

from grants.cli.main import cli
from grants.db.engine import make_engine, make_session_factory
from grants.db.migrate import upgrade
from grants.db.models import Credential
from grants.services import access, people

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
def _engine_name(request: pytest.FixtureRequest) -> str:
    """Each database test runs once on each engine (the tests' ids end [sqlite] or
    [postgresql])."""
    name: str = request.param
    return name


@pytest.fixture
def empty_url(_engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database (no schema) on each engine."""
    if _engine_name == "sqlite":
        return f"sqlite:///{tmp_path / 'grants.db'}"
    url: str = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


# The test database's first person, admin and officer, as `grants db upgrade` makes the
# operating-system user: every test signs in as them unless it says otherwise. Their
# password is hashed with Argon2id at the lowest cost (as real hashes are, the hash names its
# parameters), so that signing in for each of a thousand commands stays quick.
OFFICER = "officer"
PASSWORD = "officer-test-password"
QUICK = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SIGNED_IN = {"GRANTS_USER": OFFICER, "GRANTS_PASSWORD": PASSWORD}


@pytest.fixture(autouse=True)
def _signed_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `grants` a test starts (in a subprocess too) signs in as the first person."""
    for key, value in SIGNED_IN.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GRANTS_ACTOR", raising=False)


def add_person(
    url: str,
    login: str,
    roles: list[str],
    password: str = PASSWORD,
    organisations: list[str] | None = None,
) -> None:
    """Add a person with a quickly checked password (the tests' own; people are otherwise
    added with `grants users add`)."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            person = people.create(session, login, roles, OFFICER,
                                   organisations=organisations or [])  # fmt: skip
            session.add(Credential(person_id=person.id, hash=QUICK.hash(password),
                                   actor=OFFICER, recorded_at=people.now()))  # fmt: skip
    finally:
        engine.dispose()


def officer(session: Session) -> access.Actor:
    """The test database's first person, as the services see them."""
    return people.actor_for(session, OFFICER, None)


def _migrate_with_first_person(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    add_person(url, OFFICER, ["admin", "officer"])


def _load_oxfordshire(url: str) -> None:
    result = Grants(url)("ledger", "load", str(BOOKS))
    assert result.exit_code == 0, result.output


# Test databases made with the Oxfordshire books already in them (for tests that ask for
# the oxfordshire fixture): that fixture then has nothing to load.
_LOADED: set[str] = set()


def _settled_sqlite(path: Path) -> Path:
    """The SQLite file at ``path`` with everything in it (its write-ahead log folded in and
    emptied), ready to be copied as a template."""
    gc.collect()  # an engine a command left behind closes its connections
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, f"{wal} still holds writes"
    return path


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite ledger migrated to head with its first person, for db_url to copy."""
    path = tmp_path_factory.mktemp("template") / "grants.db"
    _migrate_with_first_person(f"sqlite:///{path}")
    return _settled_sqlite(path)


@pytest.fixture(scope="session")
def _sqlite_oxfordshire_template(
    _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The same with the Oxfordshire books loaded."""
    path = tmp_path_factory.mktemp("template") / "grants.db"
    shutil.copy(_sqlite_template, path)
    _load_oxfordshire(f"sqlite:///{path}")
    return _settled_sqlite(path)


class _PostgresTemplates:
    """PostgreSQL databases built once per test run, each copied (CREATE DATABASE ...
    TEMPLATE) for each test that asks for one."""

    def __init__(self, base: str) -> None:
        self.base = base.rsplit("/", 1)[0] + "/"  # the server's URL, the name to follow
        admin_url = PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1)
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.templates: list[str] = []

    def create(self, template: str | None = None, prefix: str = "grants_test") -> str:
        """A new database (a copy of ``template``, if given); its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        return name

    def template(self, build: Callable[[str], None], source: str | None = None) -> str:
        """A template database: a copy of ``source`` (or empty) that ``build`` fills."""
        name = self.create(source, "grants_template")
        self.templates.append(name)
        build(self.base + name)
        # A template must have no one connected while it is copied.
        with self.admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for name in reversed(self.templates):
            self.drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def _postgres_templates(postgres_database: str) -> Iterator[_PostgresTemplates]:
    templates = _PostgresTemplates(postgres_database)
    try:
        yield templates
    finally:
        templates.close()


@pytest.fixture(scope="session")
def _postgres_template(_postgres_templates: _PostgresTemplates) -> str:
    """A PostgreSQL database migrated to head with its first person, for db_url to copy."""
    return _postgres_templates.template(_migrate_with_first_person)


@pytest.fixture(scope="session")
def _postgres_oxfordshire_template(
    _postgres_templates: _PostgresTemplates, _postgres_template: str
) -> str:
    """The same with the Oxfordshire books loaded."""
    return _postgres_templates.template(_load_oxfordshire, _postgres_template)


@pytest.fixture
def db_url(_engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database migrated to head, on each engine, with its first person.

    A copy of a ledger built once per test run; for a test that asks for oxfordshire, a
    copy of one with the Oxfordshire books loaded too (nothing comes between: the grants
    fixture only names the database)."""
    loaded = "oxfordshire" in request.fixturenames
    if _engine_name == "sqlite":
        template: Path = request.getfixturevalue(
            "_sqlite_oxfordshire_template" if loaded else "_sqlite_template"
        )
        path = tmp_path / "grants.db"
        shutil.copy(template, path)  # the file and its permissions (the owner's only)
        url = f"sqlite:///{path}"
        if loaded:
            _LOADED.add(url)
        yield url
        _LOADED.discard(url)
        return
    templates: _PostgresTemplates = request.getfixturevalue("_postgres_templates")
    source: str = request.getfixturevalue(
        "_postgres_oxfordshire_template" if loaded else "_postgres_template"
    )
    name = templates.create(source)
    url = templates.base + name
    if loaded:
        _LOADED.add(url)
    try:
        yield url
    finally:
        _LOADED.discard(url)
        templates.drop(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def dropped(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the keys each load drops to build again after its rows (PostgreSQL only),
    the few entries of a test's books counting as a load."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps its keys in a load, under its one writer")
    from grants.db import bulk, bulk_postgres

    monkeypatch.setattr(bulk, "MANY", 1)
    drop = bulk_postgres.drop_keys
    found: list[str] = []

    def noting(connection: Connection, tables: Any) -> Any:
        keys = drop(connection, tables)
        found.extend(d.name for d in keys)
        return keys

    monkeypatch.setattr(bulk_postgres, "drop_keys", noting)
    yield found


@pytest.fixture
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction, rolled back at the end of the test: change the
    ledger behind its back, look, forget."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session in one transaction, rolled back at the end of the test."""
    # Who the session acts for, read first: the session itself begins its transaction (and,
    # on SQLite, takes the writer's lock) only when the test first uses it.
    with make_session_factory(engine, read_only=True)() as reading, reading.begin():
        actor = officer(reading)
    with make_session_factory(engine)() as session, session.begin():
        access.bind(session, actor)
        yield session
        session.rollback()


class Grants:
    """Runs the `grants` command against a test database, as a user would."""

    def __init__(self, url: str, user: str = OFFICER, password: str = PASSWORD) -> None:
        self.url = url
        self.runner = CliRunner()
        self.env = {"GRANTS_USER": user, "GRANTS_PASSWORD": password, "GRANTS_ACTOR": None}

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(
            cli,
            ["--database", self.url, *args],
            input=input,
            catch_exceptions=False,
            env=self.env,
        )

    def as_user(self, user: str, password: str = PASSWORD) -> Grants:
        """The same ledger, signed in as ``user``."""
        return Grants(self.url, user, password)

    def restored(self, exported: Path, database: Path) -> Grants:
        """Export this ledger to the folder ``exported`` and restore the export into a new
        SQLite ledger at ``database``, as an officer would (`db upgrade --for-restore`, then
        `ledger load`): that ledger, the load having succeeded."""
        assert self("ledger", "export", "-o", str(exported)).exit_code == 0
        other = Grants(f"sqlite:///{database}")
        assert other("db", "upgrade", "--for-restore").exit_code == 0
        loaded = other("ledger", "load", str(exported / "main.grants"))
        assert loaded.exit_code == 0, loaded.output
        return other


@pytest.fixture
def grants(db_url: str) -> Grants:
    return Grants(db_url)


@pytest.fixture
def two_ledgers(grants: Grants, empty_url: str, tmp_path: Path) -> tuple[Grants, Grants]:
    """The test's ledger and another on the same engine, each with the first person."""
    other = f"sqlite:///{tmp_path / 'other.db'}" if empty_url.startswith("sqlite") else empty_url
    _migrate_with_first_person(other)
    return grants, Grants(other)


@pytest.fixture
def oxfordshire(grants: Grants) -> Grants:
    """A database with the Oxfordshire books loaded (db_url made it so, when it could)."""
    if grants.url not in _LOADED:
        _load_oxfordshire(grants.url)
    return grants
