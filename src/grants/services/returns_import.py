"""Importing a filled return form: every cell checked, then recorded whole or not at all.

Reading (``read_return``) needs the database only to know what the form should hold: the
stream's calendar and the recipient's plan. It collects every problem with its cell, as
``file.xlsx:Return!D13: message``. Recording (``record``) writes the filing, its figures and
the journal entries of reported spend in the caller's transaction: a corrected resubmission
supersedes the earlier filing (both are kept) and the earlier filing's spend entries are
reversed; the same file twice changes nothing.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from grants import formatting
from grants.db.models import (
    Attachment,
    Entry,
    Line,
    ReturnFigure,
    ReturnFiling,
    ReturnStage,
    Stream,
)
from grants.errors import (
    GrantsError,
    MoneyError,
    MoneyLimitError,
    NotFound,
    PeriodError,
    TextError,
)
from grants.excel import return_form as grid
from grants.excel.book import cell as grid_cell
from grants.excel.form_header import instructions_sheet, total_labels
from grants.excel.safe_read import Sheet, UnsafeFile, read_sheet
from grants.formatting import gbp
from grants.money import from_pence, money, to_pence
from grants.periods import FinancialYear, Period, parse_year
from grants.services import access
from grants.services.journal import Catalog, Journal, NewEntry
from grants.services.returns import FORMAT, ReturnForm, forms
from grants.services.rules import Operation
from grants.text import Kind, clean, refused

MAX_ROWS, MAX_COLUMNS = 1000, 50
PROGRESS = "progress and outcomes"
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_COUNT = re.compile(r"^[0-9]{1,3}(?:,[0-9]{3})*$|^[0-9]+$")
_UK_DATE = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass
class Problem:
    file: str
    where: str | None  # Sheet!C14
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.where}: {self.message}"
            if self.where
            else (f"{self.file}: {self.message}")
        )


@dataclass
class Figure:
    position: int
    title: str
    cell: str
    spend_pence: int | None
    progress: str | None
    measure: str | None
    target: int | None
    actual: int | None


@dataclass
class Filed:
    """A return read and checked, ready to record."""

    path: Path
    sha256: str
    form: ReturnForm
    figures: list[Figure]
    completed_by: str | None
    completed_on: date | None
    stated_total_pence: int | None
    warnings: list[Problem] = field(default_factory=list)
    content: bytes = b""  # the workbook as received, kept with the filing

    @property
    def spend_pence(self) -> int:
        return sum(f.spend_pence or 0 for f in self.figures)


@dataclass
class Recorded:
    filing_id: int | None  # None: the same file was imported before
    superseded: ReturnFiling | None
    entries: int
    earlier: ReturnFiling | None = None  # the filing of the same file, if any


def _shown_by_excel(escape: str, code: str) -> str:
    ch = chr(int(code, 16))
    return ch if refused(ch) or ch in "\t\n\r" else escape


def _cell(row: int, col: int) -> str:
    return f"{grid.SHEET}!{grid_cell(row, col)}"


class CellReader:
    """Reads a sent form's cells by kind, collecting every problem with its cell."""

    def __init__(self, path: Path, sheet: str = grid.SHEET) -> None:
        self.path = path
        self.sheet = sheet
        self.problems: list[Problem] = []
        self.notes: list[Problem] = []  # accepted, but worth a word: text read as an amount

    def problem(self, row: int | None, col: int | None, message: str) -> None:
        where = (
            f"{self.sheet}!{grid_cell(row, col)}" if row is not None and col is not None else None
        )
        self.problems.append(Problem(self.path.name, where, message))

    # -- typed cells -------------------------------------------------------------------

    def money(self, c: Any, row: int, col: int, what: str) -> int | None:
        value, kind = c.value, getattr(c, "data_type", None)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if kind == "f" or (isinstance(value, str) and value.lstrip().startswith("=")):
            self.problem(row, col, f"{what} is a formula ({value}): type the amount itself")
            return None
        if kind == "e":
            self.problem(row, col, f"{what} is an error value ({value}): type the amount")
            return None
        if isinstance(value, bool) or isinstance(value, datetime | date):
            self.problem(row, col, f"{what} is not an amount ({value}): type pounds and pence")
            return None
        try:
            if isinstance(value, float):
                if not math.isfinite(value):
                    raise MoneyError(f"{value} is not an amount")
                # As Excel shows it (15 significant digits), written out in full: a huge
                # number is then refused as too large, not as "1e+15" being no amount.
                shown = Decimal(format(value, ".15g"))
                amount = money(int(shown) if shown == shown.to_integral() else f"{shown:f}")
            elif isinstance(value, int):
                amount = money(value)
            else:
                amount = money(str(value).strip())
        except MoneyLimitError as exc:
            self.problem(row, col, f"{what}: {str(exc).split('; ', 1)[0]}; check the amount")
            return None
        except MoneyError as exc:
            # The books' hint speaks of negative amounts, which no cell of a form takes.
            reason = str(exc).split(": write it like", 1)[0]
            self.problem(row, col, f"{what}: {reason}: type pounds and pence, such as 12,345.67 "
                         "or £12,345.67")  # fmt: skip
            return None
        pence = to_pence(amount)
        if pence < 0:
            self.problem(row, col, f"{what} cannot be negative ({gbp(amount)})")
            return None
        if isinstance(value, str):
            where = f"{self.sheet}!{grid_cell(row, col)}"
            self.notes.append(Problem(self.path.name, where, f"{what} was typed as text "
                                      f"({value.strip()!r}); read as {gbp(amount)}"))  # fmt: skip
        return pence

    def count(self, c: Any, row: int, col: int, what: str) -> int | None:
        value, kind = c.value, getattr(c, "data_type", None)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if kind in ("f", "e") or isinstance(value, bool | datetime | date):
            self.problem(row, col, f"{what} must be a whole number typed in, not {value!r}")
            return None
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and _COUNT.match(value.strip()):
            value = int(value.strip().replace(",", ""))
        if not isinstance(value, int) or value < 0 or value > 10**12:
            self.problem(row, col, f"{what} must be a whole number, 0 or more (not {value!r})")
            return None
        return value

    def text(
        self,
        c: Any,
        row: int,
        col: int,
        what: str,
        field: Kind = Kind.VALUE,
        limit: int | None = None,
    ) -> str | None:
        """A cell's text, checked as a field of kind ``field`` (grants.text): a control,
        bidirectional or invisible character is refused with the cell, never removed."""
        value, kind = c.value, getattr(c, "data_type", None)
        if value is None:
            return None
        if kind == "f":
            self.problem(row, col, f"{what} is a formula: type the text itself")
            return None
        if kind == "e":
            self.problem(row, col, f"{what} is an error value ({value}): type the text")
            return None
        raw = value if isinstance(value, str) else str(value)
        # Excel shows _x001B_ in a file's text as the character U+001B (openpyxl keeps the
        # six characters): read it as Excel shows it when it is a character refused anyway.
        raw = _EXCEL_ESCAPE.sub(lambda m: _shown_by_excel(m.group(0), m.group(1)), raw)
        try:
            text = clean(raw, what, field, limit)
        except TextError as exc:
            self.problem(row, col, str(exc))
            return None
        return text.strip() or None

    def day(self, c: Any, row: int, col: int, what: str, earliest: date) -> date | None:
        value, kind = c.value, getattr(c, "data_type", None)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        found: date | None = None
        if isinstance(value, datetime):
            found = value.date()
        elif isinstance(value, date):
            found = value
        elif isinstance(value, str) and kind != "f":
            text = value.strip()
            match = _UK_DATE.match(text)
            try:
                if match:
                    found = date(int(match[3]), int(match[2]), int(match[1]))
                elif _ISO_DATE.match(text):
                    found = date.fromisoformat(text)
            except ValueError:
                found = None
        if found is None:
            self.problem(row, col, f"{what} is not a date ({value!r}): type it as 31/10/2017")
            return None
        if found < earliest or found > date.today():
            self.problem(
                row, col, f"{what} {found:%d/%m/%Y} is not between {earliest:%d/%m/%Y} and today"
            )
            return None
        return found


