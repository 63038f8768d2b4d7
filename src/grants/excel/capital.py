"""The capital programme workbook: every annex table on its own sheet, the £m summary derived
from them, a chart of the programme by year, and a Sources sheet.

Amounts are written in the units the council prints (£'000 in the annexes, £m in the summary)
and every total is a live formula written with its value. Sheets are streamed row by row
(XlsxWriter's constant-memory mode), so a programme of any size is written in little memory.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from xlsxwriter.worksheet import Worksheet

from grants.excel import templates
from grants.excel.book import Book, cell, cells, quoted, writing
from grants.periods import FinancialYear
from grants.services.capital import CapitalProgramme, programme_rows, schemes

THOUSAND = 100_000  # pence in £1,000
MILLION = 100_000_000  # pence in £1m


def _k(pence: int) -> float:
    return pence / THOUSAND


def _shown(pence: int) -> int:
    """A figure as a £'000 cell displays it: to the nearest thousand, halves away from 0."""
    return int((Decimal(pence) / THOUSAND).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _m1(pounds_m: Decimal) -> Decimal:
    return pounds_m.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def write(session: Session, programme: CapitalProgramme, path: Path, ledger: str) -> None:
    layout = templates.load("capital-programme")
    with writing(path, layout, ledger, constant_memory=True) as book:
        versions = [v for v in (programme.base, programme.other) if v]
        book.order(
            [
                layout["summary"]["sheet"],
                layout["resources"]["sheet"],
                layout["funding"]["sheet"],
                layout["allocations"]["sheet"],
                *(_programme_sheet(layout, v, t) for v in versions for t in programme.tables),
                layout["chart"]["sheet"],
                "Sources",
            ]
        )
        resources = _resources(book, programme)
        _summary(book, programme, resources)
        _funding(book, programme)
        _allocations(book, session, programme)
        totals = _programmes(book, session, programme)
        if totals:
            _chart(book, programme, totals)


def _years(p: CapitalProgramme) -> str:
    return f"{p.period.first.render('/')} to {p.period.last.render('/')}"


def _title(book: Book, sheet: Worksheet, title: str, subtitle: str) -> None:
    book.text(sheet, 0, 0, title, "title")
    book.text(sheet, 1, 0, subtitle, "note")


def _headings(book: Book, sheet: Worksheet, row: int, headings: list[str]) -> None:
    for col, heading in enumerate(headings):
        book.text(sheet, row, col, heading, "heading")


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
    _title(book, sheet, lay["title"], f"{lay['subtitle']} ({p.stream}, {_years(p)})")
    heading_row = 3
    _headings(book, sheet, heading_row, lay["headings"])
    money, total = book.style("money"), book.style("total")
    row = heading_row + 1
    book.text(sheet, row, 0, lay["funding_heading"], "section")
    row += 1
    first = row
    for t in p.tranches:
        book.text(sheet, row, 0, t.label, "label")
        sheet.write_number(row, 2, _k(t.pence), money)
        if t.note:
            book.text(sheet, row, 5, t.note, "label")
        where.tranche_cells.append(cell(row, 2))
        book.source(f"{sheet.name}!{cell(row, 2)}", t.label, "; ".join(t.sources))
        row += 1
    book.text(sheet, row, 0, lay["funding_total"], "total")
    funding_formula = f"=SUM({cells(first, 2, row - 1, 2)})" if p.tranches else "=0"
    sheet.write_formula(row, 2, funding_formula, total, _k(p.funding))
    sheet.write_formula(row, 4, f"={cell(row, 2)}", total, _k(p.funding))
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
            sheet.write_number(row, 1, _k(portfolio.cost), money)
        if portfolio.specific is not None:
            sheet.write_number(row, 2, _k(portfolio.specific), money)
        sheet.write_number(row, 3, _k(portfolio.net), money)
        balance -= portfolio.net
        sheet.write_formula(row, 4, f"={balance_cell}-{cell(row, 3)}", money, _k(balance))
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
        sheet.write_formula(row, col, formula, total, _k(value))
    where.allocations_total = cell(row, 3)
    book.source(f"{sheet.name}!{cells(row, 1, row, 3)}", lay["allocations_total"], "sums")
    row += 1
    book.text(sheet, row, 0, lay["surplus_label"], "total")
    surplus = p.funding - p.allocated
    sheet.write_formula(
        row, 4, f"={where.funding_total}-{where.allocations_total}", total, _k(surplus)
    )
    where.surplus = cell(row, 4)
    book.source(
        f"{sheet.name}!{cell(row, 4)}", lay["surplus_label"], "total funding less allocations"
    )
    book.print_setup(sheet, heading_row)
    return where


def _summary(book: Book, p: CapitalProgramme, resources: _Resources) -> None:
    lay = book.layout["summary"]
    sheet = book.sheet(lay["sheet"])
    sheet.set_column(0, 0, book.layout["columns"]["label_width"])
    sheet.set_column(1, 3, book.layout["columns"]["money_width"] + 2)
    _title(book, sheet, lay["title"], f"{lay['subtitle']} ({p.stream}, {_years(p)})")
    heading_row = 3
    _headings(book, sheet, heading_row, ["", lay["amount_heading"], lay["published_heading"],
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
            if _m1(value) != shown:
                sheet.write_formula(
                    row, 3, f"=ROUND({cell(row, 1)},1)-{cell(row, 2)}",
                    book.style("millions", **book.layout["styles"]["discrepancy"]),
                    float(_m1(value) - shown),
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
        parts.append(_m1(Decimal(t.pence) / MILLION))
    line(lay["funding_total"], p.funding, f"={ref}{resources.funding_total}/1000",
         ("awarded", None), 1, total)  # fmt: skip
    _rounding(notes, lay, parts, Decimal(p.funding) / MILLION)
    row += 1
    book.text(sheet, row, 0, lay["allocations_heading"], "section")
    row += 1
    parts = []
    for portfolio, where in zip(p.portfolios, resources.portfolio_cells, strict=True):
        label = p.labels.get(("allocated", portfolio.code), portfolio.name)
        line(label, portfolio.net, f"=-{ref}{where}/1000", ("allocated", portfolio.code), -1,
             millions)  # fmt: skip
        parts.append(_m1(Decimal(-portfolio.net) / MILLION))
    line(lay["allocations_total"], p.allocated, f"=-{ref}{resources.allocations_total}/1000",
         ("allocated", None), -1, total)  # fmt: skip
    _rounding(notes, lay, parts, Decimal(-p.allocated) / MILLION)
    line(lay["surplus_label"], p.funding - p.allocated, f"={ref}{resources.surplus}/1000",
         ("unallocated", None), 1, total)  # fmt: skip
    row += 1
    for note in [*notes, lay["published_note"]]:
        book.text(sheet, row, 0, note, "note")
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
    if sum(parts, Decimal(0)) != _m1(total):
        notes.append(
            lay["rounding_note"].format(
                parts=f"{sum(parts, Decimal(0)):.1f}", total=f"{_m1(total):.1f}"
            )
        )


def _funding(book: Book, p: CapitalProgramme) -> None:
    lay = book.layout["funding"]
    sheet = book.sheet(lay["sheet"])
    widths = book.layout["columns"]
    sheet.set_column(0, 0, widths["label_width"])
    sheet.set_column(1, 1, widths["money_width"] + 4)
    sheet.set_column(2, 2, widths["notes_width"])
    _title(book, sheet, lay["title"], f"{lay['subtitle']} ({p.stream})")
    heading_row = 3
    _headings(book, sheet, heading_row, lay["headings"])
    row = first = heading_row + 1
    for t in p.funding_annex:
        book.text(sheet, row, 0, t.label, "label")
        sheet.write_number(row, 1, _k(t.pence), book.style("money"))
        if t.note:
            book.text(sheet, row, 2, t.note, "label")
        book.source(f"{sheet.name}!{cell(row, 1)}", t.label, "; ".join(t.sources))
        row += 1
    book.text(sheet, row, 0, lay["total_label"], "total")
    value = _k(sum(t.pence for t in p.funding_annex))
    formula = f"=SUM({cells(first, 1, row - 1, 1)})" if p.funding_annex else "=0"
    sheet.write_formula(row, 1, formula, book.style("total"), value)
    book.source(f"{sheet.name}!{cell(row, 1)}", lay["total_label"], "sum of the rows above")
    book.print_setup(sheet, heading_row)


def _allocations(book: Book, session: Session, p: CapitalProgramme) -> None:
    lay = book.layout["allocations"]
    sheet = book.sheet(lay["sheet"])
    widths = book.layout["columns"]
    sheet.set_column(0, 0, widths["ref_width"])
    sheet.set_column(1, 1, widths["label_width"])
    sheet.set_column(2, 4, widths["money_width"] + 2)
    sheet.set_column(5, 5, widths["notes_width"])
    _title(book, sheet, lay["title"], f"{lay['subtitle']} ({p.stream})")
    heading_row = 3
    _headings(book, sheet, heading_row, lay["headings"])
    money, total = book.style("money"), book.style("total")
    row = first_row = heading_row + 1
    grand = [0, 0, 0]
    names = {x.code: x.name for x in p.portfolios}
    portfolio: str | None = None
    first = row
    sums = [0, 0, 0]

    def subtotal() -> None:
        nonlocal row
        code = portfolio or ""
        label = p.subtotals.get(code, lay["subtotal_prefix"] + names[code])
        book.text(sheet, row, 1, label, "total")
        for i in range(3):
            formula = f"=SUBTOTAL(9,{cells(first, 2 + i, row - 1, 2 + i)})"
            sheet.write_formula(row, 2 + i, formula, total, sums[i] / THOUSAND)
            grand[i] += sums[i]
        book.source(f"{sheet.name}!{cells(row, 2, row, 4)}", label, "sums of the schemes above")
        row += 1

    for code, scheme in schemes(session, p):
        if code != portfolio:
            if portfolio is not None:
                subtotal()
            portfolio = code
            book.text(sheet, row, 1, names[code], "section")
            row += 1
            first = row
            sums = [0, 0, 0]
        if scheme.ref:
            book.text(sheet, row, 0, scheme.ref, "label")
        book.text(sheet, row, 1, scheme.name, "label")
        for i, value in enumerate((scheme.cost, scheme.specific, scheme.flexible)):
            if value is not None:
                sheet.write_number(row, 2 + i, value / THOUSAND, money)
                sums[i] += value
        if scheme.description:
            book.text(sheet, row, 5, scheme.description, "label")
        book.source(
            f"{sheet.name}!{cells(row, 2, row, 4)}",
            f"{scheme.name}: cost and specific funding (the line), flexible (allocated)",
            "; ".join(scheme.sources),
        )
        row += 1
    if portfolio is not None:
        subtotal()
    book.text(sheet, row, 1, lay["total_label"], "total")
    for i in range(3):
        formula = (
            f"=SUBTOTAL(9,{cells(first_row, 2 + i, row - 1, 2 + i)})" if row > first_row else "=0"
        )
        sheet.write_formula(row, 2 + i, formula, total, _k(grand[i]))
    book.source(f"{sheet.name}!{cells(row, 2, row, 4)}", lay["total_label"],
                "sums of the portfolio totals above")  # fmt: skip
    book.print_setup(sheet, heading_row)


class _Placed:
    """Where a programme table's TOTAL row is, and its column sums in pence (year columns,
    then the TOTAL column)."""

    def __init__(self, sheet: str, total_row: int, sums: list[int]) -> None:
        self.sheet, self.total_row, self.sums = sheet, total_row, sums


def _programme_sheet(layout: dict[str, Any], version: str, table: str) -> str:
    return str(layout["programme"]["sheet"].format(version=version.title(), table=table))


def _programmes(book: Book, session: Session, p: CapitalProgramme) -> dict[str, dict[str, _Placed]]:
    """A sheet per version and table; the base version first, so that the other can refer
    to it for the Change column and the Difference row."""
    placed: dict[str, dict[str, _Placed]] = {}
    base_rows: dict[tuple[str, str], int] = {}
    for version in (p.base, p.other):
        if version is None:
            continue
        compared = p.base if version == p.other else None
        for table in p.tables:
            base = placed.get(p.base or "", {}).get(table) if compared else None
            placed.setdefault(version, {})[table] = _programme(
                book, session, p, version, table, compared, base, base_rows
            )
    return placed


def _programme(
    book: Book,
    session: Session,
    p: CapitalProgramme,
    version: str,
    table: str,
    compared: str | None,
    base: _Placed | None,
    base_rows: dict[tuple[str, str], int],
) -> _Placed:
    lay = book.layout["programme"]
    styles = book.layout["styles"]
    widths = book.layout["columns"]
    years = p.years
    sheet = book.sheet(_programme_sheet(book.layout, version, table))
    title = lay["title"].format(
        name=version.title(), table_title=lay["table_titles"].get(table, table)
    )
    _title(book, sheet, title, p.stream)
    heading_row = 3
    total_col = len(years) + 1
    headings = ["", *(FinancialYear(y).render("/") for y in years), lay["total_heading"]]
    if compared:
        headings.append(lay["change_heading"])
    last_col = len(headings) - 1
    _headings(book, sheet, heading_row, headings)
    sheet.set_column(0, 0, widths["label_width"])
    sheet.set_column(1, last_col, widths["money_width"])
    money, total = book.style("money"), book.style("total")
    marked = {
        (estimate, changed): book.style(
            "money",
            **(styles["estimate"] if estimate else {}),
            **(styles["changed"] if changed else {}),
        )
        for estimate in (False, True)
        for changed in (False, True)
    }
    row = first = heading_row + 1
    section: str | None = None
    sums = [0] * (len(years) + 1)
    shown = [0] * (len(years) + 1)  # the sums of the figures as displayed (£'000, rounded)
    change_sum = 0
    any_estimate = any_change = False
    for line in programme_rows(session, p.stream, version, table, compared, years):
        if line.section and line.section != section:
            section = line.section
            book.text(sheet, row, 0, section, "section")
            row += 1
        book.text(sheet, row, 0, line.label, "label")
        for col, year in enumerate(years, start=1):
            pence = line.amounts.get(year)
            if pence is None:
                continue  # printed blank
            estimate, changed = year in line.estimates, year in line.changed
            any_estimate |= estimate
            any_change |= changed
            sheet.write_number(row, col, pence / THOUSAND, marked[estimate, changed])
            sums[col - 1] += pence
            shown[col - 1] += _shown(pence)
        line_total = sum(line.amounts.get(y, 0) for y in years)
        sums[-1] += line_total
        shown[-1] += _shown(line_total)
        sheet.write_formula(
            row, total_col, f"=SUM({cells(row, 1, row, len(years))})", money, _k(line_total)
        )
        if compared:
            before = line.compared_total or 0
            base_row = base_rows.get((table, line.code))
            if base is not None and base_row is not None:
                formula = f"={cell(row, total_col)}-{quoted(base.sheet)}{cell(base_row, total_col)}"
            else:  # not in the compared version's table
                formula = f"={cell(row, total_col)}-{_k(before)}"
            change_sum += line_total - before
            sheet.write_formula(row, total_col + 1, formula, money, _k(line_total - before))
        else:
            base_rows[(table, line.code)] = row
        book.source(
            f"{sheet.name}!{cells(row, 1, row, last_col)}",
            f"{line.label} ({version})" + (", its total and change" if compared else ", its total"),
            f"profile {line.code} ({line.origin})",
        )
        row += 1
    total_row = row
    book.text(sheet, total_row, 0, lay["total_label"], "total")
    for col in range(1, last_col + 1):
        value = change_sum if col > total_col else sums[col - 1]
        formula = f"=SUM({cells(first, col, total_row - 1, col)})" if row > first else "=0"
        sheet.write_formula(total_row, col, formula, total, _k(value))
    book.source(
        f"{sheet.name}!{cells(total_row, 1, total_row, last_col)}",
        lay["total_label"],
        "sums of the lines above",
    )
    row = total_row + 1
    if base is not None:
        book.text(sheet, row, 0, lay["difference_label"], "label")
        for col in range(1, last_col + 1):
            mine = min(col, total_col)  # the Change column's Difference is the TOTAL's
            formula = f"={cell(total_row, mine)}-{quoted(base.sheet)}{cell(base.total_row, mine)}"
            value = sums[mine - 1] - base.sums[mine - 1]
            sheet.write_formula(row, col, formula, money, _k(value))
        book.source(
            f"{sheet.name}!{cells(row, 1, row, last_col)}",
            lay["difference_label"],
            f"TOTAL less the {compared} programme's TOTAL",
        )
        row += 1
    row += 1
    off = [headings[i + 1] for i in range(len(sums)) if shown[i] != _shown(sums[i])]
    if off:
        book.text(sheet, row, 0, lay["rounding_note"].format(columns=", ".join(off)), "note")
        row += 1
    if any_estimate:
        book.text(sheet, row, 0, lay["estimate_note"], "note")
        row += 1
    if any_change and compared:
        book.text(sheet, row, 0, lay["change_note"].format(compared=compared), "note")
    book.print_setup(sheet, heading_row)
    return _Placed(sheet.name, total_row, sums)


def _chart(book: Book, p: CapitalProgramme, totals: dict[str, dict[str, _Placed]]) -> None:
    lay = book.layout["chart"]
    sheet = book.sheet(lay["sheet"])
    versions = [v for v in (p.base, p.other) if v in totals]
    _headings(book, sheet, 0, [lay["year_heading"], *(v.title() for v in versions)])
    sheet.set_column(0, len(versions), 14)
    for i, year in enumerate(p.years, start=1):
        sheet.write_string(i, 0, FinancialYear(year).render("/"))
        for col, version in enumerate(versions, start=1):
            tables = totals[version].values()
            refs = [f"{quoted(t.sheet)}{cell(t.total_row, i)}" for t in tables]
            value = _k(sum(t.sums[i - 1] for t in tables))
            sheet.write_formula(i, col, "=" + "+".join(refs), book.style("money"), value)
            book.source(
                f"{sheet.name}!{cell(i, col)}",
                f"{version.title()} programme {FinancialYear(year).render('/')}",
                "the TOTAL rows of the version's programme sheets",
            )
    chart = book.workbook.add_chart({"type": "column"})
    for col in range(1, len(versions) + 1):
        chart.add_series(
            {
                "name": [sheet.name, 0, col],
                "categories": [sheet.name, 1, 0, len(p.years), 0],
                "values": [sheet.name, 1, col, len(p.years), col],
            }
        )
    names = [v.title() for v in versions]
    title = lay["title"] if len(names) == 2 else lay["single_title"]
    chart.set_title({"name": title.format(base=names[0], other=names[-1])})
    chart.set_y_axis({"name": lay["y_axis"], "num_format": "#,##0"})
    chart.set_size({"width": 900, "height": 420})
    sheet.insert_chart(len(p.years) + 3, 0, chart)
    book.print_setup(sheet, 0)
