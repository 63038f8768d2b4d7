"""The hash chain: every record sealed, in the order it was recorded.

Seal ``n`` holds ``digest(n) = SHA-256(digest(n-1) + canonical text of the record)``, with
``digest(0)`` 64 zeros. Changing, adding or removing any record behind the ledger's back
breaks the chain at that record; rebuilding the chain from there changes every later digest
and the head (count and last digest), which a finance officer can quote in a paper and check
later (`grants verify --against COUNT:DIGEST`).

Sealing happens when a write transaction commits (grants.db.session): the rows of the sealed
tables added by the transaction are read back from the database, with the same code that
`grants verify` uses, and sealed in the order the transaction recorded them (the loader says
the order of its books; otherwise the order of grants.db.records.RECORDS, then id). Within a
table, records are always sealed in id order.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import json.encoder
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Connection, Date, DateTime

from grants.db import bulk
from grants.db.records import BY_TABLE, FORMS, RANK, RECORDS, Record

GENESIS = "0" * 64
SEAL_COLUMNS = ("seq", "tbl", "row_id", "form", "digest")
CHUNK = 5000


@dataclass(frozen=True, slots=True)
class Head:
    """How many records the chain holds and the digest of the last."""

    count: int
    digest: str

    def __str__(self) -> str:
        return f"{self.count}:{self.digest}"


def chain_digest(previous: str, payload: bytes) -> str:
    return hashlib.sha256(previous.encode("ascii") + payload).hexdigest()


# -- reading records --------------------------------------------------------------------


def _converters(
    record: Record, table_name: str, columns: tuple[str, ...], engine: str
) -> list[Callable[[Any], Any]]:
    """One function per column that turns the driver's value into canonical JSON data, the
    same on both engines: dates and times as ISO text, booleans as 0/1, blobs as SHA-256."""
    from grants.db.models import Base

    table = Base.metadata.tables[table_name]
    out: list[Callable[[Any], Any]] = []
    for name in columns:
        kind = table.c[name].type
        if name in record.blobs:
            out.append(_blob)
        elif isinstance(kind, DateTime):
            out.append(_timestamp)
        elif isinstance(kind, Date):
            out.append(_date if engine == "postgresql" else _same)
        elif isinstance(kind, Boolean):
            out.append(_boolean if engine == "postgresql" else _same)
        else:
            out.append(_same)
    return out


def _same(value: Any) -> Any:
    return value


Special = list[tuple[int, Callable[[Any], Any]]]
_SPECIAL: dict[tuple[str, str, tuple[str, ...], str], Special] = {}


def _special(record: Record, table_name: str, columns: tuple[str, ...], engine: str) -> Special:
    """The columns whose values need converting, with their converters (worked out once
    per table and engine: a write transaction seals a few records of several tables)."""
    key = (record.table, table_name, columns, engine)
    found = _SPECIAL.get(key)
    if found is None:
        converters = _converters(record, table_name, columns, engine)
        found = _SPECIAL[key] = [(i, f) for i, f in enumerate(converters) if f is not _same]
    return found


def _date(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _boolean(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _timestamp(value: Any) -> Any:
    # SQLite keeps the text it was given ("2017-11-30 09:00:00", or with ".000000" when
    # written through the ORM); PostgreSQL returns a datetime. Both read as one text.
    if type(value) is str and len(value) == 19 and value[10] == " ":
        return value  # already as isoformat(" ") writes a time to the second
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).isoformat(" ")
        except ValueError:
            return "?" + value  # not a time: it cannot match what was sealed
    return value


def _blob(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return hashlib.sha256(bytes(value)).hexdigest()
    return _odd(value)


def _odd(value: Any) -> str:
    """A value of a type the ledger never writes in that place (bytes in a text column of
    SQLite, say): written so that it cannot match anything the ledger sealed."""
    if isinstance(value, bytes | bytearray | memoryview):
        return "?bytes:" + bytes(value).hex()
    return f"?{type(value).__name__}:{value!r}"


_CURSORS = itertools.count(1)  # names of the server-side cursors, one for each open
_PYFORMAT = re.compile(r"%\((\w+)\)s")


def driver_sql(connection: Connection, sql: str) -> str:
    """SQL written with ``%(name)s`` parameters, in the connection's driver's style."""
    if connection.dialect.name == "sqlite":
        return _PYFORMAT.sub(r":\1", sql)
    return sql


def stream_rows(
    connection: Connection, sql: str, params: dict[str, Any] | None = None
) -> Iterator[tuple[Any, ...]]:
    """Rows of a query (``%(name)s`` parameters), fetched in chunks (a server-side cursor on
    PostgreSQL), so that a million records never sit in memory at once. The rows of a chunk
    are handed on without a Python frame for each (the seal reads every record back)."""
    return itertools.chain.from_iterable(_chunks(connection, sql, params))


def _chunks(
    connection: Connection, sql: str, params: dict[str, Any] | None
) -> Iterator[list[tuple[Any, ...]]]:
    if connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute(driver_sql(connection, sql), params or {})
            while rows := cursor.fetchmany(CHUNK):
                yield rows
        finally:
            with contextlib.suppress(Exception):  # left unfinished after its connection closed
                cursor.close()
        return
    # The driver's own server-side cursor: rows as the driver makes them (tuples), without
    # SQLAlchemy's row objects around each; within the connection's transaction.
    if not connection.in_transaction():
        connection.begin()  # as running a statement through SQLAlchemy would
    from grants.db.bulk_postgres import driver_errors

    raw = connection.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor(name=f"grants_rows_{next(_CURSORS)}")
    try:
        with driver_errors(connection, sql):
            cursor.execute(sql, params or {})
            rows = cursor.fetchmany(CHUNK)
        while rows:
            yield rows
            with driver_errors(connection, sql):
                rows = cursor.fetchmany(CHUNK)
    finally:
        with contextlib.suppress(Exception):
            cursor.close()


class Records:
    """The records of one sealed table with id above ``after``, in id order, each as
    ``(id, canonical text)``; rows that belong to a record are read alongside it."""

    def __init__(
        self,
        connection: Connection,
        record: Record,
        after: int = 0,
        accounts: dict[int, list[Any]] | None = None,
        with_children: bool = True,
    ) -> None:
        self.record = record
        engine = connection.dialect.name
        columns = ", ".join(record.columns)
        # From the start (verify): every row, an id of 0 or below included, so that it is
        # read and reported; sealing reads only the new records.
        self._rows = stream_rows(
            connection,
            f"SELECT {columns} FROM {record.table} "
            + ("WHERE id > %(after)s " if after else "")
            + "ORDER BY id",
            {"after": after},
        )
        self._convert = _special(record, record.table, record.columns, engine)
        self._children: Iterator[tuple[Any, ...]] | None = None
        self._pending: tuple[Any, ...] | None = None
        self._postings = False
        self.accounts = accounts
        if record.child is not None and with_children:
            child = record.child
            self._child_convert = _special(record, child.table, child.columns, engine)
            # From the start (verify): every row, so that one naming no record (a parent id of
            # 0, say) is read and reported. Sealing reads only the rows of new records.
            where = f"WHERE {child.parent} > %(after)s " if after else ""
            self._children = stream_rows(
                connection,
                f"SELECT {child.parent}, {', '.join(child.columns)} FROM {child.table} "
                f"{where}ORDER BY {child.parent}, id",
                {"after": after},
            )
            self._pending = next(self._children, None)
            self._postings = accounts is not None and child.columns == (
                "id",
                "account_id",
                "amount_pence",
            )
        self.orphans: list[tuple[Any, ...]] = []  # child rows of no record (verify names them)

    def __iter__(self) -> Iterator[tuple[int, list[Any], list[list[Any]]]]:
        """(id, canonical values, canonical child rows) of each record."""
        return self._entries() if self._postings else self._records()

    def _records(self) -> Iterator[tuple[int, list[Any], list[list[Any]]]]:
        convert = self._convert
        no_children: list[list[Any]] = []
        for row in self._rows:
            values = list(row)
            for i, f in convert:
                values[i] = f(values[i])
            if self._children is None:
                yield row[0], values, no_children
            else:
                yield row[0], values, self._children_of(row[0])

    def _entries(self) -> Iterator[tuple[int, list[Any], list[list[Any]]]]:
        """``_records`` of entries, each with its postings as ``_children_of`` gathers them
        (with their accounts), without a call for each entry: verify reads every entry."""
        convert = self._convert
        children = self._children
        assert children is not None and self.accounts is not None
        account = self.accounts.get
        orphans = self.orphans
        for row in self._rows:
            values = list(row)
            for i, f in convert:
                values[i] = f(values[i])
            record_id = row[0]
            found: list[list[Any]] = []
            pending = self._pending
            while pending is not None:
                parent = pending[0]
                if type(parent) is int and parent > record_id:
                    break
                if parent != record_id:
                    orphans.append(pending)
                else:  # a posting, with its account (key and columns)
                    found.append([pending[1], pending[2], account(pending[2]), pending[3]])
                pending = next(children, None)
            self._pending = pending
            yield record_id, values, found

    def _children_of(self, record_id: int) -> list[list[Any]]:
        found: list[list[Any]] = []
        convert = self._child_convert
        accounts = self.accounts
        children = self._children
        assert children is not None
        pending = self._pending
        postings = self._postings
        account = accounts.get if accounts is not None else None
        while pending is not None:
            parent = pending[0]
            if type(parent) is int and parent > record_id:
                break
            if parent != record_id:
                self.orphans.append(pending)
            elif postings:  # a posting, with its account (key and columns)
                assert account is not None
                found.append([pending[1], pending[2], account(pending[2]), pending[3]])
            else:
                values = list(pending[1:])
                for i, f in convert:
                    values[i] = f(values[i])
                if accounts is not None:
                    values.insert(2, accounts.get(values[1]))
                found.append(values)
            pending = next(children, None)
        self._pending = pending
        return found

    def rest_of_children(self) -> list[tuple[Any, ...]]:
        """Child rows left after the last record: they belong to no record."""
        rest = list(self.orphans)
        while self._pending is not None:
            rest.append(self._pending)
            self._pending = next(self._children, None) if self._children else None
        return rest


_JSON = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), default=_odd)
# The same encoder as ``_JSON.encode`` uses (C, ASCII only, no spaces, ``_odd`` for any other
# type), made once rather than for every record. It does not look for a list that holds
# itself: a record's values and rows, read from the database, never do.
_C_ENCODER = json.encoder.c_make_encoder
_ENCODE = (
    _C_ENCODER(None, _odd, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True)
    if _C_ENCODER is not None
    else None
)


def payload(record: Record, values: list[Any], children: list[list[Any]]) -> bytes:
    """The canonical text of a record: JSON of its table, form, columns and rows."""
    data: list[Any] = [record.table, record.form, *values]
    if record.child is not None:
        data.append(children)
    if _ENCODE is None:  # a Python built without the C encoder: the same text, slower
        return _JSON.encode(data).encode("ascii")
    return "".join(_ENCODE(data, 0)).encode("ascii")


ACCOUNT_COLUMNS = "id, key, stream_id, first_year, last_year, line_id, role"


def accounts_of(connection: Connection, after_entry: int = 0) -> dict[int, list[Any]]:
    """Every account the postings of entries after ``after_entry`` use, as it is sealed
    with each posting: its key and its columns (stream, years, line, role)."""
    sql = f"SELECT {ACCOUNT_COLUMNS} FROM account"
    if after_entry:
        sql += " WHERE id IN (SELECT account_id FROM posting WHERE entry_id > %(after)s)"
    return {row[0]: list(row[1:]) for row in stream_rows(connection, sql, {"after": after_entry})}


# -- the state of the chain -------------------------------------------------------------


@dataclass
class Marks:
    """Where each sealed table stood when a write transaction began, and the chain's head."""

    tables: dict[str, int]  # greatest id of each sealed table
    sealed: dict[str, int]  # greatest id sealed of each
    head: Head
    planted: dict[str, int] = field(default_factory=dict)  # rows naming records not yet made
    also: dict[str, Any] = field(default_factory=dict)  # what else was asked for (``marks``)

    def damage(self) -> list[str]:
        """What the newest records of each table say about rows added or removed behind the
        ledger's back (a quick look: `grants verify` looks at everything)."""
        out = []
        for table, top in self.tables.items():
            sealed = self.sealed[table]
            if top > sealed:
                out.append(f"{table} {sealed + 1} and after are not in its chain")
            elif top < sealed:
                out.append(f"{table} {top + 1} to {sealed}, sealed in its chain, are gone")
        for table, count in self.planted.items():
            if count:
                rows = "row belongs" if count == 1 else "rows belong"
                out.append(f"{count:,} {table} {rows} to records not yet made")
        return out


