"""The resourcing workbook: a fund's allocations by line and year as the council prints
them, with live totals, in the stream's words (grants.excel.stream_layout)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from grants.errors import GrantsError
from grants.excel import published, stream_layout
from grants.excel.book import Book, cell, cells, writing
from grants.formatting import day
from grants.periods import FinancialYear
from grants.services.published import Figure
from grants.services.reports import ResourcingTable


def write(table: ResourcingTable, path: Path, ledger: str, figures: Sequence[Figure] = ()) -> None:
    """Write the workbook to ``path`` (first to a temporary file, so nothing is half-written),
    with the stream's published ``figures`` (grants.services.published) beside the totals and
    on a sheet of their own."""
    if not table.rows:
        years = ", ".join(str(FinancialYear(y)) for y in table.years)
        if table.as_of is not None:
            raise GrantsError(
                f"{table.stream} had no allocations in {years} at the end of "
                f"{day(table.as_of)}: no table to write"
            )
        raise GrantsError(f"{table.stream} has no allocations in {years}: no table to write")
    layout = stream_layout.layout("resourcing", table.words)
    with writing(path, layout, ledger, as_of=table.as_of) as book:
        if figures:
            book.order([layout["sheet"]["name"], published.sheet_name()])
        _fill(book, table, figures)
        published.write_sheet(book, list(figures))


def _fill(book: Book, table: ResourcingTable, figures: Sequence[Figure]) -> None:
    lay = book.layout["sheet"]
    money = book.style("money")
    district_money = book.style("money", italic=True)
    not_applicable = book.style("money", align="right")
    sheet = book.sheet(lay["name"])
    years = table.years
    sheet.set_column(0, 0, book.layout["columns"]["label_width"])
    sheet.set_column(1, len(years), book.layout["columns"]["year_width"])
    book.note(sheet, 0, book.titled(lay["title"]), "title")
    book.note(sheet, 1, f"{lay['subtitle']} ({table.stream})", "note")
    heading_row = 3
    book.text(sheet, heading_row, 0, lay["first_column_heading"], "heading")
    for col, year in enumerate(years, start=1):
        book.text(sheet, heading_row, col, FinancialYear(year).render(), "heading")
    row = heading_row + 1
    top_level_rows: list[int] = []
    for line in table.rows:
        child = line.parent is not None
        label = line.name
        shares = sorted(set(line.shares.values()))
        if len(shares) == 1:
            label += f" ({shares[0]})"
        if child:
            label = lay["district_prefix"] + label
        else:
            top_level_rows.append(row)
        book.text(sheet, row, 0, label, "district" if child else "label")
        for col, year in enumerate(years, start=1):
            amount = line.amounts.get(year)
            if amount is None:
                sheet.write_string(row, col, lay["not_applicable"], not_applicable)
                continue
            sheet.write_number(row, col, float(amount), district_money if child else money)
            entries = "; ".join(table.sources.get((line.code, year), []))
            book.source(f"{sheet.name}!{cell(row, col)}", f"{line.name} {FinancialYear(year)}",
                        entries)  # fmt: skip
        row += 1
    total_row = row
    total = book.style("total")
    book.text(sheet, total_row, 0, lay["total_label"], "total")
    for col, year in enumerate(years, start=1):
        refs = ",".join(cell(r, col) for r in top_level_rows)
        sheet.write_formula(total_row, col, f"=SUM({refs})", total, float(table.total[year]))
        book.source(
            f"{sheet.name}!{cell(total_row, col)}",
            f"TOTAL {FinancialYear(year)}",
            "sum of the lines above, district rows not counted twice (they are part of "
            "their partnership)",
        )
    if any(table.difference(y) is not None for y in years):
        stated_row, difference_row = total_row + 1, total_row + 2
        book.text(sheet, stated_row, 0, lay["stated_label"], "note")
        book.text(sheet, difference_row, 0, lay["difference_label"], "note")
        for col, year in enumerate(years, start=1):
            if year not in table.stated:
                continue
            sheet.write_number(stated_row, col, float(table.stated[year]), money)
            difference = table.difference(year)
            sheet.write_formula(
                difference_row, col, f"={cell(stated_row, col)}-{cell(total_row, col)}", money,
                float(difference) if difference is not None else 0.0,
            )  # fmt: skip
            book.source(
                f"{sheet.name}!{cells(stated_row, col, difference_row, col)}",
                f"stated {FinancialYear(year)} and the difference",
                "the stated figure in the books (`grants balance` shows it), less the TOTAL",
            )
    columns = {year: col for col, year in enumerate(years, start=1)}
    printed_row = total_row + (3 if any(table.difference(y) is not None for y in years) else 1)
    published.beside_totals(book, sheet, printed_row, total_row, columns, figures)
    book.print_setup(sheet, heading_row)
    # Bars across, so that every line's name reads horizontally in full beside its bars.
    chart = book.workbook.add_chart({"type": "bar"})
    for col, year in enumerate(years, start=1):
        chart.add_series(
            {
                "name": FinancialYear(year).render(),
                "categories": [sheet.name, top_level_rows[0], 0, top_level_rows[-1], 0],
                "values": [sheet.name, top_level_rows[0], col, top_level_rows[-1], col],
            }
        )
    chart.set_title({"name": book.layout["chart"]["title"]})
    # A bar chart's x axis is its horizontal one, of amounts; its y axis is the lines, read
    # top to bottom in the table's order (Excel draws the first category at the bottom).
    chart.set_x_axis({"name": book.layout["chart"]["y_axis"], "num_format": "#,##0"})
    chart.set_y_axis({"reverse": True, "crossing": "max"})
    chart.set_legend({"position": "bottom"})
    bars = len(top_level_rows) * len(years)
    chart.set_size({"width": 600, "height": max(320, 80 + 16 * bars)})  # within a portrait page
    sheet.set_h_pagebreaks([total_row + 4])  # the chart on a page of its own, never split
    sheet.insert_chart(total_row + 5, 0, chart)
