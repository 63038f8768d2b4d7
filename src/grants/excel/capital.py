"""The capital programme workbook: the resources and their allocations with the running
balance, the £m summary derived from them, the funding and allocations annexes, the programme
tables by year and a chart per table (grants.excel.capital_annexes, capital_programmes), and a
Sources sheet. Only the sheets the books have figures for are written.

Amounts are written in the units the council prints (£'000 in the annexes, £m in the summary)
and every total is a live formula written with its value. Sheets are streamed row by row
(XlsxWriter's constant-memory mode), so a programme of any size is written in little memory.
Every heading is the template's (templates/capital-programme.toml) unless the stream's books
give it in the council's words (``heading``; grants.excel.capital_layout).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grants.excel import capital_annexes, capital_programmes, templates
from grants.excel.book import Book, cell, cells, inert, quoted, writing
from grants.excel.capital_layout import with_headings
from grants.excel.capital_parts import MILLION, headings, k, m1, title, years
from grants.periods import Period, parse_year
from grants.services.balances import compare
from grants.services.capital_types import CapitalProgramme

# The ORM, the published figures and a session's reads are imported only by a programme read
# through a session: `grants report capital-programme` reads through SQLAlchemy Core alone
# where it can (grants.services.capital_core).
if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from grants.services.capital_core import Reads
    from grants.services.published import Figure


def layout_for(p: CapitalProgramme) -> dict[str, Any]:
    """The template with the headings the stream's books give."""
    return with_headings(templates.load("capital-programme"), p.headings)


def programme(
    session: Session,
    code: str,
    first: str | None = None,
    last: str | None = None,
    compare: str | None = None,
    as_of: date | None = None,
) -> CapitalProgramme:
    """A capital stream's programme from year ``first`` to ``last`` (default: every year
    the books hold), comparing the versions ``compare`` names (default: as the books say),
    as the ledger stood at the end of ``as_of``."""
    from grants.services.capital import (
        capital_programme,
        programme_years,
        stream_headings,
        versions_to_compare,
    )

    layout = with_headings(templates.load("capital-programme"), stream_headings(session, code))
    span = programme_years(session, code)
    start = parse_year(first) if first else span.first
    end = parse_year(last) if last else span.last
    years = Period(start, end)  # refuses an end before the start
    base, other = versions_to_compare(session, code, compare, as_of)
    return capital_programme(
        session,
        code,
        years,
        base,
        other,
        summary_table=layout["summary"]["books_table"],
        resources_table=layout["resources"]["books_table"],
        funding_table=layout["funding"]["books_table"],
        allocations_table=layout["allocations"]["books_table"],
        as_of=as_of,
    )


def core_programme(
    connection: Connection,
    stream: str | None,
    first: str | None = None,
    last: str | None = None,
    compare: str | None = None,
) -> tuple[CapitalProgramme, Reads, str] | None:
    """The programme as it stands read through SQLAlchemy Core, with its reads and the
    ledger's title (grants.services.capital_core.core_programme: None where a session must
    read it)."""
    from grants.services.capital_core import core_programme as read

    def layout_of(given: dict[str, tuple[str, str | None]]) -> dict[str, Any]:
        return with_headings(templates.load("capital-programme"), given)

    return read(connection, stream, first, last, compare, layout_of)


def sheets(layout: dict[str, Any], p: CapitalProgramme, with_published: bool = False) -> list[str]:
    """The sheets the books have figures for, in the order readers see them (with the
    published figures' sheet when the stream has any)."""
    out = []
    if p.tranches or p.portfolios:
        out += [layout["summary"]["sheet"], layout["resources"]["sheet"]]
    if p.funding_annex:
        out.append(layout["funding"]["sheet"])
    if p.has_schemes:
        out.append(layout["allocations"]["sheet"])
    programme = capital_programmes.pairs(p)
    out += [capital_programmes.sheet_name(layout, v, t) for v, t in programme]
    if programme:
        out.append(layout["chart"]["sheet"])
    if with_published:
        from grants.excel import published

        out.append(published.sheet_name())
    return [*out, "Sources"]


def write(session: Session, programme: CapitalProgramme, path: Path, ledger: str) -> None:
    """The workbook of a programme read through ``session``."""
    from grants.services.capital import reads
    from grants.services.published import published_figures

    figures = published_figures(session, programme.stream, as_of=programme.as_of)
    write_book(programme, reads(session, programme), path, ledger, figures)


def write_book(
    programme: CapitalProgramme,
    reads: Reads,
    path: Path,
    ledger: str,
    figures: list[Figure] | None = None,
) -> None:
    """The workbook: its sheets, the long tables read through ``reads``, and the published
    figures' sheet when there are ``figures``."""
    layout = layout_for(programme)
    with writing(path, layout, ledger, constant_memory=True, as_of=programme.as_of) as book:
        book.order(sheets(layout, programme, bool(figures)))
        if programme.tranches or programme.portfolios:
            resources = _resources(book, programme)
            _summary(book, programme, resources)
        if programme.funding_annex:
            capital_annexes.funding(book, programme)
        if programme.has_schemes:
            capital_annexes.allocations(book, reads, programme)
        placed = capital_programmes.write(book, reads, programme)
        if placed:
            capital_programmes.chart(book, programme, placed)
        if figures:
            from grants.excel import published

            published.write_sheet(book, figures)


