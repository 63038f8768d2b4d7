"""The listings every face shows: streams, allocations, journal entries and spending plans.

Each function checks the acting person (grants.services.access) and gives a recipient only
its own organisations' lines and the lines beneath them: an entry is listed only when it
touches one of those lines, and no other line's amount reaches a figure it is shown. No line
it cannot see is named to it (a parent, or the line a split came from, is shown as nothing),
and no share is given of a figure it cannot see (a line's share of a parent it cannot see, or
of the stream): from a share and the amount one could work the other figure out. The
command line and the web service print these rows; neither applies a rule of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased

from grants.db.models import (
    Entry,
    Line,
    Organisation,
    PlanAgreement,
    PlanFiling,
    PlanLine,
    Stream,
)
from grants.errors import NotFound
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services import access
from grants.services.balances import Balances
from grants.services.return_history import filings


@dataclass(frozen=True)
class StreamRow:
    code: str
    name: str
    kind: str
    funder: str | None
    intervention_rate: Decimal | None  # a percentage, e.g. 50.00


def stream_rows(session: Session) -> list[StreamRow]:
    """The funding streams, by code: every one, or a recipient's those it has lines in."""
    access.require(session, "read")
    seen = access.visible_lines(session)
    funder = aliased(Organisation)
    query = (
        select(Stream, funder.code)
        .outerjoin(funder, funder.id == Stream.funder_id)
        .order_by(Stream.code)
    )
    if seen is not None:
        query = query.where(Stream.id.in_(select(Line.stream_id).where(Line.id.in_(seen))))
    return [
        StreamRow(
            s.code,
            s.name,
            s.kind,
            f,
            None if s.intervention_bp is None else Decimal(s.intervention_bp).scaleb(-2),
        )
        for s, f in session.execute(query).all()
    ]


@dataclass(frozen=True)
class AllocationRow:
    line: str
    name: str
    recipient: str | None  # the organisation's name
    period: Period
    amount: Decimal
    share: str | None
    parent: str | None


def allocation_rows(
    session: Session, stream: str, period: Period | None = None
) -> list[AllocationRow]:
    """The allocations of a stream (optionally of the years overlapping ``period``): each
    line and period with money allocated or paid; a recipient's own lines only."""
    access.require(session, "read")
    mine = _own_codes(session, stream)
    recipients = dict(
        session.execute(
            select(Line.code, Organisation.name)
            .join(Stream, Stream.id == Line.stream_id)
            .outerjoin(Organisation, Organisation.id == Line.recipient_id)
            .where(Stream.code == stream)
        ).all()
    )
    shares = _latest_shares(session, stream)
    out = []
    for row in Balances(session, stream).rows(period):
        if row.line is None or (row.allocated == 0 and row.paid == 0):
            continue
        if mine is not None and row.line not in mine:
            continue
        parent, share = row.parent, shares.get((row.line, row.period))
        if mine is not None and parent not in mine:  # of a figure the recipient cannot see
            parent, share = None, None
        out.append(
            AllocationRow(
                row.line, row.name, recipients.get(row.line), row.period, row.allocated,
                share, parent,
            )
        )  # fmt: skip
    return out


def _own_codes(session: Session, stream: str) -> set[str] | None:
    """The codes of the stream's lines the acting person sees; None for every line."""
    seen = access.visible_lines(session)
    if seen is None:
        return None
    return set(
        session.scalars(
            select(Line.code)
            .join(Stream, Stream.id == Line.stream_id)
            .where(Stream.code == stream, Line.id.in_(seen))
        )
    )


def _latest_shares(session: Session, stream: str) -> dict[tuple[str, Period], str]:
    rows = session.execute(
        select(Line.code, Entry.first_year, Entry.last_year, Entry.share, Entry.reverses_id)
        .join(Line, Line.id == Entry.line_id)
        .join(Stream, Stream.id == Entry.stream_id)
        .where(Stream.code == stream, Entry.kind == "allocate", Entry.share.is_not(None))
        .order_by(Entry.id)
    )
    out: dict[tuple[str, Period], str] = {}
    for code, first, last, share, reverses in rows:
        if reverses is None:
            out[(code, Period(FinancialYear(first), FinancialYear(last)))] = share
    return out


@dataclass(frozen=True, slots=True)
class JournalRow:
    entry: int
    ref: str
    day: date
    kind: str
    reverses: int | None
    stream: str
    period: Period
    line: str | None
    amount: Decimal  # a reversal's negated, as it undoes its entry
    actor: str
    recorded: datetime
    reason: str | None
    origin: str | None


MOST = 2**63  # no LIMIT of either engine reaches it


