"""Importing a filled return form: every cell checked, then recorded whole or not at all.

The form's rows come from grants.excel.return_reader (grants.services.form_rows.ReturnRows);
checking them (``check_return``) needs the database only to know what the form should hold:
the stream's calendar and the recipient's plan. It collects every problem with its cell, as
``file.xlsx:Return!D13: message``. Recording (``record``) writes the filing, its figures and
the journal entries of reported spend in the caller's transaction: a corrected resubmission
supersedes the earlier filing (both are kept) and the earlier filing's spend entries are
reversed; the same file twice changes nothing.

Both faces call the same two functions: the command line with the rows of a file on disk,
the web service with the rows of an upload (``return_reader.read_return(Received(name,
content))``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from grants import formatting
from grants.db.engine import under_writers_lock
from grants.db.models import (
    Attachment,
    AuditEvent,
    Entry,
    ReturnFigure,
    ReturnFiling,
)
from grants.errors import GrantsError, NotFound
from grants.formatting import gbp
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services import access, people
from grants.services.form_checks import Found, check_completed_on, verified
from grants.services.form_identity import FormKeys, Identity
from grants.services.form_rows import Problem, ReturnRows
from grants.services.journal import Catalog, Journal, NewEntry
from grants.services.return_spend import (
    latest_spend,
    reported_spend,
    reported_spends,
    standing_spend,
)
from grants.services.returns import ReturnForm, forms
from grants.services.rules import Operation


@dataclass
class Figure:
    position: int
    title: str
    cell: str  # D13: the spend to date's cell on the Return sheet
    spend_pence: int | None
    progress: str | None
    measure: str | None
    target: int | None
    actual: int | None


@dataclass
class Filed:
    """A return read and checked, ready to record."""

    file: str  # the file's name as received
    sha256: str
    form: ReturnForm
    figures: list[Figure]
    completed_by: str | None
    completed_on: date | None
    stated_total_pence: int | None
    warnings: list[Problem] = field(default_factory=list)
    content: bytes = b""  # the workbook as received, kept with the filing
    sheet: str = "Return"
    read: Read | None = None  # what the check read, if under the writers' lock

    @property
    def spend_pence(self) -> int:
        return sum(f.spend_pence or 0 for f in self.figures)


@dataclass
class Read:
    """What checking a return read in a writing transaction, which has held the writers'
    lock since it began: recording the return in the same transaction, with no return
    recorded in between, takes the acting person and the standing returns from here
    rather than reading them again."""

    transaction: object
    recorded: int  # returns recorded in the session before the check (``_RECORDED``)
    actor: access.Actor
    standing: dict[str, ReturnFiling]

    def still(self, session: Session) -> bool:
        return (
            self.transaction is session.get_transaction()
            and self.recorded == session.info.get(_RECORDED, 0)
            and self.actor is access.actor_of(session)
        )


_RECORDED = "grants_returns_recorded"


@dataclass
class Recorded:
    filing_id: int | None  # None: the same file was imported before
    superseded: ReturnFiling | None
    entries: int
    earlier: ReturnFiling | None = None  # the filing of the same file, if any


class Forms:
    """The forms as they stand, worked out once per stream, year and stage for a command
    that imports many returns (nothing an import records changes a form), and the ledger's
    form key, read once (``key``, grants.services.form_identity.FormKeys)."""

    def __init__(self) -> None:
        self._forms: dict[tuple[str, int, str], dict[str, ReturnForm] | GrantsError] = {}
        self.key = FormKeys()

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


def check_return(
    session: Session,
    rows: ReturnRows,
    known: Forms | None = None,
    shown: Identity | None = None,
) -> tuple[Filed | None, list[Problem]]:
    """A received return's rows (grants.excel.return_reader) checked against the form as it
    stands: the filing to record, or every problem with its cell. Raises Refused when the
    acting person may not import for the form's line. A workbook's identity is verified from
    its identity cell; ``shown`` is the identity of a return filled in on a page, which the
    caller has verified from the page's signed token (grants.services.returns_online)."""
    known = known or Forms()
    found = Found(rows.file)
    identity = shown or verified(session, "return", rows, found, known.key)
    if identity is None:
        return None, found.problems
    stream, year, line, stage = (
        identity.stream,
        FinancialYear(identity.year),
        identity.line,
        identity.stage,
    )
    where = rows.identity.ref
    try:
        form = known.get(session, stream, year, stage, line)
    except GrantsError as exc:
        found.problem(where, f"this form is for {stream} {year} {line} {stage}, but {exc}")
        return None, found.problems
    # Whatever the file says, a recipient files for its own lines only (refused, audited).
    acting = access.require_line(
        session, "import", form.line_id, f"{rows.file} (SHA-256 {rows.sha256})"
    )
    if form.fingerprint != identity.fingerprint:
        found.problem(
            where,
            "the form's identity does not match: it was altered, or the plan or allocation "
            "has changed since the form was issued; ask for a new form (`grants returns "
            "issue`) and copy your figures into it",
        )
        return None, found.problems
    figures = _figures(rows, form, found)
    n = len(form.lines)
    total, stated_row = rows.line(n), rows.line(n + 1)
    if total.number not in (None, "") or not total.total_label:
        found.problem(total.title.ref, "the form's lines have been changed: lines must not be "
                      "added or removed; use the form as issued")  # fmt: skip
    for below in rows.rows[n + 2 :]:
        if below.first_filled is not None:
            ref, value = below.first_filled
            found.problem(ref, f"something was added below the form ({value!r}): lines must "
                          "not be added")  # fmt: skip
    stated = found.take(stated_row.spend)
    completed_by = found.take(rows.completed_by)
    completed_on = check_completed_on(rows, found, form.covers_from)
    given = [x for f in figures for x in (f.spend_pence, f.progress, f.measure, f.target, f.actual)]
    if not found.problems and all(x is None for x in given) and not (completed_by or completed_on):
        found.problem(rows.line(0).spend.ref, "nothing has been filled in: give each line's "
                      "spend to date and progress, and who completed the return and when, then "
                      "send it again")  # fmt: skip
    if found.problems:
        return None, found.problems
    filed = Filed(
        rows.file, rows.sha256, form, figures, completed_by, completed_on, stated,
        content=rows.content, sheet=rows.sheet,
    )  # fmt: skip
    _warnings(rows, filed, found, total.spend.ref)
    standing = _current(session, form)
    _not_below_earlier(session, filed, rows, found, standing)
    if found.problems:
        return None, found.problems
    if under_writers_lock(session):
        filed.read = Read(session.get_transaction(), session.info.get(_RECORDED, 0), acting,
                          standing)  # fmt: skip
    return filed, []