class _Resources:
    """Where the flexible resources sheet put each figure (the summary refers to them)."""

    def __init__(self, sheet: str) -> None:
        self.sheet = sheet
        self.tranche_cells: list[str] = []
        self.funding_total = ""
        self.portfolio_cells: list[str] = []  # Net cells
        self.allocations_total = ""
        self.surplus = ""


def _resources(book: Book, p: CapitalProgramme) -> _Resources:
    lay = dict(book.layout["resources"])
    lay["funding_total"] = lay["funding_total"].format(to=p.period.last.render("/"))
    widths = book.layout["columns"]
    sheet = book.sheet(lay["sheet"])
    where = _Resources(sheet.name)
    sheet.set_column(0, 0, widths["label_width"])
    sheet.set_column(1, 4, widths["money_width"])
    sheet.set_column(5, 5, widths["notes_width"])
    title(book, sheet, lay["title"], f"{lay['subtitle']} ({p.stream}, {years(p)})")
    heading_row = 3
    headings(book, sheet, heading_row, lay["headings"], text_columns=(0, 5))
    money, total = book.style("money"), book.style("total")
    notes = book.style("label", indent=1)  # the council's Notes column, clear of the Balance
    row = heading_row + 1
    book.text(sheet, row, 0, lay["funding_heading"], "section")
    row += 1
    first = row
    for t in p.tranches:
        book.text(sheet, row, 0, t.label, "label")
        sheet.write_number(row, 2, k(t.pence), money)
        if t.note:
            sheet.write_string(row, 5, inert(t.note), notes)
        where.tranche_cells.append(cell(row, 2))
        book.source(f"{sheet.name}!{cell(row, 2)}", t.label, "; ".join(t.sources))
        row += 1
    book.text(sheet, row, 0, lay["funding_total"], "total")
    funding_formula = f"=SUM({cells(first, 2, row - 1, 2)})" if p.tranches else "=0"
    sheet.write_formula(row, 2, funding_formula, total, k(p.funding))
    sheet.write_formula(row, 4, f"={cell(row, 2)}", total, k(p.funding))
    where.funding_total = cell(row, 2)
    book.source(
        f"{sheet.name}!{cells(row, 2, row, 4)}",
        lay["funding_total"],
        "sum of the rows above; the opening balance",
    )
    balance_cell, balance = cell(row, 4), p.funding
    row += 2
    book.text(sheet, row, 0, lay["allocations_heading"], "section")
    row += 1
    first = row
    for portfolio in p.portfolios:
        book.text(sheet, row, 0, portfolio.name, "label")
        if portfolio.cost is not None:
            sheet.write_number(row, 1, k(portfolio.cost), money)
        if portfolio.specific is not None:
            sheet.write_number(row, 2, k(portfolio.specific), money)
        sheet.write_number(row, 3, k(portfolio.net), money)
        balance -= portfolio.net
        sheet.write_formula(row, 4, f"={balance_cell}-{cell(row, 3)}", money, k(balance))
        if portfolio.printed_note:
            sheet.write_string(row, 5, inert(portfolio.printed_note), notes)
        balance_cell = cell(row, 4)
        where.portfolio_cells.append(cell(row, 3))
        book.source(
            f"{sheet.name}!{cells(row, 1, row, 4)}",
            f"{portfolio.name}: cost and specific funding (the line), net (allocated), and the "
            "balance after it (the balance above less the net)",
            "; ".join(portfolio.sources),
        )
        row += 1
    book.text(sheet, row, 0, lay["allocations_total"], "total")
    for col, value in (
        (1, sum(x.cost or 0 for x in p.portfolios)),
        (2, sum(x.specific or 0 for x in p.portfolios)),
        (3, p.allocated),
    ):
        formula = f"=SUM({cells(first, col, row - 1, col)})" if p.portfolios else "=0"
        sheet.write_formula(row, col, formula, total, k(value))
    where.allocations_total = cell(row, 3)
    book.source(f"{sheet.name}!{cells(row, 1, row, 3)}", lay["allocations_total"], "sums")
    row += 1
    book.text(sheet, row, 0, lay["surplus_label"], "total")
    surplus = p.funding - p.allocated
    sheet.write_formula(
        row, 4, f"={where.funding_total}-{where.allocations_total}", total, k(surplus)
    )
    where.surplus = cell(row, 4)
    book.source(
        f"{sheet.name}!{cell(row, 4)}", lay["surplus_label"], "total funding less allocations"
    )
    book.print_setup(sheet, heading_row)
    return where


