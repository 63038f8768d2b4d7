"""What a balance read needs beside the sums: the streams' codes, the lines' codes, names and
parents, and the funders' stated awards; read once for as long as the ledger stands as it was.

These are a few small tables of record that change rarely, read on every balance (a third of
a one-stream read's time at 10,000 entries went on them). What was read is kept with the
database connection (its pool record's ``info``: one database, one process) under the
ledger's **mark**, read in the same transaction before anything is used: the greatest id of the
streams, lines and statements, and of the people's events (a grant or a revocation changes
which streams a recipient's own PostgreSQL login sees). These tables of record only grow
(their guards refuse an update or a delete), and every writer of them holds the writers' lock
until it commits, so ids are committed in order: the same mark means the same rows whoever
wrote them and in whichever process, and a new stream, line, statement or event gives a new
mark and the catalogue is read again. Only a reading transaction (which sees committed records
alone) uses or fills what is kept: a writing one may see rows of its own not committed yet,
whose ids a rollback gives out again, and reads afresh.

The mark does not read the hash chain's ``seal``: a recipient's own login may not read it
(``db/row_security.py``), and a big PostgreSQL load holds it exclusively until it commits,
which balance reads must not wait for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from grants.db.engine import ACCESS
from grants.errors import ODD_STATEMENT, behind_its_back, not_in_ledger
from grants.money import money
from grants.periods import FinancialYear, Period
from grants.services import name_table

# line id -> (code, name, parent's code): a dictionary, or packed for many lines (name_table)
LineNames = Mapping[int, tuple[str, str, str | None]]

MARK = (
    "SELECT (SELECT MAX(id) FROM stream), (SELECT MAX(id) FROM line), "
    "(SELECT MAX(id) FROM statement), (SELECT MAX(id) FROM person_event)"
)
_T = TypeVar("_T")
_KEPT = "grants.balance_catalogue"
_CHUNK = 4096  # rows fetched at a time by Catalogue.each
_AT_MOST = 256  # reads kept at once on a connection (each stream's lines, each day's statements)


class Catalogue:
    """The catalogue as one transaction reads it, through one DBAPI cursor of its connection
    (kept from earlier reads on the same connection when the mark is the same). What it
    returns is shared between reads: read only."""

    def __init__(self, connection: Any) -> None:
        """``connection``: the session's SQLAlchemy Connection, in its transaction."""
        self.cursor = connection.connection.cursor()
        self._driver_error: type[Exception] = connection.dialect.loaded_dbapi.Error
        self.kept: dict[Any, Any] | None = None
        self.sqlite = connection.dialect.name == "sqlite"
        self._top_line: tuple[Any] | None = None  # the greatest line id, as the mark read it
        if connection.get_execution_options().get(ACCESS) != "read":
            return  # a writing transaction: what it sees may not be committed yet
        try:
            with self._as_database_errors(MARK):
                self.cursor.execute(MARK)
                mark = tuple(self.cursor.fetchone())
        except BaseException:
            self.cursor.close()
            raise
        self._top_line = (mark[1],)
        info = connection.connection.info  # the database connection's own, across checkouts
        found = info.get(_KEPT)
        if found is None or found[0] != mark:
            found = info[_KEPT] = (mark, {})
        self.kept = found[1]

    def close(self) -> None:
        self.cursor.close()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of ``sql`` as plain tuples (no result object, no row processing). For SQL
        whose every value is an integer or a date's ISO text written by this package."""
        with self._as_database_errors(sql):
            self.cursor.execute(sql)
            return self.cursor.fetchall()

    def each(self, sql: str) -> Iterator[tuple[Any, ...]]:
        """The rows of ``sql`` as :meth:`rows` gives them, fetched a chunk at a time: a read
        of a national funder's balances (a row an account) makes a chunk of Python rows at
        once, not every row (PostgreSQL's driver holds the result itself in the client
        library's memory, a fraction of theirs)."""
        with self._as_database_errors(sql):
            self.cursor.execute(sql)
            while chunk := self.cursor.fetchmany(_CHUNK):
                yield from chunk

    @contextmanager
    def _as_database_errors(self, sql: str) -> Iterator[None]:
        """The driver's errors raised as SQLAlchemy raises them for its own statements (a
        lock waited out, a sum beyond a BIGINT in a ledger changed behind its back), so that
        they are told as every other database error is, not as an unexpected failure; text
        SQLite cannot decode (the ledger writes UTF-8 only) as a change behind its back."""
        try:
            yield
        except self._driver_error as exc:
            if self.sqlite and "decode" in str(exc):
                raise behind_its_back("a text it holds is not UTF-8") from exc
            raise DBAPIError.instance(sql, None, exc, self._driver_error) from exc

    def streams(self) -> dict[int, str]:
        """Each stream's code by id."""
        return self._once(("streams",), lambda: dict(self.rows("SELECT id, code FROM stream")))

    def line_names(self, stream_id: int | None) -> LineNames:
        """Each line's code, name and parent's code (of one stream, or of every stream)."""

        def read() -> LineNames:
            sql = (
                "SELECT l.id, l.code, l.name, pl.code FROM line l "
                "LEFT JOIN line pl ON pl.id = l.parent_id"
            )
            if stream_id is not None:
                sql += f" WHERE l.stream_id = {int(stream_id)}"
            if self._many(stream_id):  # packed (name_table), in the order of their ids
                packed = name_table.pack(self.each(sql + " ORDER BY l.id"))
                if packed is not None:
                    return packed  # (else out of the ordinary: read as a dictionary)
            return {i: (code, name, parent) for i, code, name, parent in self.each(sql)}

        return self._once(("lines", stream_id), read)

    def _many(self, stream_id: int | None) -> bool:
        """Whether the stream (every stream: None) has ``name_table.COMPACT`` lines or more:
        counted only where the ledger's greatest line id says it may."""
        (top,) = self._top_line or self.rows("SELECT MAX(id) FROM line")[0]
        if type(top) is int and top < name_table.COMPACT:
            return False  # ids from 1, each once (else the dictionary answers alike)
        where = "" if stream_id is None else f" WHERE stream_id = {int(stream_id)}"
        (count,) = self.rows("SELECT COUNT(*) FROM line" + where)[0]
        return int(count) >= name_table.COMPACT

    def stated(
        self, streams: dict[int, str], stream_id: int | None, stated_on: date | None
    ) -> dict[tuple[str, Period], int]:
        """The award each funder last stated for each stream and period, in pence (of one
        stream, or of every stream; only statements dated on or before ``stated_on``, when
        given). A new dictionary for each call: the caller's own."""

        def read() -> dict[tuple[str, Period], int]:
            sql = (
                "SELECT stream_id, first_year, last_year, amount FROM statement "
                "WHERE kind = 'stated'"
            )
            if stated_on is not None:
                sql += f" AND day <= '{stated_on.isoformat()}'"
            if stream_id is not None:
                sql += f" AND stream_id = {int(stream_id)}"
            found = {}
            rows = self.rows(sql + " ORDER BY id")
            for sid, first, last, amount in rows:
                if sid not in streams:
                    raise not_in_ledger("a statement", "stream", (row[0] for row in rows), streams)
                if first.__class__ is not int or last.__class__ is not int:
                    raise behind_its_back(ODD_STATEMENT)
                period = Period(FinancialYear(first), FinancialYear(last))
                found[(streams[sid], period)] = int(money(amount) * 100)  # the latest stands
            return found

        return dict(self._once(("stated", stream_id, stated_on), read))

    def _once(self, key: tuple[Any, ...], read: Callable[[], _T]) -> _T:
        """What ``read`` gives, kept under ``key`` while the mark stands (read each time in a
        writing transaction, which keeps nothing)."""
        found = self.kept.get(key) if self.kept is not None else None
        if found is None:
            found = read()
            if self.kept is not None:
                if len(self.kept) >= _AT_MOST:  # many days' statements asked for: start again
                    self.kept.clear()
                self.kept[key] = found
        return found  # type: ignore[no-any-return]
