"""Reading account balances: one query that sums only the postings a caller asks for.

A balance is ``SUM(amount_pence)`` of an account's postings, read over the covering index
``posting(account_id, amount_pence)``. What a caller wants narrows the accounts in SQL (a
stream, the periods overlapping a year, some lines, the top-level lines), so a filtered read
sums only its own postings; a balance as of a day counts the postings of entries dated before
it. Each row comes back as a plain tuple through the DBAPI cursor (:func:`fetch`), with the
account's stream and period as one integer (:data:`SPAN`) and its line id; the lines' codes and
names are read once a line (grants.services.balance_catalogue).

Within one command, reads of the same figures share one answer (:func:`shared`): `report
all` and `reconcile` ask for the same stream's balances many times over.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import event

from grants.periods import FinancialYear, Period
from grants.services.account_span import SPAN
from grants.services.rules import BRANCH, ROLLED, AccountKey

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# span (stream id, first year and last year in one integer: SPAN), role, line id, total
AccountRow = tuple[int | None, str, int | None, int]


def fetch(session: Session, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` as plain tuples, straight from a DBAPI cursor of the session's
    connection (in its transaction): no result object, no row processing. For SQL whose
    every value is an integer or a date's ISO text written by this module."""
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


@dataclass(frozen=True, slots=True)
class Wanted:
    """Which balances to read. None: no narrowing by that."""

    stream_id: int | None = None  # one stream (0: none, for a stream that does not exist)
    period: Period | None = None  # the accounts of the periods overlapping it
    line_ids: frozenset[int] | None = None  # these lines' accounts and the stream's own
    top_level_only: bool = False  # the streams' own accounts and their top-level lines'
    before: date | None = None  # only entries dated before this day
    # The stream's code, to find its accounts by their keys' index (SQLite only: see
    # :func:`_account_conditions`); with ``stream_id``.
    key_of: str | None = None


def account_rows(session: Session, wanted: Wanted) -> list[AccountRow]:
    """The balance of every account ``wanted`` names that has a posting, with the account's
    span (stream and years: :data:`SPAN`), role and line id. The lines' codes and names are
    read once a line (balance_catalogue), not once an account and period: joined here, they
    made a third of a whole-ledger read."""
    return fetch(session, account_sql(wanted))


def account_sql(wanted: Wanted) -> str:
    """The query of :func:`account_rows`. The sums are read first and each account found
    by its key after (a CROSS JOIN: SQLite keeps that order and then hands the sums over row
    by row as they are made, where a plain JOIN first wrote them all to a table of its own;
    on PostgreSQL the same inner join, its order the planner's)."""
    return (
        f"SELECT {SPAN}, a.role, a.line_id, b.total "
        f"FROM ({_sums(wanted)}) b CROSS JOIN account a WHERE a.id = b.account_id"
    )


def _sums(w: Wanted) -> str:
    """The query of (account id, total) for the accounts wanted. Every value written into it
    is an integer or a date object's ISO text: no text from a user reaches the SQL."""
    total = "CAST(SUM(p.amount_pence) AS BIGINT) AS total"
    accounts = _account_conditions(w)
    if w.before is None:
        if not accounts:  # every balance: one pass over the covering index
            return f"SELECT p.account_id, {total} FROM posting p GROUP BY p.account_id"
        return (
            f"SELECT p.account_id, {total} FROM posting p WHERE p.account_id IN "
            f"(SELECT a.id FROM account a WHERE {' AND '.join(accounts)}) GROUP BY p.account_id"
        )
    before = f"'{w.before.isoformat()}'"
    if w.stream_id is not None:
        # One stream as of a day: its entries (an entry posts only to its own stream's
        # accounts) through the index on the entry's stream, then their postings.
        where = " AND ".join(accounts[1:]) or "1 = 1"
        return (
            f"SELECT p.account_id, {total} FROM entry e JOIN posting p ON p.entry_id = e.id "
            f"JOIN account a ON a.id = p.account_id WHERE e.stream_id = {int(w.stream_id)} "
            f"AND e.day < {before} AND {where} GROUP BY p.account_id"
        )
    narrowed = (
        f" AND p.account_id IN (SELECT a.id FROM account a WHERE {' AND '.join(accounts)})"
        if accounts
        else ""
    )
    return (
        f"SELECT p.account_id, {total} FROM posting p WHERE p.entry_id IN "
        f"(SELECT id FROM entry WHERE day < {before}){narrowed} GROUP BY p.account_id"
    )


