"""The resourcing workbook: Appendix 7 as the council prints it, with live totals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlsxwriter.utility import xl_range, xl_rowcol_to_cell

from grants.errors import GrantsError
from grants.excel import templates
from grants.excel.book import inert, quoted, writing
from grants.periods import FinancialYear
from grants.services.reports import ResourcingTable


def write(table: ResourcingTable, path: Path, ledger: str) -> None:
    """Write the workbook to ``path`` (first to a temporary file, so nothing is half-written)."""
    if not table.rows:
        years = ", ".join(str(FinancialYear(y)) for y in table.years)
        raise GrantsError(f"{table.stream} has no allocations in {years}: no table to write")
    layout = templates.load("resourcing")
    with writing(path, layout, ledger) as book:
        _fill(book.workbook, table, layout, ledger)


def _fill(workbook: Any, table: ResourcingTable, layout: dict[str, Any], ledger: str) -> None:
    sheet_layout = layout["sheet"]
    style = {name: workbook.add_format(props) for name, props in layout["styles"].items()}
    district_money = workbook.add_format({**layout["styles"]["money"], "italic": True})
    not_applicable = workbook.add_format({**layout["styles"]["money"], "align": "right"})
    sheet = workbook.add_worksheet(inert(sheet_layout["name"])[:31])
    sources = workbook.add_worksheet("Sources")
    years = table.years
    sheet.write_string(0, 0, inert(sheet_layout["title"]), style["title"])
    sheet.write_string(1, 0, inert(f"{sheet_layout['subtitle']} ({table.stream})"), style["note"])
    heading_row = 3
    sheet.write_string(
        heading_row, 0, inert(sheet_layout["first_column_heading"]), style["heading"]
    )
    for col, year in enumerate(years, start=1):
        sheet.write_string(heading_row, col, FinancialYear(year).render(), style["heading"])
    sheet.set_column(0, 0, layout["columns"]["label_width"])
    sheet.set_column(1, len(years), layout["columns"]["year_width"])
    sources.write_row(0, 0, ["Cell", "Figure", "Journal entries and books lines"], style["heading"])
    sources.set_column(0, 0, 12)
    sources.set_column(1, 1, 48)
    sources.set_column(2, 2, 100)
    source_row = 1
    row = heading_row + 1
    top_level_rows: list[int] = []
    for line in table.rows:
        child = line.parent is not None
        label = line.name
        shares = sorted(set(line.shares.values()))
        if len(shares) == 1:
            label += f" ({shares[0]})"
        if child:
            label = sheet_layout["district_prefix"] + label
        else:
            top_level_rows.append(row)
        sheet.write_string(row, 0, inert(label), style["district" if child else "label"])
        for col, year in enumerate(years, start=1):
            amount = line.amounts.get(year)
            if amount is None:
                sheet.write_string(row, col, sheet_layout["not_applicable"], not_applicable)
                continue
            sheet.write_number(row, col, float(amount), district_money if child else style["money"])
            cell = xl_rowcol_to_cell(row, col)
            figure = f"{line.name} {FinancialYear(year)}"
            entries = "; ".join(table.sources.get((line.code, year), []))
            sources.write_row(
                source_row, 0, [f"{quoted(sheet.name)}{cell}", inert(figure), inert(entries)]
            )
            source_row += 1
        row += 1
    total_row = row
    sheet.write_string(total_row, 0, inert(sheet_layout["total_label"]), style["total"])
    for col, year in enumerate(years, start=1):
        cells = ",".join(xl_rowcol_to_cell(r, col) for r in top_level_rows)
        sheet.write_formula(
            total_row, col, f"=SUM({cells})", style["total"], float(table.total[year])
        )
        sources.write_row(
            source_row,
            0,
            [
                f"{quoted(sheet.name)}{xl_rowcol_to_cell(total_row, col)}",
                f"TOTAL {FinancialYear(year)}",
                "sum of the lines above, district rows not counted twice (they are part of "
                "their partnership)",
            ],
        )
        source_row += 1
    differing = [y for y in years if table.difference(y) is not None]
    if differing:
        stated_row, difference_row = total_row + 1, total_row + 2
        sheet.write_string(stated_row, 0, inert(sheet_layout["stated_label"]), style["note"])
        sheet.write_string(
            difference_row, 0, inert(sheet_layout["difference_label"]), style["note"]
        )
        for col, year in enumerate(years, start=1):
            if year not in table.stated:
                continue
            sheet.write_number(stated_row, col, float(table.stated[year]), style["money"])
            stated_cell = xl_rowcol_to_cell(stated_row, col)
            total_cell = xl_rowcol_to_cell(total_row, col)
            difference = table.difference(year)
            value = float(difference) if difference is not None else 0.0
            sheet.write_formula(
                difference_row, col, f"={stated_cell}-{total_cell}", style["money"], value
            )
            sources.write_row(
                source_row,
                0,
                [
                    f"{quoted(sheet.name)}{xl_range(stated_row, col, difference_row, col)}",
                    f"stated {FinancialYear(year)} and the difference",
                    "the stated figure in the books (`grants balance` shows it), less the TOTAL",
                ],
            )
            source_row += 1
    print_setup = layout["print"]
    if print_setup["landscape"]:
        sheet.set_landscape()
    if print_setup["fit_to_width"]:
        sheet.fit_to_pages(1, 0)
    if print_setup["repeat_heading_rows"]:
        sheet.repeat_rows(heading_row)
    footer = print_setup["footer"].replace("&[Ledger]", inert(ledger)[:100].replace("&", "&&"))
    sheet.set_footer(footer)
    chart = workbook.add_chart({"type": "column"})
    for col, year in enumerate(years, start=1):
        name = FinancialYear(year).render()
        chart.add_series(
            {
                "name": name,
                "categories": [sheet.name, top_level_rows[0], 0, top_level_rows[-1], 0],
                "values": [sheet.name, top_level_rows[0], col, top_level_rows[-1], col],
            }
        )
    chart.set_title({"name": layout["chart"]["title"]})
    chart.set_y_axis({"name": layout["chart"]["y_axis"], "num_format": "#,##0"})
    chart.set_size({"width": 900, "height": 420})
    sheet.insert_chart(total_row + 5, 0, chart)
