"""Spending plan forms: issued to each recipient, filled in, read back and recorded.

A plan form lists the lines already recorded for the recipient's allocation and year
(locked) and has room for new ones. Reading it back checks every cell as a return's cells
are checked (``grants.services.returns_import.CellReader``); recording writes the new lines
as the books' own `plan` directives through the books loader, so a plan from a workbook is
held to exactly the rules of a plan in the books: titles once per plan, costs not negative,
a PCC strategic objective 1-5 for the PCC fund only, nothing added once the plan is agreed.
The file's SHA-256 is each line's source, and its cell the line's origin.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants import formatting
from grants.db.models import PlanAgreement, PlanFiling, PlanLine, Stream
from grants.errors import BooksError, GrantsError, NotFound, PeriodError
from grants.excel import plan_form as grid
from grants.excel.form_header import instructions_sheet, total_labels
from grants.excel.safe_read import EMPTY, Sheet, UnsafeFile, read_sheet
from grants.formatting import gbp
from grants.ledger import loader
from grants.ledger.printer import amount, quote
from grants.money import from_pence
from grants.periods import FinancialYear, parse_year
from grants.services import access
from grants.services.returns import PLAN_STAGE, recipients, stages
from grants.services.returns_import import (
    CellReader,
    Problem,
    is_pence,
    keep_workbook,
    sha256_of,
)
from grants.services.stream_texts import StreamWords, words
from grants.services.streams import stream_id as find_stream
from grants.text import MAX_FREE, Kind

FORMAT = "grants plan form 1"  # the layout version written into every form
MAX_TITLE = 200
MAX_ROWS, MAX_COLUMNS = 1000, 50
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

    @property
    def fingerprint(self) -> str:
        """The stream, year, line, allocation and the lines recorded when it was issued."""
        text = "\x1f".join(
            [self.stream, str(self.year), self.line, str(self.allocated_pence)]
            + [f"{x.position}\x1e{x.title}\x1e{x.cost_pence}" for x in self.lines]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def identity(self) -> str:
        return f"{FORMAT}|{self.stream}|{FinancialYear(self.year)}|{self.line}|{self.fingerprint}"


def issue_plan_forms(
    session: Session, stream: str, year: FinancialYear, line: str | None = None
) -> list[PlanForm]:
    """The plan forms to issue (an officer's): see `plan_forms`."""
    access.require(session, "issue")
    return plan_forms(session, stream, year, line)


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


# -- reading a filled form ---------------------------------------------------------------


@dataclass
class NewLine:
    row: int  # 0-based
    title: str
    objectives: str | None
    pcc_objective: int | None
    cost_pence: int
    other_funding: str | None


@dataclass
class PlanFiled:
    path: Path
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


def _identity(value: object) -> tuple[str, FinancialYear, str, str] | None:
    parts = str(value or "").split("|")
    if len(parts) != 5 or parts[0] != FORMAT:
        return None
    try:
        year = parse_year(parts[2])
    except PeriodError:
        return None
    return parts[1], year, parts[3], parts[4]


def imported_before(session: Session, path: Path) -> date | None:
    """The date of the plan lines recorded from this very file, if it was imported before."""
    try:
        digest = sha256_of(path)
    except OSError:
        return None
    filed = session.scalar(select(PlanFiling.received_on).where(PlanFiling.key == digest))
    if filed is not None:
        return filed
    return session.scalar(
        select(PlanLine.day).where(PlanLine.source == f"plan sha256:{digest}").limit(1)
    )


def read_plan(session: Session, path: Path) -> tuple[PlanFiled | None, list[Problem]]:
    """A filled plan form, every cell checked; or the problems, each with its cell."""
    try:
        sheet = read_sheet(path, grid.SHEET, MAX_ROWS, MAX_COLUMNS)
    except UnsafeFile as exc:
        return None, [Problem(path.name, None, f"{exc} [{exc.code}]")]
    if grid.SHEET not in sheet.sheetnames:
        return None, [
            Problem(
                path.name,
                None,
                f"there is no sheet {grid.SHEET!r}: this is not "
                "a plan form issued by `grants plan issue` [E_TEMPLATE_MISMATCH]",
            )
        ]
    reader = CellReader(path, grid.SHEET)
    if sheet.beyond is not None:
        reader.problem(
            *sheet.beyond,
            "the sheet is filled far beyond the form: use the form as issued [E_SHEET_TOO_BIG]",
        )
        return None, reader.problems
    form = _form(session, sheet, reader)
    if form is None:
        return None, reader.problems
    lines = _lines(sheet, reader, form)
    completed_by = reader.text(
        sheet.at(grid.COMPLETED_BY_ROW, 1), grid.COMPLETED_BY_ROW, 1, "completed by"
    )
    completed_on = reader.day(
        sheet.at(grid.COMPLETED_ON_ROW, 1),
        grid.COMPLETED_ON_ROW,
        1,
        "the date completed",
        _earliest(form),
    )
    if reader.problems:
        return None, reader.problems
    filed = PlanFiled(
        path, sheet.sha256, form, lines, completed_by, completed_on, content=sheet.content
    )
    filed.warnings += reader.notes
    gap = form.allocated_pence - filed.cost_pence
    if gap:
        share = "more than" if gap < 0 else "less than"
        filed.warnings.append(
            Problem(
                path.name,
                f"{grid.SHEET}!{grid.cell(grid.TOTAL_ROW, grid.COST)}",
                f"the plan's lines cost {gbp(from_pence(filed.cost_pence))}, "
                f"{gbp(from_pence(abs(gap)))} {share} the allocation of "
                f"{gbp(from_pence(form.allocated_pence))}: `grants reconcile` reports it until the "
                "plan and the allocation agree",
            )
        )
    extra = [n for n in sheet.sheetnames if n not in (grid.SHEET, instructions_sheet("plan-form"))]
    if extra:
        names = ", ".join(map(repr, extra))
        filed.warnings.append(
            Problem(
                path.name,
                None,
                f"the workbook has sheets the form does not: {names}; they were not read",
            )
        )
    hidden = sorted(r for r in sheet.hidden_rows if grid.FIRST_LINE_ROW <= r < grid.TOTAL_ROW)
    if hidden:
        shown = ", ".join(str(r + 1) for r in hidden)
        filed.warnings.append(
            Problem(
                path.name,
                None,
                f"{'row' if len(hidden) == 1 else 'rows'} {shown} of the form "
                f"{'is' if len(hidden) == 1 else 'are'} hidden; their lines were read as they are",
            )
        )
    return filed, []


def _form(session: Session, sheet: Sheet, reader: CellReader) -> PlanForm | None:
    identity = _identity(sheet.at(grid.FORM_ROW, 1).value)
    if identity is None:
        reader.problem(
            grid.FORM_ROW,
            1,
            "the form's identity is missing or altered: use the "
            "form as issued [E_TEMPLATE_MISMATCH]",
        )
        return None
    stream, year, line, fingerprint = identity
    try:
        form = plan_forms(session, stream, year, line)[0]
    except GrantsError as exc:
        reader.problem(grid.FORM_ROW, 1, f"this form is for {stream} {year} {line}, but {exc}")
        return None
    if form.agreed is not None:
        reader.problem(
            grid.FORM_ROW,
            1,
            f"the spending plan for {line} {year} was agreed on {formatting.day(form.agreed)}: its "
            "lines are fixed, and nothing can be added to it",
        )
        return None
    if form.fingerprint != fingerprint:
        reader.problem(
            grid.FORM_ROW,
            1,
            "the form's identity does not match: it was altered, or the allocation or the plan "
            "has changed since the form was issued; ask for a new form (`grants plan issue`) "
            "and copy your lines into it",
        )
        return None
    return form


def _lines(sheet: Sheet, reader: CellReader, form: PlanForm) -> list[NewLine]:
    at = sheet.at
    for i, known in enumerate(form.lines):  # issued filled in and locked
        row = grid.FIRST_LINE_ROW + i
        if at(row, grid.TITLE).value != known.title or not is_pence(
            at(row, grid.COST).value, known.cost_pence
        ):
            reader.problem(
                row, grid.TITLE,
                f"line {known.position}, {known.title!r} at "
                f"{gbp(from_pence(known.cost_pence))}, is already recorded and cannot be "
                "changed here: use the form as issued",
            )  # fmt: skip
    lines: list[NewLine] = []
    seen = {x.title.casefold(): x.position for x in form.lines}
    for row in range(grid.FIRST_LINE_ROW + len(form.lines), grid.TOTAL_ROW):
        cells = {col: at(row, col) for col in grid.INPUT_COLUMNS}
        if not form.pcc and cells[grid.OBJECTIVE].value == grid.not_pcc():
            cells[grid.OBJECTIVE] = EMPTY  # as issued: the column is for the PCC fund only
        if all(c.value is None or str(c.value).strip() == "" for c in cells.values()):
            continue
        # The title's length is checked below, once its spacing is tidied.
        title = reader.text(cells[grid.TITLE], row, grid.TITLE, "the expenditure title",
                            Kind.NAME, MAX_FREE)  # fmt: skip
        objectives = reader.text(cells[grid.OBJECTIVES], row, grid.OBJECTIVES, "the objectives",
                                 Kind.FREE)  # fmt: skip
        cost = reader.money(cells[grid.COST], row, grid.COST, "the cost to the fund")
        objective = reader.count(
            cells[grid.OBJECTIVE], row, grid.OBJECTIVE, "the PCC strategic objective"
        )
        other = reader.text(cells[grid.OTHER], row, grid.OTHER, "other funding", Kind.FREE)
        if title is None and not _error_at(reader, row, grid.TITLE):
            reader.problem(
                row,
                grid.TITLE,
                "the line has no expenditure title: give each line "
                "a short title (returns will use it word for word)",
            )
        elif title is not None:
            title = " ".join(title.split())
            if len(title) > MAX_TITLE:
                reader.problem(
                    row,
                    grid.TITLE,
                    f"the title is {len(title):,} characters: keep "
                    f"it to {MAX_TITLE} and put the detail in the objectives",
                )
            elif title.casefold() in seen:
                reader.problem(
                    row,
                    grid.TITLE,
                    f"{title!r} is already line {seen[title.casefold()]}"
                    ": each line of a plan needs its own title",
                )
            seen.setdefault(title.casefold(), row - grid.FIRST_LINE_ROW + 1)  # the # shown
        if cost is None and not _error_at(reader, row, grid.COST):
            reader.problem(row, grid.COST, "give the line's cost to the fund, such as 12,345.67")
        if form.pcc:
            if objective is None and not _error_at(reader, row, grid.OBJECTIVE):
                reader.problem(
                    row,
                    grid.OBJECTIVE,
                    "give the PCC strategic objective the line "
                    "serves, 1 to 5 (listed on the Instructions sheet)",
                )
            elif objective is not None and not 1 <= objective <= 5:
                reader.problem(
                    row,
                    grid.OBJECTIVE,
                    f"{objective} is not a PCC strategic "
                    "objective: give 1 to 5 (listed on the Instructions sheet)",
                )
        elif objective is not None:
            reader.problem(
                row,
                grid.OBJECTIVE,
                "a PCC strategic objective applies to the PCC "
                "Community Safety Fund only: leave the cell blank",
            )
        if title and cost is not None:
            lines.append(
                NewLine(row, title, _lines_of(objectives), objective, cost, _lines_of(other))
            )
    total_label = str(at(grid.TOTAL_ROW, grid.TITLE).value or "").strip()
    if total_label not in total_labels("plan-form"):
        reader.problem(
            grid.TOTAL_ROW,
            grid.TITLE,
            "the form's rows have been changed: rows must "
            "not be added or removed; use the form as issued",
        )
    for row in range(grid.TOTAL_ROW + 2, len(sheet.rows)):
        for col, c in enumerate(sheet.rows[row]):
            if c.value not in (None, ""):
                reader.problem(
                    row,
                    col,
                    f"something was added below the form ({c.value!r}): "
                    f"a plan has at most {grid.MAX_LINES} lines; ask the council "
                    "for a form with more",
                )
                break
    if not lines and not form.lines and not reader.problems:
        reader.problem(
            grid.FIRST_LINE_ROW,
            grid.TITLE,
            "the plan has no lines: list each expenditure line with its title and cost",
        )
    return lines


def _error_at(reader: CellReader, row: int, col: int) -> bool:
    """Whether the cell already has a problem reported (one message a cell)."""
    return any(p.where and p.where.endswith(f"!{grid.cell(row, col)}") for p in reader.problems)


def _lines_of(text: str | None) -> str | None:
    return _NEWLINES.sub("\n", text) if text else text


# -- recording ---------------------------------------------------------------------------


@dataclass
class PlanRecorded:
    created: int  # new plan lines
    unchanged: int  # lines the ledger already had, as they are


def record_plan(
    session: Session, filed: PlanFiled, actor: str, received: date | None = None
) -> PlanRecorded:
    """Record the form's new lines in the session's transaction, dated the day the plan was
    received (default today); raises GrantsError naming the cells on any refusal. An
    officer's, or the recipient's of the form's line (never another organisation's)."""
    access.require_line(session, "import", filed.form.line_id)
    received = received or date.today()
    now = datetime.now().replace(microsecond=0)
    form = filed.form
    if received > date.today() or received < _earliest(form):
        raise GrantsError(
            f"{filed.path.name}: received {formatting.day(received)}? A plan is received "
            f"from {formatting.day(_earliest(form))} (the start of the year before its own) up to "
            "today"
        )
    text, rows = _directives(filed, received)
    if not rows:
        return PlanRecorded(0, 0)
    with tempfile.TemporaryDirectory(prefix="grants-plan-") as folder:
        path = Path(folder) / "plan.grants"
        path.write_text(text, encoding="utf-8")
        try:
            report = loader.load(session, path, actor, now, permission="import")
        except BooksError as exc:
            problems: list[object] = []
            for problem in exc.problems:
                row = _row_for(rows, problem.line)
                where = f"{grid.SHEET}!{grid.cell(row, grid.TITLE)}" if row is not None else None
                problems.append(Problem(filed.path.name, where, problem.message))
            raise BooksError(problems) from None
    created = report.created["plan line"]
    if created:
        keep_workbook(session, filed.sha256, filed.path.name, filed.content)
        session.add(
            PlanFiling(
                key=filed.sha256, stream_id=form.stream_id, line_id=form.line_id, year=form.year,
                filename=filed.path.name, actor=actor, recorded_at=now, received_on=received,
                completed_by=filed.completed_by, completed_on=filed.completed_on, lines=created,
            )
        )  # fmt: skip
    return PlanRecorded(created, report.skipped["plan line"])


def _earliest(form: PlanForm) -> date:
    """A plan is drawn up in the year before its own at the earliest."""
    return FinancialYear(form.year - 1).first_day


def _directives(filed: PlanFiled, day: date) -> tuple[str, list[tuple[int, int]]]:
    """The books text of the new lines, and (books line, form row) for each directive."""
    form = filed.form
    out: list[str] = []
    rows: list[tuple[int, int]] = []
    year = FinancialYear(form.year)
    completed = "; ".join(
        x
        for x in (
            f"completed by {filed.completed_by}" if filed.completed_by else None,
            f"completed on {formatting.day(filed.completed_on)}" if filed.completed_on else None,
            f"received {formatting.day(day)}",
        )
        if x
    )
    for x in filed.lines:
        rows.append((len(out) + 1, x.row))
        out.append(f"{day} plan {form.stream} {year} {form.line} {quote(x.title)}")
        meta: list[tuple[str, Any]] = [
            ("cost", amount(x.cost_pence)),
            ("objectives", x.objectives),
            ("pcc-objective", x.pcc_objective),
            ("other-funding", x.other_funding),
            ("origin", f"{filed.path.name}:{grid.SHEET}!{grid.cell(x.row, grid.TITLE)}"),
            ("source", f"plan sha256:{filed.sha256}"),
            ("note", completed),
        ]
        out += [f"  {k}: {quote(str(v))}" for k, v in meta if v is not None]
        out.append("")
    return "\n".join(out) + "\n", rows


def _row_for(rows: list[tuple[int, int]], line: int) -> int | None:
    found = None
    for start, row in rows:
        if start <= line:
            found = row
    return found


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
    "FORMAT",
    "NewLine",
    "PlanFiled",
    "PlanForm",
    "PlanRecorded",
    "PlannedLine",
    "describe",
    "plan_forms",
    "read_plan",
    "record_plan",
]
