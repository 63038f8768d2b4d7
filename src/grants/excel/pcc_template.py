"""The reporting template of a police and crime commissioner's fund, filled from the ledger
in the stream's words (grants.excel.stream_layout)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from grants.excel import published, stream_layout
from grants.excel.book import Book, cell, cells, writing
from grants.formatting import day, gbp
from grants.periods import FinancialYear, Period
from grants.services.published import Figure
from grants.services.reports import PccTemplate


def write(report: PccTemplate, path: Path, ledger: str, figures: Sequence[Figure] = ()) -> None:
    """With the stream's published ``figures`` (grants.services.published) of the year:
    the printed total beneath the total, and a sheet of their own."""
    year = FinancialYear(report.year)
    layout = stream_layout.layout("pcc-template", report.words)
    figures = [f for f in figures if f.period.overlaps(Period(year, year))]
    with writing(path, layout, ledger, as_of=report.as_of) as book:
        if figures:
            book.order([layout["sheet"]["name"].format(stage=report.stage),
                        published.sheet_name()])  # fmt: skip
        _fill(book, report, year, figures)
        published.write_sheet(book, figures)


def _fill(book: Book, report: PccTemplate, year: FinancialYear, figures: Sequence[Figure]) -> None:
    lay, header, table = book.layout["sheet"], book.layout["header"], book.layout["table"]
    widths = book.layout["columns"]
    stage = book.layout["stages"][report.stage]
    sheet = book.sheet(lay["name"].format(stage=report.stage))
    sheet.set_column(0, 0, widths["title_width"])
    sheet.set_column(1, 1, widths["text_width"])
    sheet.set_column(2, 2, widths["money_width"])
    sheet.set_column(3, 3, widths["percent_width"])
    sheet.set_column(4, 4, widths["funding_width"])
    sheet.set_column(5, 6, widths["money_width"])
    book.note(sheet, 0, book.titled(lay["title"]), "title")
    # The signatory block: the local authority on the left, the police on the right.
    for row, left, right in (
        (2, header["local_contact"], header["police_contact"]),
        (3, header["signature"], header["signature"]),
        (4, header["date"], header["date"]),
    ):
        # The police's labels span C and D, wrapped: they would widen the money column.
        book.span(sheet, row, 0, 0, left, "label")
        sheet.write_blank(row, 1, None, book.style("input"))
        book.span(sheet, row, 2, 3, right, "label")
        sheet.write_blank(row, 4, None, book.style("input"))
    book.text(sheet, 5, 0, header["area"], "label")
    book.text(sheet, 5, 1, report.area, "input")
    book.span(sheet, 5, 2, 3, header["area"], "label")
    book.text(sheet, 5, 4, report.area, "input")
    book.text(sheet, 7, 0, header["funding_period"], "label")
    book.text(sheet, 7, 1, f"{day(year.first_day)} to {day(year.last_day)}", None)
    book.text(sheet, 8, 0, header["allocation"], "label")
    grant_cell = "$B$9"
    sheet.write_number(8, 1, float(report.grant), book.style("header_money"))
    book.source(f"{sheet.name}!B9", header["allocation"], report.grant_source)
    subject = f"{report.stream} {year}, {stage}"
    if report.to is not None:
        subject += f": spend to {day(report.to)}"
    book.note(sheet, 9, subject, "note")

    heading_row = 11
    label = year.render()
    headings = [h.format(year=label) for h in table["headings"]]
    returns = report.to is not None
    if returns:
        headings += [
            table["spend_heading"].format(date=day(report.to)) if report.to else "",
            table["variance_heading"],
        ]
    for col, heading in enumerate(headings):
        book.text(sheet, heading_row, col, heading, "heading")
    sheet.set_row(heading_row, 60)
    row = heading_row + 1
    top_rows: list[int] = []
    for line in report.rows:
        child = line.parent is not None
        title = (table["district_prefix"] if child else "") + line.title
        book.text(sheet, row, 0, title, "district" if child else "text")
        if line.progress:  # from the recipient's return (mid-year and end-year)
            book.text(sheet, row, 1, line.progress, "text")
        else:
            sheet.write_blank(row, 1, None, book.style("text"))
        money = book.style("money", italic=True) if child else book.style("money")
        sheet.write_number(row, 2, float(line.cost), money)
        share = float(line.cost / report.grant) if report.grant else 0.0
        sheet.write_formula(
            row, 3, f"=IF({grant_cell}=0,0,{cell(row, 2)}/{grant_cell})", book.style("percent"),
            share,
        )  # fmt: skip
        funding = line.other_text or "; ".join(
            f"{source}: {gbp(amount) if amount is not None else 'amount not stated'}"
            for source, amount in line.other_funding
        )
        book.text(sheet, row, 4, funding, "text")
        book.source(
            f"{sheet.name}!{cells(row, 2, row, 3)}",
            f"{line.title} {year}: cost and its share of the grant",
            "; ".join(line.sources),
        )
        if returns and not line.reported:  # not a spend of nothing: nothing was said
            for col in (5, 6):
                book.text(sheet, row, col, table["not_given"], "text")
            book.source(
                f"{sheet.name}!{cells(row, 5, row, 6)}",
                f"{line.title}: spend reported to {day(report.to)}" if report.to else line.title,
                "no spend reported to that day",
            )
        elif returns:
            spent = line.spent or 0
            sheet.write_number(row, 5, float(spent), money)
            sheet.write_formula(
                row, 6, f"={cell(row, 2)}-{cell(row, 5)}", money, float(line.cost - spent)
            )
            book.source(
                f"{sheet.name}!{cells(row, 5, row, 6)}",
                f"{line.title}: spend reported to {day(report.to)}" if report.to else line.title,
                "; ".join(line.spend_sources) or "no spend reported to that day",
            )
        if not child:
            top_rows.append(row)
        row += 1
    total_row = row
    book.text(sheet, total_row, 0, table["total_label"], "total")
    sheet.write_blank(total_row, 1, None, book.style("total"))
    refs = ",".join(cell(r, 2) for r in top_rows)
    sheet.write_formula(total_row, 2, f"=SUM({refs})", book.style("total"), float(report.total))
    total_share = float(report.total / report.grant) if report.grant else 0.0
    sheet.write_formula(
        total_row, 3, f"=IF({grant_cell}=0,0,{cell(total_row, 2)}/{grant_cell})",
        book.style("total_percent"), total_share,
    )  # fmt: skip
    sheet.write_blank(total_row, 4, None, book.style("total"))
    book.source(
        f"{sheet.name}!{cells(total_row, 2, total_row, 3)}",
        table["total_label"],
        "sum of the lines above (district rows not counted again) and its share of the grant",
    )
    if returns and not any(line.reported for line in report.rows):
        # No line has said what it spent: a total of nothing would read as nothing spent.
        for col in (5, 6):
            book.text(sheet, total_row, col, table["not_given"], "total")
    elif returns:
        spent_refs = ",".join(cell(r, 5) for r in top_rows)
        sheet.write_formula(
            total_row, 5, f"=SUM({spent_refs})", book.style("total"), float(report.spent)
        )
        sheet.write_formula(
            total_row, 6, f"={cell(total_row, 2)}-{cell(total_row, 5)}", book.style("total"),
            float(report.total - report.spent),
        )  # fmt: skip
        book.source(
            f"{sheet.name}!{cells(total_row, 5, total_row, 6)}",
            table["total_label"],
            "sum of the spend above (district rows not counted again) and the variance",
        )
    row = total_row + 1
    if report.grant != report.total:
        book.text(sheet, row, 0, table["unallocated_label"], "text")
        sheet.write_formula(
            row, 2, f"={grant_cell}-{cell(total_row, 2)}", book.style("money"),
            float(report.grant - report.total),
        )  # fmt: skip
        book.source(f"{sheet.name}!{cell(row, 2)}", table["unallocated_label"],
                    f"{report.grant_source} less the total allocated")  # fmt: skip
        row += 1
    row = published.beside_totals(book, sheet, row, total_row, {year.start: 2}, figures)
    row += 1
    if returns and not any(line.spend_sources for line in report.rows):
        book.note(sheet, row, table["no_spend_note"].format(date=day(report.to)), "note")
        row += 1
    if len(top_rows) != len(report.rows):
        book.note(sheet, row, table["district_note"], "note")
        row += 1
    book.note(sheet, row, lay["footer_note"], "note")
    book.print_setup(sheet, heading_row)