def _summary(book: Book, p: CapitalProgramme, resources: _Resources) -> None:
    """The £m summary: the resources' figures restated, with the printed figures beside them
    (a row's label is the one printed in the books' summary table, else the template's)."""
    lay = book.layout["summary"]
    sheet = book.sheet(lay["sheet"])
    sheet.set_column(0, 0, book.layout["columns"]["label_width"])
    sheet.set_column(1, 3, book.layout["columns"]["money_width"] + 2)
    title(book, sheet, lay["title"], f"{lay['subtitle']} ({p.stream}, {years(p)})")
    heading_row = 3
    headings(book, sheet, heading_row, ["", lay["amount_heading"], lay["published_heading"],
                                         lay["difference_heading"]])  # fmt: skip
    millions, total = book.style("millions"), book.style("total_millions")
    ref = quoted(resources.sheet)
    notes: list[str] = []
    row = heading_row + 1

    def line(label: str, pence: int, formula: str, key: tuple[str, str | None], sign: int,
             style: Any) -> None:  # fmt: skip
        nonlocal row
        book.text(sheet, row, 0, label, "total" if style is total else "label")
        value = Decimal(pence * sign) / MILLION
        sheet.write_formula(row, 1, formula, style, float(value))
        published = p.published.get(key)
        if published is not None and published.scale == "m":
            shown = _published(published.printed, Decimal(published.amount) * sign)
            sheet.write_number(row, 2, float(shown), millions)
            # Rounded as the books say the council rounded it (half-up unless they say).
            rule = {"down": "ROUNDDOWN", "up": "ROUNDUP"}.get(published.rounding or "", "ROUND")
            places = max(1, -shown.as_tuple().exponent)  # type: ignore[operator]
            ok, mine = compare(pence * sign, f"{shown:.{places}f}", "m", published.rounding)
            if not ok:
                sheet.write_formula(
                    row, 3, f"={rule}({cell(row, 1)},{places})-{cell(row, 2)}",
                    book.style("millions", **book.layout["styles"]["discrepancy"]),
                    float((mine or Decimal(0)) - shown),
                )  # fmt: skip
            book.source(
                f"{sheet.name}!{cells(row, 2, row, 3)}",
                f"{label} as published (and the difference)",
                f"printed in the books ({published.origin})",
            )  # fmt: skip
        book.source(f"{sheet.name}!{cell(row, 1)}", label, f"{formula[1:]}, in £m")
        row += 1

    book.text(sheet, row, 0, lay["funding_heading"], "section")
    row += 1
    parts: list[Decimal] = []
    for t, where in zip(p.tranches, resources.tranche_cells, strict=True):
        label = p.labels.get(("awarded", t.code), t.label)
        line(label, t.pence, f"={ref}{where}/1000", ("awarded", t.code), 1, millions)
        parts.append(m1(Decimal(t.pence) / MILLION))
    line(p.labels.get(("awarded", None), lay["funding_total"]), p.funding,
         f"={ref}{resources.funding_total}/1000", ("awarded", None), 1, total)  # fmt: skip
    _rounding(notes, lay, parts, Decimal(p.funding) / MILLION)
    row += 1
    book.text(sheet, row, 0, lay["allocations_heading"], "section")
    row += 1
    parts = []
    for portfolio, where in zip(p.portfolios, resources.portfolio_cells, strict=True):
        label = p.labels.get(("allocated", portfolio.code), portfolio.name)
        line(label, portfolio.net, f"=-{ref}{where}/1000", ("allocated", portfolio.code), -1,
             millions)  # fmt: skip
        parts.append(m1(Decimal(-portfolio.net) / MILLION))
    line(p.labels.get(("allocated", None), lay["allocations_total"]), p.allocated,
         f"=-{ref}{resources.allocations_total}/1000", ("allocated", None), -1,
         total)  # fmt: skip
    _rounding(notes, lay, parts, Decimal(-p.allocated) / MILLION)
    line(p.labels.get(("unallocated", None), lay["surplus_label"]), p.funding - p.allocated,
         f"={ref}{resources.surplus}/1000", ("unallocated", None), 1, total)  # fmt: skip
    row += 1
    for note in [*notes, lay["published_note"]]:
        book.note(sheet, row, note, "note")
        row += 1
    book.print_setup(sheet, heading_row)


def _published(printed: str | None, signed: Decimal) -> Decimal:
    """The figure as printed (allocations carry the minus sign the summary prints)."""
    try:
        return Decimal((printed or "").replace(",", ""))
    except ArithmeticError:
        return signed


def _rounding(notes: list[str], lay: dict[str, Any], parts: list[Decimal], total: Decimal) -> None:
    """A note where the rounded lines do not add up to the rounded total."""
    if sum(parts, Decimal(0)) != m1(total):
        notes.append(
            lay["rounding_note"].format(
                parts=f"{sum(parts, Decimal(0)):.1f}", total=f"{m1(total):.1f}"
            )
        )


__all__ = ["layout_for", "programme", "sheets", "write"]
