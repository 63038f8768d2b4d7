"""The annex sheets of the capital programme workbook: the funding annex (the tranches the
books place in that table) and the allocations annex (each portfolio's schemes with
subtotals). Each is written only when the books have rows for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grants.excel.book import Book, cell, cells, inert
from grants.excel.capital_parts import THOUSAND, headings, k, title
from grants.services.capital_types import CapitalProgramme

if TYPE_CHECKING:
    from grants.services.capital_core import Reads


def funding(book: Book, p: CapitalProgramme) -> None:
    lay = book.layout["funding"]
    sheet = book.sheet(lay["sheet"])
    widths = book.layout["columns"]
    sheet.set_column(0, 0, widths["label_width"])
    sheet.set_column(1, 1, widths["money_width"] + 4)
    sheet.set_column(2, 2, widths["notes_width"])
    title(book, sheet, lay["title"], f"{lay['subtitle']} ({p.stream})")
    heading_row = 3
    headings(book, sheet, heading_row, lay["headings"], text_columns=(0, 2))
    row = first = heading_row + 1
    for t in p.funding_annex:
        book.text(sheet, row, 0, t.label, "label")
        sheet.write_number(row, 1, k(t.pence), book.style("money"))
        if t.note:
            sheet.write_string(row, 2, inert(t.note), book.style("label", indent=1))
        book.source(f"{sheet.name}!{cell(row, 1)}", t.label, "; ".join(t.sources))
        row += 1
    book.text(sheet, row, 0, lay["total_label"], "total")
    value = k(sum(t.pence for t in p.funding_annex))
    formula = f"=SUM({cells(first, 1, row - 1, 1)})" if p.funding_annex else "=0"
    sheet.write_formula(row, 1, formula, book.style("total"), value)
    book.source(f"{sheet.name}!{cell(row, 1)}", lay["total_label"], "sum of the rows above")
    book.print_setup(sheet, heading_row)


def allocations(book: Book, reads: Reads, p: CapitalProgramme) -> None:
    lay = book.layout["allocations"]
    sheet = book.sheet(lay["sheet"])
    widths = book.layout["columns"]
    sheet.set_column(0, 0, widths["ref_width"])
    sheet.set_column(1, 1, widths["label_width"])
    sheet.set_column(2, 4, widths["money_width"] + 2)
    sheet.set_column(5, 5, widths["notes_width"])
    title(book, sheet, lay["title"], f"{lay['subtitle']} ({p.stream})")
    heading_row = 3
    headings(book, sheet, heading_row, lay["headings"], text_columns=(0, 1, 5))
    money, total = book.style("money"), book.style("total")
    notes = book.style("label", indent=1)  # clear of the figures beside them
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

    for code, scheme in reads.schemes(p):
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
            sheet.write_string(row, 5, inert(scheme.description), notes)
        book.source(
            f"{sheet.name}!{cells(row, 2, row, 4)}",
            f"{scheme.name}: cost and specific funding (the line), net (allocated)",
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
        sheet.write_formula(row, 2 + i, formula, total, k(grand[i]))
    book.source(f"{sheet.name}!{cells(row, 2, row, 4)}", lay["total_label"],
                "sums of the portfolio totals above")  # fmt: skip
    book.print_setup(sheet, heading_row)


__all__ = ["allocations", "funding"]
