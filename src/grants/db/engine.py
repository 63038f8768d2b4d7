"""Engines and sessions for SQLite (default) and PostgreSQL.

Two kinds of transaction:

* **Reading** (`make_session_factory(engine, read_only=True)`): on SQLite a deferred
  transaction on a read-only connection, which in WAL mode never waits for a writer; on
  PostgreSQL a REPEATABLE READ, READ ONLY transaction. Either way one snapshot: what is read
  is the ledger as it stood at one moment. A long load does not hold up `grants balance`.
* **Writing** (the default): one writer at a time. SQLite begins IMMEDIATE (Python's sqlite3
  driver otherwise begins no transaction before a SELECT, so a read-then-write could lose a
  concurrent update); PostgreSQL takes the ledger's advisory lock. Waiting longer than the
  busy timeout ends in a clear message (errors.Busy). The transaction notes where every
  sealed table stood, refuses to go on if the ledger holds records it did not make, and at
  commit seals what it added in the hash chain (grants.db.seal). Ids are given in order with
  no gaps: on PostgreSQL the sequences are set back to the greatest id when a write begins,
  so numbers used by a rolled-back transaction are used again.

SQLite files are created readable by their owner only (0600); SQLite gives its WAL and
shared-memory files the same permissions.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from grants.db import bulk
from grants.errors import Busy, ConfigError, Tampered

# The ORM and the chain's sealing are imported when a session is first made: a command that
# only reads through SQLAlchemy Core (`grants balance --summary`) needs neither.
if TYPE_CHECKING:
    from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

    from grants.db import seal

WAIT_SECONDS = 30.0
# Where the journal stands, read with the chain's marks as a write begins (the greatest entry
# id is among the marks): grants.services.journal takes its next ids and its running
# turnover from these rather than asking in statements of its own (`journal_stands`).
JOURNAL_STANDS = {
    "posting": "SELECT COALESCE(MAX(id), 0) FROM posting",
    "account": "SELECT COALESCE(MAX(id), 0) FROM account",
    "turnover": "SELECT turnover_pence FROM entry ORDER BY id DESC LIMIT 1",
    "any_entry": "SELECT COUNT(*) FROM (SELECT 1 FROM entry LIMIT 1) AS one_entry",
}
_STANDS = "grants_stands"
_LOCKED = "grants_locked"
# The PostgreSQL advisory lock every writer to the ledger holds (an arbitrary constant).
WRITER_LOCK = 0x6772616E7473  # "grants"
ACCESS = "grants_access"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver."""
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018  # a port that is not a number fails here, not later
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(
            f"{shown_url(url)!r} is not a database URL; use sqlite:///path/to/grants.db or "
            "postgresql://user@host/dbname"
        ) from exc
    if parsed.host and "@" in parsed.host:
        # user:p@ss@host parses as the password "p" on the host "ss@host"
        raise ConfigError(
            f"the database URL {shown_url(url)!r} has an '@' in its password or host: write an "
            "'@' in a password as %40"
        )
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"{parsed.get_backend_name()!r} databases are not supported; use SQLite or PostgreSQL"
        )
    backend = parsed.get_backend_name()
    if backend == "sqlite" and (parsed.username or parsed.password or parsed.host):
        raise ConfigError(
            f"{shown_url(url)!r}: a SQLite database is a file, with no user, password or host; "
            "write sqlite:///path/to/grants.db"
        )
    return parsed.render_as_string(hide_password=False)


# Query-string parameters whose value is, or points at, a secret (libpq's password, passfile,
# sslpassword, sslkey, sslcert...): never shown, and hidden in any message that quotes them.
_SECRET_PARAMETER = re.compile(r"pass|key|secret|token|cert|crl|service", re.IGNORECASE)


def shown_url(url: str) -> str:
    """The database address as people may see it: driver, user, host, port and database,
    never the password or the query string (which can carry ``password=``, ``sslkey=``...).
    Every message that names the database uses this."""
    try:
        parsed = make_url(url)
        port = parsed.port
    except (ArgumentError, ValueError):
        return _shown_unparsed(url)
    host = (parsed.host or "").rpartition("@")[2] or None  # user:p@ss@host: drop "ss@"
    shown = URL.create(parsed.drivername, parsed.username, None, host, port, parsed.database)
    return shown.render_as_string(hide_password=False)