def _identity(value: object) -> tuple[str, FinancialYear, str, str, str] | None:
    parts = str(value or "").split("|")
    if len(parts) != 6 or parts[0] != FORMAT:
        return None
    try:
        year = parse_year(parts[2])
    except PeriodError:
        return None
    return parts[1], year, parts[3], parts[4], parts[5]


class Forms:
    """The forms as they stand, worked out once per stream, year and stage for a command
    that imports many returns (nothing an import records changes a form)."""

    def __init__(self) -> None:
        self._forms: dict[tuple[str, int, str], dict[str, ReturnForm] | GrantsError] = {}

    def get(
        self, session: Session, stream: str, year: FinancialYear, stage: str, line: str
    ) -> ReturnForm:
        key = (stream, year.start, stage)
        if key not in self._forms:
            try:
                self._forms[key] = {f.line: f for f in forms(session, stream, year, stage)}
            except GrantsError as exc:
                self._forms[key] = exc
        found = self._forms[key]
        if isinstance(found, GrantsError):
            raise found
        if line not in found:
            raise NotFound(f"{stream} has no line {line!r} with an allocation in {year} that "
                           "reports")  # fmt: skip
        return found[line]


def read_return(
    session: Session, path: Path, known: Forms | None = None
) -> tuple[Filed | None, list[Problem]]:
    reader = CellReader(path)
    known = known or Forms()
    try:
        sheet = read_sheet(path, grid.SHEET, MAX_ROWS, MAX_COLUMNS)
    except UnsafeFile as exc:
        return None, [Problem(path.name, None, f"{exc} [{exc.code}]")]
    return _read(session, path, sheet, reader, known)