def marks(
    connection: Connection,
    records: Iterable[Record] = RECORDS,
    *,
    checks: bool = True,
    also: dict[str, str] | None = None,
) -> Marks:
    """One query: the greatest id of every sealed table, the chain's head and (``checks``)
    the greatest id sealed of each table and the rows planted under records not yet made;
    and the value of each scalar subquery of ``also``, by name, in ``Marks.also`` (what a
    writing transaction would otherwise read in statements of its own)."""
    records = list(records)
    also = also or {}
    parts = [f"(SELECT COALESCE(MAX(id), 0) FROM {r.table})" for r in records]
    parts.append("(SELECT COALESCE(MAX(seq), 0) FROM seal)")
    parts.append("(SELECT digest FROM seal ORDER BY seq DESC LIMIT 1)")
    children = [r for r in records if r.child is not None] if checks else []
    if checks:
        parts += [
            f"(SELECT COALESCE(MAX(row_id), 0) FROM seal WHERE tbl = '{r.table}')" for r in records
        ]
    # Rows that belong to a record not made yet would be sealed into it when it is made.
    for r in children:
        assert r.child is not None
        parts.append(
            f"(SELECT COUNT(*) FROM {r.child.table} WHERE {r.child.parent} > "
            f"(SELECT COALESCE(MAX(row_id), 0) FROM seal WHERE tbl = '{r.table}'))"
        )
    parts += [f"({sql})" for sql in also.values()]
    row = connection.exec_driver_sql("SELECT " + ", ".join(parts)).one()
    values = iter(row)
    tables = {r.table: int(next(values)) for r in records}
    count, digest = int(next(values)), next(values)
    sealed = {r.table: int(next(values)) for r in records} if checks else dict(tables)
    planted = {r.child.table: int(next(values)) for r in children if r.child is not None}
    found = {name: next(values) for name in also}
    return Marks(tables, sealed, Head(count, digest if count else GENESIS), planted, found)


