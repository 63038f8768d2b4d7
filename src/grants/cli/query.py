"""Read-only commands: streams, allocations, balance, journal.

The services each command reads through are imported when it runs: `grants balance
--summary` reads through SQLAlchemy Core (grants.services.summary) and imports neither the
ORM nor the models that the others need."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import click

from grants.cli import terminal
from grants.cli.common import AppContext, emit_json, pass_app
from grants.cli.options import pick_stream, stream_option
from grants.formatting import day, gbp, plain
from grants.periods import Period, parse_period

if TYPE_CHECKING:
    from grants.services.balances import BalanceRow


def _period_option(value: str | None) -> Period | None:
    return parse_period(value) if value else None


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def streams(app: AppContext, as_json: bool) -> None:
    """List the funding streams."""
    from grants.services.listings import stream_rows

    with app.reading() as session:
        rows = stream_rows(session)
    data = [
        {
            "code": s.code,
            "name": s.name,
            "kind": s.kind,
            "funder": s.funder,
            "intervention_rate": (
                None if s.intervention_rate is None else f"{s.intervention_rate:.2f}"
            ),
        }
        for s in rows
    ]
    if as_json:
        emit_json(data)
        return
    terminal.table(
        ["code", "kind", "funder", "name"],
        [[d["code"], d["kind"], d["funder"] or "", d["name"]] for d in data],
        set(),
    )


@click.command()
@stream_option("any")
@click.option("--year", metavar="FY", help="Only this financial year or range, e.g. 2017-18.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def allocations(app: AppContext, stream: str | None, year: str | None, as_json: bool) -> None:
    """List the allocations of a stream: recipient, year, amount, share and parent."""
    from grants.services.listings import allocation_rows

    period = _period_option(year)
    with app.reading() as session:
        stream = pick_stream(session, stream)
        rows = allocation_rows(session, stream, period)
    data = [
        {
            "line": r.line,
            "name": r.name,
            "recipient": r.recipient,
            "year": str(r.period),
            "amount": plain(r.amount),
            "share": r.share,
            "parent": r.parent,
        }
        for r in rows
    ]
    if as_json:
        emit_json(data)
        return
    if not data:
        terminal.echo(f"no allocations in {stream}" + (f" for {period}" if period else ""))
        return
    terminal.table(
        ["year", "line", "name", "amount", "share", "parent"],
        [
            [
                d["year"],
                d["line"],
                d["name"],
                gbp(Decimal(d["amount"])),
                d["share"] or "",
                d["parent"] or "",
            ]
            for d in data
        ],
        {3, 4},
    )


BALANCE_COLUMNS = ("awarded", "stated", "allocated", "unallocated", "paid", "reported")
# Commitments and money in: in --json always; on the terminal once any is recorded.
COMMITTED_COLUMNS = ("committed",)
CARRIED_COLUMNS = ("carried", "brought")
MONEY_IN_COLUMNS = ("claimed", "received")
_JSON_COLUMNS = (*BALANCE_COLUMNS, *COMMITTED_COLUMNS, *CARRIED_COLUMNS, *MONEY_IN_COLUMNS)


@click.command()
@click.option("--stream", metavar="CODE", help="Only this stream.")
@click.option("--year", metavar="FY", help="Only this financial year or range, e.g. 2017-18.")
@click.option("--summary", is_flag=True, help="Only the stream rows, not each line.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def balance(
    app: AppContext, stream: str | None, year: str | None, summary: bool, as_json: bool
) -> None:
    """Awarded, stated, allocated, unallocated, paid and reported, per stream, year and line,
    what is committed by signed grant agreements, underspend carried forward and brought
    forward, and what was claimed from the funder and received (each once any is recorded).

    Every figure is derived from the journal. A difference between the stated and the
    awarded or allocated amount is shown beneath the stream's row.
    """
    period = _period_option(year)
    rows: Sequence[BalanceRow] | None = None
    if summary and not stream:  # the streams' rows alone, for someone who sees every line
        from grants.services.summary import summary_rows

        rows = app.read_core("read", lambda connection: summary_rows(connection, period))
    if rows is None:
        from grants.services.balances import balance_rows
        from grants.services.streams import stream_code

        with app.reading() as session:
            if stream:
                stream = stream_code(session, stream)
            rows = balance_rows(session, stream, period)
        if summary:
            rows = [r for r in rows if r.line is None]
    show_balance(rows, as_json)


def show_balance(rows: Sequence[BalanceRow], as_json: bool) -> None:
    """`grants balance`'s rows as JSON or a table with its notes."""
    if as_json:  # made a row at a time as terminal.json encodes them
        emit_json(
            {
                "stream": r.stream,
                "year": str(r.period),
                "line": r.line,
                "name": r.name or None,
                "parent": r.parent,
                **{c: plain(getattr(r, c)) for c in _JSON_COLUMNS},
            }
            for r in rows
        )
        return
    if not rows:
        terminal.echo("nothing recorded yet")
        return
    out = []
    columns = BALANCE_COLUMNS
    if any(r.committed for r in rows):
        columns = (*columns, *COMMITTED_COLUMNS)
    if any(r.carried or r.brought for r in rows):
        columns = (*columns, *CARRIED_COLUMNS)
    if any(r.claimed or r.received for r in rows):
        columns = (*columns, *MONEY_IN_COLUMNS)
    for r in rows:
        label = (
            f"{r.stream} {r.period}" if r.line is None else f"  {'  ' if r.parent else ''}{r.line}"
        )
        out.append([label] + ["" if getattr(r, c) is None else gbp(getattr(r, c)) for c in columns])
    terminal.table(["stream / line", *columns], out, set(range(1, len(columns) + 1)))
    notes = []
    for r in rows:
        if r.line is None and r.stated is not None:
            if r.stated != r.allocated:
                notes.append(
                    f"{r.stream} {r.period}: stated {gbp(r.stated)}, allocated {gbp(r.allocated)}: "
                    f"difference {gbp(r.stated - r.allocated)}"
                )
            if r.awarded is not None and r.stated != r.awarded:
                notes.append(
                    f"{r.stream} {r.period}: stated {gbp(r.stated)}, awarded {gbp(r.awarded)}: "
                    f"difference {gbp(r.stated - r.awarded)}"
                )
        if r.unallocated is not None and r.unallocated < 0:
            who = f"{r.stream} {r.period}" + (f" {r.line}" if r.line else "")
            notes.append(f"{who}: over-allocated by {gbp(-r.unallocated)}")
    if notes:
        terminal.echo("")
        for n in notes:
            terminal.echo(n)


