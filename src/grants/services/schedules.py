"""Payment schedules: when an allocation is to be paid, as dated instalments on one basis
(in advance, in arrears, quarterly, or on milestones). The one set of rules behind the
`schedule` books directive and `grants schedule`; reconcile reads them for payments due and
overdue (grants.services.reconcile_schedules).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import SCHEDULE_BASES, Instalment, Line, Stream
from grants.errors import GrantsError
from grants.money import from_pence
from grants.periods import Period
from grants.services import access


@dataclass(frozen=True, slots=True)
class NewInstalment:
    """One instalment to record: the line's allocation for the period it pays, its basis,
    amount (pence), due date and, on a milestone basis, the milestone."""

    stream: str
    period: Period
    line: str
    basis: str
    amount: int
    due: date
    milestone: str | None


def instalment_problem(new: NewInstalment, recorded_basis: str | None) -> str | None:
    """What is wrong with an instalment, or None: a known basis, the basis of the line's
    schedule for the period (``recorded_basis``, if it has one), a positive amount, and a
    milestone exactly when the basis is milestones."""
    if new.basis not in SCHEDULE_BASES:
        return f"basis {new.basis!r} is not one of: {', '.join(SCHEDULE_BASES)}"
    if recorded_basis is not None and recorded_basis != new.basis:
        return (
            f"{new.line}'s schedule for {new.stream} {new.period} is {recorded_basis}, not "
            f"{new.basis}: a schedule has one basis"
        )
    if new.amount <= 0:
        return f"an instalment is more than zero, not {from_pence(new.amount):,.2f}"
    if new.basis == "milestone" and not (new.milestone or "").strip():
        return "an instalment on the milestone basis names its milestone"
    return None


def recorded_basis(session: Session, line_id: int, period: Period) -> str | None:
    """The basis of the line's schedule for the period, if it has any instalment."""
    return session.scalar(
        select(Instalment.basis)
        .where(
            Instalment.line_id == line_id,
            Instalment.first_year == period.first.start,
            Instalment.last_year == period.last.start,
        )
        .limit(1)
    )


def schedule(
    session: Session,
    new: NewInstalment,
    day: date,
    origin: str,
    source: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Record one instalment of a line's payment schedule (an officer's work)."""
    from grants.services.streams import line_code, stream_code

    access.require(session, "record")
    stream = stream_code(session, new.stream, "any", "record")
    line = line_code(session, stream, new.line, "record")
    line_id = session.scalar(
        select(Line.id).join(Stream, Stream.id == Line.stream_id)
        .where(Stream.code == stream, Line.code == line)
    )  # fmt: skip
    assert line_id is not None
    problem = instalment_problem(new, recorded_basis(session, line_id, new.period))
    if problem is not None:
        raise GrantsError(problem)
    row = Instalment(
        key=uuid.uuid4().hex,  # a command's instalment is a new one each time
        day=day,
        line_id=line_id,
        first_year=new.period.first.start,
        last_year=new.period.last.start,
        basis=new.basis,
        amount_pence=new.amount,
        due=new.due,
        milestone=new.milestone,
        source=source,
        origin=origin,
        note=note,
    )
    session.add(row)
    session.flush()
    return {
        "instalment": row.id,
        "stream": stream,
        "year": str(new.period),
        "line": line,
        "basis": new.basis,
        "amount": f"{from_pence(new.amount):.2f}",
        "due": new.due.isoformat(),
        "milestone": new.milestone,
    }
