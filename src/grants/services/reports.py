"""Report rows: the ledger turned into the plain rows of the council's tables.

The same rows render to a terminal table or JSON now (and to workbooks through templates/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Entry, Line, Stream
from grants.errors import NotFound
from grants.periods import Period
from grants.services.balances import Balances


@dataclass
class ResourcingRow:
    """One row of a resourcing table: a line and its allocation per year."""

    code: str
    name: str
    parent: str | None
    amounts: dict[int, Decimal] = field(default_factory=dict)  # year -> allocated; absent: n/a
    shares: dict[int, str] = field(default_factory=dict)  # year -> printed share of the parent


@dataclass
class ResourcingTable:
    """The PCC's resourcing table (Appendix 7): a column per year, a row per line with the
    districts beneath their partnership (not counted twice), the TOTAL, and the stated figure
    with the difference for every year where it is not the total allocated."""

    stream: str
    years: list[int]
    rows: list[ResourcingRow]
    total: dict[int, Decimal]
    stated: dict[int, Decimal]
    # (line code, year) -> the journal entries behind the figure, as "entry N (origin)"
    sources: dict[tuple[str, int], list[str]] = field(default_factory=dict)

    def difference(self, year: int) -> Decimal | None:
        if year not in self.stated or self.stated[year] == self.total.get(year):
            return None
        return self.stated[year] - self.total.get(year, Decimal("0.00"))


def resourcing(session: Session, stream: str, years: Period) -> ResourcingTable:
    if session.execute(select(Stream.id).where(Stream.code == stream)).first() is None:
        raise NotFound(f"there is no funding stream {stream!r}; `grants streams` lists them")
    balances = Balances(session, stream)
    by_year = {fy.start: Period(fy, fy) for fy in years.years}
    lines = session.execute(
        select(Line.id, Line.code, Line.name, Line.parent_id)
        .join(Stream, Stream.id == Line.stream_id)
        .where(Stream.code == stream)
        .order_by(Line.id)
    ).all()
    codes = {line.id: line.code for line in lines}
    rows: dict[str, ResourcingRow] = {}
    for line in lines:
        row = ResourcingRow(line.code, line.name, codes.get(line.parent_id))
        for year, period in by_year.items():
            if balances.has_line(stream, period, line.code):
                pence = balances.value(stream, period, "allocated", line.code) or 0
                row.amounts[year] = Decimal(pence).scaleb(-2)
        if row.amounts:
            rows[line.code] = row
    for code, first, share in session.execute(
        select(Line.code, Entry.first_year, Entry.share)
        .join(Line, Line.id == Entry.line_id)
        .join(Stream, Stream.id == Entry.stream_id)
        .where(
            Stream.code == stream,
            Entry.kind == "allocate",
            Entry.share.is_not(None),
            Entry.reverses_id.is_(None),
        )
        .order_by(Entry.id)
    ):
        if code in rows and first in by_year:
            rows[code].shares[first] = share
    ordered: list[ResourcingRow] = []

    def place(code: str | None) -> None:
        for row in rows.values():
            if row.parent == code:
                ordered.append(row)
                place(row.code)

    place(None)
    total = {
        year: Decimal(balances.value(stream, period, "allocated", None) or 0).scaleb(-2)
        for year, period in by_year.items()
    }
    stated = {}
    for year, period in by_year.items():
        pence = balances.value(stream, period, "stated", None)
        if pence is not None:
            stated[year] = Decimal(pence).scaleb(-2)
    sources: dict[tuple[str, int], list[str]] = {}
    for entry_id, kind, origin, code, first, last in session.execute(
        select(Entry.id, Entry.kind, Entry.origin, Line.code, Entry.first_year, Entry.last_year)
        .join(Line, Line.id == Entry.line_id)
        .join(Stream, Stream.id == Entry.stream_id)
        .where(Stream.code == stream, Entry.kind.in_(("allocate", "clawback", "virement")))
        .order_by(Entry.id)
    ):
        if first == last and first in by_year:
            sources.setdefault((code, first), []).append(f"entry {entry_id} {kind} ({origin})")
    return ResourcingTable(stream, list(by_year), ordered, total, stated, sources)


__all__ = ["ResourcingRow", "ResourcingTable", "resourcing"]
