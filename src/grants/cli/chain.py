"""`grants chain`: the regranting chain of a stream, level by level."""

from __future__ import annotations

from datetime import date

import click

from grants.cli import terminal
from grants.cli.common import AppContext, emit_json, pass_app
from grants.cli.options import DATE
from grants.formatting import gbp, plain
from grants.periods import parse_period
from grants.services.chain import FIGURES, chain_rows
from grants.services.streams import stream_code


@click.command("chain")
@click.option("--stream", metavar="CODE", help="Only this stream.")
@click.option("--year", metavar="FY", help="Only this financial year or range, e.g. 2017-18.")
@click.option("--as-of", "as_of", type=DATE, help="The ledger as it stood at the end of this day.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def chain(
    app: AppContext, stream: str | None, year: str | None, as_of: date | None, as_json: bool
) -> None:
    """The regranting chain: funder, accountable body, then each line with its recipient
    (partnership, recipient, project), with awarded, committed, paid and spent at each level.

    A line's committed, paid and spent include the lines beneath it; money passed on from a
    parent to a child counts once. A level whose levels beneath add up to more than it, or
    that was paid beyond what it was awarded, is flagged with the figures.
    """
    period = parse_period(year) if year else None
    with app.reading() as session:
        if stream:
            stream = stream_code(session, stream)
        rows = chain_rows(session, stream, period, as_of)
    if as_json:  # made a row at a time as terminal.json encodes them
        emit_json(
            {
                "stream": r.stream,
                "year": str(r.period),
                "depth": r.depth,
                "level": r.level,
                "line": r.line,
                "name": r.name,
                "organisation": r.organisation,
                "organisation_name": r.organisation_name,
                **{
                    f: None if getattr(r, f) is None else plain(getattr(r, f))
                    for f in (*FIGURES, "passed_on")
                },
                "flags": list(r.flags),
            }
            for r in rows
        )
        return
    shown = list(rows)  # every row's width is the table's
    if not shown:
        terminal.echo("nothing recorded yet")
        return
    out = []
    notes = []
    for r in shown:
        if r.depth == 0:
            out.append([f"{r.stream} {r.period}", "", "", "", "", "", "", ""])
        label = "  " * (r.depth + 1) + (r.line or r.organisation or "-")
        who = r.organisation or ""
        money = ["" if getattr(r, f) is None else gbp(getattr(r, f)) for f in FIGURES]
        passed = "" if not r.passed_on else gbp(r.passed_on)
        out.append([label, r.level, who, *money, passed])
        where = f"{r.stream} {r.period} {r.line or r.level}"
        notes.extend(f"{where}: {flag}" for flag in r.flags)
    terminal.table(["chain", "level", "organisation", *FIGURES, "passed on"], out, {3, 4, 5, 6, 7})
    if notes:
        terminal.echo("")
        for note in notes:
            terminal.echo(note)