@click.command()
@click.option("--stream", metavar="CODE", help="Only this stream.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the last N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def journal(app: AppContext, stream: str | None, limit: int | None, as_json: bool) -> None:
    """List journal entries: number, date, what, amount, who, why and where from."""
    from grants.services.listings import journal_rows
    from grants.services.streams import stream_code

    with app.reading() as session:
        rows = journal_rows(session, stream_code(session, stream) if stream else None, limit)
    # Made a row at a time as terminal.json encodes them (a national funder's journal:
    # 200,000 entries), or as the table's cells are.
    data = (
        {
            "entry": r.entry,
            "ref": r.ref,
            "date": r.day.isoformat(),
            "kind": r.kind,
            "reverses": r.reverses,
            "stream": r.stream,
            "year": str(r.period),
            "line": r.line,
            "amount": plain(r.amount),
            "actor": r.actor,
            "recorded": r.recorded.isoformat(),
            "reason": r.reason,
            "origin": r.origin,
        }
        for r in rows
    )
    if as_json:
        emit_json(data)
        return
    terminal.table(
        ["entry", "date", "kind", "stream", "year", "line", "amount", "actor", "origin"],
        [
            [
                str(d["entry"]),
                day(date.fromisoformat(d["date"])),
                d["kind"] + (f" (reverses {d['reverses']})" if d["reverses"] else ""),
                d["stream"],
                d["year"],
                d["line"] or "",
                gbp(Decimal(d["amount"])),
                d["actor"],
                d["origin"] or "",
            ]
            for d in data
        ],
        {0, 6},
    )


COMMANDS = (streams, allocations, balance, journal)
