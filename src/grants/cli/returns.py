"""`grants returns`: return forms out to recipients (and, later, back in)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click
from sqlalchemy.orm import Session

from grants import formatting
from grants.cli import terminal
from grants.cli.common import (
    AppContext,
    DryRun,
    GrantsGroup,
    each_file,
    echo_problems,
    emit_json,
    pass_app,
)
from grants.cli.folders import written_together
from grants.cli.options import DATE, pick_stream, stream_option
from grants.excel import return_reader
from grants.formatting import count, gbp, number, plain
from grants.money import from_pence
from grants.periods import FinancialYear, parse_year
from grants.services.journal import Catalog
from grants.services.returns import issue_forms
from grants.services.returns_import import Forms, check_return, record
from grants.services.settings import ledger_name
from grants.services.streams import line_code, stream_code


@click.group(cls=GrantsGroup)
def returns() -> None:
    """Return forms: issue them to recipients, import them when filled in, list who filed
    what and when, and what is due."""


@returns.command()
@stream_option("pcc")
@click.option("--year", required=True, metavar="YEAR", help="Financial year, e.g. 2017-18.")
@click.option("--stage", required=True, metavar="STAGE", help="A stage of the stream's "
              "reporting calendar (`due` in the books), e.g. mid-year.")  # fmt: skip
@click.option("--line", metavar="CODE", help="Only this allocation line's form.")
@click.option(
    "-o",
    "--output",
    "directory",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The folder to write the forms in (created if missing).",
)
@pass_app
def issue(
    app: AppContext, stream: str | None, year: str, stage: str, line: str | None, directory: Path
) -> None:
    """Write a return form for each recipient: its agreed plan's expenditure lines (or its
    allocation, until a plan is recorded), locked, with cells for spend to date, progress and
    outcomes, and outputs (target and actual), validated, and an instructions sheet."""
    from grants.excel import return_form  # the workbook writer: only issuing needs it

    fy = parse_year(year)
    with app.session() as session:  # each form is recorded as issued, with its identity
        stream = pick_stream(session, stream, "pcc", "issue")
        line = line_code(session, stream, line, "issue") if line is not None else None
        issued = issue_forms(session, stream, fy, stage, line, return_form.display_cells)
        ledger = ledger_name(session)
    with written_together(directory) as staged:  # every form or none
        for form in issued:
            return_form.write(form, staged(directory / return_form.filename(form)), ledger)
    for form in issued:
        path = directory / return_form.filename(form)
        plan = "its agreed plan" if form.agreed else "its plan" if form.planned else "no plan yet"
        terminal.echo(f"wrote {path} ({form.line_name}: {count(len(form.lines), 'line')}, {plan})")
    terminal.echo(f"{count(len(issued), 'return form')} in {directory}")


@returns.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the files and say what would be recorded; "
              "record nothing.")  # fmt: skip
@click.option(
    "--received",
    type=DATE,
    help="The day the council received the files (default: today); lateness is judged by it.",
)
@pass_app
def import_returns(
    app: AppContext, files: tuple[Path, ...], dry_run: bool, received: date | None
) -> None:
    """Check and record filled return forms. Each file is checked cell by cell and recorded
    whole, in one transaction, or not at all; problems are listed as
    file.xlsx:Return!D13: message. The same file twice changes nothing; a corrected
    resubmission supersedes the earlier return (both are kept)."""
    now = datetime.now().replace(microsecond=0)
    day = received
    known, catalog = Forms(), Catalog()

    def one(session: Session, path: Path) -> bool:
        rows, problems = return_reader.read_return(path)
        filed = None
        if rows is not None:
            filed, problems = check_return(session, rows, known)
        if problems or filed is None:
            echo_problems(problems)
            return False
        echo_problems((), filed.warnings)
        given = any(f.spend_pence is not None for f in filed.figures)
        spend = (
            f"spend to date {gbp(from_pence(filed.spend_pence))}"
            if given
            else "no spend to date given"
        )
        what = (
            f"{filed.form.stage} return for {filed.form.stream} {filed.form.line} "
            f"{FinancialYear(filed.form.year)}: {count(len(filed.figures), 'line')}, {spend}"
        )
        outcome = record(session, filed, app.actor, now, day, catalog)
        if outcome.earlier is not None:
            terminal.echo(
                f"{path.name}: already imported on {formatting.day(outcome.earlier.recorded_at)} "
                f"by {outcome.earlier.actor}; nothing changed"
            )
            return True
        note = ""
        if outcome.superseded is not None:
            note = (
                f"; supersedes the return filed {formatting.day(outcome.superseded.recorded_at)} "
                f"by {outcome.superseded.actor} ({outcome.superseded.filename})"
            )
        if dry_run:
            terminal.echo(f"{path.name}: would record the {what}{note}")
            raise DryRun
        terminal.echo(f"{path.name}: recorded the {what}{note}")
        return True

    each_file(app, files, one)


__all__ = ["returns"]


@returns.command("history")
@click.option("--stream", metavar="CODE", help="Only this stream's returns.")
@click.option("--year", metavar="YEAR", help="Only this financial year's, e.g. 2017-18.")
@click.option("--line", metavar="CODE", help="Only this allocation line's.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def history_command(
    app: AppContext, stream: str | None, year: str | None, line: str | None, as_json: bool
) -> None:
    """Every return recorded, superseded ones too, in the order recorded: who filed what
    and when, and which return stands."""
    from grants.services.return_history import history

    fy = parse_year(year) if year is not None else None
    with app.reading() as session:
        if stream is not None:  # an unknown stream is an error, not an empty list
            stream = stream_code(session, stream)
            line = line_code(session, stream, line) if line is not None else None
        rows = history(session, stream, fy, line.strip().upper() if line else None)
    if as_json:
        emit_json(
            [
                {"filing": r.id, "stream": r.stream, "year": str(FinancialYear(r.year)),
                 "line": r.line, "stage": r.stage, "file": r.filename,
                 "received": r.received_on.isoformat(),
                 "recorded_at": r.recorded_at.isoformat(), "recorded_by": r.actor,
                 "completed_by": r.completed_by,
                 "completed_on": r.completed_on.isoformat() if r.completed_on else None,
                 "spend_to_date": None if r.spend_pence is None else plain(
                     from_pence(r.spend_pence)),
                 "supersedes": r.supersedes, "superseded_by": r.superseded_by,
                 "stands": r.superseded_by is None}
                for r in rows
            ]
        )  # fmt: skip
        return
    if not rows:
        terminal.echo("no returns recorded" + (f" for {stream}" if stream else ""))
        return
    headers = ["#", "line", "year", "stage", "file", "received", "recorded", "by",
               "completed by", "spend to date", "status"]  # fmt: skip
    lines = [
        [str(r.id), r.line, str(FinancialYear(r.year)), r.stage, r.filename,
         formatting.day(r.received_on),
         f"{formatting.day(r.recorded_at)} {r.recorded_at:%H:%M}", r.actor,
         r.completed_by or "",
         "" if r.spend_pence is None else number(from_pence(r.spend_pence), 2),
         f"superseded by #{r.superseded_by}" if r.superseded_by else "stands"]
        for r in rows
    ]  # fmt: skip
    terminal.table(headers, lines, right={0, 9})


@returns.command("due")
@click.option("--stream", metavar="CODE", help="Only this stream's lines.")
@click.option("--year", metavar="YEAR", help="Only this financial year's, e.g. 2017-18.")
@click.option("--as-of", "as_of", type=DATE, help="As things stood on this day (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings, dates ISO).")
@pass_app
def due_command(
    app: AppContext, stream: str | None, year: str | None, as_of: date | None, as_json: bool
) -> None:
    """What is due: each line that reports, by stream and year, with its recipient,
    allocation, paid and reported spend, and each stage of its calendar (the spending plan,
    the returns) with the day it is due and where it stands: filed (on what day, with the
    receipt), due in so many days, due today, overdue, or not yet open. A recipient sees
    its own lines."""
    from grants.services.due import due  # the calendar's reading: only this command's

    fy = parse_year(year) if year is not None else None
    day = as_of or date.today()
    with app.reading() as session:
        stream = stream_code(session, stream) if stream is not None else None
        rows = due(session, stream, fy, day)
    if as_json:
        emit_json(
            [
                {"stream": r.stream, "year": str(r.year), "line": r.line, "name": r.name,
                 "recipient": r.recipient, "allocation": plain(r.allocated),
                 "paid": plain(r.paid), "reported": plain(r.reported),
                 "stages": [
                     {"stage": s.stage, "due": s.due.isoformat(),
                      "opens": s.opens.isoformat() if s.opens else None, "state": s.state,
                      "days": s.days,
                      "filed_on": s.filed_on.isoformat() if s.filed_on else None,
                      "receipt": s.receipt, "late": s.late, "status": s.status}
                     for s in r.stages
                 ]}
                for r in rows
            ]
        )  # fmt: skip
        return
    if not rows:
        terminal.echo(
            "nothing is due" + (f" in {stream}" if stream else "") + (f" for {fy}" if fy else "")
            + ": no line reports under a reporting calendar (`due` in the books)"
        )  # fmt: skip
        return
    terminal.echo(f"as of {formatting.day(day)}")
    table = []
    for r in rows:
        first = True
        for s in r.stages:
            head = [r.stream, str(r.year), r.line, r.recipient or r.name, gbp(r.allocated),
                    gbp(r.paid), gbp(r.reported)] if first else [""] * 7  # fmt: skip
            table.append([*head, s.stage, formatting.day(s.due), s.status])
            first = False
    terminal.table(
        ["stream", "year", "line", "recipient", "allocation", "paid", "reported", "stage",
         "due", "status"],
        table,
        {4, 5, 6},
    )  # fmt: skip
