"""The entries a writing transaction's journal wrote on SQLite, held for the seal
(`Journal.record` holds them; a load in batches, `grants ledger load`, does not).

The journal binds an entry's row on SQLite exactly as SQLite stores it (days and times as
text, flags as 0 or 1: grants.services.journal_rows), in the columns and order of the entry
record (grants.db.records). When those rows are provably every entry the transaction added,
the seal hashes them as they were written rather than reading every entry and posting back
(``held_entries``); anything else (an entry written another way, rows written inside a
savepoint, a batch refused, a value of a type SQLite could store differently) and the seal
reads back, as it always did.

A sample of the new entries (the first, the last and a spread between) is read back with
the same code `grants verify` uses and compared with what was held, byte for byte
(``check_sample``): a database that stored a sampled entry differently from what the ledger
wrote (a trigger that alters a row as it goes in, say) refuses the commit, and nothing is
recorded. An entry altered outside the sample is sealed as the ledger wrote it, so the
chain holds what the ledger meant and `grants verify` names the entry the database changed:
read back, it would have been sealed as if the ledger had written it so.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Date, DateTime, Integer, String

from grants.db.canonical import Records, _special, payload
from grants.db.records import BY_TABLE, Record
from grants.errors import Tampered

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from grants.db.seal import Marks

HELD = "grants_held"
# How many entries between the first and the last are read back and compared.
SAMPLE = 32

EntryRow = tuple[Any, ...]
PostingRow = tuple[int, int, int, int]


@dataclass(slots=True)
class Held:
    """The entry and posting rows the journal wrote in one transaction, in id order; or,
    once anything made them unsure, ``broken`` (the seal then reads back)."""

    transaction: object
    entries: list[list[EntryRow]] = field(default_factory=list)  # one list a batch
    postings: list[list[PostingRow]] = field(default_factory=list)
    count: int = 0
    broken: bool = False

    def drop(self) -> None:
        self.entries, self.postings, self.broken = [], [], True


def hold(
    session: Session, entries: list[EntryRow], postings: list[PostingRow], *, allowed: bool
) -> None:
    """Note rows the journal has just written in ``session``'s transaction (``allowed``:
    bound as SQLite stores them). Rows written inside a savepoint, or not following on from
    those held, leave the seal to read back."""
    if "grants_marks" not in session.info or not entries:
        return  # a session that does not seal, or nothing written
    root = session.get_transaction()
    held: Held | None = session.info.get(HELD)
    if not allowed and (held is None or held.transaction is not root):
        return  # none held: the seal reads back
    if held is None or held.transaction is not root:
        held = session.info[HELD] = Held(root)
    if held.broken:
        return
    if not allowed or session.get_nested_transaction() is not None:
        held.drop()
        return
    if not postings:
        held.drop()  # every entry has postings: rows the seal cannot pair
        return
    if held.entries:
        last_entry, last_posting = held.entries[-1][-1][0], held.postings[-1][-1][0]
        if entries[0][0] != last_entry + 1 or postings[0][0] != last_posting + 1:
            held.drop()
            return
    held.entries.append(entries)
    held.postings.append(postings)
    held.count += len(entries)


def take(session: Session) -> Held | None:
    """The rows held for this transaction's seal, given once."""
    held: Held | None = session.info.pop(HELD, None)
    if held is None or held.broken or held.transaction is not session.get_transaction():
        return None
    return held


def usable(connection: Connection, held: Held | None, since: Marks, now_entry: int) -> bool:
    """Whether ``held`` is every entry and every posting the transaction added: entries
    ``since``'s greatest + 1 to ``now_entry`` without a gap, the postings from the greatest
    there was when the transaction began to the greatest there is now, and every value of
    a type SQLite stores as it was bound."""
    if held is None or not held.entries or connection.dialect.name != "sqlite":
        return False
    first = held.entries[0][0][0]
    last = held.entries[-1][-1][0]
    if first != since.tables["entry"] + 1 or last != now_entry or held.count != last - first + 1:
        return False
    posting_was = since.also.get("posting")
    postings = sum(len(p) for p in held.postings)
    if posting_was is None or not postings:
        return False
    first_posting = next(p[0][0] for p in held.postings if p)
    last_posting = next(p[-1][0] for p in reversed(held.postings) if p)
    if first_posting != int(posting_was) + 1 or last_posting - first_posting + 1 != postings:
        return False
    # Every id between the first and the last held is a row (none undone by a savepoint
    # rolled back), and none beyond the last.
    stored = connection.exec_driver_sql(
        "SELECT (SELECT COUNT(*) FROM entry WHERE id >= ?), "
        "(SELECT COUNT(*) FROM posting WHERE id >= ?), (SELECT MAX(id) FROM posting)",
        (first, first_posting),
    ).one()
    if tuple(stored) != (held.count, postings, last_posting):
        return False
    return all(_as_stored(batch) for batch in held.entries)