# -- sealing ----------------------------------------------------------------------------


Order = list[list[Any]]  # runs of [table, count]: the order a transaction recorded in


def add_to_order(order: Order, table: str, count: int = 1) -> None:
    """Note that ``count`` records of ``table`` come next."""
    if order and order[-1][0] == table:
        order[-1][1] += count
    else:
        order.append([table, count])


def seal_new(
    connection: Connection,
    since: Marks,
    order: Order | None = None,
    records: Iterable[Record] | None = None,
) -> int:
    """Seal every record added since ``since`` (this transaction's), in ``order`` and then
    by table and id, in the records' current forms (or ``records``). Returns how many were
    sealed."""
    kinds = {r.table: r for r in records} if records is not None else BY_TABLE
    now = marks(connection, (kinds[t] for t in since.tables), checks=False)
    if now.head != since.head:
        raise RuntimeError("the chain moved during a write transaction")  # the lock failed
    fresh = {t for t, top in now.tables.items() if top > since.tables[t]}
    if not fresh:
        return 0
    adding = sum(now.tables[t] - since.tables[t] for t in fresh)
    # A load's links go in before the chain's keys are built (PostgreSQL, into a chain
    # shorter than the load): the ledger's writer lock and the table's own lock held.
    with (
        # Reading the records back makes a list or tuple for every row and posting, and each
        # pass of the cycle collector would walk every object the load still holds: a
        # quarter of the seal's time at 100,000 entries. What sealing makes holds no cycles.
        bulk.no_cycle_collection(adding, at_least=CHUNK),
        bulk.keys_after_append(connection, "seal", since.head.count, adding),
    ):
        return _seal_fresh(connection, since, fresh, kinds, order)


