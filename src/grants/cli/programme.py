"""`grants programme`: a multi-year programme table, or two versions of it compared."""

from __future__ import annotations

import click

from grants.cli import terminal
from grants.cli.common import AppContext, emit_json, pass_app
from grants.cli.options import pick_stream, stream_option
from grants.errors import GrantsError
from grants.formatting import SCALE_LABELS, number, scaled
from grants.money import from_pence
from grants.periods import FinancialYear
from grants.services import programmes
from grants.services.capital import capital_stream

LATER = "later"  # the later years' column (a profile's `later:`)


def _shown(pence: int | None, scale: str) -> str:
    if pence is None:
        return ""
    places = {"1": 2, "000": 0, "m": 1}[scale]
    return number(scaled(from_pence(pence), scale, places), places)


@click.command()
@stream_option("capital", "The programme's stream")
@click.option(
    "--table", "table_name", metavar="NAME", help="Programme table (default: the only one)."
)
@click.option("--version", "version", metavar="NAME", help="One version (default: the latest).")
@click.option(
    "--compare", metavar="BASE:OTHER", help="Compare two versions, e.g. current:proposed."
)
@click.option(
    "--scale",
    type=click.Choice(["1", "000", "m"]),
    default="000",
    show_default=True,
    help="Show amounts in £, £'000 or £m.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts in pounds, as strings).")
@pass_app
def programme(
    app: AppContext,
    stream: str | None,
    table_name: str | None,
    version: str | None,
    compare: str | None,
    scale: str,
    as_json: bool,
) -> None:
    """A programme table by year with its TOTALs; with --compare, the Change column and the
    Difference row between two versions, all derived from the recorded profiles."""
    with app.reading() as session:
        stream = capital_stream(session, pick_stream(session, stream, "capital", "report"))
        if compare and version:
            raise GrantsError("give either --version or --compare, not both")
        if compare:
            base, sep, other = compare.partition(":")
            if not sep or not base or not other:
                raise GrantsError(f"--compare {compare!r}: write two versions as BASE:OTHER")
        else:
            known = programmes.versions(session, stream)
            if not known and version is None:
                raise GrantsError(f"{stream} has no programme versions")
            base = other = version or known[-1].code
        table_name = programmes.the_table(session, stream, [base, other], table_name)
        result = programmes.compare(session, stream, table_name, base, other)
    years: list[int | None] = [*result.years, *([None] if result.has_later else [])]
    if as_json:
        emit_json(
            {
                "stream": stream,
                "table": table_name,
                "base": base,
                "other": other,
                "lines": [
                    {
                        "code": code,
                        "label": (o or b).label,  # type: ignore[union-attr]
                        "section": (o or b).section,  # type: ignore[union-attr]
                        "base": _json_amounts(b),
                        "other": _json_amounts(o),
                        "change": f"{from_pence(result.change(code)):.2f}",
                    }
                    for code, b, o in result.lines
                ],
                "difference": {
                    _heading(y): f"{from_pence(result.difference(y)):.2f}" for y in years
                },
            }
        )
        return
    headers = ["line", *(_heading(y) for y in years), "TOTAL"]
    if compare:
        headers.append("Change")
    rows = []
    for code, b, o in result.lines:
        line = o or b
        assert line is not None
        cells = [line.label, *(_shown(_amount(o, y), scale) for y in years)]
        cells.append(_shown(o.total if o else 0, scale))
        if compare:
            cells.append(_shown(result.change(code), scale))
        rows.append(cells)
    total = ["TOTAL", *(_shown(result.column_total(other, y), scale) for y in years)]
    total.append(_shown(sum(result.column_total(other, y) for y in years), scale))
    if compare:
        total.append(_shown(sum(result.change(c) for c, _, _ in result.lines), scale))
    rows.append(total)
    if compare:
        difference = ["Difference", *(_shown(result.difference(y), scale) for y in years)]
        difference.append(_shown(sum(result.difference(y) for y in years), scale))
        rows.append([*difference, ""])
    unit = SCALE_LABELS[scale]
    title = f"{stream} {table_name}, {other}" + (f" compared with {base}" if compare else "")
    terminal.echo(f"{title} ({unit})")
    terminal.table(headers, rows, set(range(1, len(headers))))


def _heading(year: int | None) -> str:
    return LATER if year is None else FinancialYear(year).render("/")


def _amount(line: programmes.ProfileLine | None, year: int | None) -> int | None:
    if line is None:
        return None
    return line.later if year is None else line.amounts.get(year)


def _json_amounts(line: programmes.ProfileLine | None) -> dict[str, str] | None:
    """A line's amounts by year, then ``later`` (the later years' column) when it has one."""
    if line is None:
        return None
    out = {
        FinancialYear(y).render("/"): f"{from_pence(p):.2f}"
        for y, p in sorted(line.amounts.items())
    }
    if line.later is not None:
        out[LATER] = f"{from_pence(line.later):.2f}"
    return out


__all__ = ["programme"]