def _shown_unparsed(url: str) -> str:
    """What `shown_url` shows of text that is not a URL: without a query string or fragment,
    and without anything between a ':' and the '@' of the part before the first '/'."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    rest = re.split(r"[?#]", rest, maxsplit=1)[0]
    authority, slash, path = rest.partition("/")
    user, at, host = authority.rpartition("@")
    if at:
        authority = f"{user.partition(':')[0]}@{host}"
    return f"{scheme}{sep}{authority}{slash}{path}"


def url_secrets(url: str) -> list[str]:
    """The secrets a database URL holds (its password and secret query values), as written
    and percent-encoded, longest first: what an error message must never show. Values
    shorter than four characters are left out: hiding them would garble the message and
    reveal them more than it hides them."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return []
    found: list[str] = []
    if parsed.password:
        found.append(str(parsed.password))
        if parsed.host and "@" in parsed.host:
            found.append(f"{parsed.password}@{parsed.host.rpartition('@')[0]}")
    for key, value in parsed.query.items():
        if _SECRET_PARAMETER.search(key):
            found += [value] if isinstance(value, str) else list(value)
    secrets = {form for s in found for form in (s, quote(s, safe=""))}
    return sorted((s for s in secrets if len(s) >= 4), key=lambda s: (-len(s), s))


def make_engine(url: str, *, wait: float = WAIT_SECONDS, **kwargs: Any) -> Engine:
    """An engine for ``url``; a writer waits at most ``wait`` seconds for another."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        bind_none_directly()
        engine = create_engine(url, connect_args={"timeout": wait}, **kwargs)
        _configure_sqlite(engine, wait)
        return engine
    engine = create_engine(url, **kwargs)
    _configure_postgres(engine, wait)
    return engine


# An adapter that gives back the None it is given, called from C (no Python frame).
_NONE_AS_IT_IS = {}.get


def bind_none_directly() -> None:
    """Have Python's sqlite3 bind a None (NULL) through an adapter registered for it.

    Without one, sqlite3 adapts every value that is not exactly an int, float, str or
    bytearray, None included: it looks for an adapter, then for ``__adapt__`` on its protocol
    class, whose AttributeError Python 3.11 formats before throwing it away, then for
    ``__conform__`` on None: about 3,300 instructions a NULL (an entry of the benchmark's
    books binds 11), 9 % of a load's instructions. With an adapter registered it is one
    dictionary lookup and a call of ``{}.get`` (about 1,200), which returns None, so sqlite3
    binds a NULL as before. The registry is the process's: every sqlite3 connection in it
    binds None so (with the same NULL), ``sqlite3.adapt(None)`` gives None rather than
    refusing, and an adapter for None that anything else registered is replaced."""
    import sqlite3  # as SQLAlchemy's SQLite dialect imports it: only for a SQLite ledger

    sqlite3.register_adapter(type(None), _NONE_AS_IT_IS)


def create_private_file(url: URL) -> None:
    """Create a new SQLite file readable and writable by its owner only (before SQLite
    creates it with the usual permissions). An existing file is left as it is."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return  # an existing ledger keeps its permissions; a missing folder fails later
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"cannot create the database {path}: {exc.strerror}") from exc


def _access(connection: Connection) -> str:
    """ "write" (the default), "read", or "change": a transaction that writes only rows that
    are no record (web sessions, failed sign-ins: grants.db.records.CHANGING), which on
    PostgreSQL need not wait for the ledger's writer lock."""
    return str(connection.get_execution_options().get(ACCESS, "write"))


def _writing(connection: Connection) -> bool:
    return _access(connection) in ("write", "change")


def _configure_sqlite(engine: Engine, wait: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver; we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        # A load's big page cache (grants.db.bulk.big_write) is for that load only.
        if dbapi_connection is not None and record.info.pop(bulk.BIG_CACHE, False):
            dbapi_connection.execute(f"PRAGMA cache_size={bulk.DEFAULT_CACHE}")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if not _writing(connection):
            _query_only(connection, 1)
            connection.exec_driver_sql("BEGIN")
            return
        _query_only(connection, 0)
        started = time.monotonic()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as exc:
            if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
                raise
            raise _busy(time.monotonic() - started) from None


_QUERY_ONLY = "grants_query_only"


def _query_only(connection: Connection, value: int) -> None:
    """Set SQLite's ``query_only`` for the transaction about to begin, when the connection
    is not already so (its last value is kept with the connection, which keeps the setting:
    a writer after a writer, the usual case, sends nothing)."""
    info = connection.connection.info  # the database connection's own, across checkouts
    if info.get(_QUERY_ONLY) != value:
        connection.exec_driver_sql(f"PRAGMA query_only={value}")
        info[_QUERY_ONLY] = value


def _configure_postgres(engine: Engine, wait: float) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if not _writing(connection):
            # One snapshot for the whole transaction: verify, an export or a report reads
            # the ledger as it stood at one moment while others write.
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return
        if _access(connection) == "change":
            return  # no record is written: other writers are not waited for
        started = time.monotonic()
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(wait * 1000)}ms'")
        try:
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            raise _busy(time.monotonic() - started) from None
        # The timeout stays for the whole transaction: a lock held elsewhere (a transaction
        # left open on the same rows) ends the write with a message rather than a hang.