def _read(
    session: Session, path: Path, sheet: Sheet, reader: CellReader, known: Forms
) -> tuple[Filed | None, list[Problem]]:
    if grid.SHEET not in sheet.sheetnames:
        return None, [Problem(path.name, None, f"there is no sheet {grid.SHEET!r}: this is "
                              "not a return form issued by `grants returns issue` "
                              "[E_TEMPLATE_MISMATCH]")]  # fmt: skip
    if sheet.beyond is not None:
        message = "the sheet is filled far beyond the form: use the form as issued"
        return None, [Problem(path.name, _cell(*sheet.beyond), f"{message} [E_SHEET_TOO_BIG]")]
    rows, at = sheet.rows, sheet.at

    identity = _identity(at(grid.FORM_ROW, 1).value)
    if identity is None:
        reader.problem(grid.FORM_ROW, 1, "the form's identity is missing or altered: use the "
                       "form as issued [E_TEMPLATE_MISMATCH]")  # fmt: skip
        return None, reader.problems
    stream, year, line, stage, fingerprint = identity
    try:
        form = known.get(session, stream, year, stage, line)
    except GrantsError as exc:
        reader.problem(grid.FORM_ROW, 1, f"this form is for {stream} {year} {line} {stage}, but "
                       f"{exc}")  # fmt: skip
        return None, reader.problems
    if form.fingerprint != fingerprint:
        reader.problem(
            grid.FORM_ROW, 1,
            "the form's identity does not match: it was altered, or the plan or allocation "
            "has changed since the form was issued; ask for a new form (`grants returns "
            "issue`) and copy your figures into it",
        )  # fmt: skip
        return None, reader.problems
    figures: list[Figure] = []
    for i, planned in enumerate(form.lines):
        row = grid.FIRST_LINE_ROW + i
        title = at(row, grid.TITLE).value
        if title != planned.title:
            shown = "blank" if title in (None, "") else repr(title)
            reader.problem(
                row, grid.TITLE,
                f"line {planned.position} should be {planned.title!r} as agreed in the plan, "
                f"but is {shown}: titles must not be changed, and lines must not be added, "
                "removed or moved",
            )  # fmt: skip
        cost = at(row, grid.COST).value
        if not is_pence(cost, planned.cost_pence):
            reader.problem(row, grid.COST, f"the planned cost of {planned.title!r} was changed "
                           f"(it is {gbp(from_pence(planned.cost_pence))}): use the form as "
                           "issued")  # fmt: skip
        figures.append(
            Figure(planned.position, planned.title, grid_cell(row, grid.SPEND),
                   *line_cells(reader, sheet, row))
        )  # fmt: skip
    total = grid.total_row(len(form.lines))
    total_title = str(at(total, grid.TITLE).value or "").strip()
    if at(total, grid.NUMBER).value not in (None, "") or total_title not in total_labels(
        "return-form"
    ):
        reader.problem(total, grid.TITLE, "the form's lines have been changed: lines must not be "
                       "added or removed; use the form as issued")  # fmt: skip
    for row in range(total + 2, len(rows)):
        for col, c in enumerate(rows[row]):
            if c.value not in (None, ""):
                reader.problem(row, col, f"something was added below the form ({c.value!r}): "
                               "lines must not be added")  # fmt: skip
                break
    stated = reader.money(at(total + 1, grid.SPEND), total + 1, grid.SPEND, "your total")
    completed_by = reader.text(at(grid.COMPLETED_BY_ROW, 1), grid.COMPLETED_BY_ROW, 1,
                               "completed by")  # fmt: skip
    completed_on = reader.day(at(grid.COMPLETED_ON_ROW, 1), grid.COMPLETED_ON_ROW, 1,
                              "the date completed", form.covers_from)  # fmt: skip
    given = [x for f in figures for x in (f.spend_pence, f.progress, f.measure, f.target, f.actual)]
    if not reader.problems and all(x is None for x in given) and not (completed_by or completed_on):
        reader.problem(grid.FIRST_LINE_ROW, grid.SPEND, "nothing has been filled in: give each "
                       "line's spend to date and progress, and who completed the return and "
                       "when, then send it again")  # fmt: skip
    if reader.problems:
        return None, reader.problems
    filed = Filed(
        path, sheet.sha256, form, figures, completed_by, completed_on, stated,
        content=sheet.content,
    )  # fmt: skip
    extra = [
        n for n in sheet.sheetnames if n not in (grid.SHEET, instructions_sheet("return-form"))
    ]
    if extra:
        names = ", ".join(map(repr, extra))
        message = f"the workbook has sheets the form does not: {names}; they were not read"
        filed.warnings.append(Problem(path.name, None, message))
    hidden = sorted(r for r in sheet.hidden_rows if grid.FIRST_LINE_ROW <= r <= total + 1)
    if hidden:
        shown = ", ".join(str(r + 1) for r in hidden)
        rows = (
            f"row {shown} of the form is" if len(hidden) == 1 else f"rows {shown} of the form are"
        )
        message = f"{rows} hidden; their figures were read as they are"
        filed.warnings.append(Problem(path.name, None, message))
    filed.warnings += reader.notes
    for figure in figures if form.planned else []:  # unplanned: the line is the allocation
        planned = form.lines[figure.position - 1].cost_pence
        if figure.spend_pence is not None and figure.spend_pence > planned:
            filed.warnings.append(Problem(
                path.name, f"{grid.SHEET}!{figure.cell}",
                f"spend to date on {figure.title!r}, {gbp(from_pence(figure.spend_pence))}, is "
                f"more than its planned cost of {gbp(from_pence(planned))}",
            ))  # fmt: skip
    if filed.spend_pence > form.allocated_pence:
        filed.warnings.append(Problem(
            path.name, f"{grid.SHEET}!{grid_cell(total, grid.SPEND)}",
            f"spend to date, {gbp(from_pence(filed.spend_pence))}, is more than the allocation "
            f"of {gbp(from_pence(form.allocated_pence))}: recorded as sent; `grants reconcile` "
            "reports the overspend",
        ))  # fmt: skip
    if stated is not None and stated != filed.spend_pence:
        reader.problem(
            total + 1, grid.SPEND,
            f"your total, {gbp(from_pence(stated))}, is not the sum of the lines' spend to date, "
            f"{gbp(from_pence(filed.spend_pence))}: correct the lines or the total",
        )  # fmt: skip
    _not_below_earlier(session, filed, reader)
    if reader.problems:
        return None, reader.problems
    return filed, []


