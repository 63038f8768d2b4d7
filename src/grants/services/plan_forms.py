"""Spending plan forms: issued to each recipient, filled in, read back and recorded.

A plan form lists the lines already recorded for the recipient's allocation and year
(locked) and has room for new ones. grants.excel.plan_reader reads a filled form into rows,
each cell read by kind as a return's are; ``check_plan`` applies the form's rules and
``record_plan`` records the new lines by the plans' rules (grants.services.plans), the very
ones the books loader applies to `plan` directives: titles once per plan, a PCC strategic
objective for the PCC fund only, nothing added once the plan is agreed. The file's SHA-256
is each line's source, and its cell the line's origin. The command line and the web service
call the same functions, with the rows of a file on disk or of an upload.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants import formatting
from grants.db.engine import record_order
from grants.db.models import PlanAgreement, PlanFiling, PlanLine, Stream
from grants.errors import BooksError, GrantsError, NotFound
from grants.formatting import gbp
from grants.money import from_pence
from grants.periods import FinancialYear
from grants.services import access, form_identity, people
from grants.services.form_checks import Found, check_completed_on, verified
from grants.services.form_rows import PlanRows, Problem, Typed
from grants.services.journal import Journal
from grants.services.plans import NewPlanLine, PlanRefused, Plans, Provenance
from grants.services.returns import PLAN_STAGE, own_line, recipients, stages
from grants.services.returns_import import is_pence, keep_workbook
from grants.services.stream_texts import StreamWords, words
from grants.services.streams import stream_id as find_stream

MAX_TITLE = 200
_NEWLINES = re.compile(r"\r\n?")


@dataclass(frozen=True)
class PlannedLine:
    position: int
    title: str
    objectives: str | None
    pcc_objective: int | None
    cost_pence: int
    other_funding: str | None


@dataclass(frozen=True)
class PlanForm:
    stream: str
    stream_name: str
    pcc: bool  # the PCC Community Safety Fund: each line names a PCC strategic objective
    year: int
    line: str
    line_name: str
    recipient: str | None
    allocated_pence: int
    due: date | None
    lines: tuple[PlannedLine, ...]  # already recorded
    agreed: date | None
    stream_id: int = 0
    line_id: int = 0
    words: StreamWords = field(default_factory=StreamWords)  # the stream's names and headings
    identity: str = ""  # as issued (grants.services.form_identity): set by `issue_plan_forms`

    @property
    def fingerprint(self) -> str:
        """The stream, year, line, allocation and the lines recorded when it was issued."""
        text = "\x1f".join(
            [self.stream, str(self.year), self.line, str(self.allocated_pence)]
            + [f"{x.position}\x1e{x.title}\x1e{x.cost_pence}" for x in self.lines]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def issue_plan_forms(
    session: Session,
    stream: str,
    year: FinancialYear,
    line: str | None = None,
    display: Callable[[PlanForm], dict[str, object]] | None = None,
    now: datetime | None = None,
) -> list[PlanForm]:
    """The plan forms to issue (an officer's; see `plan_forms`); each plan not yet agreed
    is recorded as issued today with its identity (grants.services.form_identity), which
    covers its locked display cells as ``display`` gives them (as the face will write
    them: grants.excel.plan_form.display_cells). Without ``display``, only listed."""
    actor = access.require(session, "issue")
    found = plan_forms(session, stream, year, line)
    if display is None:
        return found
    moment = now or datetime.now().replace(microsecond=0)
    return [
        form if form.agreed is not None else replace(form, identity=form_identity.issue(
            session, form_identity.of_plan(session, form, moment.date()), display(form),
            actor.login, moment,
        ))
        for form in found
    ]  # fmt: skip


def open_plan_forms(forms: list[PlanForm], max_lines: int) -> tuple[list[PlanForm], list[str]]:
    """Of the plan forms issued, those a recipient can fill in (the plan not yet agreed, and
    fewer than ``max_lines`` lines, as many as a form holds), and why each other has none
    (``LINE: ...``); when none can, the face says why for each, then `no_open_plan`."""
    open_ones, without = [], []
    for form in forms:
        if form.agreed is not None:
            agreed = formatting.day(form.agreed)
            without.append(f"{form.line}: the plan was agreed on {agreed}; no form")
        elif len(form.lines) >= max_lines:
            full = len(form.lines)
            without.append(f"{form.line}: the plan already has {full} lines, as many as a form "
                           "holds; no form (add lines with `grants plan add`)")  # fmt: skip
        else:
            open_ones.append(form)
    return open_ones, without


def no_open_plan(stream: str, year: FinancialYear) -> GrantsError:
    """The refusal when no plan of the stream's year can take a form (`open_plan_forms`)."""
    return GrantsError(
        f"no plan of {stream} {year} can take a form (agreed, or full): nothing to ask for"
    )


def issue_own_plan_form(
    session: Session,
    stream: str,
    year: FinancialYear,
    line: str,
    display: Callable[[PlanForm], dict[str, object]],
    now: datetime | None = None,
) -> PlanForm:
    """One line's plan form for the person acting, recorded as issued to them (unless its
    plan is agreed): an officer's as `issue_plan_forms`; a recipient's only for a line of
    its own organisations (refused, and audited, for another's). NotFound if the line does
    not report in the year; GrantsError if its plan is agreed (no form is issued for it)."""
    actor = access.actor_of(session)
    if actor is not None and actor.may("issue"):
        found = issue_plan_forms(session, stream, year, line, display, now)
    else:
        line_id = own_line(session, stream, line)
        actor = access.require_line(session, "import", line_id,
                                    about=f"plan form of {stream} {line} {year}")  # fmt: skip
        moment = now or datetime.now().replace(microsecond=0)
        found = [
            form if form.agreed is not None else replace(form, identity=form_identity.issue(
                session, form_identity.of_plan(session, form, moment.date()), display(form),
                actor.login, moment,
            ))
            for form in plan_forms(session, stream, year, line)
        ]  # fmt: skip
    if not found:
        raise NotFound(f"{stream} {line} has no plan form in {year}")
    if found[0].agreed is not None:
        raise GrantsError(
            f"{stream} {line}'s spending plan for {year} was agreed on "
            f"{formatting.day(found[0].agreed)}: there is no form to fill in"
        )
    return found[0]


def plan_forms(
    session: Session, stream: str, year: FinancialYear, line: str | None = None
) -> list[PlanForm]:
    """A plan form for each line that reports in the year (see grants.services.returns)."""
    stream_id = find_stream(session, stream)
    name, kind = session.execute(
        select(Stream.name, Stream.kind).where(Stream.id == stream_id)
    ).one()
    due = stages(session, stream, year).get(PLAN_STAGE, (None, None))[1]
    recorded: dict[int, list[PlannedLine]] = {}
    for row in session.execute(
        select(
            PlanLine.line_id,
            PlanLine.position,
            PlanLine.title,
            PlanLine.objectives,
            PlanLine.pcc_objective,
            PlanLine.cost_pence,
            PlanLine.other_funding,
        )
        .where(PlanLine.year == year.start)
        .order_by(PlanLine.line_id, PlanLine.position)
    ):
        recorded.setdefault(row[0], []).append(PlannedLine(*row[1:]))
    agreed = dict(
        session.execute(
            select(PlanAgreement.line_id, PlanAgreement.day).where(PlanAgreement.year == year.start)
        ).all()
    )
    said = words(session, stream)
    out = [
        PlanForm(
            stream,
            name,
            kind == "pcc-csf",
            year.start,
            x.code,
            x.name,
            x.recipient,
            x.allocated_pence,
            due,
            tuple(recorded.get(x.id, ())),
            agreed.get(x.id),
            stream_id,
            x.id,
            said,
        )
        for x in recipients(session, stream_id, stream, year)
        if line is None or x.code == line
    ]
    if line is not None and not out:
        raise NotFound(f"{stream} has no line {line!r} with an allocation in {year} that plans")
    if not out:
        raise NotFound(f"{stream} has no allocations in {year}: no plans to ask for")
    return out


# -- checking a filled form --------------------------------------------------------------


@dataclass
class NewLine:
    row: int  # 0-based
    title: str
    objectives: str | None
    pcc_objective: int | None
    cost_pence: int
    other_funding: str | None
    cell: str = ""  # Plan!B13: the title's cell


@dataclass
class PlanFiled:
    file: str  # the file's name as received
    sha256: str
    form: PlanForm
    lines: list[NewLine]
    completed_by: str | None
    completed_on: date | None
    warnings: list[Problem] = field(default_factory=list)
    content: bytes = b""  # the workbook as received, kept with the plan filing

    @property
    def cost_pence(self) -> int:
        return sum(x.cost_pence for x in self.form.lines) + sum(x.cost_pence for x in self.lines)


def imported_before(session: Session, sha256: str) -> date | None:
    """The date of the plan lines recorded from the file with this SHA-256, if it was
    imported before."""
    filed = session.scalar(select(PlanFiling.received_on).where(PlanFiling.key == sha256))
    if filed is not None:
        return filed
    return session.scalar(
        select(PlanLine.day).where(PlanLine.source == f"plan sha256:{sha256}").limit(1)
    )


def check_plan(session: Session, rows: PlanRows) -> tuple[PlanFiled | None, list[Problem]]:
    """A received plan form's rows (grants.excel.plan_reader) checked against the form as
    it stands: the new lines to record, or every problem with its cell."""
    found = Found(rows.file)
    form = _form(session, rows, found)
    if form is None:
        return None, found.problems
    lines = _lines(rows, found, form)
    completed_by = found.take(rows.completed_by)
    completed_on = check_completed_on(rows, found, _earliest(form))
    if found.problems:
        return None, found.problems
    filed = PlanFiled(
        rows.file, rows.sha256, form, lines, completed_by, completed_on, content=rows.content
    )
    filed.warnings += found.notes
    gap = form.allocated_pence - filed.cost_pence
    if gap:
        share = "more than" if gap < 0 else "less than"
        filed.warnings.append(Problem(
            rows.file, rows.total_cost_ref,
            f"the plan's lines cost {gbp(from_pence(filed.cost_pence))}, "
            f"{gbp(from_pence(abs(gap)))} {share} the allocation of "
            f"{gbp(from_pence(form.allocated_pence))}: `grants reconcile` reports it until the "
            "plan and the allocation agree",
        ))  # fmt: skip
    return filed, []


def _form(session: Session, rows: PlanRows, found: Found) -> PlanForm | None:
    identity = verified(session, "plan", rows, found)
    if identity is None:
        return None
    stream, year, line = identity.stream, FinancialYear(identity.year), identity.line
    where = rows.identity.ref
    try:
        form = plan_forms(session, stream, year, line)[0]
    except GrantsError as exc:
        found.problem(where, f"this form is for {stream} {year} {line}, but {exc}")
        return None
    # Whatever the file says, a recipient files for its own lines only (refused, audited).
    access.require_line(session, "import", form.line_id, f"{rows.file} (SHA-256 {rows.sha256})")
    if form.agreed is not None:
        found.problem(
            where,
            f"the spending plan for {line} {year} was agreed on {formatting.day(form.agreed)}: its "
            "lines are fixed, and nothing can be added to it",
        )
        return None
    if form.fingerprint != identity.fingerprint:
        found.problem(
            where,
            "the form's identity does not match: it was altered, or the allocation or the plan "
            "has changed since the form was issued; ask for a new form (`grants plan issue`) "
            "and copy your lines into it",
        )
        return None
    return form


def _lines(rows: PlanRows, found: Found, form: PlanForm) -> list[NewLine]:
    for known, row in zip(form.lines, rows.rows, strict=False):  # issued filled in and locked
        if row.title.raw != known.title or not is_pence(row.cost.raw, known.cost_pence):
            found.problem(
                row.title.ref,
                f"line {known.position}, {known.title!r} at "
                f"{gbp(from_pence(known.cost_pence))}, is already recorded and cannot be "
                "changed here: use the form as issued",
            )
    lines: list[NewLine] = []
    seen = {x.title.casefold(): x.position for x in form.lines}
    for row in rows.rows[len(form.lines) :]:
        objective_cell = row.objective
        if not form.pcc and row.objective_not_pcc:
            objective_cell = Typed(row.objective.ref)  # as issued: for the PCC fund only
        inputs = (row.title, row.objectives, objective_cell, row.cost, row.other)
        if all(c.blank for c in inputs):
            continue
        # The title's length is checked below, once its spacing is tidied.
        title = found.take(row.title)
        objectives = found.take(row.objectives)
        cost = found.take(row.cost)
        objective = found.take(objective_cell)
        other = found.take(row.other)
        if title is None and row.title.problem is None:
            found.problem(row.title.ref, "the line has no expenditure title: give each line a "
                          "short title (returns will use it word for word)")  # fmt: skip
        elif title is not None:
            title = " ".join(title.split())
            if len(title) > MAX_TITLE:
                found.problem(row.title.ref, f"the title is {len(title):,} characters: keep it "
                              f"to {MAX_TITLE} and put the detail in the objectives")  # fmt: skip
            elif title.casefold() in seen:
                found.problem(row.title.ref, f"{title!r} is already line "
                              f"{seen[title.casefold()]}: each line of a plan needs its own "
                              "title")  # fmt: skip
            seen.setdefault(title.casefold(), row.position)  # the # shown
        if cost is None and row.cost.problem is None:
            found.problem(row.cost.ref, "give the line's cost to the fund, such as 12,345.67")
        if form.pcc:
            if objective is None and objective_cell.problem is None:
                found.problem(objective_cell.ref, "give the PCC strategic objective the line "
                              "serves, 1 to 5 (listed on the Instructions sheet)")  # fmt: skip
            elif objective is not None and not 1 <= objective <= 5:
                found.problem(
                    objective_cell.ref,
                    f"{objective} is not a PCC strategic objective: give 1 to 5 (listed on the "
                    "Instructions sheet)",
                )
        elif objective is not None:
            found.problem(objective_cell.ref, "a PCC strategic objective applies to the PCC "
                          "Community Safety Fund only: leave the cell blank")  # fmt: skip
        if title and cost is not None:
            lines.append(NewLine(
                row.row, title, _lines_of(objectives), objective, cost, _lines_of(other),
                row.title.ref,
            ))  # fmt: skip
    if not rows.total_label:
        found.problem(rows.total_ref, "the form's rows have been changed: rows must not be "
                      "added or removed; use the form as issued")  # fmt: skip
    for ref, value in rows.below:
        found.problem(ref, f"something was added below the form ({value!r}): a plan has at most "
                      f"{len(rows.rows)} lines; ask the council for a form with more")  # fmt: skip
    if not lines and not form.lines and not found.problems:
        found.problem(rows.rows[0].title.ref, "the plan has no lines: list each expenditure line "
                      "with its title and cost")  # fmt: skip
    return lines


def _lines_of(text: str | None) -> str | None:
    return _NEWLINES.sub("\n", text) if text else text


# -- recording ---------------------------------------------------------------------------


@dataclass
class PlanRecorded:
    created: int  # new plan lines
    unchanged: int  # lines the ledger already had, as they are
    filing_id: int | None = None  # the filing recorded (its receipt: plan #n), if any


def record_plan(
    session: Session, filed: PlanFiled, actor: str, received: date | None = None
) -> PlanRecorded:
    """Record the form's new lines in the session's transaction by the plans' rules
    (grants.services.plans, the books' own), dated the day the plan was received (default
    today); raises BooksError naming the cells on any refusal. An officer's, or the
    recipient's of the form's line (never another organisation's). Lines accepted are
    written to the audit log with them: who, which form, the file's SHA-256."""
    acting = access.require_line(session, "import", filed.form.line_id)
    received = received or date.today()
    now = datetime.now().replace(microsecond=0)
    form = filed.form
    if received > date.today() or received < _earliest(form):
        raise GrantsError(
            f"{filed.file}: received {formatting.day(received)}? A plan is received "
            f"from {formatting.day(_earliest(form))} (the start of the year before its own) up to "
            "today"
        )
    if not filed.lines:
        return PlanRecorded(0, 0)
    Journal(session).lock()  # a plan's lines are checked and added one import at a time
    plans = Plans(session)
    made = _provenance(filed, received)
    problems: list[object] = []
    outcomes: list[str] = []
    for x in filed.lines:
        new = NewPlanLine(
            form.stream, form.line, form.line_id, form.year, x.title, x.cost_pence,
            x.objectives, x.other_funding, x.pcc_objective,
            replace(made, origin=f"{filed.file}:{x.cell}"),
        )  # fmt: skip
        try:
            outcomes.append(plans.add_line(new))
        except PlanRefused as exc:
            problems.append(Problem(filed.file, x.cell, str(exc)))
    if problems:
        raise BooksError(problems)
    created = outcomes.count("created")
    if created:
        record_order(session, "plan_line", created)  # the lines, then the filing and workbook
        keep_workbook(session, filed.sha256, filed.file, filed.content)
        people.audit(
            session, acting, "filed", "import",
            f"spending plan {form.stream} {FinancialYear(form.year)} {form.line} from "
            f"{filed.file} (SHA-256 {filed.sha256}): {formatting.count(created, 'new line')}",
        )  # fmt: skip
        filing = PlanFiling(
            key=filed.sha256, stream_id=form.stream_id, line_id=form.line_id, year=form.year,
            filename=filed.file, actor=actor, recorded_at=now, received_on=received,
            completed_by=filed.completed_by, completed_on=filed.completed_on, lines=created,
        )  # fmt: skip
        session.add(filing)
        session.flush()
        return PlanRecorded(created, outcomes.count("unchanged"), filing.id)
    return PlanRecorded(created, outcomes.count("unchanged"))


def _earliest(form: PlanForm) -> date:
    """A plan is drawn up in the year before its own at the earliest."""
    return FinancialYear(form.year - 1).first_day


def _provenance(filed: PlanFiled, day: date) -> Provenance:
    """Where the form's lines come from: the file (by its SHA-256), who completed it and
    when, and the day it was received."""
    completed = "; ".join(
        x
        for x in (
            f"completed by {filed.completed_by}" if filed.completed_by else None,
            f"completed on {formatting.day(filed.completed_on)}" if filed.completed_on else None,
            f"received {formatting.day(day)}",
        )
        if x
    )
    return Provenance(day, f"plan sha256:{filed.sha256}", None, completed)


def describe(filed: PlanFiled) -> str:
    form = filed.form
    return (
        f"spending plan for {form.stream} {form.line} {FinancialYear(form.year)}: "
        f"{formatting.count(len(filed.lines), 'new line')}, {len(form.lines):,} already "
        "recorded, costing "
        f"{gbp(from_pence(filed.cost_pence))} of the allocation of "
        f"{gbp(from_pence(form.allocated_pence))}"
    )


__all__ = [
    "NewLine",
    "PlanFiled",
    "PlanForm",
    "PlanRecorded",
    "PlannedLine",
    "check_plan",
    "describe",
    "imported_before",
    "issue_own_plan_form",
    "issue_plan_forms",
    "no_open_plan",
    "open_plan_forms",
    "plan_forms",
    "record_plan",
]
