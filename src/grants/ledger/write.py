"""Record validated books in the database, in the caller's transaction.

Reference data first (organisations, streams, lines: already recorded ones must match; the
organisations and lines read back from where the first read packed them
(grants.ledger.reference.Kept), written as plain rows, a chunk at a time, and let go once
written, since a national funder's books declare one of each for every few grants), then
the journal through :class:`grants.services.journal.Journal` (the one write path for money),
then the rest (grants.ledger.write_plans) and the assertions (grants.ledger.assertions).
Problems are added to the books' list at their lines; the caller raises them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Row, Select, Table, insert, select
from sqlalchemy.orm import Session

from grants.db.ids import next_ids
from grants.db.models import Line, Organisation, Stream
from grants.ledger import (
    form_issues,
    growth,
    people,
    schedules,
    stream_texts,
    write_filings,
    write_plans,
)
from grants.ledger.look_alikes import Names
from grants.ledger.parser import Directive, Problem
from grants.ledger.reference import LineRecord
from grants.ledger.stream import MadeOrder
from grants.ledger.validate import Books
from grants.ledger.write_journal import write_journal

# Reference records written a statement at a time: organisations, lines.
CHUNK = 5000
# Organisations and lines the books declare, compared with those recorded a group at a time.
LOOKUP = 1000

T = TypeVar("T")


@dataclass
class LoadReport:
    """What a load did (or a check would do)."""

    created: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: list[Problem] = field(default_factory=list)
    discrepancies: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": dict(sorted(self.created.items())),
            "unchanged": dict(sorted(self.skipped.items())),
            "warnings": [str(w) for w in self.warnings],
            "discrepancies": [str(d) for d in self.discrepancies],
        }


class Writer:
    def __init__(
        self,
        session: Session,
        books: Books,
        report: LoadReport,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.progress = progress  # told (entries checked, entries in all) as the journal is
        self.s = session
        self.books = books
        self.report = report
        self._orgs: dict[str, int] | None = {}
        self.streams: dict[str, int] = {}
        self._made = MadeOrder()  # (directive index, table) of each new record
        self.restoring = False
        self._lines: dict[tuple[str, str], int] | None = {}
        # Those recorded before these books and not declared in them (for the look-alikes).
        self._earlier_orgs: list[tuple[str, str]] = []
        self._earlier_lines: dict[int, list[tuple[str, str]]] = {}  # by stream id

    @property
    def orgs(self) -> dict[str, int]:
        """Every organisation's id by its code (read again if let go for the journal)."""
        if self._orgs is None:
            self._orgs = dict(self.s.execute(select(Organisation.code, Organisation.id)).all())
        return self._orgs

    @property
    def lines(self) -> dict[tuple[str, str], int]:
        """Every line's id by its stream's code and its own (read again if let go)."""
        if self._lines is None:
            self._lines = {
                (stream, code): line_id
                for stream, code, line_id in self.s.execute(
                    select(Stream.code, Line.code, Line.id).join(Stream)
                )
            }
        return self._lines

    def error(self, d: Directive, message: str) -> None:
        self.books.error(d, message)

    def made(self, d: Directive, table: str) -> None:
        """Note that ``d`` added a record to ``table`` (in the order of that table's ids)."""
        self._made.add(d.index, table)

    def made_in_order(self, d: Directive, table: str) -> None:
        """The same, for a journal entry's records: they come in the order of the books."""
        self._made.add_in_order(d.index, table)

    def _seal_in_order_of_the_books(self) -> None:
        self._made.seal_order(self.s)

    def _same_or_new(self, kind: str, d: Directive, existing: Any, wanted: dict[str, Any]) -> bool:
        """True if a new record is needed; reports a problem if it conflicts."""
        if existing is None:
            self.report.created[kind] += 1
            return True
        differing = [
            k for k, v in wanted.items() if k not in ("origin", "day") and getattr(existing, k) != v
        ]
        if differing:
            detail = ", ".join(f"{k} {getattr(existing, k)!r} -> {wanted[k]!r}" for k in differing)
            self.error(
                d,
                f"{kind} {wanted.get('code')!r} is already recorded differently ({detail}); "
                "reference data cannot be changed by loading books",
            )
        else:
            self.report.skipped[kind] += 1
        return False

    def write(self) -> None:
        s, books = self.s, self.books
        s.connection()  # the transaction begins: a writing session notes where the chain stood
        marks = s.info.get("grants_marks")
        was_empty = marks is not None and marks.head.count == 0
        # Books with a head, into an empty ledger: an export being restored.
        self.restoring = was_empty and bool(books.heads)
        self.was_empty = was_empty  # people are taken only into an empty ledger
        self._write_orgs()
        # Written and compared: each kind's directives let go as soon as it is, before the
        # next is written (a national funder's books declare a line and an organisation for
        # every few grants).
        self._look_alike_orgs()
        books.orgs.clear()
        existing_streams = {x.code: x for x in s.scalars(select(Stream))}
        declared: set[str] = set()
        for d, rec in books.streams:
            if rec["code"] in declared:
                self.error(d, f"stream {rec['code']} is declared twice")
                continue
            declared.add(rec["code"])
            values = dict(rec)
            for ref in ("funder", "accountable"):
                code = values.pop(ref)
                org_id = None
                if code is not None:
                    org_id = self.orgs.get(code)
                    if org_id is None:
                        self.error(d, f"{ref} {code!r} is not an organisation declared with `org`")
                values[f"{ref}_id"] = org_id
            values |= books.provenance(d)
            if self._same_or_new("stream", d, existing_streams.get(rec["code"]), values):
                stream = Stream(**values)
                s.add(stream)
                s.flush()
                self.made(d, "stream")
                existing_streams[stream.code] = stream
        self.streams = {code: x.id for code, x in existing_streams.items()}
        self._write_lines()
        self._look_alike_lines()
        books.lines.clear()
        if books.problems:
            return
        # Before the journal: a payment to a growth project is checked against its claims.
        growth.write(self)
        if books.problems:
            return
        # The journal reads its own catalogue of lines: the codes are let go while it runs
        # (read again for the steps after it that ask, as few books' do).
        self._orgs = self._lines = None
        write_journal(self)
        write_plans.write_rest(self)
        schedules.write(self)
        stream_texts.write(self)
        write_filings.write_titles(self)
        write_filings.write_filings(self)
        form_issues.write(self)
        people.write(self)
        self._seal_in_order_of_the_books()
        write_filings.check_head(self, was_empty)

    def stream(self, d: Directive, code: str) -> int | None:
        if code not in self.streams:
            self.error(d, f"there is no stream {code!r}: declare it with `stream` first")
            return None
        return self.streams[code]

    def _write_orgs(self) -> None:
        """Organisations in the order of the books, each given its id before it is written
        (a stream names its funder by it) and written as plain rows, a chunk at a time: a
        national funder's recipients are not held as mapped objects."""
        s, books = self.s, self.books
        table = Organisation.__table__
        # Every recorded organisation's id; the rows of those the books declare again are
        # read a group at a time, to compare (a national funder's ledger holds one a grant).
        self._orgs = dict(s.execute(select(table.c.code, table.c.id)).all())
        declared: set[str] = set()
        chunk: list[tuple[Directive, dict[str, Any]]] = []
        for group in _groups(books.orgs):
            again = [r.code for r in group if r.code in self._orgs and r.code not in declared]
            query = select(table).where(table.c.code.in_(again))
            recorded = _rows(s, query, ("code",)) if again else {}
            for rec in group:
                d = rec.d
                if rec.code in declared:
                    self.error(d, f"organisation {rec.code} is declared twice")
                    continue
                declared.add(rec.code)
                values = rec.values() | books.provenance(d)
                if self._same_or_new("organisation", d, recorded.get(rec.code), values):
                    chunk.append((d, values))
                    if len(chunk) == CHUNK:
                        self._insert_orgs(chunk)
        self._insert_orgs(chunk)
        self._earlier_orgs = [
            (code, name)
            for code, name in _streamed(s, table, "code", "name")
            if code not in declared
        ]

    def _insert_orgs(self, chunk: list[tuple[Directive, dict[str, Any]]]) -> None:
        ids = next_ids(self.s, "organisation", len(chunk))
        for (d, values), org_id in zip(chunk, ids, strict=True):
            values["id"] = self.orgs[values["code"]] = org_id
            self.made(d, "organisation")
        _insert(self.s, Organisation.__table__, [values for _, values in chunk])
        chunk.clear()

    def _write_lines(self) -> None:
        """Lines in the order of the books. A line's parent is a line recorded before it (in
        an earlier load, or above it in these books), so that every line is written whole,
        parent and all: a recorded line is never updated. Written as plain rows, a chunk at
        a time, each chunk's ids given before its parents are looked up."""
        s, books = self.s, self.books
        table = Line.__table__
        # Each line's id by (stream id, code): None for a line of these books not yet given
        # one. The rows of those recorded before that the books declare again are read a
        # group at a time, to compare.
        ids: dict[tuple[int, str], int | None] = {
            (stream_id, code): line_id
            for stream_id, code, line_id in s.execute(
                select(table.c.stream_id, table.c.code, table.c.id)
            )
        }
        declared: set[tuple[int, str]] = set()
        chunk: list[tuple[Directive, dict[str, Any], str | None]] = []  # with the parent's code
        for group in _groups(books.lines):
            recorded = self._recorded_lines(group, ids, declared)
            for rec in group:
                d = rec.d
                stream_id = self.stream(d, rec.stream)
                if stream_id is None:
                    continue
                key = (stream_id, rec.code)
                if key in declared:
                    self.error(d, f"line {rec.code} of {rec.stream} is declared twice")
                    continue
                declared.add(key)
                values = rec.values()
                recipient = rec.recipient
                if recipient is not None and recipient not in self.orgs:
                    self.error(
                        d, f"recipient {recipient!r} is not an organisation declared with `org`"
                    )
                values["recipient_id"] = self.orgs.get(recipient) if recipient else None
                values |= books.provenance(d) | {"stream_id": stream_id}
                parent = rec.parent
                if parent is not None and ((stream_id, parent) not in ids or parent == rec.code):
                    self.error(
                        d,
                        f"parent {parent!r} is not a line of {rec.stream} declared "
                        "before this one: declare the parent first",
                    )
                    continue
                line = recorded.get(key)
                if self._same_or_new("line", d, line, values):
                    ids[key] = None
                    chunk.append((d, values, parent))
                    if len(chunk) == CHUNK:
                        self._insert_lines(chunk, ids)
                elif line is not None and not _same_parent(line, ids, parent):
                    self.error(d, f"line {rec.code} is already recorded with a different parent")
        for stream_id, code, name in _streamed(s, table, "stream_id", "code", "name"):
            if (stream_id, code) not in declared:
                self._earlier_lines.setdefault(stream_id, []).append((code, name))
        if books.problems:
            return
        self._insert_lines(chunk, ids)
        # Read again if asked (the ``lines`` and ``orgs`` properties): not held beside the
        # look-alikes' names, nor through the journal, which reads its own catalogue.
        self._orgs = self._lines = None

    def _recorded_lines(
        self,
        group: list[LineRecord],
        ids: dict[tuple[int, str], int | None],
        declared: set[tuple[int, str]],
    ) -> dict[tuple[int, str], Row[Any]]:
        """The recorded rows of the lines of ``group`` recorded before these books, by
        (stream id, code), a stream's at a time (through the stream's unique key)."""
        again: dict[int, list[str]] = {}
        for rec in group:
            stream_id = self.streams.get(rec.stream)
            if stream_id is None:
                continue
            key = (stream_id, rec.code)
            if ids.get(key) is not None and key not in declared:
                again.setdefault(stream_id, []).append(rec.code)
        table = Line.__table__
        found: dict[tuple[int, str], Row[Any]] = {}
        for stream_id, codes in again.items():
            query = select(table).where(table.c.stream_id == stream_id, table.c.code.in_(codes))
            found |= _rows(self.s, query, ("stream_id", "code"))
        return found

    def _insert_lines(
        self,
        chunk: list[tuple[Directive, dict[str, Any], str | None]],
        ids: dict[tuple[int, str], int | None],
    ) -> None:
        """Ids first, so that a new parent's id is known before its children are written."""
        if self.books.problems:
            chunk.clear()
            return
        given = next_ids(self.s, "line", len(chunk))
        for (d, values, _), line_id in zip(chunk, given, strict=True):
            values["id"] = ids[(values["stream_id"], values["code"])] = line_id
            self.made(d, "line")
        for _, values, parent in chunk:
            values["parent_id"] = ids[(values["stream_id"], parent)] if parent else None
        _insert(self.s, Line.__table__, [values for _, values, _ in chunk])
        chunk.clear()

    def _look_alike_orgs(self) -> None:
        """Warn of a name that looks the same as another but is written with other
        characters (grants.ledger.look_alikes): organisations first (here), then the lines of
        each stream in the order the books first name it (``_look_alike_lines``)."""
        orgs = Names("organisation")
        for code, name in self._earlier_orgs:
            orgs.recorded(code, name)
        for rec in self.books.orgs:
            found = orgs.declared(rec.d, rec.code, rec.name)
            if found is not None:
                self.report.warnings.append(found)
        self._earlier_orgs = []

    def _look_alike_lines(self) -> None:
        streams: dict[str, tuple[Names, list[Problem]]] = {}
        for rec in self.books.lines:
            stream = rec.stream
            if stream not in streams:
                streams[stream] = (Names("line", f" of {stream}"), [])
                for code, name in self._earlier_lines.get(self.streams.get(stream, 0), ()):
                    streams[stream][0].recorded(code, name)
            names, found_in_stream = streams[stream]
            found = names.declared(rec.d, rec.code, rec.name)
            if found is not None:
                found_in_stream.append(found)
        for _, found_in_stream in streams.values():
            self.report.warnings.extend(found_in_stream)
        self._earlier_lines = {}  # not held through the journal


