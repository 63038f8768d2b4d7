"""Return forms: what a recipient is asked to report for an allocation, year and stage.

A form lists the expenditure lines of the recipient's agreed spending plan (or, until a plan
is recorded, the allocation itself as one line). It carries its identity: the stream, year,
line, stage and a fingerprint of the plan it was issued for, so that an import knows what a
returned file is and refuses one issued for a plan that has since changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from grants.db.models import Line, Organisation, PlanAgreement, PlanLine, ReturnStage, Stream
from grants.errors import GrantsError, NotFound
from grants.periods import FinancialYear, Period
from grants.services import access, form_identity
from grants.services.balances import Balances
from grants.services.stream_texts import StreamWords, words
from grants.services.streams import stream_id as find_stream

PLAN_STAGE = "plan"  # the stage a spending plan is due by: met by the plan, not by a return


@dataclass(frozen=True)
class FormLine:
    position: int
    title: str
    cost_pence: int
    objectives: str | None


@dataclass(frozen=True)
class ReturnForm:
    stream: str
    stream_name: str
    year: int
    stage: str
    covers_to: date
    due: date | None
    line: str
    line_name: str
    recipient: str | None
    allocated_pence: int
    lines: tuple[FormLine, ...]
    planned: bool  # False: no plan recorded, the allocation is the one line
    agreed: date | None
    stream_id: int = 0
    line_id: int = 0
    words: StreamWords = field(default_factory=StreamWords)  # the stream's names and headings
    identity: str = ""  # as issued (grants.services.form_identity): set by `issue_forms`

    @property
    def fingerprint(self) -> str:
        """Identifies the form: its stream, year, line and stage and the plan it was issued
        for (titles and costs, in order), so that none of them can be changed unnoticed."""
        head = f"{self.stream}\x1f{self.year}\x1f{self.line}\x1f{self.stage}"
        text = (
            head
            + "\x1d"
            + "\x1f".join(f"{x.position}\x1e{x.title}\x1e{x.cost_pence}" for x in self.lines)
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def covers_from(self) -> date:
        return FinancialYear(self.year).first_day


def stages(session: Session, stream: str, year: FinancialYear) -> dict[str, tuple[date, date]]:
    """The stream's reporting calendar for a year: stage -> (last day covered, due date)."""
    return {
        stage: (covers_to, due)
        for stage, covers_to, due in session.execute(
            select(ReturnStage.stage, ReturnStage.covers_to, ReturnStage.due)
            .join(Stream, Stream.id == ReturnStage.stream_id)
            .where(Stream.code == stream, ReturnStage.year == year.start)
            .order_by(ReturnStage.covers_to)
        )
    }


@dataclass(frozen=True)
class Recipient:
    """A line that reports for a year: funded in it, with no funded lines beneath it (a
    partnership's districts report, not the partnership)."""

    id: int
    code: str
    name: str
    recipient: str | None
    allocated_pence: int


def recipients(
    session: Session,
    stream_id: int,
    stream: str,
    year: FinancialYear,
    balances: Balances | None = None,
) -> list[Recipient]:
    """The lines that report for the year (``balances``: the stream's, if already read)."""
    period = Period(year, year)
    balances = balances or Balances(session, stream)
    recipient = aliased(Organisation)
    lines = session.execute(
        select(Line.id, Line.code, Line.name, Line.parent_id, recipient.name)
        .outerjoin(recipient, recipient.id == Line.recipient_id)
        .where(Line.stream_id == stream_id)
        .order_by(Line.id)
    ).all()
    funded = {x.id for x in lines if balances.has_line(stream, period, x.code)}
    parents = {x.parent_id for x in lines if x.id in funded}
    return [
        Recipient(
            x.id, x.code, x.name, x[4], balances.value(stream, period, "allocated", x.code) or 0
        )
        for x in lines
        if x.id in funded and x.id not in parents
    ]


def issue_forms(
    session: Session,
    stream: str,
    year: FinancialYear,
    stage: str,
    line: str | None = None,
    display: Callable[[ReturnForm], dict[str, object]] | None = None,
    now: datetime | None = None,
) -> list[ReturnForm]:
    """The forms to issue (an officer's; see `forms`), each recorded as issued today with
    its identity (grants.services.form_identity). ``display`` gives the locked display
    cells of a form as the face will write them (grants.excel.return_form.display_cells):
    the identity covers them. Without it, the forms are only listed (no identity)."""
    actor = access.require(session, "issue")
    found = forms(session, stream, year, stage, line)
    if display is None:
        return found
    moment = now or datetime.now().replace(microsecond=0)
    return [
        replace(form, identity=form_identity.issue(
            session, form_identity.of_return(session, form, moment.date()), display(form),
            actor.login, moment,
        ))
        for form in found
    ]  # fmt: skip