def _seal_fresh(
    connection: Connection,
    since: Marks,
    fresh: set[str],
    kinds: dict[str, Record],
    order: Order | None,
) -> int:
    readers: dict[str, Iterator[tuple[int, list[Any], list[list[Any]]]]] = {}
    for table in sorted(fresh, key=RANK.__getitem__):
        record = kinds[table]
        accounts = None
        if record.child is not None and record.child.table == "posting":
            accounts = accounts_of(connection, since.tables[table])
        readers[table] = iter(Records(connection, record, since.tables[table], accounts))
    runs: list[tuple[str, int | None]] = [(t, n) for t, n in order or []]
    runs += [(t, None) for t in sorted(fresh, key=RANK.__getitem__)]
    writer = _SealWriter(connection, since.head)
    for table, count in runs:
        reader = readers.get(table)
        if reader is None:
            if count:
                raise RuntimeError(f"{count:,} {table} records to seal were not written")
            continue
        items = reader if count is None else itertools.islice(reader, count)
        taken = writer.seal(kinds[table], items)
        if count is not None and taken < count:
            raise RuntimeError(f"{table}: fewer records than the order says")
    writer.flush()
    return writer.count - since.head.count


class _SealWriter:
    def __init__(self, connection: Connection, head: Head) -> None:
        self.connection = connection
        self.count = head.count
        self.digest = head.digest
        self.rows: list[tuple[int, str, int, int, str]] = []

    def seal(self, record: Record, items: Iterable[tuple[int, list[Any], list[list[Any]]]]) -> int:
        """Seal each of ``items`` (records of one kind) next; how many there were."""
        table, form, rows = record.table, record.form, self.rows
        count, digest = self.count, self.digest
        sha256 = hashlib.sha256
        taken = 0
        for record_id, values, children in items:
            count += 1
            # chain_digest(digest, text), without a call for each record
            digest = sha256(digest.encode("ascii") + payload(record, values, children)).hexdigest()
            rows.append((count, table, record_id, form, digest))
            taken += 1
            if len(rows) >= CHUNK * 4:
                self.count, self.digest = count, digest
                self.flush()
                rows = self.rows
        self.count, self.digest = count, digest
        return taken

    def flush(self) -> None:
        if self.rows:
            bulk.insert_rows(self.connection, "seal", SEAL_COLUMNS, self.rows)
            self.rows = []


