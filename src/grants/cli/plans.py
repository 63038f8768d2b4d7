"""`grants plan`: a recipient's spending plan, recorded by an officer.

The commands record plan lines and agreements through grants.services.plans, the rules the
books loader applies to `plan` and `agree` (and `grants ledger export` writes them back as
books).
"""

from __future__ import annotations

from datetime import date
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
from grants.cli.write import _origin
from grants.errors import GrantsError
from grants.excel import plan_form, plan_reader
from grants.formatting import count, gbp, number, plain
from grants.money import from_pence, money, to_pence
from grants.periods import FinancialYear, parse_year
from grants.services.journal import Journal
from grants.services.listings import plan_filing_rows, plan_rows
from grants.services.plan_forms import (
    check_plan,
    describe,
    imported_before,
    issue_plan_forms,
    no_open_plan,
    open_plan_forms,
    plan_forms,
    record_plan,
)
from grants.services.plans import Provenance, add_plan_line, agree_plan
from grants.services.settings import ledger_name
from grants.services.streams import line_code, stream_code
from grants.text import Kind, clean


@click.group(cls=GrantsGroup)
def plan() -> None:
    """Spending plans: record a recipient's expenditure lines (by command or by a filled plan
    form), agree a plan, list plans."""


def _codes(app: AppContext, stream: str, year: str, line: str) -> tuple[str, str, str]:
    """The stream and line as the books write them (typed in any case), and the year; each
    checked as text first."""
    stream, year, line = clean(stream, "STREAM"), clean(year, "YEAR"), clean(line, "LINE")
    with app.reading() as session:
        stream = stream_code(session, stream, work="record")
        return stream, year, line_code(session, stream, line, "record")


def _day(value: date | None) -> date:
    return value if value is not None else date.today()


@plan.command("add")
@click.argument("stream")
@click.argument("year")
@click.argument("line")
@click.argument("title")
@click.option("--cost", required=True, metavar="AMOUNT", help="Cost to the fund, e.g. 40,000.")
@click.option("--objectives", metavar="TEXT", help="What the line is for.")
@click.option("--pcc-objective", type=click.IntRange(1, 5), help="PCC strategic objective 1-5.")
@click.option("--other-funding", metavar="TEXT", help="Other funding sources and amounts.")
@click.option("--date", "day", type=DATE,
              help="The plan's date (default: today).")  # fmt: skip
@pass_app
def add(
    app: AppContext,
    stream: str,
    year: str,
    line: str,
    title: str,
    cost: str,
    objectives: str | None,
    pcc_objective: int | None,
    other_funding: str | None,
    day: date | None,
) -> None:
    """Add an expenditure line to the spending plan of LINE for YEAR (refused once the plan
    is agreed)."""
    stream, year, line = _codes(app, stream, year, line)
    title, cost = clean(title, "TITLE", Kind.NAME), clean(cost, "--cost")
    if objectives is not None:
        objectives = clean(objectives, "--objectives", Kind.FREE)
    if other_funding is not None:
        other_funding = clean(other_funding, "--other-funding", Kind.FREE)
    with app.session() as session:
        add_plan_line(
            session, stream, parse_year(year), line, title, to_pence(money(cost)),
            Provenance(_day(day), origin=_origin()), objectives, pcc_objective, other_funding,
        )  # fmt: skip
    terminal.echo(f"added {title!r} to the plan of {line} {year}")


@plan.command("agree")
@click.argument("stream")
@click.argument("year")
@click.argument("line")
@click.option("--date", "day", type=DATE,
              help="The day the plan was agreed (default: today).")  # fmt: skip
@pass_app
def agree(app: AppContext, stream: str, year: str, line: str, day: date | None) -> None:
    """Record that the plan of LINE for YEAR is agreed: its titles are then fixed."""
    stream, year, line = _codes(app, stream, year, line)
    with app.session() as session:
        agree_plan(session, stream, parse_year(year), line, Provenance(_day(day), origin=_origin()))
    terminal.echo(f"the plan of {line} {year} is agreed")
    with app.session() as session:
        try:
            form = plan_forms(session, stream, parse_year(year), line)[0]
        except GrantsError:
            return  # a line with no allocation: reconcile says what is wrong
    planned = sum(x.cost_pence for x in form.lines)
    if planned != form.allocated_pence:
        gap = planned - form.allocated_pence
        terminal.echo(
            f"warning: the agreed plan's lines cost {gbp(from_pence(planned))}, "
            f"{gbp(from_pence(abs(gap)))} {'more' if gap > 0 else 'less'} than the allocation "
            f"of {gbp(from_pence(form.allocated_pence))}; `grants reconcile` reports it",
            err=True,
        )