def line_cells(
    reader: CellReader, sheet: Sheet, row: int
) -> tuple[int | None, str | None, str | None, int | None, int | None]:
    """What a recipient typed on an expenditure line of a return (0-based row): spend to
    date in pence, progress and outcomes, the output measure, its target and actual."""
    at = sheet.at
    return (
        reader.money(at(row, grid.SPEND), row, grid.SPEND, "spend to date"),
        reader.text(at(row, grid.PROGRESS), row, grid.PROGRESS, PROGRESS, Kind.FREE),
        reader.text(at(row, grid.MEASURE), row, grid.MEASURE, "output measure"),
        reader.count(at(row, grid.TARGET), row, grid.TARGET, "output target"),
        reader.count(at(row, grid.ACTUAL), row, grid.ACTUAL, "output actual"),
    )


def is_pence(value: object, pence: int) -> bool:
    """Whether a locked cell still holds the amount written into it (and a finite one)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and round(value * 100) == pence


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _current(session: Session, form: ReturnForm) -> dict[str, ReturnFiling]:
    """The filings that stand (not superseded) for the form's line and year, by stage."""
    line_id = form.line_id
    filings = session.scalars(
        select(ReturnFiling)
        .where(ReturnFiling.line_id == line_id, ReturnFiling.year == form.year)
        .order_by(ReturnFiling.id)
    ).all()
    superseded = {f.supersedes_id for f in filings if f.supersedes_id}
    return {f.stage: f for f in filings if f.id not in superseded}


