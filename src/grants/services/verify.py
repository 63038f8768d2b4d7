"""`grants verify`: prove that the record is what the ledger recorded.

One pass over the chain (grants.db.seal) recomputes every record's digest from the rows as
they stand and compares it with its seal, so a row changed, added or removed behind the
ledger's back is named. Beside the chain it checks what the database cannot:

* every entry's postings sum to zero and are exactly the postings its kind, lines, periods
  and amount make (a reversal: the original's, negated), and its turnover is the running
  total of the journal;
* every stored idempotency key is the one its content gives (or the form the ledger gives
  a command's or a return's entries);
* every account's key matches its columns, and every account is posted to;
* every received workbook is the file its SHA-256 names;
* ids run from 1 with no gaps, in every table of record;
* every guard the migrations installed is present, enabled and unaltered;
* on PostgreSQL, where `grants db roles --recipients` installed row-level security, every
  policy and function it made is present, switched on and unaltered.

Problems are values (``Broken``), in chain order; the first is the first broken record.

`grants reconcile` walks only the links after the head the last walk of every link found whole
(``verify(..., since=Checkpoint)``, grants.services.walk_start): the same walk, from that
link, with every check that does not walk the chain made whole as here.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, inspect, select
from sqlalchemy.orm import Session

from grants.db import bulk, guards, row_security
from grants.db.records import (
    APPEND_ONLY,
    BY_TABLE,
    EVERY_GUARDED,
    FORMS,
    MARKED,
    RECORDS,
    VERIFIED,
    Record,
    earlier,
)
from grants.db.seal import GENESIS, Head, Records, payload, seals, stream_rows
from grants.services import access
from grants.services.record_checks import Check, Evidence, RecordChecks
from grants.services.verification import Broken, Checkpoint, Verification
from grants.services.walk_start import Start, start


@contextmanager
def _tolerant_text(connection: Connection) -> Iterator[None]:
    """On SQLite, read text that is not UTF-8 (written behind the ledger's back) as it is,
    with its bad bytes kept as escapes, so that verify names the row rather than stopping."""
    raw = connection.connection.dbapi_connection if connection.dialect.name == "sqlite" else None
    if raw is None:
        yield
        return
    before = raw.text_factory
    raw.text_factory = lambda data: data.decode("utf-8", "surrogateescape")
    try:
        yield
    finally:
        raw.text_factory = before


def verify(
    connection: Connection, evidence: Evidence | None = None, since: Checkpoint | None = None
) -> Verification:
    """Check the whole record; read-only. ``evidence`` reads a filed return's workbook
    (grants.excel.return_evidence.differences): without it, returns are not compared with
    the workbooks they came from.

    ``since``: a head a walk of every link found whole (grants.services.checkpoints). Its link
    must still have its digest (else that is a problem and every link is walked); the links
    after it are walked with every check made of each record, and those up to it are not
    read again (``Verification.since`` says which was done). The checks of the whole ledger
    that do not walk the chain (guards, ids, accounts, the rules over every balance) are
    made either way; when the first of them (guards, policies, ids, the form key) find a
    problem, every link is walked (``Verification.whole_because`` says why)."""
    # Verify holds what it learns of every account and of each shape of entry until it ends,
    # and makes a list or tuple for every record and row it reads: each pass of the cycle
    # collector would walk all it holds to free nothing (nothing verify makes is a cycle),
    # a third of its time at 10,000 entries. Reference counting frees what it always frees.
    with bulk.no_cycle_collection(0, at_least=0):
        try:
            return _verify(connection, evidence, since)
        except sqlite3.OperationalError as exc:
            if "decode" not in str(exc):
                raise
        # Text that is not UTF-8 (SQLite stores what it is given): read again, slowly, with
        # its bad bytes kept as escapes, so that the row is named.
        with _tolerant_text(connection):
            return _verify(connection, evidence, since)


def _verify(
    connection: Connection, evidence: Evidence | None, since: Checkpoint | None
) -> Verification:
    result = Verification(Head(0, GENESIS))
    # A ledger of an earlier schema version (verify reads it) may not have the table of
    # verifications yet.
    tables = set(inspect(connection).get_table_names())
    guarded = [t for t in EVERY_GUARDED if t != VERIFIED or t in tables]
    for finding in guards.check(connection, guarded):
        result.add(Broken("guard", finding.table, None, f"{finding}"))
    if row_security.installed(connection):
        for policy in row_security.check(connection, tables):
            role = policy.table is None and not policy.what.startswith("the function ")
            remedy = ("alter it (NOSUPERUSER NOBYPASSRLS) or take it out of the group" if role
                      else "`grants db upgrade` puts it back")  # fmt: skip
            result.add(Broken("policy", policy.table or ("roles" if role else "functions"),
                              None, f"{policy}: {remedy}"))  # fmt: skip
    _no_gaps(connection, result)
    if connection.exec_driver_sql("SELECT COUNT(*) FROM form_key").scalar() == 0:
        result.add(Broken("form key", "form_key", None, "holds no key: forms cannot be issued "
                          "or accepted; `grants db upgrade` makes one"))  # fmt: skip
    begin = None
    if since is not None and since.unfit is None and result.problems:
        # A guard, a policy or the ids already say the record was reached behind the
        # ledger's back: what was found whole up to the link may have changed since.
        result.whole_because = (
            f"a check of the whole ledger found a problem ({result.problems[0]}), so the "
            f"links up to {since.head.count:,}, found whole by a walk of every link on "
            f"{since.when()}, may have changed since"
        )
    elif since is not None:
        begin = start(connection, since, result)
    if begin is not None:
        result.since = since
    _Walk(connection, result, evidence, begin).run()
    _owner_note(connection, result)
    return result


def check_against(connection: Connection, result: Verification, head: str) -> Broken | None:
    """Whether the chain's first COUNT records are those of a head quoted earlier
    (``COUNT:DIGEST``): with the chain verified, the digest at that link proves it."""
    count_text, _, digest = head.strip().partition(":")
    if not count_text.isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest.lower()):
        raise ValueError(
            f"{head!r} is not a head: give it as `grants verify --head` printed it, the count, "
            "a colon and 64 hexadecimal digits"
        )
    count = int(count_text)
    if count == 0:
        return (
            None
            if digest == GENESIS
            else Broken("against", "seal", None, "an empty chain has the digest 0000…", seq=0)
        )
    if count > result.head.count:
        return Broken(
            "against", "seal", count,
            f"the chain holds {result.head.count:,} records, fewer than the {count:,} of the "
            "head given: records were removed since",
        )  # fmt: skip
    sql = "SELECT digest FROM seal WHERE seq = %(seq)s"
    found = list(stream_rows(connection, sql, {"seq": count}))
    if not found or found[0][0] != digest.lower():
        return Broken(
            "against", "seal", count,
            f"the record as it stands is not the one whose head was {count}:{digest.lower()}: "
            "what was recorded up to then has been rewritten since",
            seq=count,
        )  # fmt: skip
    return None


def _no_gaps(connection: Connection, result: Verification) -> None:
    parts = []
    for table in APPEND_ONLY:
        key = "seq" if table == "seal" else "id"
        parts.append(
            f"(SELECT COUNT(*) FROM {table}), (SELECT COALESCE(MAX({key}), 0) FROM {table})"
        )
    row = connection.exec_driver_sql("SELECT " + ", ".join(parts)).one()
    marked = {table for table, _ in MARKED}
    result.marks = {}
    for i, table in enumerate(APPEND_ONLY):
        count, top = int(row[2 * i]), int(row[2 * i + 1])
        if table in marked:  # what a verification records, read in the walk's snapshot
            result.marks[table] = top
        if count != top:
            what = "records" if table == "seal" else "ids"
            result.add(
                Broken(
                    "ids",
                    table,
                    None,
                    f"holds {count:,} rows but its {what} run to {top:,}: "
                    + (
                        "some are missing (rows removed, or one added out of turn)"
                        if count < top
                        else "ids are repeated or below 1"
                    ),
                )
            )


def _owner_note(connection: Connection, result: Verification) -> None:
    if connection.dialect.name != "postgresql":
        return
    # What this connection may do: the rights of its role (``current_user``: a login that
    # has set its role to the owner's may disable the guards now), and of the login it
    # authenticated as (``session_user``), to which it may return whenever it likes (SET
    # ROLE NONE): a superuser or the owner with the working role set is not bound by the
    # guards either. Signing in (`sign_in.DATABASE_ROLE`) asks only who the login is.
    row = connection.exec_driver_sql(
        "SELECT bool_or(r.rolsuper), bool_or(pg_get_userbyid(c.relowner) = r.rolname) "
        "FROM pg_roles r, pg_class c WHERE r.rolname IN (current_user, session_user) "
        "AND c.relname = 'entry' AND c.relnamespace = to_regnamespace(current_schema())::oid"
    ).first()
    if row is not None and (row[0] or row[1]):
        who = "a superuser" if row[0] else "the owner of the ledger's tables"
        result.notes.append(
            f"this connection is {who}, who can disable the guards: connect as the working "
            "role that `grants db roles` creates"
        )


class _Peek:
    def __init__(self, items: Iterator[tuple[int, list[Any], list[list[Any]]]]) -> None:
        self.items = items
        self.head = next(items, None)

    def take(self) -> tuple[int, list[Any], list[list[Any]]]:
        item = self.head
        assert item is not None
        self.head = next(self.items, None)
        return item


class _Slot:
    """One table's place in the walk: its kind of record, its records read in id order, the
    last id the chain named of it, and how each of its records is checked."""

    __slots__ = ("check", "cursor", "last", "record")

    def __init__(self, record: Record, cursor: _Peek, check: Check) -> None:
        self.record = record
        self.cursor = cursor
        self.last = 0
        self.check = check


class _Walk:
    """One pass over the chain, with every table's records read alongside in id order: from
    its start, or (``begin``) from the link after a head a walk of every link found whole."""

    def __init__(
        self,
        connection: Connection,
        result: Verification,
        evidence: Evidence | None = None,
        begin: Start | None = None,
    ) -> None:
        self.connection = connection
        self.result = result
        self.begin = begin
        self.checks = RecordChecks(connection, result, evidence, begin)
        after = begin.after if begin is not None else {}
        self.readers = {
            r.table: Records(
                connection,
                r,
                after.get(r.table, 0),
                self.checks.accounts if r.child and r.child.table == "posting" else None,
            )
            for r in RECORDS
        }
        self.cursors = {table: _Peek(iter(reader)) for table, reader in self.readers.items()}

    def run(self) -> None:
        result = self.result
        begin = self.begin
        previous, count = (GENESIS, 0) if begin is None else (begin.digest, begin.count)
        expected = count + 1
        slots = {
            table: _Slot(BY_TABLE[table], cursor, self.checks.checker(BY_TABLE[table]))
            for table, cursor in self.cursors.items()
        }
        for table, last in (begin.after if begin is not None else {}).items():
            slots[table].last = last
        sha256 = hashlib.sha256
        for seq, table, row_id, form, digest in seals(self.connection, count):
            count = seq
            if seq != expected:
                result.add(
                    Broken(
                        "chain",
                        "seal",
                        None,
                        f"links {expected:,} to {seq - 1:,} of the chain are missing",
                        seq=expected,
                    )
                )
            expected = seq + 1
            slot = slots.get(table) if type(table) is str else None
            # A form equal to the record's current one is in FORMS (equal numbers hash alike).
            if (
                slot is None
                or type(row_id) is not int
                or (form != slot.record.form and (table, form) not in FORMS)
            ):
                result.add(
                    Broken(
                        "chain",
                        "seal",
                        seq,
                        f"names a record ({table!r} {row_id!r}, form {form!r}) the ledger does "
                        "not make",
                        seq=seq,
                    )
                )
                previous = digest
                continue
            if row_id <= slot.last:
                result.add(
                    Broken("chain", table, row_id, f"is sealed again at link {seq:,}", seq=seq)
                )
                previous = digest
                continue
            slot.last = row_id
            cursor = slot.cursor
            record = slot.record
            item = cursor.head
            while item is not None and item[0] < row_id:
                self._unsealed(record, cursor.take(), seq)
                item = cursor.head
            if item is None or item[0] != row_id:
                result.add(
                    Broken(
                        "missing",
                        table,
                        row_id,
                        f"was removed: it is sealed at link "
                        f"{seq:,} of the chain but is no longer there",
                        seq=seq,
                    )
                )
                previous = digest
                continue
            cursor.head = next(cursor.items, None)
            record_id, values, children = item
            if form == record.form:
                text = payload(record, values, children)
            else:
                sealed = earlier(record, form, values)
                text = b"" if sealed is None else payload(FORMS[(table, form)], sealed, children)
            # chain_digest(previous, text), without a call for each record; a digest that is
            # not ASCII text (written behind the ledger's back) makes none.
            if (
                type(previous) is not str
                or not previous.isascii()
                or sha256(previous.encode("ascii") + text).hexdigest() != digest
            ):
                result.add(
                    Broken(
                        "chain",
                        table,
                        row_id,
                        f"has changed since it was sealed (link {seq:,} of the chain)",
                        seq=seq,
                    )
                )
            slot.check(record_id, values, children, seq)
            previous = digest
        result.head = Head(count, previous)
        for table, cursor in self.cursors.items():
            while cursor.head is not None:
                self._unsealed(BY_TABLE[table], cursor.take(), None)
        for table, reader in self.readers.items():
            for child in reader.rest_of_children():
                child_table = BY_TABLE[table].child.table  # type: ignore[union-attr]
                result.add(
                    Broken(
                        "missing",
                        child_table,
                        child[1],
                        f"belongs to {table} {child[0]}, which is not there or not in order",
                    )
                )
        self.checks.finish()

    def _unsealed(
        self, record: Record, item: tuple[int, list[Any], list[list[Any]]], seq: int | None
    ) -> None:
        self.result.add(
            Broken(
                "unsealed",
                record.table,
                item[0],
                "is not in the chain: it was added behind the ledger's back",
                seq=seq,
            )
        )
        self.checks.record(record, item[0], item[1], item[2], seq)


__all__ = [
    "Broken",
    "Verification",
    "check_against",
    "verify",
    "verify_ledger",
]


def verify_ledger(
    session: Session, permission: str = "verify", evidence: Evidence | None = None
) -> Verification:
    """`verify` for the person acting (officers, viewers and admins; ``permission``
    "export": before the whole ledger is exported, officers and admins). A ledger with no
    people yet (a restore under way, or refused) may be verified by whoever opens it."""
    from grants.db.models import Person

    if access.actor_of(session) is not None or session.scalar(select(Person.id).limit(1)):
        access.require(session, permission)
    return verify(session.connection(), evidence)
