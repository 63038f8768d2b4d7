"""`grants report`: the council's tables, derived from the journal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path

import click

from grants.cli import progress, terminal
from grants.cli.common import AppContext, GrantsGroup, emit_json, pass_app
from grants.cli.folders import written_together
from grants.cli.options import pick_stream, stream_option
from grants.cli.report_capital import as_of_option, as_of_words, capital_programme_command
from grants.errors import GrantsError
from grants.formatting import count, day, number, plain
from grants.periods import FinancialYear, parse_period, parse_year
from grants.services.report_stages import STAGES
from grants.services.settings import ledger_name

# Each workbook's module, and the services behind it, are imported by its own command (and
# `report all`), so that the capital programme, written by its own process at any size
# (grants.cli.report_capital), does not pay for them, nor for the ORM.


@click.group(cls=GrantsGroup)
def report() -> None:
    """The tables the council sends (derived from the journal)."""


report.add_command(capital_programme_command)


def _pounds(value: Decimal | None, places: int) -> str:
    return "n/a" if value is None else number(value, places)


def _blank(value: Decimal | None, places: int) -> str:
    return "" if value is None else number(value, places)


@report.command()
@stream_option("pcc")
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
@as_of_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def resourcing(
    app: AppContext,
    stream: str | None,
    years: str,
    output: Path | None,
    as_of: date | None,
    as_json: bool,
) -> None:
    """The resourcing table: allocations by line and year, the districts beneath their
    partnership with their shares, the TOTAL, and the stated figure where it differs."""
    from grants.services.published import published_figures
    from grants.services.reports import resourcing as resourcing_table

    period = parse_period(years)
    with app.reading() as session:
        code = pick_stream(session, stream, "pcc", "report")
        result = resourcing_table(session, code, period, as_of=as_of)
        ledger = ledger_name(session)
        figures = published_figures(session, result.stream, as_of=as_of)
    if output is not None:
        from grants.excel import resourcing as resourcing_workbook

        resourcing_workbook.write(result, output, ledger, figures)
        terminal.echo(f"wrote {output}")
        return
    labels = {y: FinancialYear(y).render() for y in result.years}
    if as_json:
        emit_json(
            {
                "stream": result.stream,
                "as_of": as_of.isoformat() if as_of else None,
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
    terminal.echo(
        f"{result.stream} resourcing (£){as_of_words(as_of)}; district rows are part of their "
        "partnership"
    )
    terminal.table(["", *labels.values()], rows, set(range(1, len(labels) + 1)))


@report.command("pcc-template")
@stream_option("pcc")
@click.option("--year", required=True, metavar="YEAR", help="Financial year, e.g. 2017-18.")
@click.option(
    "--stage",
    type=click.Choice(STAGES),
    default="plan",
    show_default=True,
    help="The spending plan, or the mid-year or end-year return (adds spend and variance).",
)
@click.option("--area", metavar="NAME", help="One local authority area (a line's name or code).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the workbook (.xlsx) here instead of printing the table.",
)
@as_of_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def pcc_template_command(
    app: AppContext,
    stream: str | None,
    year: str,
    stage: str,
    area: str | None,
    output: Path | None,
    as_of: date | None,
    as_json: bool,
) -> None:
    """A police and crime commissioner's fund's reporting template: the signatory block,
    the grant, and a row per expenditure line with its cost, % of the grant and other funding;
    at mid-year and end-year also the spend reported to date and the variance."""
    from grants.services.published import published_figures
    from grants.services.reports import pcc_template

    fy = parse_year(year)
    with app.reading() as session:
        code = pick_stream(session, stream, "pcc", "report")
        result = pcc_template(session, code, fy, stage, area, as_of)
        ledger = ledger_name(session)
        # A stream's printed totals are not one area's.
        figures = published_figures(session, code, as_of=as_of) if area is None else []
    if output is not None:
        from grants.excel import pcc_template as pcc_workbook

        pcc_workbook.write(result, output, ledger, figures)
        terminal.echo(f"wrote {output}")
        return
    if as_json:
        emit_json(
            {
                "stream": result.stream,
                "year": FinancialYear(result.year).render(),
                "stage": result.stage,
                "as_of": as_of.isoformat() if as_of else None,
                "area": result.area,
                "grant": plain(result.grant),
                "to": result.to.isoformat() if result.to else None,
                "rows": [
                    {
                        "line": r.code,
                        "title": r.title,
                        "parent": r.parent,
                        "cost": plain(r.cost),
                        "other_funding": [
                            {"source": s, "amount": plain(a)} for s, a in r.other_funding
                        ],
                        # null: the plan stage, or no spend reported for the line
                        "spent": plain(r.spent) if r.reported else None,
                    }
                    for r in result.rows
                ],
                "total": plain(result.total),
            }
        )
        return
    grant = result.grant
    rows = []
    for r in result.rows:
        share = f"{r.cost / grant * 100:.1f}%" if grant else ""
        cells = [("  - " if r.parent else "") + r.title, number(r.cost, 2), share]
        if result.to is not None:
            if r.reported:
                cells += [number(r.spent or 0, 2), number(r.cost - (r.spent or 0), 2)]
            else:
                cells += ["not given", "not given"]
        rows.append(cells)
    total_share = f"{result.total / grant * 100:.1f}%" if grant else ""
    totals = ["Total", number(result.total, 2), total_share]
    if result.to is not None:
        totals += [number(result.spent, 2), number(result.total - result.spent, 2)]
    rows.append(totals)
    headers = ["Expenditure title", "Cost", "% of grant"]
    if result.to is not None:
        headers += ["Spent", "Variance"]
    terminal.echo(
        f"{result.stream} {FinancialYear(result.year)} {result.stage}: {result.area}, "
        f"grant £{number(grant, 2)}{as_of_words(as_of)}"
    )
    terminal.table(headers, rows, set(range(1, len(headers))))


@report.command()
@click.option("--stream", metavar="CODE", help="Only this stream's projects (default: every "
              "LGF, City Deal, Growth Deal and ESIF stream).")  # fmt: skip
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The workbook (.xlsx) to write.",
)
@as_of_option
@pass_app
def growth(app: AppContext, stream: str | None, output: Path, as_of: date | None) -> None:
    """The growth programme monitoring workbook: each growth project's award, spend profile,
    claims, payments, slippage, match and RAG status, its quarters, and its outputs against
    target (`grants projects` lists the same figures)."""
    from grants.excel import growth as growth_workbook
    from grants.services.growth import monitoring

    with app.reading() as session:
        code = pick_stream(session, stream, "any", "report") if stream else None
        rows, illustrative = monitoring(session, code, as_of)
        ledger = ledger_name(session)
    growth_workbook.write(rows, output, ledger, illustrative, as_of)
    terminal.echo(f"wrote {output}")


@report.command("esif-claims")
@click.option("--stream", metavar="CODE", help="Only this stream's projects (default: every "
              "structural funds stream).")  # fmt: skip
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The workbook (.xlsx) to write.",
)
@as_of_option
@pass_app
def esif_claims(app: AppContext, stream: str | None, output: Path, as_of: date | None) -> None:
    """The ESIF claim workbook: each structural funds project's claims by quarter, with
    eligible spend, the intervention rate, the most grant it allows, the grant claimed,
    match spent and outputs."""
    from grants.excel import esif_claims as esif_workbook
    from grants.services.growth import monitoring

    with app.reading() as session:
        code = pick_stream(session, stream, "any", "report") if stream else None
        rows, _ = monitoring(session, code, as_of)
        ledger = ledger_name(session)
    esif_workbook.write(rows, output, ledger, as_of)
    terminal.echo(f"wrote {output}")


@report.command("all")
@click.option(
    "-o",
    "--output",
    "directory",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The folder to write the workbooks in (created if missing).",
)
@as_of_option
@pass_app
def all_reports(app: AppContext, directory: Path, as_of: date | None) -> None:
    """Every workbook the books support: for each PCC Community Safety Fund stream its
    resourcing table and, for each year, the reporting template at each stage; for each
    stream with programme versions, the capital programme; the growth programme monitoring
    workbook and the ESIF claim workbook when the ledger holds such projects. With --as-of,
    each as the ledger stood at the end of that day, its file name ending
    `-as-of-YYYY-MM-DD`."""
    from grants.excel.reports import report_file, write_report
    from grants.services.balance_reads import shared
    from grants.services.workbooks import workbooks

    with app.reading() as session, shared(session):  # each stream's balances read once a day
        books = workbooks(session, as_of)
        ledger = ledger_name(session)
        jobs: list[tuple[Path, Callable[[Path], None]]] = []
        for w in books:
            path = directory / report_file(w, as_of)
            jobs.append((path, partial(write_report, session, w, ledger=ledger, as_of=as_of)))
        if not jobs:
            if as_of is not None:
                raise GrantsError(
                    f"the ledger had nothing to report at the end of {day(as_of)}: its first "
                    "allocation or programme version is dated later"
                )
            raise GrantsError(
                "the books have nothing to report: load them with `grants ledger load`"
            )
        # All or none: a stop part way (a ledger found changed behind its back, a full disk)
        # leaves no workbook of this run beside those of an earlier one.
        with (
            written_together(directory) as staged,
            progress.bar(len(jobs), "writing workbooks", progress.showing()) as shown,
        ):
            for number, (path, write) in enumerate(jobs, start=1):
                shown.label(f"workbook {number:,} of {len(jobs):,}: {path.name}")
                write(staged(path))
                shown.advance()
    for path, _ in jobs:
        terminal.echo(f"wrote {path}")
    terminal.echo(f"{count(len(jobs), 'workbook')} in {directory}")


__all__ = ["report"]
