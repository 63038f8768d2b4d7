"""The growth programme monitoring workbook: every growth project's award, spend profile,
claims, payments, slippage, match and RAG status (Monitoring), its quarters (Quarters) and
its outputs against target (Outputs), from templates/growth-monitoring.toml. Totals,
slippage, RAG and % of target are live formulas with their values cached."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from grants.errors import GrantsError
from grants.excel import templates
from grants.excel.book import Book, cell, writing
from grants.services.growth import ProjectRow

ILLUSTRATIVE = "illustrative, not from the papers"


def profile_to_date(r: ProjectRow) -> Decimal:
    """The profile of the quarters the project has claimed."""
    return sum((q.profile or Decimal(0) for q in r.quarters if q.eligible is not None),
               Decimal(0))  # fmt: skip


def rag(r: ProjectRow, red: Decimal, amber: Decimal, no_claim: str) -> str:
    """The RAG status by the rule the sheet states (the same as its formula)."""
    ptd = profile_to_date(r)
    if ptd == 0:
        return no_claim if r.eligible == 0 else "Green"
    share = r.slippage / ptd
    return "Red" if share > red else "Amber" if share > amber else "Green"


def write(
    rows: list[ProjectRow], path: Path, ledger: str, illustrative: bool = False,
    as_of: date | None = None,
) -> None:  # fmt: skip
    """Write the workbook to ``path`` (nothing half-written). ``illustrative``: the books
    mark some of the figures as examples, which the sheet then says; ``as_of``: the rows
    are the ledger as it stood at the end of that day, which the sheets say."""
    if not rows:
        raise GrantsError(
            "the ledger holds no growth projects (lines of kind project in an LGF, City Deal, "
            "Growth Deal or ESIF stream): no workbook to write"
        )
    layout = templates.load("growth-monitoring")
    with writing(path, layout, ledger, as_of=as_of) as book:
        book.order([layout["sheet"]["name"], layout["quarters"]["name"],
                    layout["outputs"]["name"]])  # fmt: skip
        _monitoring(book, rows, illustrative)
        _quarters(book, rows)
        _outputs(book, rows)


def _monitoring(book: Book, rows: list[ProjectRow], illustrative: bool) -> None:
    lay, cols = book.layout["sheet"], book.layout["columns"]
    red = Decimal(str(book.layout["rag"]["red_percent"])) / 100
    amber = Decimal(str(book.layout["rag"]["amber_percent"])) / 100
    sheet = book.sheet(lay["name"])
    sheet.set_column(0, 0, cols["label_width"])
    sheet.set_column(1, 2, cols["short_width"])
    sheet.set_column(3, 11, cols["money_width"])
    sheet.set_column(12, 12, cols["short_width"])
    book.note(sheet, 0, book.titled(lay["title"]), "title")
    book.note(sheet, 1, lay["subtitle"], "note")
    rule = lay["rag_rule"].format(red=book.layout["rag"]["red_percent"],
                                  amber=book.layout["rag"]["amber_percent"])  # fmt: skip
    book.note(sheet, 2, rule, "note")
    heading_row = 4 if not illustrative else 5
    if illustrative:
        book.note(sheet, 3, lay["illustrative"], "note")
    for col, heading in enumerate(lay["headings"]):
        book.text(sheet, heading_row, col, heading, "heading" if col > 2 else "label")
    money = book.style("money")
    first = heading_row + 1
    for row, r in enumerate(rows, start=first):
        book.text(sheet, row, 0, r.name, "label")
        book.text(sheet, row, 1, r.stream, "text")
        book.text(sheet, row, 2, r.recipient or "", "text")
        figures = [r.awarded, r.profiled, profile_to_date(r), r.eligible, r.claimed, r.paid]
        for col, value in enumerate(figures, start=3):
            sheet.write_number(row, col, float(value), money)
        f, g = cell(row, 5), cell(row, 6)
        sheet.write_formula(row, 9, f"={f}-{g}", money, float(r.slippage))
        sheet.write_number(row, 10, float(r.match_pledged), money)
        sheet.write_number(row, 11, float(r.match_spent), money)
        j = cell(row, 9)
        sheet.write_formula(
            row, 12,
            f'=IF({f}=0,IF({g}=0,"{lay["no_claim"]}","Green"),IF({j}/{f}>{red},"Red",'
            f'IF({j}/{f}>{amber},"Amber","Green")))',
            book.style("rag"), rag(r, red, amber, lay["no_claim"]),
        )  # fmt: skip
        book.source(f"{sheet.name}!{cell(row, 3)}:{cell(row, 12)}", f"{r.stream} {r.project}",
                    f"award and paid: the journal's allocate, pay and clawback entries for "
                    f"{r.stream} {r.project} (`grants journal --stream {r.stream}`); profile "
                    "and claims: its spend-profile and project-claim records, match pledged: its "
                    "match records (`grants projects "
                    f"--stream {r.stream} --json`); the project as published: "
                    f"{r.source or 'no source given'}")  # fmt: skip
    last = first + len(rows) - 1
    total_row = last + 1
    book.text(sheet, total_row, 0, lay["total_label"], "total")
    totals = [sum((getattr(r, a) for r in rows), Decimal(0)) for a in
              ("awarded", "profiled")] + [sum((profile_to_date(r) for r in rows), Decimal(0))] + [
        sum((getattr(r, a) for r in rows), Decimal(0))
        for a in ("eligible", "claimed", "paid", "slippage", "match_pledged", "match_spent")
    ]  # fmt: skip
    for col, value in zip(range(3, 12), totals, strict=True):
        rng = f"{cell(first, col)}:{cell(last, col)}"
        sheet.write_formula(total_row, col, f"=SUM({rng})", book.style("total"), float(value))
    book.source(f"{sheet.name}!{cell(total_row, 3)}:{cell(total_row, 11)}", "TOTAL",
                "sum of the projects above")  # fmt: skip
    book.print_setup(sheet, heading_row)
    chart = book.workbook.add_chart({"type": "bar"})
    for col in (5, 6):
        chart.add_series({
            "name": [sheet.name, heading_row, col],
            "categories": [sheet.name, first, 0, last, 0],
            "values": [sheet.name, first, col, last, col],
        })  # fmt: skip
    chart.set_title({"name": book.layout["chart"]["title"]})
    chart.set_x_axis({"name": book.layout["chart"]["y_axis"], "num_format": "#,##0"})
    chart.set_y_axis({"reverse": True, "crossing": "max"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 720, "height": max(320, 120 + 40 * len(rows))})
    sheet.set_h_pagebreaks([total_row + 2])  # the chart on a page of its own
    sheet.insert_chart(total_row + 3, 0, chart)


def _quarters(book: Book, rows: list[ProjectRow]) -> None:
    lay, cols = book.layout["quarters"], book.layout["columns"]
    sheet = book.sheet(lay["name"])
    sheet.set_column(0, 0, cols["label_width"])
    sheet.set_column(1, 1, cols["short_width"])
    sheet.set_column(2, 5, cols["money_width"])
    sheet.set_column(6, 7, cols["short_width"])
    sheet.set_column(8, 8, cols["money_width"])
    book.note(sheet, 0, book.titled(lay["title"]), "title")
    heading_row = 2
    for col, heading in enumerate(lay["headings"]):
        book.text(sheet, heading_row, col, heading, "heading" if col > 1 else "label")
    money = book.style("money")
    row = heading_row + 1
    for r in rows:
        for q in r.quarters:
            book.text(sheet, row, 0, r.name, "label")
            book.text(sheet, row, 1, f"{q.year} q{q.quarter}", "text")
            if q.profile is not None:
                sheet.write_number(row, 2, float(q.profile), money)
            if q.eligible is None:
                sheet.write_string(row, 3, lay["not_claimed"], book.style("note", align="right"))
            else:
                for col, value in ((3, q.eligible), (4, q.grant), (5, q.match)):
                    sheet.write_number(row, col, float(value or 0), money)
                sheet.write_string(row, 6, q.match_form or "", book.style("text", align="center"))
                book.text(sheet, row, 7, q.claimed_on.isoformat() if q.claimed_on else "",
                          "text")  # fmt: skip
                slip = (q.profile or Decimal(0)) - q.eligible
                sheet.write_formula(row, 8, f"=N({cell(row, 2)})-{cell(row, 3)}", money,
                                    float(slip))  # fmt: skip
            book.source(f"{sheet.name}!{cell(row, 2)}:{cell(row, 8)}",
                        f"{r.stream} {r.project} {q.year} q{q.quarter}",
                        "its spend-profile (the latest for the quarter) and project-claim "
                        "records")  # fmt: skip
            row += 1
    book.print_setup(sheet, heading_row)


def _outputs(book: Book, rows: list[ProjectRow]) -> None:
    lay, cols = book.layout["outputs"], book.layout["columns"]
    sheet = book.sheet(lay["name"])
    sheet.set_column(0, 0, cols["label_width"])
    sheet.set_column(1, 1, cols["short_width"])
    sheet.set_column(2, 2, cols["label_width"])
    sheet.set_column(3, 6, cols["short_width"])
    book.note(sheet, 0, book.titled(lay["title"]), "title")
    heading_row = 2
    for col, heading in enumerate(lay["headings"]):
        book.text(sheet, heading_row, col, heading, "heading" if col > 3 else "label")
    count = book.style("count")
    row = heading_row + 1
    for r in rows:
        for o in r.outputs:
            book.text(sheet, row, 0, r.name, "label")
            book.text(sheet, row, 1, o.indicator, "text")
            book.text(sheet, row, 2, o.name, "label")
            book.text(sheet, row, 3, o.unit, "text")
            sheet.write_number(row, 5, float(o.actual), count)
            if o.target is None:
                sheet.write_string(row, 4, lay["no_target"], book.style("note", align="right"))
            else:
                sheet.write_number(row, 4, float(o.target), count)
                share = float(o.actual / o.target) if o.target else 0.0
                sheet.write_formula(
                    row, 6, f"=IF({cell(row, 4)}>0,{cell(row, 5)}/{cell(row, 4)},0)",
                    book.style("percent"), share,
                )  # fmt: skip
            book.source(f"{sheet.name}!{cell(row, 4)}:{cell(row, 6)}",
                        f"{r.stream} {r.project} {o.indicator}",
                        "its output-target (the latest) and output records, added up")  # fmt: skip
            row += 1
    book.print_setup(sheet, heading_row)


__all__ = ["profile_to_date", "rag", "write"]
