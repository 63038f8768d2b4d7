"""The hash chain: every record sealed, in the order it was recorded.

Seal ``n`` holds ``digest(n) = SHA-256(digest(n-1) + canonical text of the record)``, with
``digest(0)`` 64 zeros. Changing, adding or removing any record behind the ledger's back
breaks the chain at that record; rebuilding the chain from there changes every later digest
and the head (count and last digest), which a finance officer can quote in a paper and check
later (`grants verify --against COUNT:DIGEST`).

Sealing happens when a write transaction commits (grants.db.session): the rows of the sealed
tables added by the transaction are read back from the database, with the same code that
`grants verify` uses (grants.db.canonical), and sealed in the order the transaction recorded
them (the loader says the order of its books; otherwise the order of
grants.db.records.RECORDS, then id). Within a table, records are always sealed in id order.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from grants.db import bulk
from grants.db.canonical import (
    CHUNK,
    Records,
    accounts_of,
    driver_sql,
    held_accounts,
    id_bounds,
    payload,
    stream_rows,
)
from grants.db.records import BY_TABLE, FORMS, RANK, RECORDS, Record

GENESIS = "0" * 64
SEAL_COLUMNS = ("seq", "tbl", "row_id", "form", "digest")


@dataclass(frozen=True, slots=True)
class Head:
    """How many records the chain holds and the digest of the last."""

    count: int
    digest: str

    def __str__(self) -> str:
        return f"{self.count}:{self.digest}"


def chain_digest(previous: str, payload: bytes) -> str:
    return hashlib.sha256(previous.encode("ascii") + payload).hexdigest()


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
    values = iter(connection.exec_driver_sql("SELECT " + ", ".join(parts)).one())
    tables = {r.table: int(next(values)) for r in records}
    count, digest = int(next(values)), next(values)
    sealed = {r.table: int(next(values)) for r in records} if checks else dict(tables)
    planted = {r.child.table: int(next(values)) for r in children if r.child is not None}
    found = {name: next(values) for name in also}
    return Marks(tables, sealed, Head(count, digest if count else GENESIS), planted, found)


# -- sealing ----------------------------------------------------------------------------


Order = list[list[Any]]  # runs of [table, count]: the order a transaction recorded in

# Up to this many accounts in the ledger, sealing holds those the new entries use by id
# (about 400 bytes each); beyond, each posting's account is read beside it.
HELD_ACCOUNTS = 50_000


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
    # The accounts the new entries post to, held by id while they are sealed; in a ledger of
    # many accounts (a national funder's books open two for every grant), each posting's
    # account read beside it instead (a little slower: an account looked up for each).
    with_postings = {
        t for t in fresh if (child := kinds[t].child) is not None and child.table == "posting"
    }
    many = (
        bool(with_postings)
        and (connection.exec_driver_sql("SELECT MAX(id) FROM account").scalar() or 0)
        > HELD_ACCOUNTS
    )
    for table in sorted(fresh, key=RANK.__getitem__):
        record = kinds[table]
        accounts = None
        if table in with_postings and not many:
            accounts = accounts_of(connection, since.tables[table])
        readers[table] = iter(
            Records(connection, record, since.tables[table], accounts, accounts_joined=many)
        )
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


def seals(connection: Connection, after: int = 0) -> Iterable[tuple[int, str, int, int, str]]:
    """Every seal in chain order (``after``: those after that link): (seq, table, row id,
    form, digest)."""
    return stream_rows(
        connection,
        f"SELECT seq, tbl, row_id, form, digest FROM seal {id_bounds('seq', after)}ORDER BY seq",
        {"after": after} if after else None,
    )


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
    "held_accounts",
    "in_chain_order",
    "marks",
    "payload",
    "seal_all",
    "seal_new",
    "seals",
    "stream_rows",
]