def _busy(waited: float) -> Busy:
    return Busy(
        f"another change to the ledger is being recorded (waited {waited:.0f} s for it to "
        "finish); nothing was recorded: try again when it has finished"
    )


def lock_writers(connection: Connection) -> None:
    """Serialise writers for the rest of this transaction (a writing session already is)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions that read (``read_only``), or that write and seal what they add. (The ORM is
    imported here, when a command first asks for a session.)"""
    from sqlalchemy.orm import sessionmaker

    if read_only:
        return sessionmaker(engine.execution_options(**{ACCESS: "read"}), expire_on_commit=False)
    factory = sessionmaker(engine, expire_on_commit=False)
    event.listen(factory, "after_begin", _after_begin)
    event.listen(factory, "before_commit", _before_commit)
    event.listen(factory, "after_transaction_end", _after_end)
    return factory


def _serial() -> tuple[str, ...]:
    from grants.db.records import APPEND_ONLY

    return tuple(t for t in APPEND_ONLY if t != "seal")


def _after_begin(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    if transaction.parent is not None or "grants_marks" in session.info:
        return
    from grants.db import seal

    if connection.dialect.name == "postgresql":
        # Give the next ids from the greatest recorded: none lost to a rollback.
        connection.exec_driver_sql(
            "SELECT "
            + ", ".join(
                f"setval(pg_get_serial_sequence('{t}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)"
                for t in _serial()
            )
        )
    writer = _access(connection) == "write"  # under the writers' lock, held until it ends
    marks = seal.marks(connection, also=JOURNAL_STANDS if writer else None)
    damage = marks.damage()
    if damage:
        raise Tampered(
            f"the ledger has been changed behind its back ({'; '.join(damage)}): nothing was "
            "recorded. Run `grants verify` to see what changed, and restore the ledger from "
            "a backup"
        )
    session.info["grants_marks"] = marks
    session.info["grants_order"] = []
    if writer:
        session.info[_STANDS] = {"entry": marks.tables["entry"], **marks.also}
        session.info[_LOCKED] = transaction


def under_writers_lock(session: Session) -> bool:
    """Whether the session's transaction has held the writers' lock since it began (a
    writing session's): what it reads stands until it ends, but for what it writes."""
    transaction = session.get_transaction()
    return transaction is not None and session.info.get(_LOCKED) is transaction


def journal_stands(session: Session) -> dict[str, Any] | None:
    """Where the journal stood when this writing transaction began (``JOURNAL_STANDS``, and
    ``entry``, the greatest entry id), given once: to the first in the transaction to write
    entries, postings or accounts, which the journal alone writes. None after that, and in
    a transaction that did not read them (a reading one, or a session not made here): the
    journal then reads them itself."""
    return session.info.pop(_STANDS, None)  # type: ignore[no-any-return]


def _before_commit(session: Session) -> None:
    marks = session.info.get("grants_marks")
    if marks is None:
        return
    from grants.db import seal

    session.flush()
    seal.seal_new(session.connection(), marks, session.info.get("grants_order"))


def _after_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop("grants_marks", None)
        session.info.pop("grants_order", None)
        session.info.pop(_STANDS, None)
        session.info.pop(_LOCKED, None)


def seal_now(session: Session) -> seal.Head:
    """Seal what this writing transaction has added so far (rather than at commit), and
    return the chain's head: a restore compares it with the head its export names."""
    from grants.db import seal

    marks = session.info["grants_marks"]
    session.flush()
    connection = session.connection()
    seal.seal_new(connection, marks, session.info.get("grants_order"))
    session.info["grants_marks"] = now = seal.marks(connection)
    session.info["grants_order"] = []
    return now.head


def record_order(session: Session, table: str, count: int = 1) -> None:
    """Note that the next ``count`` records of ``table`` this transaction adds come next in
    the chain (the books loader seals in the order of the books)."""
    order = session.info.get("grants_order")
    if order is not None:
        from grants.db import seal

        seal.add_to_order(order, table, count)


__all__ = [
    "JOURNAL_STANDS",
    "create_private_file",
    "journal_stands",
    "lock_writers",
    "make_engine",
    "make_session_factory",
    "normalise_url",
    "record_order",
    "seal_now",
    "shown_url",
    "under_writers_lock",
    "url_secrets",
]