def journal_rows(
    session: Session, stream: str | None = None, limit: int | None = None
) -> list[JournalRow]:
    """Journal entries in the order recorded (the last ``limit`` only, when given); for a
    recipient, only those that touch its lines (the line an entry is for, or the line it
    moves money to)."""
    access.require(session, "read")
    seen = access.visible_lines(session)
    line = aliased(Line)
    # The columns shown, not the entries as objects: a national funder's journal is
    # 200,000 entries, each object several times the size of its row; run on the session's
    # connection, the rows are handed over as fetched, where the ORM fetches all first.
    query: Select[Any] = (
        select(Entry.id, Entry.ref, Entry.day, Entry.kind, Entry.reverses_id, Stream.code,
               Entry.first_year, Entry.last_year, Entry.line_id, line.code,
               Entry.amount_pence, Entry.actor, Entry.recorded_at, Entry.reason, Entry.origin)
        .join(Stream, Stream.id == Entry.stream_id)
        .outerjoin(line, line.id == Entry.line_id)
    )  # fmt: skip
    if stream is not None:
        query = query.where(Stream.code == stream)
    if seen is not None:
        query = query.where(or_(Entry.line_id.in_(seen), Entry.to_line_id.in_(seen)))
    # The last ``limit``: read newest first along the entries' key, as many as asked for,
    # and put back in order (counting the journal to skip the rest read all of it). More
    # than a 64-bit LIMIT holds is more than any journal holds: all of them.
    if limit is not None and limit < 0:
        return []  # the last fewer than none
    if limit is not None and limit >= MOST:
        limit = None
    query = query.order_by(Entry.id.desc()).limit(limit) if limit else query.order_by(Entry.id)
    found = session.connection().execute(query)
    periods: dict[tuple[int, int], Period] = {}  # each period once
    out = []
    for (i, ref, day, kind, reverses, s, first, last, line_id, code, pence, actor, recorded,
         reason, origin) in (reversed(found.all()) if limit else found):  # fmt: skip
        period = periods.get((first, last))
        if period is None:
            period = periods[(first, last)] = Period(FinancialYear(first), FinancialYear(last))
        out.append(
            JournalRow(
                i, ref, day, kind, reverses, s, period,
                code if seen is None or line_id in seen else None,  # a line it cannot see
                from_pence(-pence if reverses else pence), actor, recorded, reason, origin,
            )
        )  # fmt: skip
    return out


@dataclass(frozen=True)
class PlanRow:
    line: str
    position: int
    title: str
    cost: Decimal
    pcc_objective: int | None
    other_funding: str | None
    agreed: date | None


def plan_rows(
    session: Session, stream: str, year: FinancialYear, line: str | None = None
) -> list[PlanRow]:
    """The spending plans of a stream and year (or one line's), line by line, each with the
    day it was agreed; a recipient's own lines only."""
    access.require(session, "read")
    seen = access.visible_lines(session)
    query = (
        select(Line.id, Line.code, PlanLine.position, PlanLine.title, PlanLine.cost_pence,
               PlanLine.pcc_objective, PlanLine.other_funding)
        .join(Line, Line.id == PlanLine.line_id)
        .join(Stream, Stream.id == Line.stream_id)
        .where(Stream.code == stream, PlanLine.year == year.start)
        .order_by(Line.id, PlanLine.position)
    )  # fmt: skip
    if line is not None:
        query = query.where(Line.code == line)
    if seen is not None:
        query = query.where(Line.id.in_(seen))
    rows = session.execute(query).all()
    agreed = dict(
        session.execute(
            select(PlanAgreement.line_id, PlanAgreement.day).where(
                PlanAgreement.year == year.start,
                PlanAgreement.line_id.in_({r[0] for r in rows}),
            )
        ).all()
    )
    return [
        PlanRow(code, position, title, from_pence(cost), objective, other, agreed.get(line_id))
        for line_id, code, position, title, cost, objective, other in rows
    ]


@dataclass(frozen=True)
class PlanFilingRow:
    """A spending plan form received, as the plan history lists it: its number is the
    receipt `grants returns due` gives."""

    id: int
    stream: str
    year: FinancialYear
    line: str
    filename: str
    received_on: date
    recorded_at: datetime
    actor: str
    completed_by: str | None
    completed_on: date | None
    lines: int  # the plan lines it added


def plan_filing_rows(
    session: Session,
    stream: str | None = None,
    year: FinancialYear | None = None,
    line: str | None = None,
) -> list[PlanFilingRow]:
    """Every spending plan form recorded, in the order recorded; a recipient's own lines'
    only."""
    return _plan_filings(session, filings(session, PlanFiling, stream, year, line))


def plan_receipt(session: Session, filing_id: int) -> PlanFilingRow:
    """One spending plan filing by its receipt (``plan #n``): NotFound unless the acting
    person may read it (a recipient's own lines' only)."""
    query = filings(session, PlanFiling, None, None, None).where(PlanFiling.id == filing_id)
    found = _plan_filings(session, query)
    if not found:
        raise NotFound(f"no plan #{filing_id}")
    return found[0]


def _plan_filings(session: Session, query: Select[tuple[Any, str, str]]) -> list[PlanFilingRow]:
    return [
        PlanFilingRow(
            f.id, s, FinancialYear(f.year), code, f.filename, f.received_on, f.recorded_at,
            f.actor, f.completed_by, f.completed_on, f.lines,
        )
        for f, s, code in session.execute(query)
    ]  # fmt: skip


__all__ = [
    "AllocationRow", "JournalRow", "PlanFilingRow", "PlanRow", "StreamRow", "allocation_rows",
    "journal_rows", "plan_filing_rows", "plan_receipt", "plan_rows", "stream_rows",
]  # fmt: skip