def issue_own_form(
    session: Session,
    stream: str,
    year: FinancialYear,
    stage: str,
    line: str,
    display: Callable[[ReturnForm], dict[str, object]],
    now: datetime | None = None,
) -> ReturnForm:
    """One line's return form for the person acting, recorded as issued to them: an
    officer's as `issue_forms`; a recipient's only for a line of its own organisations (it
    may file the line's return, so it may take the line's form; refused, and audited, for
    another organisation's line). NotFound if the line has no form at that stage."""
    actor = access.actor_of(session)
    if actor is not None and actor.may("issue"):
        found = issue_forms(session, stream, year, stage, line, display, now)
    else:
        line_id = own_line(session, stream, line)
        actor = access.require_line(session, "import", line_id,
                                    about=f"{stage} form of {stream} {line} {year}")  # fmt: skip
        moment = now or datetime.now().replace(microsecond=0)
        found = [
            replace(form, identity=form_identity.issue(
                session, form_identity.of_return(session, form, moment.date()), display(form),
                actor.login, moment,
            ))
            for form in forms(session, stream, year, stage, line)
        ]  # fmt: skip
    if not found:
        raise NotFound(f"{stream} {line} has no {stage} return form in {year}")
    return found[0]


def own_line(session: Session, stream: str, line: str) -> int:
    """The id of the line ``line`` of ``stream``; NotFound if there is none."""
    found = session.scalar(
        select(Line.id).join(Stream, Stream.id == Line.stream_id)
        .where(Stream.code == stream, Line.code == line)
    )  # fmt: skip
    if found is None:
        raise NotFound(f"{stream} has no line {line!r}")
    return found


def forms(
    session: Session, stream: str, year: FinancialYear, stage: str, line: str | None = None
) -> list[ReturnForm]:
    """A form for each recipient line with an allocation in the year and no allocated
    lines beneath it (a partnership's districts report, not the partnership)."""
    stream_id = find_stream(session, stream)
    calendar = stages(session, stream, year)
    if stage not in calendar:
        known = ", ".join(calendar) or "none"
        raise GrantsError(
            f"{stream} has no stage {stage!r} in {year} (stages: {known}): set the reporting "
            "calendar in the books with `due`"
        )
    if stage == PLAN_STAGE:
        raise GrantsError(
            f"the {PLAN_STAGE} stage is met by a spending plan, not a return: issue plan forms "
            f"with `grants plan issue --stream {stream} --year {year}`"
        )
    covers_to, due = calendar[stage]
    reporting = recipients(session, stream_id, stream, year)
    plans: dict[int, list[FormLine]] = {}
    for line_id, position, title, cost, objectives in session.execute(
        select(
            PlanLine.line_id, PlanLine.position, PlanLine.title, PlanLine.cost_pence,
            PlanLine.objectives,
        )
        .where(PlanLine.year == year.start)
        .order_by(PlanLine.line_id, PlanLine.position)
    ):  # fmt: skip
        plans.setdefault(line_id, []).append(FormLine(position, title, cost, objectives))
    agreed = dict(
        session.execute(
            select(PlanAgreement.line_id, PlanAgreement.day).where(PlanAgreement.year == year.start)
        ).all()
    )
    said = words(session, stream)  # the stream's name among them
    stream_name = said.values["stream_name"] or stream
    out = []
    for x in reporting:
        if line is not None and x.code != line:
            continue
        planned = plans.get(x.id)
        form_lines = planned or [FormLine(1, x.name, x.allocated_pence, None)]
        out.append(
            ReturnForm(
                stream, stream_name, year.start, stage, covers_to, due, x.code, x.name,
                x.recipient, x.allocated_pence, tuple(form_lines), planned is not None,
                agreed.get(x.id), stream_id, x.id, said,
            )
        )  # fmt: skip
    if line is not None and not out:
        raise NotFound(
            f"{stream} has no line {line!r} with an allocation in {year} that reports "
            "(lines with allocated lines beneath them report through those)"
        )
    if not out:
        raise NotFound(f"{stream} has no allocations in {year}: no returns to issue")
    return out


__all__ = [
    "PLAN_STAGE", "FormLine", "Recipient", "ReturnForm", "forms", "issue_forms", "issue_own_form",
    "own_line", "recipients", "stages",
]  # fmt: skip
