"""Writing many rows at once on PostgreSQL: binary COPY, and keys and indexes built after a
load into empty tables (grants.db.bulk chooses the engine).

``copy_rows`` streams rows through ``COPY ... FROM STDIN (FORMAT BINARY)`` on the
transaction's own connection, each value sent as the type of its column (read from the
catalogue), so text with tabs, newlines or backslashes goes in exactly as given. A handful
of rows go in with one INSERT, which costs no more; so do the rows of a table whose
row-level security applies to the connecting role, which PostgreSQL takes no COPY into.

``indexes_after`` makes a load into empty tables check its unique keys and references once,
at the end, instead of row by row: it drops the tables' unique constraints, foreign keys
and secondary indexes inside the transaction and creates them again, from the definitions
PostgreSQL gives (``pg_get_constraintdef``, ``pg_get_indexdef``), when the block ends.
Primary keys (ids given in order, appended cheaply), check constraints, the guards
(triggers that fire on UPDATE, DELETE and TRUNCATE, never on INSERT), row-level security
and grants are left as they are. A unique key or reference the loaded rows break fails the
rebuild and the whole transaction with a :class:`LoadConflict`. Tables that are not empty,
or that the connecting role does not own (the ledger's working role owns nothing), keep
their indexes: their rows are checked as they go in. Every table the drops lock (ACCESS
EXCLUSIVE: the tables altered, and those their foreign keys name) is locked first, in one
statement and without waiting, asked for again over at most ``LOCK_PATIENCE`` while another
transaction holds one (a page being read lets go within it); when one is still held,
nothing is dropped and the keys are kept too, so a load never waits for a reader while
holding a table that reader reads next (a deadlock, which PostgreSQL breaks by aborting one
of them). A row that breaks a key, found as the key is built again or (the keys kept) as it
goes in, is refused with the same :class:`LoadConflict` message (grants.db.bulk
``clashes_named``); where the row clashed with may be one the table held before the load,
the message points at `grants verify`, which names a row added behind the ledger's back.

``all_keys_after`` does the same for one table that is not empty, its primary key included:
the chain's links (``seal``) when a load appends more of them than the chain holds.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import Connection as PgConnection
from psycopg import Error as PgError
from psycopg import pq
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from grants.db.bulk import HELD_ROW, NotUnique
from grants.errors import GrantsError

# Up to this many rows, one INSERT (executemany) takes no longer than a COPY.
FEW = 8
# Memory for sorting while the indexes are built (the server's default is 64MB); only for
# the rebuild, and only within the transaction.
BUILD_MEMORY = "256MB"
# PostgreSQL's error for a lock asked for with NOWAIT that another transaction holds.
LOCK_NOT_AVAILABLE = "55P03"
# How long, in all, a load keeps asking for the tables its key drops lock while another
# transaction holds one, before it keeps its keys instead: a page of the web service holds
# a table for a few milliseconds, and giving up at once would make a load that started
# during one three times slower for good. Each attempt is still NOWAIT (it never waits, so
# it can never deadlock); between attempts the load sleeps, first LOCK_PAUSE and then
# twice as long each time, within LOCK_PATIENCE.
LOCK_PATIENCE = 0.2  # seconds
LOCK_PAUSE = 0.005  # seconds


class LoadConflict(NotUnique):
    """Rows written by a load break a unique key or a reference, found as it is rebuilt (on
    SQLite the same refusal is bulk.NotUnique itself)."""


def _raw(connection: Connection) -> PgConnection[Any]:
    raw = connection.connection.driver_connection
    assert isinstance(raw, PgConnection)
    return raw


def copy_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Insert ``rows`` (plain Python values of each column's type) into ``table``."""
    names = ", ".join(columns)
    # Through SQLAlchemy: begins the transaction if nothing has yet, as any statement does.
    found = (
        connection.exec_driver_sql(
            "SELECT attname, atttypid, row_security_active(attrelid) FROM pg_attribute "
            "WHERE attrelid = %(t)s::regclass AND attnum > 0 AND NOT attisdropped",
            {"t": table},
        ).all()
        if len(rows) > FEW
        else []
    )
    # PostgreSQL takes no COPY into a table whose row-level security applies to this role
    # (the working role, once `grants db roles` has set it up): rows go in with INSERT.
    if not found or found[0][2]:
        marks = ", ".join(["%s"] * len(columns))
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({names}) VALUES ({marks})",
            rows,  # type: ignore[arg-type]
        )
        return
    types = {name: kind for name, kind, _ in found}
    sql = f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)"
    with driver_errors(connection, sql), _raw(connection).cursor() as cursor:
        with cursor.copy(sql) as copy:
            copy.set_types([types[c] for c in columns])
            for row in rows:
                copy.write_row(row)


