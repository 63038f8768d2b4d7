"""Who filed what and when: every return filing, superseded ones too, as the history lists
it (a recipient's own lines' only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from grants.db.models import Line, PlanFiling, ReturnFigure, ReturnFiling, Stream
from grants.errors import NotFound
from grants.periods import FinancialYear
from grants.services import access


@dataclass
class HistoryRow:
    """One filing, as the history lists it."""

    id: int
    stream: str
    year: int
    line: str
    stage: str
    filename: str
    received_on: date
    recorded_at: datetime
    actor: str
    completed_by: str | None
    completed_on: date | None
    spend_pence: int | None  # None: no spend to date given
    supersedes: int | None
    superseded_by: int | None


def filings(
    session: Session,
    filing: type[ReturnFiling] | type[PlanFiling],
    stream: str | None,
    year: FinancialYear | None,
    line: str | None,
) -> Select[tuple[Any, str, str]]:
    """The query for the return or plan filings the acting person may read (a recipient's
    own lines' only), with their stream's and line's codes, in the order recorded."""
    access.require(session, "read")
    seen = access.visible_lines(session)
    query = (
        select(filing, Stream.code, Line.code)
        .join(Stream, Stream.id == filing.stream_id)
        .join(Line, Line.id == filing.line_id)
        .order_by(filing.id)
    )
    if stream is not None:
        query = query.where(Stream.code == stream)
    if year is not None:
        query = query.where(filing.year == year.start)
    if line is not None:
        query = query.where(Line.code == line)
    if seen is not None:
        query = query.where(filing.line_id.in_(seen))
    return query


def history(
    session: Session,
    stream: str | None = None,
    year: FinancialYear | None = None,
    line: str | None = None,
) -> list[HistoryRow]:
    """Every filing, superseded ones too, in the order recorded: who filed what and when
    (a recipient's own lines' only)."""
    return _rows(session, None, stream, year, line)


def _rows(
    session: Session,
    filing_id: int | None,
    stream: str | None = None,
    year: FinancialYear | None = None,
    line: str | None = None,
) -> list[HistoryRow]:
    query = filings(session, ReturnFiling, stream, year, line)
    if filing_id is not None:
        query = query.where(ReturnFiling.id == filing_id)
    rows = session.execute(query).all()
    ids = [f.id for f, _, _ in rows]
    spend: dict[int, int] = {}
    for chunk in range(0, len(ids), 500):
        for filing_id, pence in session.execute(
            select(ReturnFigure.filing_id, func.sum(ReturnFigure.spend_pence))
            .where(ReturnFigure.filing_id.in_(ids[chunk : chunk + 500]),
                   ReturnFigure.spend_pence.is_not(None))
            .group_by(ReturnFigure.filing_id)
        ):  # fmt: skip
            spend[filing_id] = int(pence)
    later = dict(
        session.execute(
            select(ReturnFiling.supersedes_id, ReturnFiling.id).where(
                ReturnFiling.supersedes_id.is_not(None)
            )
        ).all()
    )
    return [
        HistoryRow(
            f.id, stream_code, f.year, line_code, f.stage, f.filename, f.received_on,
            f.recorded_at, f.actor, f.completed_by, f.completed_on, spend.get(f.id),
            f.supersedes_id, later.get(f.id),
        )
        for f, stream_code, line_code in rows
    ]  # fmt: skip


def receipt(session: Session, filing_id: int) -> HistoryRow:
    """One filing by its receipt (``return #n``), as the history lists it: NotFound unless
    the acting person may read it (a recipient's own lines' only)."""
    found = [r for r in _rows(session, filing_id) if r.id == filing_id]
    if not found:
        raise NotFound(f"no return #{filing_id}")
    return found[0]


__all__ = ["HistoryRow", "filings", "history", "receipt"]
