"""What is due: for each line that reports, its figures and each stage of its calendar.

A line reports for a year when it is funded in it and no funded line lies beneath it (a
partnership's districts report, not the partnership: grants.services.returns.recipients).
Its stages are the stream's reporting calendar for the year (`due` in the books): the
spending plan (met by the plan, grants.services.returns.PLAN_STAGE) and the returns. Each is,
on the day asked about:

- filed: a plan recorded, or a return received and not superseded, by that day; with the
  day and the receipt (the number of the filing, as `grants returns history` lists it);
- not yet open: a return whose period has not ended (it opens the day after);
- due in N days, due today, or overdue by N days.

Officers and viewers see every line; a recipient its own organisations' lines and those
beneath them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grants import formatting
from grants.db.models import PlanFiling, PlanLine, ReturnFiling, ReturnStage, Stream
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services import access
from grants.services.balances import Balances
from grants.services.returns import PLAN_STAGE, recipients

FILED = "filed"
NOT_OPEN = "not-open"
DUE = "due"
DUE_TODAY = "due-today"
OVERDUE = "overdue"
STATES = (FILED, NOT_OPEN, DUE, DUE_TODAY, OVERDUE)


@dataclass(frozen=True)
class StageDue:
    """One stage of a line's calendar, as it stands on ``as_of``."""

    stage: str
    due: date
    opens: date | None  # None: open from the start (the spending plan)
    state: str  # one of STATES
    days: int  # days until due (negative once overdue)
    filed_on: date | None = None
    receipt: str | None = None  # "return #12", "plan #3"; None for a plan in the books
    late: bool = False  # filed after it was due

    @property
    def status(self) -> str:
        """The state in words: "filed 27 October 2017 (return #5)", "filed 2 November 2017,
        2 days late (return #6)", "due in 3 days",
        "due today", "overdue by 14 days", "not yet open (opens 1 October 2017)"."""
        if self.state == FILED:
            assert self.filed_on is not None
            late = (self.filed_on - self.due).days
            when = f", {formatting.count(late, 'day')} late" if late > 0 else ""
            where = f" ({self.receipt})" if self.receipt else " (in the books)"
            return f"filed {formatting.day(self.filed_on)}{when}{where}"
        if self.state == NOT_OPEN:
            assert self.opens is not None
            return f"not yet open (opens {formatting.day(self.opens)})"
        if self.state == DUE_TODAY:
            return "due today"
        if self.state == DUE:
            return f"due in {formatting.count(self.days, 'day')}"
        return f"overdue by {formatting.count(-self.days, 'day')}"


@dataclass(frozen=True)
class LineDue:
    """A line that reports for a year: who, its figures for the year, and its stages."""

    stream: str
    year: FinancialYear
    line: str
    name: str
    recipient: str | None  # the organisation's name
    allocated: Decimal
    paid: Decimal
    reported: Decimal
    stages: tuple[StageDue, ...]


def due(
    session: Session,
    stream: str | None = None,
    year: FinancialYear | None = None,
    as_of: date | None = None,
) -> list[LineDue]:
    """Each line that reports (of ``stream``, in ``year``, when given) with each stage of
    its calendar as it stands on ``as_of`` (default today), by stream, year and line; a
    recipient's own lines only."""
    access.require(session, "read")
    as_of = as_of or date.today()
    seen = access.visible_lines(session)
    query = (
        select(ReturnStage, Stream.code)
        .join(Stream, Stream.id == ReturnStage.stream_id)
        .order_by(Stream.code, ReturnStage.year, ReturnStage.covers_to, ReturnStage.id)
    )
    if stream is not None:
        query = query.where(Stream.code == stream)
    if year is not None:
        query = query.where(ReturnStage.year == year.start)
    calendar: dict[tuple[int, str, int], list[ReturnStage]] = {}
    for stage, code in session.execute(query).all():
        calendar.setdefault((stage.stream_id, code, stage.year), []).append(stage)
    out: list[LineDue] = []
    balances: dict[str, Balances] = {}
    for (stream_id, code, start), stages in calendar.items():
        fy = FinancialYear(start)
        if code not in balances:
            balances[code] = Balances(session, code)
        figures = balances[code]
        lines = recipients(session, stream_id, code, fy, figures)
        if seen is not None:
            lines = [x for x in lines if x.id in seen]
        if not lines:
            continue
        filed = _filed(session, [x.id for x in lines], start, as_of)
        period = Period(fy, fy)
        for x in lines:
            out.append(
                LineDue(
                    code, fy, x.code, x.name, x.recipient, from_pence(x.allocated_pence),
                    from_pence(figures.value(code, period, "paid", x.code) or 0),
                    from_pence(figures.value(code, period, "reported", x.code) or 0),
                    tuple(_stage(s, filed.get((x.id, s.stage)), as_of) for s in stages),
                )
            )  # fmt: skip
    return out


def _stage(stage: ReturnStage, filed: tuple[date, str | None] | None, as_of: date) -> StageDue:
    days = (stage.due - as_of).days
    opens = None if stage.stage == PLAN_STAGE else stage.covers_to + timedelta(days=1)
    if filed is not None:
        on, receipt = filed
        return StageDue(stage.stage, stage.due, opens, FILED, days, on, receipt, on > stage.due)
    if opens is not None and as_of < opens:
        return StageDue(stage.stage, stage.due, opens, NOT_OPEN, days)
    state = DUE if days > 0 else DUE_TODAY if days == 0 else OVERDUE
    return StageDue(stage.stage, stage.due, opens, state, days)


def _filed(
    session: Session, line_ids: list[int], year: int, as_of: date
) -> dict[tuple[int, str], tuple[date, str | None]]:
    """For each line and stage met by ``as_of``: the day and the receipt. A return stands
    when received by then and not superseded by a return received by then; the plan stage
    is met on the day the first plan line was recorded (with the first plan form's receipt,
    if it came on a form)."""
    out: dict[tuple[int, str], tuple[date, str | None]] = {}
    filings = session.scalars(
        select(ReturnFiling)
        .where(ReturnFiling.line_id.in_(line_ids), ReturnFiling.year == year,
               ReturnFiling.received_on <= as_of)
        .order_by(ReturnFiling.id)
    ).all()  # fmt: skip
    superseded = {f.supersedes_id for f in filings if f.supersedes_id}
    for f in filings:
        if f.id not in superseded:
            out[(f.line_id, f.stage)] = (f.received_on, f"return #{f.id}")
    planned = session.execute(
        select(PlanLine.line_id, func.min(PlanLine.day))
        .where(PlanLine.line_id.in_(line_ids), PlanLine.year == year, PlanLine.day <= as_of)
        .group_by(PlanLine.line_id)
    ).all()
    forms: dict[int, int] = {}
    for line_id, filing_id in session.execute(
        select(PlanFiling.line_id, PlanFiling.id)
        .where(PlanFiling.line_id.in_(line_ids), PlanFiling.year == year,
               PlanFiling.received_on <= as_of)
        .order_by(PlanFiling.id.desc())
    ):  # fmt: skip
        forms[line_id] = filing_id  # the first one stands last
    for line_id, first in planned:
        receipt = f"plan #{forms[line_id]}" if line_id in forms else None
        out[(line_id, PLAN_STAGE)] = (first, receipt)
    return out


__all__ = ["DUE", "DUE_TODAY", "FILED", "NOT_OPEN", "OVERDUE", "STATES", "LineDue", "StageDue",
           "due"]  # fmt: skip