def seal_all(connection: Connection, tables: Iterable[str], form: int | None = None) -> int:
    """Seal every row of ``tables`` not yet sealed, by table and id: for a ledger recorded
    before it had a chain (the migration that made the chain calls it once, with form 1)."""
    records = [FORMS[(t, form)] if form is not None else BY_TABLE[t] for t in tables]
    current = marks(connection, records)
    since = Marks({t: current.sealed[t] for t in current.tables}, current.sealed, current.head)
    return seal_new(connection, since, records=records)


def in_chain_order(
    connection: Connection, with_children: bool = False
) -> Iterator[tuple[Record, int, list[Any], list[list[Any]]]]:
    """Every record, in the order of the chain: (kind of record, id, canonical values, rows
    that belong to it). For a chain `grants verify` has found whole."""
    accounts = accounts_of(connection) if with_children else None
    readers = {
        r.table: iter(Records(connection, r, 0, accounts if r.table == "entry" else None,
                              with_children))
        for r in RECORDS
    }  # fmt: skip
    for _seq, table, row_id, _form, _digest in seals(connection):
        record_id, values, children = next(readers[table])
        if record_id != row_id:
            raise RuntimeError(f"{table} {row_id} is not where the chain says")  # not verified
        yield BY_TABLE[table], record_id, values, children


def seals(connection: Connection) -> Iterable[tuple[int, str, int, int, str]]:
    """Every seal in chain order: (seq, table, row id, form, digest)."""
    return stream_rows(connection, "SELECT seq, tbl, row_id, form, digest FROM seal ORDER BY seq")


__all__ = [
    "GENESIS",
    "Head",
    "Marks",
    "Order",
    "Records",
    "accounts_of",
    "add_to_order",
    "chain_digest",
    "driver_sql",
    "in_chain_order",
    "marks",
    "payload",
    "seal_all",
    "seal_new",
    "seals",
    "stream_rows",
]
