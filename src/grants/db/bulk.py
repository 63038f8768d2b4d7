"""Writing many rows at once: the one place that knows how each engine takes them fastest.

``insert_rows`` writes rows of plain values into a table (``executemany`` through the DBAPI
cursor; binary COPY on PostgreSQL). ``indexes_after`` lets a load into empty tables build
their secondary indexes once, after the rows, instead of keeping them up to date row by row
(on PostgreSQL, their unique keys and references too: grants.db.bulk_postgres). ``big_write``
gives a SQLite connection a page cache to match a write of many rows, for as long as it is
checked out. ``no_cycle_collection`` pauses Python's cycle collector for a load of many
entries, and ``lean_for_indexes`` gives back what a load let go before its indexes are
built.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Collection, Iterator, Sequence

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from grants.errors import GrantsError

# Pages a SQLite connection caches while it writes a load: 64 MiB (SQLite's default is 2 MiB,
# and a load's indexes on random keys touch far more pages than that).
BIG_CACHE_KIB = 65536
# While a load appends to tables whose indexes it builds after its rows: 16 MiB (each table is
# written page after page; the memory goes to the load's checks).
APPEND_CACHE_KIB = 16384
# While a load's indexes are built: 16 MiB (the sorter sorts in memory up to as much again;
# a bigger cache built the indexes of a million entries no faster).
INDEX_CACHE_KIB = 16384
DEFAULT_CACHE = -2000  # SQLite's default (2,000 KiB), put back when the connection returns
BIG_CACHE = "grants_big_cache"  # set in a pooled connection's info while its cache is big

# A load of at least this many rows into empty tables is worth taking their keys off for
# (below it, dropping and building them again costs more than checking row by row).
MANY = 2000

# A load of at least this many entries runs without the cycle collector (below it, the
# collector's passes cost little).
NO_COLLECTION = 5000


def insert_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Insert ``rows`` (each a sequence of plain values in the order of ``columns``)."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        from grants.db import bulk_postgres  # psycopg, imported only where it is used

        bulk_postgres.copy_rows(connection, table, columns, rows)
        return
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})",
        rows,  # type: ignore[arg-type]
    )


class NotUnique(GrantsError):
    """An index built after a load found two rows with what must be unique (or, written
    with the keys kept, a row broke one: :func:`clashes_named`)."""


# Said of a clash that may be with a row the table held before the load, rather than between
# two of the load's own rows: a row added behind the ledger's back is one `grants verify`
# names, while the message would otherwise blame the load alone.
HELD_ROW = (
    "; a row already there that the ledger did not write (added behind its back) may be the "
    "other: `grants verify` names such a row"
)


@contextlib.contextmanager
def clashes_named(connection: Connection, fresh: Collection[str] = ()) -> Iterator[None]:
    """Within the block (a load's writing), a row that breaks a unique key or a reference
    as it goes in is refused as a key built again after the rows refuses it: NotUnique
    (LoadConflict on PostgreSQL), naming the table and what clashed, where the driver's
    own error came out as a database error. Only a unique key, a primary key or a reference
    broken is named so; any other refusal (a check, NOT NULL, a trigger's) is raised as the
    database gave it. The caller's transaction must be rolled back. A clash of values may be
    with a row the table already held, so its message points at `grants verify` too
    (HELD_ROW), unless the table is one of ``fresh``, those known to have held no rows as the
    block began (a clash in one is between two of the load's own rows)."""
    try:
        yield
    except IntegrityError as exc:
        if connection.dialect.name == "postgresql":
            from grants.db import bulk_postgres

            raise bulk_postgres.clash(exc) from None
        kind = getattr(exc.orig, "sqlite_errorname", None)
        if kind not in _SQLITE_CLASHES:
            raise  # a check, NOT NULL or a trigger's refusal: the database's own words
        said = str(exc.orig)  # "UNIQUE constraint failed: account.key", say
        unique = "UNIQUE constraint failed: "
        held = ""
        if said.startswith(unique):
            table = said.removeprefix(unique).partition(".")[0]
            what = (
                f"{table} include a row with the same value as another where each must be different"
            )
            held = "" if table in fresh else HELD_ROW
        else:
            what = "the ledger break a key or a reference"
        raise NotUnique(
            f"nothing was recorded: the rows written to {what} ({said}){held}"
        ) from None


# SQLite's refusals that are a key or a reference broken (its extended result codes' names).
_SQLITE_CLASHES = frozenset(
    {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_FOREIGNKEY"}
)


@contextlib.contextmanager
def indexes_after(
    connection: Connection, tables: Sequence[str], lean: bool = False
) -> Iterator[None]:
    """Within the block, rows inserted into those of ``tables`` that are empty go in before
    their secondary indexes are built (on PostgreSQL their unique keys and references too,
    grants.db.bulk_postgres): on SQLite the indexes are dropped inside the caller's
    transaction and made again from their stored SQL as the block ends, so that a failure
    (the caller rolls back) leaves them as they were. An index that finds two rows alike
    (a unique index) is refused as :class:`NotUnique`: the caller's transaction must then
    be rolled back, and nothing it wrote is kept. With ``lean`` (a load of a national
    funder's size), the indexes are built with a small page cache (:func:`lean_for_indexes`),
    kept for the rest of the caller's transaction."""
    if connection.dialect.name == "postgresql":
        from grants.db import bulk_postgres

        with bulk_postgres.keys_after(connection, tables), clashes_named(connection):
            yield
        return
    if connection.dialect.name != "sqlite":
        yield
        return
    empty = [t for t in tables if _empty(connection, t)]
    if not empty:
        with clashes_named(connection):
            yield
        return
    marks = ", ".join("?" * len(empty))
    indexes = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks}) ORDER BY name",
        tuple(empty),
    ).all()
    for name, _ in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    try:
        with clashes_named(connection, empty):
            yield
    except BaseException:
        with contextlib.suppress(Exception):  # as they were, should the caller go on
            _create(connection, indexes)
        raise
    if lean:
        lean_for_indexes(connection)
    _create(connection, indexes)


@contextlib.contextmanager
def keys_after_append(
    connection: Connection, table: str, holding: int, adding: int
) -> Iterator[None]:
    """Within the block, ``adding`` rows are appended to ``table``, which holds ``holding``:
    on PostgreSQL, when that is many rows and more than the table holds, every key of the
    table (its primary key too: grants.db.bulk_postgres.all_keys_after) is built once after
    them rather than kept row by row. Elsewhere, and for fewer rows, nothing changes."""
    if connection.dialect.name != "postgresql" or adding < MANY or adding < holding:
        yield
        return
    from grants.db import bulk_postgres

    with bulk_postgres.all_keys_after(connection, table):
        yield


def _empty(connection: Connection, table: str) -> bool:
    return connection.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is None


def _create(connection: Connection, indexes: Sequence[tuple[str, str]]) -> None:
    for name, sql in indexes:
        try:
            connection.exec_driver_sql(sql)
        except IntegrityError as exc:
            raise NotUnique(
                f"two rows of the load have the same value where {name} holds each once "
                f"({exc.orig}): nothing was recorded"
            ) from None


def big_write(connection: Connection, appending: bool = False) -> None:
    """A SQLite connection about to write many rows caches up to BIG_CACHE_KIB of pages
    (APPEND_CACHE_KIB if ``appending``: into tables whose indexes are built after the rows)
    until it goes back to the pool (grants.db.engine puts the default back). Durability is
    as before: only the memory for pages changes."""
    if connection.dialect.name != "sqlite":
        return
    kib = APPEND_CACHE_KIB if appending else BIG_CACHE_KIB
    connection.exec_driver_sql(f"PRAGMA cache_size=-{kib}")
    connection.connection.info[BIG_CACHE] = True


def lean_for_indexes(connection: Connection) -> None:
    """Before a load's indexes are built after its rows (SQLite): the page cache cut to
    INDEX_CACHE_KIB and the pages it need not keep let go (SQLite's sorter takes as much
    memory again as the cache may hold), and the memory the load's own objects held given
    back to the system (:func:`give_back_freed_memory`)."""
    connection.exec_driver_sql(f"PRAGMA cache_size=-{INDEX_CACHE_KIB}")
    connection.exec_driver_sql("PRAGMA shrink_memory")
    give_back_freed_memory()


def give_back_freed_memory() -> None:
    """Return to the system the memory the C library's allocator keeps once a load's
    objects are let go (glibc's ``malloc_trim``): it would otherwise stay the process's,
    beneath what SQLite takes next to build the indexes. Where the C library has no such
    call, nothing is done."""
    import ctypes  # only a load's end needs it

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, TypeError, AttributeError):  # not glibc, or no C library to open so
        return
    trim(0)


@contextlib.contextmanager
def no_cycle_collection(entries: int, at_least: int = NO_COLLECTION) -> Iterator[None]:
    """Within the block, for a load of ``entries`` (``at_least`` or more), Python's cycle
    collector is paused: a load keeps every object it makes until it ends (ids, keys, the
    catalogue), so each full pass would scan them all again to free little. Reference
    counting frees what it always frees; cycles made within the block wait for it to end,
    and the collector is restored as it was, whatever happens.

    Only in a process of one thread (a command): the collector is the whole process's, and
    in the web service a page that verifies or reads balances would otherwise leave every
    other request's cycles uncollected for as long as it ran."""
    if entries < at_least or not gc.isenabled() or threading.active_count() > 1:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
