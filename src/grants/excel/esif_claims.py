"""The ESIF claim workbook: each claim of each project of a structural funds stream, by
quarter: eligible spend, the stream's intervention rate, the most grant it allows (a live
ROUNDDOWN formula), the grant claimed, match spent and the quarter's outputs; from
templates/esif-claims.toml."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from grants.errors import GrantsError
from grants.excel import templates
from grants.excel.book import Book, cell, writing
from grants.services.growth import ProjectRow, grant_cap

ESIF_KINDS = frozenset({"esif", "erdf", "esf", "eafrd"})


def write(rows: list[ProjectRow], path: Path, ledger: str, as_of: date | None = None) -> None:
    """Write the workbook to ``path`` (nothing half-written) from the projects' rows (the
    ledger as it stood at the end of ``as_of``, which the sheets say)."""
    projects = [r for r in rows if r.stream_kind in ESIF_KINDS]
    if not projects:
        raise GrantsError(
            "the ledger holds no structural funds projects (lines of kind project in an ESIF, "
            "ERDF, ESF or EAFRD stream): no workbook to write"
        )
    with writing(path, templates.load("esif-claims"), ledger, as_of=as_of) as book:
        _claims(book, projects)


def _claims(book: Book, projects: list[ProjectRow]) -> None:
    lay, cols = book.layout["sheet"], book.layout["columns"]
    sheet = book.sheet(lay["name"])
    sheet.set_column(0, 0, cols["label_width"])
    sheet.set_column(1, 2, cols["short_width"])
    sheet.set_column(3, 3, cols["money_width"])
    sheet.set_column(4, 4, cols["short_width"])
    sheet.set_column(5, 6, cols["money_width"])
    sheet.set_column(7, 7, cols["short_width"])
    sheet.set_column(8, 8, cols["money_width"])
    sheet.set_column(9, 9, cols["short_width"])
    sheet.set_column(10, 10, cols["text_width"])
    book.note(sheet, 0, book.titled(lay["title"]), "title")
    book.note(sheet, 1, lay["subtitle"], "note")
    book.note(sheet, 2, lay["rule"], "note")
    heading_row = 4
    for col, heading in enumerate(lay["headings"]):
        book.text(sheet, heading_row, col, heading, "heading" if 2 < col < 10 else "label")
    money = book.style("money")
    first = row = heading_row + 1
    totals = [Decimal(0)] * 3  # eligible, grant, match
    for r in projects:
        for q in r.quarters:
            if q.eligible is None:
                continue
            book.text(sheet, row, 0, r.name, "label")
            book.text(sheet, row, 1, f"{q.year} q{q.quarter}", "text")
            book.text(sheet, row, 2, q.claimed_on.isoformat() if q.claimed_on else "", "text")
            sheet.write_number(row, 3, float(q.eligible), money)
            d, e, f, g = (cell(row, c) for c in (3, 4, 5, 6))
            if r.rate is None:
                sheet.write_string(row, 4, lay["no_rate"], book.style("note", align="right"))
            else:
                sheet.write_number(row, 4, float(r.rate / 100), book.style("percent"))
                cap = Decimal(grant_cap(int(q.eligible * 100), int(r.rate * 100))) / 100
                sheet.write_formula(row, 5, f"=ROUNDDOWN({d}*{e},2)", money, float(cap))
            sheet.write_number(row, 6, float(q.grant or 0), money)
            if r.rate is not None:
                sheet.write_formula(
                    row, 7, f'=IF({g}<={f},"{lay["within"]}","{lay["beyond"]}")',
                    book.style("check"), lay["within"],
                )  # fmt: skip
            sheet.write_number(row, 8, float(q.match or 0), money)
            if q.match_form:
                sheet.write_string(row, 9, q.match_form, book.style("text", align="center"))
            outputs = ", ".join(f"{k} {v:f}" for k, v in sorted(q.outputs.items()))
            if outputs:
                book.text(sheet, row, 10, outputs, "label")
            book.source(f"{sheet.name}!{cell(row, 3)}:{cell(row, 8)}",
                        f"{r.stream} {r.project} {q.year} q{q.quarter}",
                        f"its project-claim record and {r.stream}'s intervention rate "
                        f"(`grants projects --stream {r.stream} --json`)")  # fmt: skip
            totals = [totals[0] + q.eligible, totals[1] + (q.grant or 0),
                      totals[2] + (q.match or 0)]  # fmt: skip
            row += 1
    if row == first:
        book.note(sheet, row, lay["none_claimed"], "note")
        book.print_setup(sheet, heading_row)
        return
    last, total_row = row - 1, row
    book.text(sheet, total_row, 0, lay["total_label"], "total")
    for col, value in zip((3, 6, 8), totals, strict=True):
        sheet.write_formula(total_row, col, f"=SUM({cell(first, col)}:{cell(last, col)})",
                            book.style("total"), float(value))  # fmt: skip
        book.source(f"{sheet.name}!{cell(total_row, col)}", "TOTAL", "sum of the claims above")
    book.print_setup(sheet, heading_row)
    chart = book.workbook.add_chart({"type": "column"})
    for col in (6, 8):
        chart.add_series({
            "name": [sheet.name, heading_row, col],
            "categories": [sheet.name, first, 0, last, 1],
            "values": [sheet.name, first, col, last, col],
        })  # fmt: skip
    chart.set_title({"name": book.layout["chart"]["title"]})
    chart.set_y_axis({"name": book.layout["chart"]["y_axis"], "num_format": "#,##0"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 640, "height": 320})
    sheet.set_h_pagebreaks([total_row + 2])
    sheet.insert_chart(total_row + 3, 0, chart)


__all__ = ["ESIF_KINDS", "write"]
