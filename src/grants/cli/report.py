"""`grants report`: the council's tables, derived from the journal."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click

from grants.cli.common import AppContext, GrantsGroup, emit_json, pass_app
from grants.cli.query import table
from grants.errors import GrantsError
from grants.excel import capital as capital_workbook
from grants.excel import resourcing as resourcing_workbook
from grants.excel import templates
from grants.formatting import number, plain
from grants.money import from_pence
from grants.periods import FinancialYear, Period, parse_period, parse_year
from grants.services.capital import capital_programme, capital_stream, versions_to_compare
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


@report.command("capital-programme")
@click.option("--stream", metavar="CODE", help="Capital stream (default: the one with versions).")
@click.option("--from", "first", default="2017/18", show_default=True, metavar="YEAR",
              help="First year of the programme columns.")  # fmt: skip
@click.option("--to", "last", default="2027/28", show_default=True, metavar="YEAR",
              help="Last year of the programme columns.")  # fmt: skip
@click.option("--compare", metavar="BASE:OTHER",
              help="Programme versions to compare, e.g. current:proposed (default: as the "
              "books say).")  # fmt: skip
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the workbook (.xlsx) here instead of printing the resources table.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def capital_programme_command(
    app: AppContext,
    stream: str | None,
    first: str,
    last: str,
    compare: str | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """The capital programme: flexible resources with the running balance and the surplus or
    shortfall, the funding and portfolio allocation annexes, the programmes by year of each
    version with the Change column and Difference row, and the £m summary."""
    years = Period(parse_year(first), parse_year(last))
    layout = templates.load("capital-programme")
    with app.session() as session:
        code = capital_stream(session, stream)
        base, other = versions_to_compare(session, code, compare)
        programme = capital_programme(
            session,
            code,
            years,
            base,
            other,
            summary_table=layout["summary"]["books_table"],
            resources_table=layout["resources"]["books_table"],
            funding_table=layout["funding"]["books_table"],
        )
        if output is not None:
            capital_workbook.write(session, programme, output, app.shown_url)
            click.echo(f"wrote {output}")
            return
    p = programme
    if as_json:
        emit_json(
            {
                "stream": p.stream,
                "period": p.period.render(),
                "compare": {"base": p.base, "other": p.other},
                "funding": [
                    {"tranche": t.code, "label": t.label, "amount": plain(from_pence(t.pence))}
                    for t in p.tranches
                ],
                "total_funding": plain(from_pence(p.funding)),
                "allocations": [
                    {
                        "line": x.code,
                        "name": x.name,
                        "cost": None if x.cost is None else plain(from_pence(x.cost)),
                        "specific_funding": (
                            None if x.specific is None else plain(from_pence(x.specific))
                        ),
                        "net": plain(from_pence(x.net)),
                        "schemes": [
                            {
                                "line": s.code,
                                "ref": s.ref,
                                "name": s.name,
                                "flexible": plain(from_pence(s.flexible)),
                            }
                            for s in x.schemes
                        ],
                    }
                    for x in p.portfolios
                ],
                "total_allocated": plain(from_pence(p.allocated)),
                "surplus": plain(from_pence(p.funding - p.allocated)),
            }
        )
        return
    rows = [[t.label, "", number(from_pence(t.pence), 0), "", ""] for t in p.tranches]
    balance = p.funding
    rows.append(["Total funding", "", number(from_pence(p.funding), 0), "",
                 number(from_pence(balance), 0)])  # fmt: skip
    for x in p.portfolios:
        balance -= x.net
        rows.append(
            [
                x.name,
                "" if x.cost is None else number(from_pence(x.cost), 0),
                "" if x.specific is None else number(from_pence(x.specific), 0),
                number(from_pence(x.net), 0),
                number(from_pence(balance), 0),
            ]
        )
    rows.append(["Total allocations", "", "", number(from_pence(p.allocated), 0), ""])
    rows.append(["Surplus (+) / shortfall (-)", "", "", "",
                 number(from_pence(p.funding - p.allocated), 0)])  # fmt: skip
    click.echo(f"{p.stream} flexible capital resources {p.period.render('/')} (£)")
    click.echo(table(["", "Cost", "Funding", "Net", "Balance"], rows, {1, 2, 3, 4}))


__all__ = ["report"]
