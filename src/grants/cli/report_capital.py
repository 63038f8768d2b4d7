"""`grants report capital-programme`: the capital programme's resources table, or its
workbook. Written by its own process at any size, it imports only its own workbook; as it
stands, for someone who sees every line, it reads the programme through SQLAlchemy Core
(grants.services.capital_core) without the ORM or the models, and through a session
otherwise (as of a day, a stream with published figures, a recipient, a password)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from grants.cli import terminal
from grants.cli.common import AppContext, emit_json, pass_app
from grants.cli.options import DATE, pick_stream, stream_option
from grants.excel import capital as capital_workbook
from grants.formatting import day, number, plain
from grants.money import from_pence
from grants.periods import FinancialYear
from grants.services.capital_types import CapitalProgramme

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

F = TypeVar("F", bound=Callable[..., Any])


def as_of_option(func: F) -> F:
    """``--as-of DATE``: the report as the ledger stood at the end of that day."""
    return click.option(
        "--as-of",
        "as_of",
        type=DATE,
        help="Show the ledger as it stood at the end of this day: entries dated after it, and "
        "plans, returns, statements and programme versions received or dated after it, are not "
        "counted (default: as it stands, every entry counted).",
    )(func)


def as_of_words(as_of: date | None) -> str:
    return "" if as_of is None else f", as of {day(as_of)}"


def _core_workbook(
    connection: Connection, stream: str | None, first: str | None, last: str | None,
    compare: str | None, output: Path,
) -> bool | None:  # fmt: skip
    """The workbook of the programme as it stands, read through SQLAlchemy Core (True);
    None, having written nothing, where a session must read it."""
    found = capital_workbook.core_programme(connection, stream, first, last, compare)
    if found is None:
        return None
    programme, reads, ledger = found
    capital_workbook.write_book(programme, reads, output, ledger)
    return True


def _capital(
    session: Session, stream: str | None, first: str | None, last: str | None,
    compare: str | None, as_of: date | None,
) -> CapitalProgramme:  # fmt: skip
    from grants.services.capital import capital_stream

    code = capital_stream(session, pick_stream(session, stream, "capital", "report"))
    return capital_workbook.programme(session, code, first, last, compare, as_of)


@click.command("capital-programme")
@stream_option("capital", "Capital stream")
@click.option("--from", "first", metavar="YEAR",
              help="First year of the programme columns (default: the books' first).")  # fmt: skip
@click.option("--to", "last", metavar="YEAR",
              help="Last year of the programme columns (default: the books' last).")  # fmt: skip
@click.option("--compare", metavar="BASE:OTHER",
              help="Programme versions to compare, e.g. current:proposed (default: as the "
              "books say).")  # fmt: skip
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the workbook (.xlsx) here instead of printing the resources table.",
)
@as_of_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def capital_programme_command(
    app: AppContext,
    stream: str | None,
    first: str | None,
    last: str | None,
    compare: str | None,
    output: Path | None,
    as_of: date | None,
    as_json: bool,
) -> None:
    """The capital programme: flexible resources with the running balance and the surplus or
    shortfall, the funding and portfolio allocation annexes, the programmes by year of each
    version with the Change column and Difference row, and the £m summary."""
    if output is not None and as_of is None:  # as it stands: through Core when it can be
        written = app.read_core(
            "report", lambda connection: _core_workbook(connection, stream, first, last,
                                                        compare, output)
        )  # fmt: skip
        if written:
            terminal.echo(f"wrote {output}")
            return
    from grants.services.capital import schemes
    from grants.services.settings import ledger_name

    with app.reading() as session:
        result = _capital(session, stream, first, last, compare, as_of)
        if output is not None:
            capital_workbook.write(session, result, output, ledger_name(session))
            terminal.echo(f"wrote {output}")
            return
        every_scheme = list(schemes(session, result)) if as_json else []
    p = result
    if as_json:
        emit_json(
            {
                "stream": p.stream,
                "as_of": as_of.isoformat() if as_of else None,
                "period": p.period.render(),
                "award_periods": [x.render() for x in p.periods],
                "years": [FinancialYear(y).render() for y in p.years],
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
                            for parent, s in every_scheme
                            if parent == x.code
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
    terminal.echo(f"{p.stream} capital resources {p.period.render('/')} (£){as_of_words(as_of)}")
    terminal.table(["", "Cost", "Funding", "Net", "Balance"], rows, {1, 2, 3, 4})