def _not_below_earlier(session: Session, filed: Filed, reader: CellReader) -> None:
    """Spend to date is cumulative: no line may report less than an earlier stage did, or
    more than a later stage already filed."""
    from grants.services.returns import stages

    standing = _current(session, filed.form)
    if not set(standing) - {filed.form.stage}:
        return  # no other stage filed: nothing to compare with
    calendar = stages(session, filed.form.stream, FinancialYear(filed.form.year))
    for stage, filing in standing.items():
        if stage not in calendar or stage == filed.form.stage:
            continue
        earlier_stage = calendar[stage][0] < filed.form.covers_to
        other = {
            f.position: f.spend_pence
            for f in session.scalars(
                select(ReturnFigure).where(ReturnFigure.filing_id == filing.id)
            )
        }
        for figure in filed.figures:
            theirs = other.get(figure.position)
            if figure.spend_pence is None or theirs is None:
                continue
            row = grid.FIRST_LINE_ROW + figure.position - 1
            mine = gbp(from_pence(figure.spend_pence))
            if earlier_stage and figure.spend_pence < theirs:
                reader.problem(
                    row, grid.SPEND,
                    f"spend to date {mine} is less than the {gbp(from_pence(theirs))} reported "
                    f"at {stage}: spend to date is the total since the start of the year; "
                    "correct this figure or the earlier return",
                )  # fmt: skip
            elif not earlier_stage and figure.spend_pence > theirs:
                reader.problem(
                    row, grid.SPEND,
                    f"spend to date {mine} is more than the {gbp(from_pence(theirs))} already "
                    f"reported at the later {stage}: correct this figure or the later return",
                )  # fmt: skip


