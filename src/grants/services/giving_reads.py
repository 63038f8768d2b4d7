"""What one stream's 360Giving grants are made from, read in the order the grants are
published (by the first year of their periods, line and last year), a few thousand rows held
at a time (on PostgreSQL through cursors of the server's): what each line holds allocated,
with the line and its recipient, and the entries that stand. A year of a national funder's
grants is a million lines: held whole, some 3 KB a grant; read in order, what is held is a
few thousand rows'.

Held beside them: for the stream, its lines that have lines beneath them (with their
recipients, who make those lines' grants); for a year, the names of the lines beneath them
that hold an allocation (for a funder that regrants through others, most of its lines).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, exists, func, select
from sqlalchemy.orm import Session, aliased

from grants.db.models import Account, Commitment, Entry, Line, Organisation, Posting, Stream
from grants.errors import behind_its_back

_STREAMED = 5_000  # rows fetched at a time from a cursor

Pay = tuple[date, int, int]  # (day, entry id, pence)
Run = tuple[date, date]  # the first and last day of a signed agreement


@dataclass(frozen=True, slots=True)
class GrantLine:
    id: int
    code: str
    name: str
    parent_id: int | None
    recipient: tuple[str, str] | None  # its recipient's (code, name); none: it has none


def _of_stream(session: Session, s: Stream, until: int | None) -> list[Any]:
    """Conditions on ``Account`` for the stream's accounts (of periods beginning in ``until``
    at the latest, when given). On SQLite they are found through the keys' index too: every
    account's key begins with its stream's code and a bar ("S|2017|2018|L|allocated"), and
    "}" follows "|", as balance_reads finds a stream's; the years are the columns' (a key
    whose years disagree with them is still read)."""
    found = [Account.stream_id == s.id]
    if until is not None:
        found.append(Account.first_year <= until)
    if session.connection().dialect.name == "sqlite":
        found += [Account.key >= f"{s.code}|", Account.key < f"{s.code}}}"]
    return found


def allocations(
    session: Session, s: Stream, until: int | None
) -> Iterator[tuple[GrantLine, int, int, int]]:
    """Each line's allocation of each period (beginning in ``until`` at the latest, when
    given), by first year, line id and last year: (the line with its recipient, first year,
    last year, pence its `allocated` account holds: 0 for a line posted to otherwise, which is
    read and checked all the same). An account of the stream for a line that is not the
    stream's stops the export, as a balance read stops; so does a line whose recipient is not
    an organisation of the ledger."""
    allocated = func.sum(case((Account.role == "allocated", Posting.amount_pence), else_=0))
    columns = (Line.id, Line.code, Line.name, Line.parent_id, Line.recipient_id)
    query = (
        select(Account.first_year, Account.last_year, cast(allocated, BigInteger), *columns,
               Organisation.code, Organisation.name)
        .join(Posting, Posting.account_id == Account.id)
        .outerjoin(Line, and_(Line.id == Account.line_id, Line.stream_id == s.id))
        .outerjoin(Organisation, Organisation.id == Line.recipient_id)
        .where(*_of_stream(session, s, until), Account.line_id.is_not(None))
        .group_by(Account.first_year, Account.line_id, Account.last_year, *columns,
                  Organisation.code, Organisation.name)
        .order_by(Account.first_year, Account.line_id, Account.last_year)
    )  # fmt: skip
    rows = session.execute(query.execution_options(yield_per=_STREAMED))
    try:
        for first, last, pence, line_id, *line in rows:
            if line_id is None:  # the account's line is not the stream's
                raise behind_its_back(
                    f"an account of {s.code} is for a line {s.code} does not have"
                )
            yield _line(s, line_id, *line), first, last, pence
    finally:
        rows.close()


def parents(session: Session, s: Stream) -> dict[int, GrantLine]:
    """The stream's lines that have lines of the stream beneath them, by id, with their
    recipients (who make the grants of the lines beneath)."""
    beneath = select(Line.parent_id).where(Line.stream_id == s.id, Line.parent_id.is_not(None))
    query = (
        select(Line.id, Line.code, Line.name, Line.parent_id, Line.recipient_id,
               Organisation.code, Organisation.name)
        .outerjoin(Organisation, Organisation.id == Line.recipient_id)
        .where(Line.stream_id == s.id, Line.id.in_(beneath))
    )  # fmt: skip
    return {row[0]: _line(s, *row) for row in session.execute(query)}


def _line(
    s: Stream,
    line_id: int,
    code: str,
    name: str,
    parent_id: int | None,
    recipient_id: int | None,
    org: str | None,
    org_name: str | None,
) -> GrantLine:
    """A line of the stream with its recipient's code and name (an outer join's: none when
    it has no recipient); one the ledger lacks stops the export."""
    if recipient_id is not None and org is None:
        raise behind_its_back(f"the recipient of {s.code}'s line {code} is not an "
                              "organisation of the ledger")  # fmt: skip
    recipient = None if org is None else (org, org_name or "")
    return GrantLine(line_id, code, name, parent_id, recipient)


def children(session: Session, s: Stream, year: int) -> dict[tuple[int, int], list[str]]:
    """The names of the lines beneath each line that hold an allocation of a period beginning
    in ``year``, by (last year, the line above's id), in the order of the lines' ids."""
    query = (
        select(Line.parent_id, Account.last_year, Line.name)
        .join(Line, Line.id == Account.line_id)
        .join(Posting, Posting.account_id == Account.id)
        .where(*_of_stream(session, s, year), Account.first_year == year)
        .where(Account.role == "allocated")
        .where(Line.stream_id == s.id, Line.parent_id.is_not(None))
        .group_by(Line.id, Line.parent_id, Account.last_year, Line.name)
        .having(func.sum(Posting.amount_pence) > 0)
        .order_by(Line.id, Account.last_year)
    )
    found: dict[tuple[int, int], list[str]] = {}
    for parent_id, last, name in session.execute(query):
        found.setdefault((last, parent_id), []).append(name)
    return found


class Standing:
    """The stream's entries (of periods beginning in ``until`` at the latest, when given)
    that stand (neither reversed nor a reversal), in the order of their first years, lines
    and last years, taken a grant at a time (``of``, for grants in that order): the day of
    its earliest allocation (an `allocate`, or a virement into it), its payments and the days
    its signed agreements (`commit`) run. Read when the first grant asks; ``close`` when the
    stream is done."""

    def __init__(self, session: Session, s: Stream, until: int | None) -> None:
        self._session, self._stream, self._until = session, s, until
        self._rows: Any = None  # the query's result, once a grant asks
        self._row: Any = None
        self._asked = (0, 0, 0)  # the last grant asked for

    def _read(self) -> None:
        s, until = self._stream, self._until
        reversal = aliased(Entry)
        line = case((Entry.kind == "virement", Entry.to_line_id), else_=Entry.line_id)
        query = (
            select(Entry.first_year, line, Entry.last_year, Entry.kind, Entry.id, Entry.day,
                   Entry.amount_pence, Commitment.starts, Commitment.ends)
            .outerjoin(Commitment, Commitment.entry_id == Entry.id)
            .where(Entry.stream_id == s.id, line.is_not(None), Entry.reverses_id.is_(None),
                   Entry.kind.in_(("allocate", "virement", "pay", "commit")),
                   ~exists().where(reversal.reverses_id == Entry.id))
            .order_by(Entry.first_year, line, Entry.last_year, Entry.id)
        )  # fmt: skip
        if until is not None:
            query = query.where(Entry.first_year <= until)
        self._rows = self._session.execute(query.execution_options(yield_per=_STREAMED))
        self._row = next(self._rows, None)

    def of(self, first: int, line_id: int, last: int) -> tuple[date | None, list[Pay], list[Run]]:
        """What stands of the grant of line ``line_id`` for the period from ``first`` to
        ``last``; the grants asked for in the order of (first year, line id, last year)."""
        key = (first, line_id, last)
        if key < self._asked:
            raise ValueError("the grants must be asked for in the order of their lines")
        self._asked = key
        if self._rows is None:
            self._read()
        awarded: date | None = None
        pays: list[Pay] = []
        runs: list[Run] = []
        rows, row = self._rows, self._row
        while row is not None and (row[0], row[1], row[2]) < key:
            row = next(rows, None)
        while row is not None and row[0] == first and row[1] == line_id and row[2] == last:
            _, _, _, kind, entry_id, day, pence, starts, ends = row
            if kind == "pay":
                pays.append((day, entry_id, pence))
            elif kind == "commit":
                if starts is not None:
                    runs.append((starts, ends))
            elif awarded is None or day < awarded:
                awarded = day
            row = next(rows, None)
        self._row = row
        return awarded, pays, runs

    def close(self) -> None:
        """Let the query's cursor go (on PostgreSQL the server's, with its sorted rows), though
        the last entries were not asked for."""
        if self._rows is not None:
            self._rows.close()


__all__ = ["GrantLine", "Pay", "Run", "Standing", "allocations", "children", "parents"]