@contextlib.contextmanager
def driver_errors(connection: Connection, sql: str) -> Iterator[None]:
    """A failure of the driver's own cursor, reported as SQLAlchemy reports a failed
    statement (IntegrityError, ProgrammingError...), which the commands turn into a message."""
    try:
        yield
    except PgError as exc:
        raise DBAPIError.instance(sql, None, exc, PgError, dialect=connection.dialect) from exc


# -- keys and indexes after the rows -------------------------------------------------------


@dataclass(frozen=True)
class _Dropped:
    table: str
    name: str
    kind: str  # "p" primary key, "u" unique constraint, "f" foreign key, "i" index
    definition: str  # pg_get_constraintdef, or pg_get_indexdef for an index
    references: str | None = None  # the table a foreign key names

    def locks(self) -> tuple[str, ...]:
        """The tables dropping it locks: its own, and the one a foreign key names (whose
        triggers go with it). PostgreSQL 15 takes both in ACCESS EXCLUSIVE mode, as it
        does the table of a unique constraint or an index dropped."""
        return (self.table, self.references) if self.references else (self.table,)

    def create_sql(self) -> str:
        if self.kind == "i":
            return self.definition
        return f'ALTER TABLE {self.table} ADD CONSTRAINT "{self.name}" {self.definition}'

    def drop_sql(self) -> str:
        if self.kind == "i":
            return f'DROP INDEX "{self.name}"'
        return f'ALTER TABLE {self.table} DROP CONSTRAINT "{self.name}"'


# The tables (of those named) that are empty and that this role may alter.
_CANDIDATES = """
SELECT c.relname FROM pg_class c
WHERE c.oid = ANY(%(tables)s::regclass[]) AND pg_has_role(c.relowner, 'USAGE')
"""

# What to drop on those tables: unique constraints that no other table's foreign key
# leans on, their foreign keys, and the indexes that back no constraint.
_DEFINITIONS = """
SELECT r.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid), f.relname
FROM pg_constraint con JOIN pg_class r ON r.oid = con.conrelid
LEFT JOIN pg_class f ON f.oid = con.confrelid
WHERE con.conrelid = ANY(%(tables)s::regclass[])
  AND (con.contype = 'f' OR (con.contype = 'u' AND NOT EXISTS (
        SELECT 1 FROM pg_constraint f
        WHERE f.contype = 'f' AND f.conindid = con.conindid
          AND NOT f.conrelid = ANY(%(tables)s::regclass[]))))
UNION ALL
SELECT r.relname, i.relname, 'i', pg_get_indexdef(x.indexrelid), NULL
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class r ON r.oid = x.indrelid
WHERE x.indrelid = ANY(%(tables)s::regclass[]) AND NOT x.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid
                  AND k.conrelid = x.indrelid)
ORDER BY 1, 2
"""


