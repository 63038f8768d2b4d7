"""The published figures in every report workbook (templates/published.toml): a "Published
figures" sheet with each figure the council printed beside the ledger's and the difference,
and, beneath a table's total, the total as printed and the difference.

The figures come from grants.services.published; this module only writes them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from grants.excel import templates
from grants.excel.book import Book, cell, cells, inert
from grants.formatting import SCALE_LABELS, gbp_scaled
from grants.services.published import AGREES, Figure


def _styles(book: Book, layout: dict[str, Any]) -> dict[str, Format]:
    return {name: book.add_format(p) for name, p in layout["styles"].items()}


def sheet_name() -> str:
    """The sheet's name (a workbook lists it among its sheets before writing it)."""
    return str(templates.load("published")["sheet"]["name"])


def write_sheet(book: Book, figures: list[Figure]) -> None:
    """The "Published figures" sheet, one row per figure; nothing when there are none."""
    if not figures:
        return
    layout = templates.load("published")
    lay, widths = layout["sheet"], layout["columns"]
    style = _styles(book, layout)
    sheet = book.sheet(lay["name"])
    for first, last, width in ((0, 1, "text_width"), (2, 3, "period_width"),
                               (4, 6, "short_width"), (7, 9, "money_width"),
                               (10, 10, "short_width"), (11, 12, "note_width")):  # fmt: skip
        sheet.set_column(first, last, widths[width])
    # Titles and the note wrap across the table rather than widening its first column.
    book.note(sheet, 0, lay["title"], layout["styles"]["title"])
    book.note(sheet, 1, lay["subtitle"], layout["styles"]["note"])
    heading_row = 3
    for col, heading in enumerate(lay["headings"]):
        sheet.write_string(heading_row, col, inert(heading), style["heading"])
    row = heading_row + 1
    for f in figures:
        figure = f.metric + (f":{f.target}" if f.target else "")
        shown = f.printed if f.printed != f.amount_text else gbp_scaled(f.amount, f.scale)
        # A sum of lines (``allocated:A+B+C``) is shown with spaces, so it wraps in its column.
        shown_figure = figure.replace("+", " + ").replace(":", ": ", 1)
        texts = (f.table or "", f.row or "", str(f.period), shown_figure, shown,
                 SCALE_LABELS[f.scale], f.rounding)  # fmt: skip
        for col, text in enumerate(texts):
            sheet.write_string(row, col, inert(text), style["label"])
        sheet.write_number(row, 7, float(f.printed_pounds), style["money"])
        sheet.write_number(row, 8, float(f.ledger), style["money"])
        sheet.write_formula(row, 9, f"={cell(row, 8)}-{cell(row, 7)}", style["money"],
                            float(f.difference))  # fmt: skip
        agrees = f.status == AGREES
        sheet.write_string(row, 10, lay["agrees" if agrees else "differs"],
                           style["agrees" if agrees else "differs"])  # fmt: skip
        sheet.write_string(row, 11, inert(f.direction), style["label"])
        sheet.write_string(row, 12, inert(f.origin or ""), style["label"])
        book.source(f"{sheet.name}!{cells(row, 7, row, 9)}",
                    f"{f.where} {f.period}: as printed, the ledger's figure and the difference",
                    f"printed at {f.origin}; the journal's {figure} over {f.period} "
                    "(`grants balance`)")  # fmt: skip
        row += 1
    book.note(sheet, row + 1, lay["note"], layout["styles"]["note"])
    book.print_setup(sheet, heading_row)


def totals(figures: Iterable[Figure], years: Iterable[int]) -> dict[int, Figure]:
    """For each year, the total of its allocations as printed: a figure for the whole stream
    and exactly that year, the one printed in a named table first."""
    wanted = set(years)
    out: dict[int, Figure] = {}
    for f in sorted(figures, key=lambda f: f.table is None):
        year = f.period.first.start
        if f.metric == "allocated" and f.target is None and f.period.first == f.period.last:
            if year in wanted:
                out.setdefault(year, f)
    return out


def beside_totals(
    book: Book, sheet: Worksheet, row: int, total_row: int, columns: dict[int, int],
    figures: Iterable[Figure],
) -> int:  # fmt: skip
    """Beneath a table's total (row ``total_row``, a column per year): the total as printed
    and the difference (ledger less printed). Returns the next free row."""
    printed = totals(figures, columns)
    if not printed:
        return row
    layout = templates.load("published")
    lay, style = layout["beside"], _styles(book, layout)
    where = "; ".join(sorted({f.where for f in printed.values()}))
    sheet.write_string(row, 0, inert(lay["printed_label"].format(where=where)), style["note"])
    sheet.write_string(row + 1, 0, inert(lay["difference_label"]), style["note"])
    for year, f in printed.items():
        col = columns[year]
        sheet.write_number(row, col, float(f.printed_pounds), style["money"])
        sheet.write_formula(row + 1, col, f"={cell(total_row, col)}-{cell(row, col)}",
                            style["money"], float(f.difference))  # fmt: skip
        book.source(f"{sheet.name}!{cells(row, col, row + 1, col)}",
                    f"{f.where} {f.period} as printed, and the difference",
                    f"printed in the books ({f.origin}); {f.direction}")  # fmt: skip
    return row + 2


__all__ = ["beside_totals", "sheet_name", "totals", "write_sheet"]