def record(
    session: Session,
    filed: Filed,
    actor: str,
    now: datetime,
    received: date | None = None,
    catalog: Catalog | None = None,
) -> Recorded:
    """Record a checked return in the session's transaction. ``received``: the day the
    council received the file (default: the day it is recorded). An officer's, or the
    recipient's of the form's line (never another organisation's)."""
    access.require_line(session, "import", filed.form.line_id)
    received = received or now.date()
    if received > now.date() or received < filed.form.covers_from:
        raise GrantsError(
            f"{filed.path.name}: received {formatting.day(received)}? A return is received between "
            f"the start of its year ({formatting.day(filed.form.covers_from)}) and today"
        )
    earlier = session.scalar(select(ReturnFiling).where(ReturnFiling.key == filed.sha256))
    if earlier is not None:
        return Recorded(None, None, 0, earlier)
    form = filed.form
    journal = Journal(session, catalog)
    journal.lock()  # before reading what stands: two corrections at once must not both win
    standing = _current(session, form)
    superseded = standing.get(form.stage)
    keep_workbook(session, filed.sha256, filed.path.name, filed.content)
    filing_id = session.scalar(
        insert(ReturnFiling).returning(ReturnFiling.id),
        dict(
            key=filed.sha256, stream_id=form.stream_id, line_id=form.line_id, year=form.year,
            stage=form.stage, fingerprint=form.fingerprint, filename=filed.path.name,
            actor=actor, recorded_at=now, received_on=received, completed_by=filed.completed_by,
            completed_on=filed.completed_on, stated_total_pence=filed.stated_total_pence,
            supersedes_id=superseded.id if superseded else None,
        ),
    )  # fmt: skip
    assert filing_id is not None
    session.execute(
        insert(ReturnFigure),
        [
            dict(
                filing_id=filing_id, position=f.position, title=f.title, cell=f.cell,
                spend_pence=f.spend_pence, progress=f.progress, measure=f.measure,
                target=f.target, actual=f.actual,
            )
            for f in filed.figures
        ],
    )  # fmt: skip
    # The journal holds, for the line and year, the spend of the standing returns: for each
    # expenditure line, the figure of the latest stage that gives one.
    others = [f for stage, f in standing.items() if stage != form.stage]
    wanted = (
        standing_spend(
            session,
            form.stream_id,
            form.year,
            [(f.stage, f.id) for f in others] + [(form.stage, filing_id)],
        )
        if others
        else filed.spend_pence  # the only return standing: its own figures
    )
    reported = reported_spend(session, form.stream_id, form.line_id, form.year)
    entries = 0
    reason = f"{form.stage} return {filed.path.name}"
    if wanted < reported:
        batch = [
            NewEntry(
                None,
                form.covers_to,
                actor,
                now,
                reverses=str(entry_id),
                reason=f"replaced by {reason}",
                source=_source(filed.sha256),
                origin=f"{filed.path.name}:{grid.SHEET}",
                key=f"r{entry_id}-{filed.sha256[:40]}",
            )
            for entry_id in session.scalars(_return_entries(form))
        ]
        journal.record(batch)
        entries += len(batch)
        reported = reported_spend(session, form.stream_id, form.line_id, form.year)
    if wanted > reported:
        first, last = filed.figures[0].cell, filed.figures[-1].cell
        period = Period(FinancialYear(form.year), FinancialYear(form.year))
        journal.record(
            [
                NewEntry(
                    Operation("spent", form.stream, period, wanted - reported, line=form.line),
                    form.covers_to, actor, now, reason=reason, source=_source(filed.sha256),
                    origin=f"{filed.path.name}:{grid.SHEET}!{first}"
                    + (f":{last}" if last != first else ""),
                    key=f"s-{filed.sha256[:48]}",
                )
            ]
        )  # fmt: skip
        entries += 1
    return Recorded(filing_id, superseded, entries)