def _same_parent(
    line: Row[Any], ids: dict[tuple[int, str], int | None], parent: str | None
) -> bool:
    """Whether a recorded line's parent is the one the books name (a line of these books
    not yet given an id, or given one only now, is not a recorded line's parent)."""
    if parent is None:
        return line.parent_id is None
    named = ids.get((line.stream_id, parent))
    return named is not None and line.parent_id == named


def _groups(records: Iterable[T]) -> Iterator[list[T]]:
    """``records`` a group of LOOKUP at a time."""
    group: list[T] = []
    for record in records:
        group.append(record)
        if len(group) == LOOKUP:
            yield group
            group = []
    if group:
        yield group


def _rows(session: Session, query: Select[Any], key: tuple[str, ...]) -> dict[Any, Row[Any]]:
    """The rows ``query`` finds, by the values of the columns ``key`` (one: the value)."""
    rows = session.execute(query)
    if len(key) == 1:
        return {getattr(r, key[0]): r for r in rows}
    return {tuple(getattr(r, k) for k in key): r for r in rows}


def _streamed(session: Session, table: Table, *columns: str) -> Iterator[Row[Any]]:
    """``columns`` of every row of ``table`` in the order of their ids, a few thousand held
    at a time (on PostgreSQL through a cursor of the server's)."""
    query = select(*(table.c[c] for c in columns)).order_by(table.c.id)
    yield from session.execute(query.execution_options(yield_per=5_000))


def _insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Plain rows written in one statement (executemany), with the columns' own types."""
    if rows:
        session.execute(insert(table), rows)