@plan.command("show")
@stream_option("pcc")
@click.option("--year", required=True, metavar="YEAR", help="Financial year, e.g. 2017-18.")
@click.option("--line", metavar="CODE", help="Only this line's plan.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def show(app: AppContext, stream: str | None, year: str, line: str | None, as_json: bool) -> None:
    """The spending plans of a stream and year, line by line."""
    fy = parse_year(year)
    with app.reading() as session:
        stream = pick_stream(session, stream, "pcc")
        line = line_code(session, stream, line) if line is not None else None
        rows = plan_rows(session, stream, fy, line)
    if as_json:
        emit_json(
            [
                {"line": r.line, "position": r.position, "title": r.title, "cost": plain(r.cost),
                 "pcc_objective": r.pcc_objective, "other_funding": r.other_funding,
                 "agreed": r.agreed.isoformat() if r.agreed else None}
                for r in rows
            ]
        )  # fmt: skip
        return
    if not rows:
        terminal.echo(f"no spending plans recorded for {stream} {FinancialYear(fy.start)}")
        return
    terminal.table(
        ["line", "#", "expenditure title", "cost", "PCC objective", "agreed"],
        [
            [
                r.line,
                str(r.position),
                r.title,
                number(r.cost, 2),
                str(r.pcc_objective or ""),
                formatting.day(r.agreed) if r.agreed else "",
            ]
            for r in rows
        ],
        {1, 3},
    )


@plan.command("history")
@click.option("--stream", metavar="CODE", help="Only this stream's plans.")
@click.option("--year", metavar="YEAR", help="Only this financial year's, e.g. 2017-18.")
@click.option("--line", metavar="CODE", help="Only this allocation line's.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (dates ISO).")
@pass_app
def history(
    app: AppContext, stream: str | None, year: str | None, line: str | None, as_json: bool
) -> None:
    """Every spending plan form recorded, in the order recorded: which file, received and
    recorded when and by whom, who completed it, and how many plan lines it added. The
    number (#) is the receipt `grants returns due` gives."""
    fy = parse_year(year) if year is not None else None
    with app.reading() as session:
        if stream is not None:  # an unknown stream is an error, not an empty list
            stream = stream_code(session, stream)
            line = line_code(session, stream, line) if line is not None else None
        rows = plan_filing_rows(session, stream, fy, line.strip().upper() if line else None)
    if as_json:
        emit_json(
            [
                {"filing": r.id, "stream": r.stream, "year": str(r.year), "line": r.line,
                 "file": r.filename, "received": r.received_on.isoformat(),
                 "recorded_at": r.recorded_at.isoformat(), "recorded_by": r.actor,
                 "completed_by": r.completed_by,
                 "completed_on": r.completed_on.isoformat() if r.completed_on else None,
                 "lines": r.lines}
                for r in rows
            ]
        )  # fmt: skip
        return
    if not rows:
        terminal.echo("no spending plan forms recorded" + (f" for {stream}" if stream else ""))
        return
    terminal.table(
        ["#", "line", "year", "file", "received", "recorded", "by", "completed by", "lines"],
        [
            [str(r.id), r.line, str(r.year), r.filename, formatting.day(r.received_on),
             f"{formatting.day(r.recorded_at)} {r.recorded_at:%H:%M}", r.actor,
             r.completed_by or "", str(r.lines)]
            for r in rows
        ],
        right={0, 8},
    )  # fmt: skip


__all__ = ["plan"]


@plan.command()
@stream_option("pcc")
@click.option("--year", required=True, metavar="YEAR", help="Financial year, e.g. 2017-18.")
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
    app: AppContext, stream: str | None, year: str, line: str | None, directory: Path
) -> None:
    """Write a spending plan form for each recipient whose plan is not yet agreed: its
    allocation, any lines already recorded (locked), and rows for new lines (title,
    objectives, PCC strategic objective, cost to the fund, other funding), validated, with
    an instructions sheet."""
    fy = parse_year(year)
    with app.session() as session:  # each form is recorded as issued, with its identity
        stream = pick_stream(session, stream, "pcc", "issue")
        line = line_code(session, stream, line, "issue") if line is not None else None
        wanted = issue_plan_forms(session, stream, fy, line, plan_form.display_cells)
        ledger = ledger_name(session)
    open_plans, without = open_plan_forms(wanted, plan_form.MAX_LINES)
    for said in without:
        terminal.echo(said)
    if not open_plans:
        raise no_open_plan(stream, fy)
    with written_together(directory) as staged:  # every form or none
        for form in open_plans:
            plan_form.write(form, staged(directory / plan_form.filename(form)), ledger)
    for form in open_plans:
        path = directory / plan_form.filename(form)
        terminal.echo(f"wrote {path} ({form.line_name}: {count(len(form.lines), 'line')} recorded)")
    terminal.echo(f"{count(len(open_plans), 'plan form')} in {directory}")


@plan.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the files and say what would be recorded; "
              "record nothing.")  # fmt: skip
@click.option(
    "--received",
    type=DATE,
    help="The day the council received the files (default: today): the plan lines' date.",
)
@pass_app
def import_plans(
    app: AppContext, files: tuple[Path, ...], dry_run: bool, received: date | None
) -> None:
    """Check and record filled spending plan forms. Each file is checked cell by cell and
    its new lines recorded whole, in one transaction, or not at all; problems are listed as
    file.xlsx:Plan!B13: message. The same file twice changes nothing; a plan agreed since the
    form was issued takes no new lines."""

    def one(session: Session, path: Path) -> bool:
        rows, problems = plan_reader.read_plan(path)
        Journal(session).lock()  # a plan's lines are checked and added one import at a time
        earlier = imported_before(session, rows.sha256) if rows is not None else None
        if earlier is not None:
            terminal.echo(f"{path.name}: already imported (its lines are in the plan, dated "
                          f"{formatting.day(earlier)}); nothing changed")  # fmt: skip
            return True
        filed = None
        if rows is not None:
            filed, problems = check_plan(session, rows)
        if problems or filed is None:
            echo_problems(problems)
            return False
        echo_problems((), filed.warnings)
        done = record_plan(session, filed, app.actor, _day(received))
        what = describe(filed)
        if not done.created:
            terminal.echo(f"{path.name}: nothing new in the {what}; nothing changed")
        elif dry_run:
            terminal.echo(f"{path.name}: would record the {what}")
            raise DryRun
        else:
            terminal.echo(f"{path.name}: recorded the {what}")
        return True

    each_file(app, files, one)
