"""`grants reconcile`: every check over the ledger, as a list, JSON or a workbook."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from grants import formatting
from grants.cli import terminal
from grants.cli.common import AppContext, emit_json, pass_app
from grants.cli.evidence import differences
from grants.cli.options import DATE
from grants.excel import reconcile as reconcile_workbook
from grants.periods import parse_year
from grants.services import checkpoints
from grants.services.reconcile import SEVERITIES, reconcile
from grants.services.settings import ledger_name
from grants.services.stream_texts import words
from grants.services.streams import stream_code


@click.command("reconcile")
@click.option("--stream", metavar="CODE", help="Only this stream.")
@click.option("--year", metavar="YEAR", help="Only this financial year, e.g. 2017-18.")
@click.option(
    "--as-of",
    "as_of",
    type=DATE,
    help="Judge due dates as on this day (default: today).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the findings as a workbook: a summary and a sheet per recipient.",
)
@click.option(
    "--whole",
    is_flag=True,
    help="Walk every link of the record, not only those after the last walk of every link "
    "(`grants verify`'s or `grants reconcile`'s).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def reconcile_command(
    app: AppContext,
    stream: str | None,
    year: str | None,
    as_of: date | None,
    output: Path | None,
    whole: bool,
    as_json: bool,
) -> None:
    """Check the ledger: stated against agreed awards, allocations against awards, lines
    against their parent and shares, plans against allocations, returns missing or late,
    reported spend against allocations (over- and underspend, the clawback to propose),
    blanks in returns, capital programme changes, published figures that do not foot,
    payments beyond what signed agreements commit (and commitments beyond an allocation),
    scheduled instalments due or overdue and not yet paid,
    and money in (awards not yet claimed, claims not yet paid and their age, receipts that
    match no claim, cash received ahead of spend). Exit code 1 while any error stands.

    The record is checked first: the link the last walk of every link found whole must still
    be as it found it, and the links after it are walked now (--whole, no verification
    recorded, or most of the chain newer than it: every link, and a walk of every link that
    finds the record whole is recorded, as `grants verify` records one). The output says
    which."""
    today = as_of if as_of is not None else date.today()
    began = checkpoints.now()  # before the walk reads: the time a verification gives
    with app.reading() as session:
        said = None
        if stream is not None:
            stream = stream_code(session, stream, work="report")
            said = words(session, stream)
        findings = reconcile(
            session, stream, parse_year(year) if year else None, today, differences,
            whole=whole,
        )  # fmt: skip
        ledger = ledger_name(session)
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    if output is not None:
        reconcile_workbook.write(findings, output, ledger, today, said)
    # A walk of every link that found the record whole is what `grants verify` makes (the
    # same walk, the same returns' workbooks compared): recorded as one, the next reconcile
    # walks only the links after it. Recorded once the workbook asked for is written, so
    # that a command that fails records nothing.
    walked = findings.record
    recorded = (
        walked is not None and checkpoints.recordable(walked)
        and app.record_verification(walked, began, "this walk of every link")
    )  # fmt: skip
    if as_json:
        record = None if walked is None else {**checkpoints.as_dict(walked),
                                               "recorded": recorded}  # fmt: skip
        emit_json({"as_of": today.isoformat(), "counts": counts, "record": record,
                   "findings": [f.as_dict() for f in findings]})  # fmt: skip
    else:
        for f in findings:
            where = " ".join(x for x in (f.stream, f.period, f.line) if x)
            terminal.echo(f"{f.severity:7}  {where}: {f.message}  [{f.check}]")
        if findings.record_statement:
            terminal.echo(findings.record_statement)
        if recorded:
            terminal.echo("recorded: the next `grants reconcile` relies on this walk of every "
                          "link, as on a `grants verify`")  # fmt: skip
        summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items())
        terminal.echo(f"reconciled as of {formatting.day(today)}: {summary}")
    if output is not None:
        terminal.echo(f"wrote {output}")
    if counts["error"]:
        click.get_current_context().exit(1)


__all__ = ["reconcile_command"]
