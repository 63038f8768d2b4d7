"""The rules of a spending plan, whichever way its lines arrive: from the books (the loader's
`plan` and `agree`) or from a filled plan form (grants.services.plan_forms).

A plan's titles are unique within it and fixed once it is agreed: a line dated after the
agreement, or added to a plan agreed before, is refused; a PCC strategic objective belongs
to the PCC Community Safety Fund only; a line already recorded with the same figures is
left as it is, and one with other figures refused. ``Plans`` holds what the ledger has and
records what is new, in the caller's transaction, one line or agreement at a time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.engine import record_order
from grants.db.models import Line, PlanAgreement, PlanLine, Stream
from grants.errors import GrantsError
from grants.formatting import gbp
from grants.money import from_pence
from grants.periods import FinancialYear
from grants.services import access
from grants.services.journal import Journal
from grants.services.keys import agreement_key, plan_key

Outcome = Literal["created", "unchanged"]


class PlanRefused(GrantsError):
    """A plan line or agreement the plan's rules refuse (the message says why)."""


@dataclass(frozen=True)
class Provenance:
    """Where a plan record came from: its day, the source it cites, its place (a books line
    or a form's cell) and a note; ``key`` when it is given (an export's), not computed."""

    day: date
    source: str | None = None
    origin: str | None = None
    note: str | None = None
    key: str | None = None

    def columns(self) -> dict[str, object]:
        return {"source": self.source, "origin": self.origin, "note": self.note, "day": self.day}


@dataclass(frozen=True)
class NewPlanLine:
    stream: str  # the stream's code
    line: str  # the allocation line's code
    line_id: int
    year: int
    title: str
    cost_pence: int
    objectives: str | None
    other_funding: str | None
    pcc_objective: int | None
    made: Provenance


class Plans:
    """The plans the ledger holds, and the rules each new line and agreement meets."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.kinds = dict(session.execute(select(Stream.code, Stream.kind)).all())
        self.agreed: dict[tuple[int, int], date] = {
            (a.line_id, a.year): a.day for a in session.scalars(select(PlanAgreement))
        }
        self.agreed_before = set(self.agreed)  # closed to new lines whatever their date
        self.recorded_agreements = set(self.agreed)
        self.existing = {(p.line_id, p.year, p.title): p for p in session.scalars(select(PlanLine))}
        self.positions: Counter[tuple[int, int]] = Counter(
            (p.line_id, p.year) for p in self.existing.values()
        )
        self.planned = {(p.line_id, p.year) for p in self.existing.values()}

    def to_be_agreed(self, line_id: int, year: int, day: date) -> None:
        """Note an agreement that comes with the lines (in the same books): a line dated
        after it is refused."""
        day_before = self.agreed.get((line_id, year))
        if day_before is None or day < day_before:
            self.agreed[(line_id, year)] = day

    def add_line(self, new: NewPlanLine) -> Outcome:
        """Record a plan line (added to the session), or say it is there already; raises
        PlanRefused."""
        if new.pcc_objective is not None and self.kinds.get(new.stream) != "pcc-csf":
            raise PlanRefused("pcc-objective applies to the PCC Community Safety Fund only")
        where = (new.line_id, new.year)
        values = {
            "line_id": new.line_id, "year": new.year, "title": new.title,
            "objectives": new.objectives, "cost_pence": new.cost_pence,
            "other_funding": new.other_funding, "pcc_objective": new.pcc_objective,
        }  # fmt: skip
        before = self.existing.get((new.line_id, new.year, new.title))
        if before is not None:
            if any(getattr(before, k) != v for k, v in values.items()):
                raise PlanRefused(f"the plan already has {new.title!r} with other figures")
            return "unchanged"
        day = self.agreed.get(where)
        if day is not None and (new.made.day > day or where in self.agreed_before):
            raise PlanRefused(
                f"the plan for {new.line} {FinancialYear(new.year)} was agreed on {day}: "
                "its expenditure titles are fixed and returns must use them"
            )
        self.positions[where] += 1
        self.planned.add(where)
        line = PlanLine(
            key=new.made.key or plan_key(**values, source=new.made.source),  # type: ignore[arg-type]
            position=self.positions[where],
            **values,
            **new.made.columns(),
        )
        self.session.add(line)
        self.existing[(new.line_id, new.year, new.title)] = line
        return "created"

    def agree(self, line: str, line_id: int, year: int, made: Provenance) -> Outcome:
        """Record that a plan is agreed, or say it was already; raises PlanRefused."""
        if (line_id, year) in self.recorded_agreements:
            return "unchanged"
        if (line_id, year) not in self.planned:
            raise PlanRefused(f"there is no plan for {line} {FinancialYear(year)} to agree: "
                              "record its lines with `plan` first")  # fmt: skip
        self.recorded_agreements.add((line_id, year))
        self.session.add(
            PlanAgreement(
                key=made.key or agreement_key(line_id, year, made.day),
                line_id=line_id,
                year=year,
                **made.columns(),
            )
        )
        return "created"


def _line_ids(session: Session, stream: str, line: str) -> tuple[int, int]:
    found = session.execute(
        select(Stream.id, Line.id)
        .join(Line, Line.stream_id == Stream.id)
        .where(Stream.code == stream, Line.code == line)
    ).first()
    if found is None:
        raise PlanRefused(f"there is no line {line!r} in stream {stream!r}")
    return found[0], found[1]


def add_plan_line(
    session: Session,
    stream: str,
    year: FinancialYear,
    line: str,
    title: str,
    cost_pence: int,
    made: Provenance,
    objectives: str | None = None,
    pcc_objective: int | None = None,
    other_funding: str | None = None,
) -> Outcome:
    """Add an expenditure line to a spending plan by the plans' rules (an officer's): the
    command line's and the web's way to what the books' `plan` does. Raises PlanRefused."""
    access.require(session, "record")
    title = " ".join(title.split())
    if not title:
        raise PlanRefused("an expenditure title cannot be empty")
    if cost_pence < 0:
        raise PlanRefused(f"cost {gbp(from_pence(cost_pence))} is negative")
    if pcc_objective is not None and not 1 <= pcc_objective <= 5:
        raise PlanRefused(
            f"pcc-objective {pcc_objective} is not one of the PCC's objectives 1 to 5"
        )
    _, line_id = _line_ids(session, stream, line)
    Journal(session).lock()  # one change to the plans at a time
    outcome = Plans(session).add_line(NewPlanLine(
        stream, line, line_id, year.start, title, cost_pence, objectives, other_funding,
        pcc_objective, made,
    ))  # fmt: skip
    if outcome == "created":
        record_order(session, "plan_line")
    return outcome


def agree_plan(
    session: Session, stream: str, year: FinancialYear, line: str, made: Provenance
) -> Outcome:
    """Record that a spending plan is agreed (an officer's): its titles are then fixed, as
    the books' `agree` does. Raises PlanRefused."""
    access.require(session, "record")
    _, line_id = _line_ids(session, stream, line)
    Journal(session).lock()
    plans = Plans(session)
    outcome = plans.agree(line, line_id, year.start, made)
    if outcome == "created":
        record_order(session, "plan_agreement")
    return outcome


__all__ = [
    "NewPlanLine", "Outcome", "PlanRefused", "Plans", "Provenance", "add_plan_line", "agree_plan",
]  # fmt: skip
