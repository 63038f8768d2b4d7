"""The programme sheets of the capital programme workbook, one per version and programme
table (years across, the later years' column when the books give one, TOTAL, and the Change
column and Difference row against the compared version), and the chart sheet: one chart per
programme table, so that tables of different kinds (payments, financing, income) are never
added together."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grants.excel.book import Book, cell, cells, inert, quoted
from grants.excel.capital_parts import headings, k, shown, title
from grants.periods import FinancialYear
from grants.services.capital_types import CapitalProgramme

if TYPE_CHECKING:
    from grants.services.capital_core import Reads


class Placed:
    """Where a programme table's TOTAL row is, and its column sums in pence (the year
    columns and the later years', then the TOTAL column)."""

    def __init__(self, sheet: str, total_row: int, sums: list[int]) -> None:
        self.sheet, self.total_row, self.sums = sheet, total_row, sums


def sheet_name(layout: dict[str, Any], version: str, table: str) -> str:
    return str(layout["programme"]["sheet"].format(version=version.title(), table=table))


def pairs(p: CapitalProgramme) -> list[tuple[str, str]]:
    """(version, table) of every programme sheet: the base version first."""
    versions = [v for v in (p.base, p.other) if v]
    return [(v, t) for v in versions for t in p.tables if (v, t) in p.version_tables]


def table_title(layout: dict[str, Any], table: str) -> str:
    return str(layout["programme"]["table_titles"].get(table, table))


def columns(book: Book, p: CapitalProgramme, table: str) -> list[tuple[int | None, str]]:
    """The amount columns of a table: each year, then the later years' (year None) when the
    table has later-years amounts and the report runs to the books' last year."""
    out: list[tuple[int | None, str]] = [(y, FinancialYear(y).render("/")) for y in p.years]
    if table in p.later_tables:
        out.append((None, book.layout["programme"]["later_heading"]))
    return out


def write(book: Book, reads: Reads, p: CapitalProgramme) -> dict[str, dict[str, Placed]]:
    """A sheet per version and table; the base version first, so that the other can refer
    to it for the Change column and the Difference row."""
    placed: dict[str, dict[str, Placed]] = {}
    base_rows: dict[tuple[str, str], int] = {}
    for version, table in pairs(p):
        compared = p.base if version == p.other and p.base else None
        base = placed.get(p.base or "", {}).get(table) if compared else None
        placed.setdefault(version, {})[table] = _programme(
            book, reads, p, version, table, compared, base, base_rows
        )
    return placed


def _programme(
    book: Book,
    reads: Reads,
    p: CapitalProgramme,
    version: str,
    table: str,
    compared: str | None,
    base: Placed | None,
    base_rows: dict[tuple[str, str], int],
) -> Placed:
    lay = book.layout["programme"]
    styles = book.layout["styles"]
    widths = book.layout["columns"]
    cols = columns(book, p, table)
    sheet = book.sheet(sheet_name(book.layout, version, table))
    name = lay["title"].format(name=version.title(), table_title=table_title(book.layout, table))
    heading_row = 3
    total_col = len(cols) + 1
    texts = ["", *(text for _, text in cols), lay["total_heading"]]
    if compared:
        texts.append(lay["change_heading"])
    last_col = len(texts) - 1
    sheet.set_column(0, 0, widths["label_width"])
    sheet.set_column(1, last_col, widths["money_width"])
    title(book, sheet, name, p.stream)
    headings(book, sheet, heading_row, texts)
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
    sums = [0] * (len(cols) + 1)
    as_shown = [0] * (len(cols) + 1)  # the sums of the figures as displayed (£'000, rounded)
    change_sum = 0
    any_estimate = any_change = False
    later = any(year is None for year, _ in cols)
    year_cols = [(col, year) for col, (year, _) in enumerate(cols, start=1)]
    plain = marked[False, False]
    label = book.style("label")
    write_number = sheet.write_number
    for line in reads.programme_rows(p, version, table, compared, later):
        if line.section and line.section != section:
            section = line.section
            book.text(sheet, row, 0, section, "section")
            row += 1
        sheet.write_string(row, 0, inert(line.label), label)
        amounts, estimates, changes = line.amounts, line.estimates, line.changed
        line_total = 0
        for col, year in year_cols:
            pence = line.later if year is None else amounts.get(year)
            if pence is None:
                continue  # printed blank
            style = plain
            if year is not None and (estimates or changes):
                estimate, changed = year in estimates, year in changes
                any_estimate |= estimate
                any_change |= changed
                style = marked[estimate, changed]
            write_number(row, col, pence / 100_000, style)
            sums[col - 1] += pence
            as_shown[col - 1] += shown(pence)
            line_total += pence
        sums[-1] += line_total
        as_shown[-1] += shown(line_total)
        sheet.write_formula(
            row, total_col, f"=SUM({cells(row, 1, row, len(cols))})", money, k(line_total)
        )
        if compared:
            before = line.compared_total or 0
            base_row = base_rows.get((table, line.code))
            if base is not None and base_row is not None:
                formula = f"={cell(row, total_col)}-{quoted(base.sheet)}{cell(base_row, total_col)}"
            else:  # not in the compared version's table
                formula = f"={cell(row, total_col)}-{k(before)}"
            change_sum += line_total - before
            sheet.write_formula(row, total_col + 1, formula, money, k(line_total - before))
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
        sheet.write_formula(total_row, col, formula, total, k(value))
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
            sheet.write_formula(row, col, formula, money, k(sums[mine - 1] - base.sums[mine - 1]))
        book.source(
            f"{sheet.name}!{cells(row, 1, row, last_col)}",
            lay["difference_label"],
            f"TOTAL less the {compared} programme's TOTAL",
        )
        row += 1
    row += 1
    off = [texts[i + 1] for i in range(len(sums)) if as_shown[i] != shown(sums[i])]
    if off:
        book.note(sheet, row, lay["rounding_note"].format(columns=", ".join(off)), "note")
        row += 1
    if any_estimate:
        book.note(sheet, row, lay["estimate_note"], "note")
        row += 1
    if any_change and compared:
        book.note(sheet, row, lay["change_note"].format(compared=compared), "note")
    book.print_setup(sheet, heading_row)
    return Placed(sheet.name, total_row, sums)