# Every key of one table: its primary key and unique constraints (unless another table's
# foreign key leans on one) and the indexes that back no constraint.
_ALL_KEYS = """
SELECT r.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class r ON r.oid = con.conrelid
WHERE con.conrelid = %(table)s::regclass AND con.contype IN ('p', 'u')
  AND pg_has_role(r.relowner, 'USAGE')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                  WHERE f.contype = 'f' AND f.conindid = con.conindid)
UNION ALL
SELECT r.relname, i.relname, 'i', pg_get_indexdef(x.indexrelid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class r ON r.oid = x.indrelid
WHERE x.indrelid = %(table)s::regclass AND pg_has_role(r.relowner, 'USAGE')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid
                  AND k.conrelid = x.indrelid)
ORDER BY 1, 2
"""


@contextlib.contextmanager
def all_keys_after(connection: Connection, table: str) -> Iterator[None]:
    """Within the block, ``table`` (this role's own) takes rows with every key of its own,
    its primary key included, checked and built at the end: for appending many more rows
    than the table holds. Dropping a key locks the table (ACCESS EXCLUSIVE) until the
    transaction ends, so no other transaction reads or writes it while a key is missing."""
    dropped = [
        _Dropped(*row) for row in connection.exec_driver_sql(_ALL_KEYS, {"table": table}).all()
    ]
    if dropped and not _locked_at_once(connection, [table]):
        dropped = []  # another transaction reads the table: the keys stay, kept row by row
    for item in dropped:
        connection.exec_driver_sql(item.drop_sql())
    with _built_again(connection, dropped, held=True):
        yield


def _locked_at_once(connection: Connection, tables: Sequence[str]) -> bool:
    """Whether every one of ``tables`` could be locked for this transaction alone, in one
    statement and without waiting; if any could not, none is (the savepoint lets go of
    those taken). A reader holding one (`grants verify` in its one transaction, say) would
    otherwise hold the load's key drop, and every reader after it, until the writer's
    lock_timeout failed the whole load; and a drop that waited for a reader while holding
    a table dropped before it (a reader of `entry` then `stream`, a drop of `account`'s
    reference to `stream` then of `entry`'s) would deadlock with it. The locks, once
    taken, are held until the transaction ends. Only "held by another transaction"
    (lock_not_available) means that: any other failure (a table gone, a privilege missing,
    the statement cancelled) is raised, not taken for a busy table.

    A table held is asked for again, after a pause, until LOCK_PATIENCE has gone by: a
    short reader (a page of the web service) has let go by then. Between attempts the load
    holds none of them, so no other transaction can be waiting for it on their account."""
    names = ", ".join(f'"{table}"' for table in sorted(set(tables)))
    give_up = time.monotonic() + LOCK_PATIENCE
    pause = LOCK_PAUSE
    while not _lock_now(connection, names):
        left = give_up - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause *= 2
    return True


