"""`grants report`: the council's tables, derived from the journal."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click

from grants.cli.common import AppContext, GrantsGroup, emit_json, pass_app
from grants.cli.query import table
from grants.errors import GrantsError
from grants.excel import resourcing as resourcing_workbook
from grants.formatting import number, plain
from grants.periods import FinancialYear, parse_period
from grants.services.reports import resourcing as resourcing_table


@click.group(cls=GrantsGroup)
def report() -> None:
    """The tables the council sends (derived from the journal)."""


def _pounds(value: Decimal | None, places: int) -> str:
    return "n/a" if value is None else number(value, places)


def _blank(value: Decimal | None, places: int) -> str:
    return "" if value is None else number(value, places)


@report.command()
@click.option("--stream", default="PCC-CSF", show_default=True, metavar="CODE", help="Stream.")
@click.option(
    "--years",
    required=True,
    metavar="FROM:TO",
    help="Financial years, e.g. 2014-15:2017-18.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the workbook (.xlsx) here instead of printing the table.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def resourcing(
    app: AppContext, stream: str, years: str, output: Path | None, as_json: bool
) -> None:
    """The resourcing table: allocations by line and year, the districts beneath their
    partnership with their shares, the TOTAL, and the stated figure where it differs."""
    with app.session() as session:
        result = resourcing_table(session, stream, parse_period(years))
    if output is not None:
        if output.suffix.lower() != ".xlsx":
            raise GrantsError(f"{output}: the workbook must be an .xlsx file")
        try:
            resourcing_workbook.write(result, output, app.shown_url)
        except OSError as exc:
            raise GrantsError(f"cannot write {output}: {exc.strerror or exc}") from exc
        click.echo(f"wrote {output}")
        return
    labels = {y: FinancialYear(y).render() for y in result.years}
    if as_json:
        emit_json(
            {
                "stream": result.stream,
                "years": list(labels.values()),
                "rows": [
                    {
                        "line": r.code,
                        "name": r.name,
                        "parent": r.parent,
                        "amounts": {labels[y]: plain(r.amounts.get(y)) for y in result.years},
                        "shares": {labels[y]: r.shares[y] for y in result.years if y in r.shares},
                    }
                    for r in result.rows
                ],
                "total": {labels[y]: plain(result.total[y]) for y in result.years},
                "stated": {labels[y]: plain(v) for y, v in result.stated.items()},
                "difference": {
                    labels[y]: plain(result.difference(y))
                    for y in result.years
                    if result.difference(y) is not None
                },
            }
        )
        return
    every = [v for r in result.rows for v in r.amounts.values()] + list(result.stated.values())
    places = 0 if all(v == v.to_integral_value() for v in every) else 2
    rows = []
    for r in result.rows:
        shares = sorted(set(r.shares.values()))
        label = ("  - " if r.parent else "") + r.name
        if len(shares) == 1:
            label += f" ({shares[0]})"
        rows.append([label, *(_pounds(r.amounts.get(y), places) for y in result.years)])
    rows.append(["TOTAL", *(_pounds(result.total[y], places) for y in result.years)])
    if any(result.difference(y) is not None for y in result.years):
        rows.append(["Stated", *(_blank(result.stated.get(y), places) for y in result.years)])
        rows.append(["Difference", *(_blank(result.difference(y), places) for y in result.years)])
    click.echo(f"{result.stream} resourcing (£); district rows are part of their partnership")
    click.echo(table(["", *labels.values()], rows, set(range(1, len(labels) + 1))))


__all__ = ["report"]
