"""Read-only commands: streams, allocations, balance, journal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import click
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from grants.cli import terminal
from grants.cli.common import AppContext, emit_json, pass_app
from grants.cli.options import pick_stream, stream_option
from grants.db.models import Entry, Line, Organisation, Stream
from grants.formatting import day, gbp, plain
from grants.money import from_pence
from grants.periods import FinancialYear, Period, parse_period
from grants.services import access
from grants.services.balances import Balances, balance_rows
from grants.services.streams import stream_code


def _period_option(value: str | None) -> Period | None:
    return parse_period(value) if value else None


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def streams(app: AppContext, as_json: bool) -> None:
    """List the funding streams."""
    funder = aliased(Organisation)
    with app.reading() as session:
        access.require(session, "read")
        rows = session.execute(
            select(Stream, funder.code)
            .outerjoin(funder, funder.id == Stream.funder_id)
            .order_by(Stream.code)
        ).all()
    data = [
        {
            "code": s.code,
            "name": s.name,
            "kind": s.kind,
            "funder": f,
            "intervention_rate": f"{Decimal(s.intervention_bp) / 100:.2f}"
            if s.intervention_bp is not None
            else None,
        }
        for s, f in rows
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
    period = _period_option(year)
    with app.reading() as session:
        access.require(session, "report")
        stream = pick_stream(session, stream)
        balances = Balances(session, stream)
        recipients = dict(
            session.execute(
                select(Line.code, Organisation.name)
                .join(Stream, Stream.id == Line.stream_id)
                .outerjoin(Organisation, Organisation.id == Line.recipient_id)
                .where(Stream.code == stream)
            ).all()
        )
        shares = _latest_shares(session, stream)
    data = []
    for row in balances.rows(period):
        if row.line is None or (row.allocated == 0 and row.paid == 0):
            continue
        data.append(
            {
                "line": row.line,
                "name": row.name,
                "recipient": recipients.get(row.line),
                "year": str(row.period),
                "amount": plain(row.allocated),
                "share": shares.get((row.line, row.period)),
                "parent": row.parent,
            }
        )
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


def _latest_shares(session: object, stream: str) -> dict[tuple[str, Period], str]:
    rows = session.execute(  # type: ignore[attr-defined]
        select(Line.code, Entry.first_year, Entry.last_year, Entry.share, Entry.reverses_id)
        .join(Line, Line.id == Entry.line_id)
        .join(Stream, Stream.id == Entry.stream_id)
        .where(Stream.code == stream, Entry.kind == "allocate", Entry.share.is_not(None))
        .order_by(Entry.id)
    )
    out: dict[tuple[str, Period], str] = {}
    for code, first, last, share, reverses in rows:
        if reverses is None:
            out[(code, Period(FinancialYear(first), FinancialYear(last)))] = share
    return out


BALANCE_COLUMNS = ("awarded", "stated", "allocated", "unallocated", "paid", "reported")


@click.command()
@click.option("--stream", metavar="CODE", help="Only this stream.")
@click.option("--year", metavar="FY", help="Only this financial year or range, e.g. 2017-18.")
@click.option("--summary", is_flag=True, help="Only the stream rows, not each line.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def balance(
    app: AppContext, stream: str | None, year: str | None, summary: bool, as_json: bool
) -> None:
    """Awarded, stated, allocated, unallocated, paid and reported, per stream, year and line.

    Every figure is derived from the journal. A difference between the stated and the
    awarded or allocated amount is shown beneath the stream's row.
    """
    period = _period_option(year)
    with app.reading() as session:
        if stream:
            stream = stream_code(session, stream)
        rows = balance_rows(session, stream, period)
    if summary:
        rows = [r for r in rows if r.line is None]
    if as_json:
        emit_json(
            [
                {
                    "stream": r.stream,
                    "year": str(r.period),
                    "line": r.line,
                    "name": r.name or None,
                    "parent": r.parent,
                    **{c: plain(getattr(r, c)) for c in BALANCE_COLUMNS},
                }
                for r in rows
            ]
        )
        return
    if not rows:
        terminal.echo("nothing recorded yet")
        return
    out = []
    for r in rows:
        label = (
            f"{r.stream} {r.period}" if r.line is None else f"  {'  ' if r.parent else ''}{r.line}"
        )
        out.append(
            [label] + ["" if getattr(r, c) is None else gbp(getattr(r, c)) for c in BALANCE_COLUMNS]
        )
    terminal.table(["stream / line", *BALANCE_COLUMNS], out, set(range(1, 7)))
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
    line = aliased(Line)
    with app.reading() as session:
        access.require(session, "report")
        query = (
            select(Entry, Stream.code, line.code)
            .join(Stream, Stream.id == Entry.stream_id)
            .outerjoin(line, line.id == Entry.line_id)
            .order_by(Entry.id)
        )
        if stream:
            query = query.where(Stream.code == stream_code(session, stream))
        if limit:
            total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            query = query.offset(max(0, total - limit))
        rows = session.execute(query).all()
    data = [
        {
            "entry": e.id,
            "ref": e.ref,
            "date": e.day.isoformat(),
            "kind": e.kind,
            "reverses": e.reverses_id,
            "stream": s,
            "year": str(Period(FinancialYear(e.first_year), FinancialYear(e.last_year))),
            "line": code,
            "amount": plain(from_pence(-e.amount_pence if e.reverses_id else e.amount_pence)),
            "actor": e.actor,
            "recorded": e.recorded_at.isoformat(),
            "reason": e.reason,
            "origin": e.origin,
        }
        for e, s, code in rows
    ]
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