def _lock_now(connection: Connection, names: str) -> bool:
    """One attempt of :func:`_locked_at_once`, in a savepoint of its own."""
    savepoint = connection.begin_nested()
    try:
        connection.exec_driver_sql(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE NOWAIT")
    except DBAPIError as exc:
        savepoint.rollback()
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        return False
    savepoint.commit()
    return True


def _empty_and_ours(connection: Connection, tables: Sequence[str]) -> list[str]:
    ours = [
        name for (name,) in connection.exec_driver_sql(_CANDIDATES, {"tables": list(tables)}).all()
    ]
    if not ours:
        return []
    empty = connection.exec_driver_sql(
        "SELECT " + ", ".join(f"NOT EXISTS (SELECT 1 FROM {t})" for t in ours)
    ).one()
    return [t for t, is_empty in zip(ours, empty, strict=True) if is_empty]


def drop_keys(connection: Connection, tables: Sequence[str]) -> list[_Dropped]:
    """Drop the unique constraints, foreign keys and secondary indexes of those of ``tables``
    that are empty and this role's own; what was dropped, to be created again. Every table
    the drops lock is locked first, all at once and without waiting (asked again over at
    most LOCK_PATIENCE): if another transaction still holds any of them (a reader), nothing
    is dropped and the rows are checked as they go in, rather than the load waiting for it
    table by table."""
    chosen = _empty_and_ours(connection, tables)
    if not chosen:
        return []
    dropped = [
        _Dropped(*row) for row in connection.exec_driver_sql(_DEFINITIONS, {"tables": chosen}).all()
    ]
    if not dropped or not _locked_at_once(
        connection, [table for item in dropped for table in item.locks()]
    ):
        return []
    # Foreign keys first: one may lean on a unique constraint dropped after it.
    for item in sorted(dropped, key=lambda d: d.kind != "f"):
        connection.exec_driver_sql(item.drop_sql())
    return dropped


def create_keys(connection: Connection, dropped: Sequence[_Dropped], *, held: bool = False) -> None:
    """Create again what :func:`drop_keys` dropped: indexes and unique constraints, then
    the foreign keys. A row that breaks one fails the transaction with a LoadConflict.
    ``held``: the tables held rows before the load (:func:`all_keys_after`), so a clash may
    be with one of those rather than between two of the load's."""
    if not dropped:
        return
    memory = connection.exec_driver_sql(
        "SELECT current_setting('maintenance_work_mem'), "
        f"set_config('maintenance_work_mem', '{BUILD_MEMORY}', true)"
    ).one()[0]
    for item in sorted(dropped, key=lambda d: d.kind == "f"):
        try:
            connection.exec_driver_sql(item.create_sql())
        except DBAPIError as exc:
            raise _conflict(exc, item.table, item.name, held=held) from None
    connection.exec_driver_sql(
        "SELECT set_config('maintenance_work_mem', %(m)s, true)", {"m": memory}
    )


def clash(exc: DBAPIError) -> GrantsError | DBAPIError:
    """A row that broke a key or a reference as it went in (the keys kept), refused as one
    found as its key is built again after the rows: the same message, naming the table and
    the key from what PostgreSQL says; the row clashed with may be one the table held."""
    diag = getattr(exc.orig, "diag", None)
    table = getattr(diag, "table_name", None) or "the ledger"
    return _conflict(exc, table, getattr(diag, "constraint_name", None) or "a key", held=True)


def _conflict(exc: DBAPIError, table: str, name: str, *, held: bool) -> GrantsError | DBAPIError:
    """The refusal of a broken unique key or reference, named; of a clash of values that may
    be with a row the table held before the load (``held``), pointing at `grants verify`
    (HELD_ROW)."""
    diag = getattr(exc.orig, "diag", None)
    state = getattr(exc.orig, "sqlstate", None)
    if diag is None or state not in ("23505", "23503"):  # unique, foreign key violations
        return exc
    detail = (diag.message_detail or "").strip()[:300]
    pointer = ""
    if state == "23505":
        what = "a row with the same value as another where each must be different"
        pointer = HELD_ROW if held else ""
    else:
        what = "a row naming one that does not exist"
    return LoadConflict(
        f"nothing was recorded: the rows written to {table} include {what} ({name}: {detail})"
        f"{pointer}"
    )


def _usable(connection: Connection) -> bool:
    """Whether the transaction can still go on (no statement in it has failed)."""
    try:
        status = _raw(connection).info.transaction_status
    except Exception:  # the connection is gone: nothing to put back
        return False
    return status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.IDLE)


@contextlib.contextmanager
def keys_after(connection: Connection, tables: Sequence[str]) -> Iterator[None]:
    """Within the block, the empty ``tables`` take rows with their unique keys, references
    and secondary indexes checked and built at the end."""
    with _built_again(connection, drop_keys(connection, tables)):
        yield


@contextlib.contextmanager
def _built_again(
    connection: Connection, dropped: list[_Dropped], *, held: bool = False
) -> Iterator[None]:
    """The keys ``dropped`` built again after the block, and also when it fails: the caller
    might go on and commit, so the schema is left whole whatever happened. ``held``: as
    :func:`create_keys` takes it."""
    try:
        yield
    except BaseException:
        if dropped and _usable(connection):
            with contextlib.suppress(GrantsError, DBAPIError):
                create_keys(connection, dropped, held=held)
        raise
    create_keys(connection, dropped, held=held)