def _figures(rows: ReturnRows, form: ReturnForm, found: Found) -> list[Figure]:
    figures: list[Figure] = []
    for i, planned in enumerate(form.lines):
        row = rows.line(i)
        title = row.title.raw
        if title != planned.title:
            shown = "blank" if title in (None, "") else repr(title)
            found.problem(
                row.title.ref,
                f"line {planned.position} should be {planned.title!r} as agreed in the plan, "
                f"but is {shown}: titles must not be changed, and lines must not be added, "
                "removed or moved",
            )
        if not is_pence(row.cost.raw, planned.cost_pence):
            found.problem(row.cost.ref, f"the planned cost of {planned.title!r} was changed "
                          f"(it is {gbp(from_pence(planned.cost_pence))}): use the form as "
                          "issued")  # fmt: skip
        cells = (row.spend, row.progress, row.measure, row.target, row.actual)
        values = [found.take(c) for c in cells]
        figures.append(Figure(planned.position, planned.title, rows.cell(row.spend.ref), *values))
    return figures


def _warnings(rows: ReturnRows, filed: Filed, found: Found, total_spend: str) -> None:
    form, file = filed.form, filed.file
    filed.warnings += found.notes
    for figure in filed.figures if form.planned else []:  # unplanned: the line is the allocation
        planned = form.lines[figure.position - 1].cost_pence
        if figure.spend_pence is not None and figure.spend_pence > planned:
            filed.warnings.append(Problem(
                file, f"{filed.sheet}!{figure.cell}",
                f"spend to date on {figure.title!r}, {gbp(from_pence(figure.spend_pence))}, is "
                f"more than its planned cost of {gbp(from_pence(planned))}",
            ))  # fmt: skip
    if filed.spend_pence > form.allocated_pence:
        filed.warnings.append(Problem(
            file, total_spend,
            f"spend to date, {gbp(from_pence(filed.spend_pence))}, is more than the allocation "
            f"of {gbp(from_pence(form.allocated_pence))}: recorded as sent; `grants reconcile` "
            "reports the overspend",
        ))  # fmt: skip
    stated = filed.stated_total_pence
    if stated is not None and stated != filed.spend_pence:
        found.problem(
            rows.line(len(form.lines) + 1).spend.ref,
            f"your total, {gbp(from_pence(stated))}, is not the sum of the lines' spend to date, "
            f"{gbp(from_pence(filed.spend_pence))}: correct the lines or the total",
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


# The statements an import runs for every file, built once (each file binds its own values).
_FILINGS = (
    select(ReturnFiling)
    .where(ReturnFiling.line_id == bindparam("line_id"), ReturnFiling.year == bindparam("year"))
    .order_by(ReturnFiling.id)
)
_FIGURES = select(ReturnFigure).where(ReturnFigure.filing_id == bindparam("filing_id"))
_FILED_BEFORE = select(ReturnFiling).where(ReturnFiling.key == bindparam("key"))
# Into the tables themselves: an ORM insert makes new statements of its own at each run.
_NEW_FILING = insert(ReturnFiling.__table__).returning(ReturnFiling.__table__.c.id)
_NEW_FIGURES = insert(ReturnFigure.__table__)
_WORKBOOK = Attachment.__table__
_WORKBOOK_KEPT = select(_WORKBOOK.c.id).where(_WORKBOOK.c.sha256 == bindparam("sha256"))
_KEEP_WORKBOOK = insert(_WORKBOOK)
_AUDIT = insert(AuditEvent.__table__)  # the filing's line of the audit log (people.audit's)


def _current(session: Session, form: ReturnForm) -> dict[str, ReturnFiling]:
    """The filings that stand (not superseded) for the form's line and year, by stage."""
    filings = session.scalars(_FILINGS, {"line_id": form.line_id, "year": form.year}).all()
    superseded = {f.supersedes_id for f in filings if f.supersedes_id}
    return {f.stage: f for f in filings if f.id not in superseded}


def _not_below_earlier(
    session: Session,
    filed: Filed,
    rows: ReturnRows,
    found: Found,
    standing: dict[str, ReturnFiling],
) -> None:
    """Spend to date is cumulative: no line may report less than an earlier stage did, or
    more than a later stage already filed (``standing``, by stage)."""
    from grants.services.returns import stages

    if not set(standing) - {filed.form.stage}:
        return  # no other stage filed: nothing to compare with
    calendar = stages(session, filed.form.stream, FinancialYear(filed.form.year))
    for stage, filing in standing.items():
        if stage not in calendar or stage == filed.form.stage:
            continue
        earlier_stage = calendar[stage][0] < filed.form.covers_to
        other = {
            f.position: f.spend_pence for f in session.scalars(_FIGURES, {"filing_id": filing.id})
        }
        for figure in filed.figures:
            theirs = other.get(figure.position)
            if figure.spend_pence is None or theirs is None:
                continue
            where = rows.line(figure.position - 1).spend.ref
            mine = gbp(from_pence(figure.spend_pence))
            if earlier_stage and figure.spend_pence < theirs:
                found.problem(
                    where,
                    f"spend to date {mine} is less than the {gbp(from_pence(theirs))} reported "
                    f"at {stage}: spend to date is the total since the start of the year; "
                    "correct this figure or the earlier return",
                )
            elif not earlier_stage and figure.spend_pence > theirs:
                found.problem(
                    where,
                    f"spend to date {mine} is more than the {gbp(from_pence(theirs))} already "
                    f"reported at the later {stage}: correct this figure or the later return",
                )


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
    recipient's of the form's line (never another organisation's). An accepted return is
    written to the audit log with the filing: who, which form, the file's SHA-256."""
    read = filed.read if filed.read is not None and filed.read.still(session) else None
    acting = read.actor if read else access.require_line(session, "import", filed.form.line_id)
    received = received or now.date()
    if received > now.date() or received < filed.form.covers_from:
        raise GrantsError(
            f"{filed.file}: received {formatting.day(received)}? A return is received between "
            f"the start of its year ({formatting.day(filed.form.covers_from)}) and today"
        )
    earlier = session.scalar(_FILED_BEFORE, {"key": filed.sha256})
    if earlier is not None:
        return Recorded(None, None, 0, earlier)
    form = filed.form
    journal = Journal(session, catalog)
    journal.lock()  # before reading what stands: two corrections at once must not both win
    standing = read.standing if read else _current(session, form)
    session.info[_RECORDED] = session.info.get(_RECORDED, 0) + 1
    superseded = standing.get(form.stage)
    keep_workbook(session, filed.sha256, filed.file, filed.content)
    session.execute(_AUDIT, people.audit_row(
        acting, "filed", "import",
        f"{form.stage} return {form.stream} {FinancialYear(form.year)} {form.line} from "
        f"{filed.file} (SHA-256 {filed.sha256})",
    ))  # fmt: skip
    filing_id = session.scalar(
        _NEW_FILING,
        dict(
            key=filed.sha256, stream_id=form.stream_id, line_id=form.line_id, year=form.year,
            stage=form.stage, fingerprint=form.fingerprint, filename=filed.file,
            actor=actor, recorded_at=now, received_on=received, completed_by=filed.completed_by,
            completed_on=filed.completed_on, stated_total_pence=filed.stated_total_pence,
            supersedes_id=superseded.id if superseded else None,
        ),
    )  # fmt: skip
    assert filing_id is not None
    session.execute(
        _NEW_FIGURES,
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
    reason = f"{form.stage} return {filed.file}"
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
                origin=f"{filed.file}:{filed.sheet}",
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
                    origin=f"{filed.file}:{filed.sheet}!{first}"
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
    if connection.scalar(_WORKBOOK_KEPT, {"sha256": sha256}) is None:
        connection.execute(
            _KEEP_WORKBOOK,
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


def _source(sha256: str) -> str:
    return f"return sha256:{sha256}"


__all__ = [
    "Figure", "Filed", "Forms", "Problem", "Recorded", "check_return", "is_pence",
    "keep_workbook", "latest_spend", "record", "reported_spend", "reported_spends", "sha256_of",
    "standing_spend",
]  # fmt: skip