def keep_workbook(session: Session, sha256: str, filename: str, content: bytes) -> None:
    """Keep a received workbook in the ledger (once, by its SHA-256): the evidence behind
    a filing, and part of every export."""
    if not content or hashlib.sha256(content).hexdigest() != sha256:
        return  # nothing read, or not the bytes that were checked
    connection = session.connection()  # plain statements: one file's evidence, no objects
    table = Attachment.__table__
    if connection.scalar(select(table.c.id).where(table.c.sha256 == sha256)) is None:
        connection.execute(
            insert(table),
            {"sha256": sha256, "filename": filename, "size": len(content), "content": content},
        )


def _return_entries(form: ReturnForm) -> Any:
    """The spent entries recorded from returns for the form's line and year, not reversed."""
    reversed_ids = select(Entry.reverses_id).where(Entry.reverses_id.is_not(None))
    return (
        select(Entry.id)
        .where(
            Entry.kind == "spent", Entry.line_id == form.line_id,
            Entry.first_year == form.year, Entry.last_year == form.year,
            Entry.source.like("return sha256:%"), Entry.reverses_id.is_(None),
            Entry.id.not_in(reversed_ids),
        )
        .order_by(Entry.id)
    )  # fmt: skip


def standing_spend(
    session: Session, stream_id: int, year: int, standing: list[tuple[str, int]]
) -> int:
    """For each expenditure line, the spend to date of the latest stage (by the last day it
    covers) among the standing returns (stage, filing id) that gives one; summed. The
    journal holds this much reported spend for the line and year."""
    covers = dict(
        session.execute(
            select(ReturnStage.stage, ReturnStage.covers_to).where(
                ReturnStage.stream_id == stream_id, ReturnStage.year == year
            )
        ).all()
    )
    order = sorted(standing, key=lambda f: (covers.get(f[0], date.min), f[1]))
    latest: dict[int, int] = {}
    for _stage, filing_id in order:
        for position, pence in session.execute(
            select(ReturnFigure.position, ReturnFigure.spend_pence).where(
                ReturnFigure.filing_id == filing_id, ReturnFigure.spend_pence.is_not(None)
            )
        ):
            latest[position] = pence
    return sum(latest.values())


def _source(sha256: str) -> str:
    return f"return sha256:{sha256}"


def reported_spend(session: Session, stream_id: int, line_id: int, year: int) -> int:
    """The spend reported so far for a line and year: the balance of its spent account
    (grants.services.rules)."""
    total = session.execute(
        text(
            "SELECT COALESCE(SUM(p.amount_pence), 0) FROM posting p "
            "JOIN account a ON a.id = p.account_id "
            "WHERE a.stream_id = :stream AND a.line_id = :line AND a.role = 'spent' "
            "AND a.first_year = :year AND a.last_year = :year"
        ),
        {"stream": stream_id, "line": line_id, "year": year},
    ).scalar()
    return int(total or 0)  # PostgreSQL sums BIGINT as NUMERIC


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


def history(
    session: Session,
    stream: str | None = None,
    year: FinancialYear | None = None,
    line: str | None = None,
) -> list[HistoryRow]:
    """Every filing, superseded ones too, in the order recorded: who filed what and when
    (a recipient's own lines' only)."""
    access.require(session, "read")
    seen = access.visible_lines(session)
    query = (
        select(ReturnFiling, Stream.code, Line.code)
        .join(Stream, Stream.id == ReturnFiling.stream_id)
        .join(Line, Line.id == ReturnFiling.line_id)
        .order_by(ReturnFiling.id)
    )
    if stream is not None:
        query = query.where(Stream.code == stream)
    if year is not None:
        query = query.where(ReturnFiling.year == year.start)
    if line is not None:
        query = query.where(Line.code == line)
    if seen is not None:
        query = query.where(ReturnFiling.line_id.in_(seen))
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


__all__ = [
    "CellReader", "Figure", "Filed", "Forms", "HistoryRow", "Problem", "Recorded", "history",
    "is_pence", "keep_workbook", "line_cells", "read_return", "record", "reported_spend",
    "sha256_of", "standing_spend",
]  # fmt: skip
