"""The journal entries of the books, read a second time as they are recorded, and the order
in which a load's records are sealed, kept compactly.

`read_books` checks every directive but keeps none of the journal entries (a load of a
million would hold gigabytes): the writer records reference data first, which the books may
declare after their entries, and then reads the entries again here, a batch at a time. Each
file must be what the first read found (the SHA-256 of its bytes): one that changed between
the reads stops the load with a problem at it, and nothing is recorded.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Iterator

from sqlalchemy.orm import Session

from grants.db.engine import record_order
from grants.ledger.parser import Directive, Reading
from grants.ledger.validate import ENTRY_KEYWORDS, Books
from grants.services.commitments import Agreement
from grants.services.journal import NewEntry
from grants.services.money_in import ClaimDetails

# One entry of the books as it is recorded: its directive, the entry, and a claim's details
# or an agreement when it is a claim or a commitment.
Read = tuple[Directive, NewEntry, ClaimDetails | None, Agreement | None]


def entries_again(books: Books) -> Iterator[Read]:
    """The journal entries of the books, in order, checked again as the first read checked
    them (the same keys: the counts of identical entries are the first read's). Problems of
    this read (a file changed since the first) are added to the books' problems as it
    ends."""
    assert books.source is not None, "the books were not read from a file"
    reading = Reading(books.source, books.digests)
    again = Books(books.actor, books.now, books.root)
    again.counted = books.repeats  # the same entries, in the same order: counted already
    for d in reading.directives():
        if d.keyword not in ENTRY_KEYWORDS:
            continue
        again.add(d)
        for entry_d, item in again.entries:
            claim = again.claims.pop(id(item), None)
            yield entry_d, item, claim, again.commitments.pop(id(item), None)
        again.entries.clear()
    books.problems.extend(reading.problems)
    books.problems.extend(again.problems)


class MadeOrder:
    """Each record a load adds, as (its directive's place in the books, its table), to seal
    them in the order of the books, kept in arrays (9 bytes a record): a national funder's
    books add an organisation and a line for every few entries. Those of the journal come
    in the order of the books; the others (reference data first, then the rest, table by
    table) are put in that order at the end."""

    def __init__(self) -> None:
        self._names: list[str] = []
        self._codes: dict[str, int] = {}  # each table's place in _names
        self._indexes = array("q")
        self._tables = array("B")
        self._other_indexes = array("q")
        self._other_tables = array("B")

    def _code(self, table: str) -> int:
        code = self._codes.get(table)
        if code is None:
            code = self._codes[table] = len(self._names)
            self._names.append(table)
        return code

    def add(self, index: int, table: str) -> None:
        self._other_indexes.append(index)
        self._other_tables.append(self._code(table))

    def add_in_order(self, index: int, table: str) -> None:
        """A record of the journal: ``index`` is never below the last one given here."""
        self._indexes.append(index)
        self._tables.append(self._code(table))

    def _journal(self) -> Iterator[tuple[int, str]]:
        names = self._names
        for index, table in zip(self._indexes, self._tables, strict=True):
            yield index, names[table]

    def _others(self) -> Iterator[tuple[int, str]]:
        """The others in the order of the books; those of one directive in the order given."""
        names, indexes, tables = self._names, self._other_indexes, self._other_tables
        for at in sorted(range(len(indexes)), key=indexes.__getitem__):
            yield indexes[at], names[tables[at]]

    def seal_order(self, session: Session) -> None:
        """Note the records' order for the seal: within a table ids follow the books, and
        across tables the chain does too, so that an export (written in the chain's order)
        loads back into the same chain. Runs of one table are noted as one."""
        table, count = "", 0
        for _, each in heapq.merge(self._others(), self._journal(), key=lambda made: made[0]):
            if each == table:
                count += 1
                continue
            if count:
                record_order(session, table, count)
            table, count = each, 1
        if count:
            record_order(session, table, count)
