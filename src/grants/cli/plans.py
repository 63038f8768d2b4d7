"""`grants plan`: a recipient's spending plan, recorded by an officer.

The commands write the same `plan` and `agree` directives the books take and load them
through the books loader, so a plan recorded by a command is checked by exactly the rules
of the books (and `grants ledger export` writes it back as books).
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import click
from sqlalchemy import select

from grants.cli.common import AppContext, GrantsGroup, emit_json, pass_app
from grants.cli.query import table
from grants.cli.write import _origin
from grants.db.models import Line, PlanAgreement, PlanLine, Stream
from grants.errors import BooksError, GrantsError
from grants.formatting import number, plain
from grants.ledger import loader
from grants.ledger.printer import quote
from grants.periods import FinancialYear, parse_year


@click.group(cls=GrantsGroup)
def plan() -> None:
    """Spending plans: record a recipient's expenditure lines, agree a plan, list plans."""


def _record(app: AppContext, text: str) -> None:
    with tempfile.TemporaryDirectory(prefix="grants-plan-") as folder:
        path = Path(folder) / "command.grants"
        path.write_text(text, encoding="utf-8")
        try:
            with app.session() as session:
                loader.load(session, path, app.actor)
        except BooksError as exc:
            raise GrantsError("; ".join(p.message for p in exc.problems)) from None


def _day(value: datetime | None) -> date:
    return value.date() if value is not None else date.today()


@plan.command("add")
@click.argument("stream")
@click.argument("year")
@click.argument("line")
@click.argument("title")
@click.option("--cost", required=True, metavar="AMOUNT", help="Cost to the fund, e.g. 40,000.")
@click.option("--objectives", metavar="TEXT", help="What the line is for.")
@click.option("--pcc-objective", type=click.IntRange(1, 5), help="PCC strategic objective 1-5.")
@click.option("--other-funding", metavar="TEXT", help="Other funding sources and amounts.")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]),
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
    day: datetime | None,
) -> None:
    """Add an expenditure line to the spending plan of LINE for YEAR (refused once the plan
    is agreed)."""
    meta = [("cost", cost), ("objectives", objectives), ("pcc-objective", pcc_objective),
            ("other-funding", other_funding), ("origin", _origin())]  # fmt: skip
    text = f"{_day(day)} plan {stream} {year} {line} {quote(title)}\n" + "".join(
        f"  {k}: {quote(str(v))}\n" for k, v in meta if v is not None
    )
    _record(app, text)
    click.echo(f"added {title!r} to the plan of {line} {year}")


@plan.command("agree")
@click.argument("stream")
@click.argument("year")
@click.argument("line")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day the plan was agreed (default: today).")  # fmt: skip
@pass_app
def agree(app: AppContext, stream: str, year: str, line: str, day: datetime | None) -> None:
    """Record that the plan of LINE for YEAR is agreed: its titles are then fixed."""
    _record(app, f"{_day(day)} agree {stream} {year} {line}\n  origin: {quote(_origin())}\n")
    click.echo(f"the plan of {line} {year} is agreed")


@plan.command("show")
@click.option("--stream", required=True, metavar="CODE", help="Stream.")
@click.option("--year", required=True, metavar="YEAR", help="Financial year, e.g. 2017-18.")
@click.option("--line", metavar="CODE", help="Only this line's plan.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def show(app: AppContext, stream: str, year: str, line: str | None, as_json: bool) -> None:
    """The spending plans of a stream and year, line by line."""
    fy = parse_year(year)
    with app.session() as session:
        query = (
            select(Line.code, PlanLine.position, PlanLine.title, PlanLine.cost_pence,
                   PlanLine.pcc_objective, PlanLine.other_funding)
            .join(Line, Line.id == PlanLine.line_id)
            .join(Stream, Stream.id == Line.stream_id)
            .where(Stream.code == stream, PlanLine.year == fy.start)
            .order_by(Line.id, PlanLine.position)
        )  # fmt: skip
        if line is not None:
            query = query.where(Line.code == line)
        rows = session.execute(query).all()
        agreed = dict(
            session.execute(
                select(Line.code, PlanAgreement.day)
                .join(Line, Line.id == PlanAgreement.line_id)
                .join(Stream, Stream.id == Line.stream_id)
                .where(Stream.code == stream, PlanAgreement.year == fy.start)
            ).all()
        )
    if as_json:
        emit_json(
            [
                {"line": r[0], "position": r[1], "title": r[2],
                 "cost": plain(Decimal(r[3]).scaleb(-2)), "pcc_objective": r[4],
                 "other_funding": r[5],
                 "agreed": agreed[r[0]].isoformat() if r[0] in agreed else None}
                for r in rows
            ]
        )  # fmt: skip
        return
    if not rows:
        click.echo(f"no spending plans recorded for {stream} {FinancialYear(fy.start)}")
        return
    click.echo(
        table(
            ["line", "#", "expenditure title", "cost", "PCC objective", "agreed"],
            [
                [
                    r[0],
                    str(r[1]),
                    r[2],
                    number(Decimal(r[3]).scaleb(-2), 2),
                    str(r[4] or ""),
                    agreed[r[0]].isoformat() if r[0] in agreed else "",
                ]
                for r in rows
            ],
            {1, 3},
        )
    )


__all__ = ["plan"]