def _kinds() -> list[tuple[int, str]]:
    """Each entry column's index and what its values must be to be stored as bound."""
    from grants.db.models import Base

    table = Base.metadata.tables["entry"]
    out: list[tuple[int, str]] = []
    for i, name in enumerate(BY_TABLE["entry"].columns):
        kind = table.c[name].type
        if isinstance(kind, Date | DateTime):
            out.append((i, "time"))  # NUMERIC affinity: text that reads as no number
        elif isinstance(kind, Boolean):
            out.append((i, "flag"))
        elif isinstance(kind, String):  # Text too
            out.append((i, "text"))
        elif isinstance(kind, Integer):  # BigInteger too
            out.append((i, "int"))
        else:
            out.append((i, "unknown"))
    return out


_KINDS: list[tuple[int, str]] = []
_OF = {"text": str, "int": int, "flag": int, "time": str}
NONE = type(None)


def _as_stored(rows: list[EntryRow]) -> bool:
    """Whether SQLite keeps every value of ``rows`` as it was bound: text in a text column,
    an integer in an integer column, a flag as 0 or 1, a day or a time as ISO text."""
    if not _KINDS:
        _KINDS.extend(_kinds())
    # The types of each row's values: a batch's rows have a few such shapes.
    for shape in set(map(tuple, map(map, itertools.repeat(type, len(rows)), rows))):
        for i, kind in _KINDS:
            if shape[i] is not NONE and shape[i] is not _OF.get(kind):
                return False
    for i, kind in _KINDS:
        if kind == "flag" and not set(map(itemgetter(i), rows)) <= {0, 1, None}:
            return False
        if kind == "time" and not all(map(_iso, set(map(itemgetter(i), rows)) - {None})):
            return False
    return True


def _iso(value: str) -> bool:
    """ISO text of a day or time: never read by SQLite's NUMERIC affinity as a number."""
    return len(value) >= 10 and value[4] == "-" and value[7] == "-" and value[:4].isdigit()


def held_entries(
    record: Record, held: Held, accounts: dict[int, list[Any]]
) -> Iterator[tuple[int, list[Any], list[list[Any]]]]:
    """(id, canonical values, postings with their accounts) of each held entry: what
    ``Records`` reads back for it, taken from the rows as written."""
    convert = _special(record, record.table, record.columns, "sqlite")
    account = accounts.get
    postings = (p for batch in held.postings for p in batch)
    pending = next(postings, None)
    for batch in held.entries:
        # A batch's times are a few texts, each already as the seal writes it: its rows
        # are then sealed as they are.
        same = all(_unchanged(f, set(map(itemgetter(i), batch))) for i, f in convert)
        for row in batch:
            values: Any = row
            if not same:
                values = list(row)
                for i, f in convert:
                    values[i] = f(values[i])
            entry_id = row[0]
            found: list[list[Any]] = []
            while pending is not None and pending[1] == entry_id:
                found.append([pending[0], pending[2], account(pending[2]), pending[3]])
                pending = next(postings, None)
            yield entry_id, values, found
    if pending is not None:
        raise RuntimeError(f"posting {pending[0]} is not among the entries written")


def _unchanged(convert: Any, values: set[Any]) -> bool:
    """Whether ``convert`` leaves each of ``values`` as it is (the same type and value)."""
    for value in values:
        out = convert(value)
        if type(out) is not type(value) or out != value:
            return False
    return True


def sample(first: int, last: int, size: int | None = None) -> list[int]:
    """The ids read back to check: the first, the last and ``size`` (``SAMPLE``) spread
    between."""
    size = SAMPLE if size is None else size
    count = last - first + 1
    if count <= size + 2:
        return list(range(first, last + 1))
    step = (count - 1) / (size + 1)
    return sorted({first, last, *(first + round(step * k) for k in range(1, size + 1))})


def check_sample(
    connection: Connection, record: Record, held: Held, accounts: dict[int, list[Any]]
) -> None:
    """Read back the sampled entries with their postings and compare their canonical text
    with the held rows'; raises Tampered naming the first that differs."""
    first = held.entries[0][0][0]
    last = held.entries[-1][-1][0]
    convert = _special(record, record.table, record.columns, "sqlite")
    account = accounts.get
    for entry_id in sample(first, last):
        row, postings = _held_one(held, entry_id)
        values = list(row)
        for i, f in convert:
            values[i] = f(values[i])
        found = [[p[0], p[2], account(p[2]), p[3]] for p in postings]
        reader = Records(connection, record, entry_id - 1, accounts, until=entry_id)
        stored = next(iter(reader), None)
        if stored is None or payload(record, stored[1], stored[2]) != payload(
            record, values, found
        ):
            raise Tampered(
                f"the database stored entry {entry_id} differently from what the ledger wrote "
                "(a trigger or a change behind the ledger's back): nothing was recorded; run "
                "`grants verify`"
            )


def _held_one(held: Held, entry_id: int) -> tuple[EntryRow, list[PostingRow]]:
    """One held entry's row and its postings."""
    for entries, postings in zip(held.entries, held.postings, strict=True):
        if entries[0][0] <= entry_id <= entries[-1][0]:
            start = bisect.bisect_left(postings, entry_id, key=_parent)
            end = bisect.bisect_right(postings, entry_id, key=_parent)
            return entries[entry_id - entries[0][0]], postings[start:end]
    raise KeyError(entry_id)


def _parent(posting: PostingRow) -> int:
    return posting[1]
