"""How a sealed record is read from the database and written as its canonical text: the
same code for the seal, as a write transaction commits, and for `grants verify`, which reads
every record again (grants.db.seal keeps the chain of their digests).

Each column's value is turned into canonical JSON data by a converter made once for each
table (a date and a time as ISO text, a flag as true or false, anything odd as its type and
text); a record's text is the JSON of its table, form, columns and the rows that belong to it.
Rows are read in chunks (a server-side cursor on PostgreSQL), never all at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import json.encoder
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Connection, Date, DateTime

from grants.db.records import Record

CHUNK = 5000


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
    """The records of one sealed table with id above ``after`` (and up to ``until``), in id
    order, each as ``(id, canonical text)``; rows that belong to a record are read alongside
    it."""

    def __init__(
        self,
        connection: Connection,
        record: Record,
        after: int = 0,
        accounts: Mapping[int, Sequence[Any]] | None = None,
        with_children: bool = True,
        until: int | None = None,
        accounts_joined: bool = False,
    ) -> None:
        self.record = record
        engine = connection.dialect.name
        columns = ", ".join(record.columns)
        # From the start (verify): every row, an id of 0 or below included, so that it is
        # read and reported; sealing reads only the new records; ``until``: none above it.
        bounds = {"after": after, "until": until}
        self._rows = stream_rows(
            connection,
            f"SELECT {columns} FROM {record.table} {id_bounds('id', after, until)}ORDER BY id",
            bounds,
        )
        self._convert = _special(record, record.table, record.columns, engine)
        self._children: Iterator[tuple[Any, ...]] | None = None
        self._pending: tuple[Any, ...] | None = None
        self._postings = False
        self._joined = False
        self.accounts = accounts
        if record.child is not None and with_children:
            child = record.child
            self._child_convert = _special(record, child.table, child.columns, engine)
            # From the start (verify): every row, so that one naming no record (a parent id of
            # 0, say) is read and reported. Sealing reads only the rows of new records.
            postings = child.columns == ("id", "account_id", "amount_pence")
            self._joined = accounts_joined and postings
            self._children = stream_rows(
                connection,
                _JOINED.format(id_bounds("p.entry_id", after, until))
                if self._joined
                else f"SELECT {child.parent}, {', '.join(child.columns)} FROM {child.table} "
                f"{id_bounds(child.parent, after, until)}ORDER BY {child.parent}, id",
                bounds,
            )
            self._pending = next(self._children, None)
            self._postings = postings and (accounts is not None or self._joined)
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
        joined = self._joined
        assert children is not None and (joined or self.accounts is not None)
        account = self.accounts.get if self.accounts is not None else None
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
                elif joined:  # a posting, its account's key and columns read beside it (a
                    # tuple is written as a list is: ``payload``)
                    held = None if pending[4] is None else pending[5:]
                    found.append([pending[1], pending[2], held, pending[3]])
                else:  # a posting, with its account (key and columns)
                    assert account is not None
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


def id_bounds(column: str, after: int, until: int | None = None) -> str:
    """``WHERE`` for ids above ``after`` (none: from the start) and up to ``until``."""
    bounds = ([f"{column} > %(after)s"] if after else []) + (
        [f"{column} <= %(until)s"] if until is not None else []
    )
    return f"WHERE {' AND '.join(bounds)} " if bounds else ""


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
# The postings of entries, each with its account's key and columns (all None if it has no
# account: the same as ``accounts_of`` finds for it), in the order ``Records`` reads them.
_JOINED = (
    "SELECT p.entry_id, p.id, p.account_id, p.amount_pence, a.id, a.key, a.stream_id, "
    "a.first_year, a.last_year, a.line_id, a.role FROM posting p LEFT JOIN account a "
    "ON a.id = p.account_id {}ORDER BY p.entry_id, p.id"
)


def held_accounts(connection: Connection) -> dict[int, tuple[Any, ...]]:
    """Every account, as ``accounts_of`` gives it (its key and columns, written into a
    posting's text alike) but a tuple each, its years and role one object for each value
    (a national funder's ledger holds hundreds of thousands of accounts, of ten years and a
    few roles): what `grants verify` keeps for the whole walk."""
    shared: dict[tuple[type, Any], Any] = {}  # by type too: 1, 1.0 and True are not alike
    one = shared.setdefault
    held: dict[int, tuple[Any, ...]] = {}
    # In the order of their ids (PostgreSQL's own order moves with the rows changed): the
    # order verify names them in, and the last of two of one key it finds.
    for account_id, key, stream_id, first, last, line_id, role in stream_rows(
        connection, f"SELECT {ACCOUNT_COLUMNS} FROM account ORDER BY id"
    ):
        held[account_id] = (
            key, stream_id, one((type(first), first), first), one((type(last), last), last),
            line_id, one((type(role), role), role),
        )  # fmt: skip
    return held


def accounts_of(connection: Connection, after_entry: int = 0) -> dict[int, list[Any]]:
    """Every account the postings of entries after ``after_entry`` use, as it is sealed
    with each posting: its key and its columns (stream, years, line, role)."""
    sql = f"SELECT {ACCOUNT_COLUMNS} FROM account"
    if after_entry:
        sql += " WHERE id IN (SELECT account_id FROM posting WHERE entry_id > %(after)s)"
    return {row[0]: list(row[1:]) for row in stream_rows(connection, sql, {"after": after_entry})}