CHART_HEIGHT = 420  # pixels
CHART_ROWS = CHART_HEIGHT // 17 + 2  # the rows a chart covers (17 pixels a row), and a gap


def chart(book: Book, p: CapitalProgramme, placed: dict[str, dict[str, Placed]]) -> None:
    """One chart per programme table: its TOTAL row by year in each version."""
    lay = book.layout["chart"]
    sheet = book.sheet(lay["sheet"])
    sheet.set_column(0, 2, 16)
    row = 0
    breaks: list[int] = []  # each table and its chart on a page of its own, never split
    for table in p.tables:
        versions = [v for v in (p.base, p.other) if v and table in placed.get(v, {})]
        if not versions:
            continue
        cols = columns(book, p, table)
        name = table_title(book.layout, table)
        if row:
            breaks.append(row)
        book.text(sheet, row, 0, name, "section")
        heading_row = row + 1
        headings(book, sheet, heading_row, [lay["year_heading"], *(v.title() for v in versions)])
        for i, (_, label) in enumerate(cols, start=1):
            sheet.write_string(heading_row + i, 0, label)
            for col, version in enumerate(versions, start=1):
                where = placed[version][table]
                sheet.write_formula(
                    heading_row + i, col, f"={quoted(where.sheet)}{cell(where.total_row, i)}",
                    book.style("money"), k(where.sums[i - 1]),
                )  # fmt: skip
                book.source(
                    f"{sheet.name}!{cell(heading_row + i, col)}",
                    f"{name}, {version.title()} programme, {label}",
                    f"the TOTAL row of {where.sheet}",
                )
        # Bars across: a dozen years read down the side, each label whole and upright.
        figure = book.workbook.add_chart({"type": "bar"})
        last = heading_row + len(cols)
        for col in range(1, len(versions) + 1):
            figure.add_series(
                {
                    "name": [sheet.name, heading_row, col],
                    "categories": [sheet.name, heading_row + 1, 0, last, 0],
                    "values": [sheet.name, heading_row + 1, col, last, col],
                }
            )
        names = [v.title() for v in versions]
        text = lay["title"] if len(names) == 2 else lay["single_title"]
        figure.set_title({"name": text.format(table_title=name, base=names[0], other=names[-1])})
        figure.set_y_axis({"name": lay["y_axis"], "num_format": "#,##0"})
        figure.set_legend({"position": "bottom"})
        figure.set_size({"width": 600, "height": CHART_HEIGHT})  # within a portrait page
        sheet.insert_chart(last + 2, 0, figure)
        row = last + 2 + CHART_ROWS
    sheet.set_h_pagebreaks(breaks)
    book.print_setup(sheet, 1)  # every block's heading row reads Year and the versions


__all__ = ["Placed", "chart", "columns", "pairs", "sheet_name", "table_title", "write"]