def _account_conditions(w: Wanted) -> list[str]:
    """Conditions on ``account a`` (the stream's first, when there is one: one item)."""
    out = []
    if w.stream_id is not None:
        stream = f"a.stream_id = {int(w.stream_id)}"
        if w.key_of is not None:
            # Every account's key begins with its stream's code and a bar ("S|2017|2017|L|
            # allocated": the journal finds accounts by it, `grants verify` holds each key to
            # its columns), so the keys' unique index finds the stream's accounts without
            # reading every account (there is no index on the stream). Keys compared byte by
            # byte, as SQLite's BINARY collation does: from "S|" up to "S}" ("}" follows
            # "|") holds every key that begins "S|". The stream id still decides.
            low, high = _text(w.key_of + "|"), _text(w.key_of + "}")
            stream += f" AND a.key >= {low} AND a.key < {high}"
        out.append(stream)
    if w.period is not None:
        out.append(
            f"a.first_year <= {int(w.period.last.start)} "
            f"AND a.last_year >= {int(w.period.first.start)}"
        )
    if w.line_ids is not None:
        ids = ", ".join(str(int(i)) for i in sorted(w.line_ids)) or "NULL"
        out.append(f"(a.line_id IS NULL OR a.line_id IN ({ids}))")
    if w.top_level_only:
        top = "SELECT id FROM line WHERE parent_id IS NULL"
        out.append(f"(a.line_id IS NULL OR a.line_id IN ({top}))")
    return out


def _text(value: str) -> str:
    """``value`` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


# -- what lines beneath add to a branch ------------------------------------------------------


def branches_beneath(
    session: Session,
    lines: Mapping[tuple[str, str], int],
    parents: Mapping[tuple[str, str], str],
    read: Collection[int],
) -> dict[AccountKey, int]:
    """For each line of ``read`` that has lines beneath it not in ``read``: what those lines
    add to its BRANCH figure (rules.rolled: paid and passed on, less what was carried out of
    the period and into it), by period, summed in SQL. ``lines``: (stream, code) -> id, every
    line of the streams concerned; ``parents``: (stream, code) -> parent code, of those that
    have one."""
    children: dict[tuple[str, str], list[str]] = {}
    for (stream, code), parent in parents.items():
        children.setdefault((stream, parent), []).append(code)
    pairs: list[tuple[int, int]] = []  # (a line not read, a line read above it)
    above: dict[int, tuple[str, str]] = {}  # each line read with lines beneath: its codes
    # Only the lines with lines beneath them: a ledger of many lines has few such.
    for stream, code in children:
        line_id = lines.get((stream, code))
        if line_id is None or line_id not in read:
            continue
        above[line_id] = (stream, code)
        todo, seen = list(children[(stream, code)]), {code}
        while todo:
            below = todo.pop()
            if below in seen:
                continue
            seen.add(below)
            below_id = lines[(stream, below)]
            if below_id not in read:
                pairs.append((below_id, line_id))
            todo.extend(children.get((stream, below), []))
    if not pairs:
        return {}
    values = ", ".join(f"({int(b)}, {int(a)})" for b, a in pairs)
    carried = ", ".join(f"'{role}'" for role in _CARRIED)
    signed = f"CASE WHEN a.role IN ({carried}) THEN -p.amount_pence ELSE p.amount_pence END"
    roles = ", ".join(f"'{role}'" for role in sorted(ROLLED))
    query = (
        f"WITH beneath(line_id, above_id) AS (VALUES {values}) "
        f"SELECT b.above_id, a.first_year, a.last_year, SUM({signed}) FROM beneath b "
        "JOIN account a ON a.line_id = b.line_id JOIN posting p ON p.account_id = a.id "
        f"WHERE a.role IN ({roles}) GROUP BY b.above_id, a.first_year, a.last_year"
    )
    out: dict[AccountKey, int] = {}
    for above_id, first, last, total in session.connection().exec_driver_sql(query):
        stream, code = above[above_id]
        out[(stream, Period(FinancialYear(first), FinancialYear(last)), code, BRANCH)] = int(total)
    return out


_CARRIED = ("carried", "carried-in")  # count against a branch's payments (rules.rolled)


# -- sharing reads within a command -----------------------------------------------------------

_SHARED = "grants.balances.shared"


@contextmanager
def shared(session: Session) -> Iterator[None]:
    """Within the block, balances read again with the same arguments are the same answer
    (each a read-only :class:`~grants.services.balances.Balances`). Anything the session
    writes, commits or rolls back ends the sharing of what was read before it."""
    if _SHARED in session.info:
        yield
        return
    session.info[_SHARED] = {}
    listeners = [(session, name, _forget) for name in _EVENTS]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        yield
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)
        session.info.pop(_SHARED, None)


_EVENTS = ("after_flush", "after_commit", "after_soft_rollback")


def _forget(session: Session, *_: Any) -> None:
    cache = session.info.get(_SHARED)
    if cache:
        cache.clear()


def cached(session: Session, key: tuple[Any, ...]) -> Any | None:
    """What was read under ``key`` while sharing (None: not read, or the ledger has had a
    new posting or statement since)."""
    cache = session.info.get(_SHARED)
    if cache is None or key not in cache:
        return None
    stamp, value = cache[key]
    return value if stamp == _stamp(session) else None


def keep(session: Session, key: tuple[Any, ...], value: Any) -> None:
    cache = session.info.get(_SHARED)
    if cache is not None:
        cache[key] = (_stamp(session), value)


def _stamp(session: Session) -> tuple[Any, ...]:
    """Where the journal and the statements stand: both only grow (the guards refuse an
    update or a delete), so a new top means a new posting or statement."""
    row = session.connection().exec_driver_sql(
        "SELECT (SELECT max(id) FROM posting), (SELECT max(id) FROM statement), "
        "(SELECT max(id) FROM account), (SELECT max(id) FROM line)"
    )
    return tuple(row.one())
