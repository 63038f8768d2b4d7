"""The return form a recipient fills in: the grid is fixed here, because the importer
(grants.returns_import) reads the same cells back; the texts and styles are in
templates/return-form.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grants.excel import form_header, stream_layout
from grants.excel.book import Book, cell, file_name, writing
from grants.excel.form_grid import (
    ACTUAL,
    COST,
    HEADING_ROW,
    INPUT_COLUMNS,
    MEASURE,
    NUMBER,
    PROGRESS,
    RETURN_FIRST_LINE_ROW,
    RETURN_SHEET,
    SPEND,
    TARGET,
    TITLE,
)
from grants.excel.form_header import (
    COMPLETED_BY_ROW,
    COMPLETED_ON_ROW,
    FORM_ROW,
    Header,
    formula,
    locked,
    write_header,
)
from grants.formatting import day
from grants.periods import FinancialYear
from grants.services.returns import ReturnForm

# The grid (grants.excel.form_grid, which the importer reads by): the identity and header
# block (grants.excel.form_header) in rows 2 to 9, 0-based; the headings in row 11; the
# expenditure lines from row 12, in the columns NUMBER to ACTUAL.
SHEET = RETURN_SHEET
FIRST_LINE_ROW = RETURN_FIRST_LINE_ROW
LIMIT = 999_999_999_999.99  # the largest amount grants.money accepts


def filename(form: ReturnForm) -> str:
    return file_name(form.stream, str(FinancialYear(form.year)), form.stage, form.line)


def write(form: ReturnForm, path: Path, ledger: str) -> None:
    """Write the form, with the identity it was issued with (grants.services.returns
    .issue_forms gives it)."""
    if not form.identity:
        raise ValueError("a return form is written once it is issued, with its identity")
    layout = stream_layout.layout("return-form", form.words)
    with writing(path, layout, ledger) as book:
        _fill(book, form)


def display_cells(form: ReturnForm) -> dict[str, object]:
    """Every locked cell of the form as it will be written (``Return!B4`` -> value; a
    formula's text): the form's identity covers them, and an import refuses a changed one."""
    layout = stream_layout.layout("return-form", form.words)
    labels = layout["labels"]
    shown = form_header.display_cells(SHEET, _header(form, layout), labels, labels["headings"])
    # Each line's title and planned cost, and the Total row's label, are the import's own
    # checks (grants.services.returns_import), which say what the line should be.
    row = FIRST_LINE_ROW
    for line in form.lines:
        shown[_at(row, NUMBER)] = line.position
        row += 1
    last = row - 1
    for col in (COST, SPEND):
        shown[_at(row, col)] = formula(_sum(col, last))
    shown[_at(row + 1, TITLE)] = locked(labels["stated_total"])
    return shown


def _at(row: int, col: int) -> str:
    return f"{SHEET}!{cell(row, col)}"


def _sum(col: int, last: int) -> str:
    return f"=SUM({cell(FIRST_LINE_ROW, col)}:{cell(last, col)})"


def _header(form: ReturnForm, lay: dict[str, Any]) -> Header:
    labels, texts = lay["labels"], _texts(form)
    return Header(
        lay["sheet"]["title"].format(**texts), form.identity, form.recipient or form.line_name,
        f"{form.stream} {form.line}: {form.line_name}", str(FinancialYear(form.year)),
        labels["stage"], labels["stage_text"].format(**texts), form.allocated_pence,
        form.covers_from, "Type the date you completed the return, such as 31/10/2017.",
    )  # fmt: skip


def _texts(form: ReturnForm) -> dict[str, str]:
    return {
        "stream_name": form.stream_name,
        "stage": form.stage,
        "year": str(FinancialYear(form.year)),
        "from": day(form.covers_from),
        "to": day(form.covers_to),
        "due": day(form.due) if form.due else "",
    }


def _fill(book: Book, form: ReturnForm) -> None:
    lay, labels = book.layout, book.layout["labels"]
    texts = _texts(form)
    sheet = book.sheet(SHEET)
    instructions = book.sheet(lay["sheet"]["instructions_sheet"])
    widths = lay["columns"]
    sheet.set_column(NUMBER, NUMBER, widths["number_width"])
    sheet.set_column(TITLE, TITLE, widths["title_width"])
    sheet.set_column(COST, SPEND, widths["money_width"])
    sheet.set_column(PROGRESS, PROGRESS, widths["text_width"])
    sheet.set_column(MEASURE, MEASURE, widths["measure_width"])
    sheet.set_column(TARGET, ACTUAL, widths["count_width"])
    write_header(book, sheet, _header(form, lay))
    for col, heading in enumerate(labels["headings"]):
        book.text(sheet, HEADING_ROW, col, heading, "heading")
    row = FIRST_LINE_ROW
    inputs = {
        "money": book.style("input_money", locked=False),
        "text": book.style("input_text", locked=False),
        "count": book.style("input_count", locked=False),
    }
    for line in form.lines:
        sheet.write_number(row, NUMBER, line.position, book.style("fixed_text", align="center"))
        book.text(sheet, row, TITLE, line.title, "fixed_text")
        sheet.write_number(row, COST, line.cost_pence / 100, book.style("fixed_money"))
        sheet.write_blank(row, SPEND, None, inputs["money"])
        sheet.write_blank(row, PROGRESS, None, inputs["text"])
        sheet.write_blank(row, MEASURE, None, inputs["text"])
        sheet.write_blank(row, TARGET, None, inputs["count"])
        sheet.write_blank(row, ACTUAL, None, inputs["count"])
        row += 1
    last = row - 1
    sheet.data_validation(
        FIRST_LINE_ROW, SPEND, last, SPEND,
        {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": LIMIT,
         "error_message": "Type the spend to date in pounds, such as 12,345.67 (not negative)."},
    )  # fmt: skip
    sheet.data_validation(
        FIRST_LINE_ROW, TARGET, last, ACTUAL,
        {"validate": "integer", "criteria": ">=", "value": 0,
         "error_message": "Type a whole number (0 or more)."},
    )  # fmt: skip
    sheet.data_validation(
        FIRST_LINE_ROW, PROGRESS, last, MEASURE,
        {"validate": "length", "criteria": "<=", "value": 4000,
         "error_message": "At most 4,000 characters."},
    )  # fmt: skip
    total_row = row
    book.text(sheet, total_row, TITLE, labels["total"], "total")
    cost_total = sum(x.cost_pence for x in form.lines) / 100
    sheet.write_formula(total_row, COST, _sum(COST, last), book.style("total"), cost_total)
    sheet.write_formula(total_row, SPEND, _sum(SPEND, last), book.style("total"), 0)
    book.text(sheet, total_row + 1, TITLE, labels["stated_total"], "note")
    sheet.write_blank(total_row + 1, SPEND, None, inputs["money"])
    sheet.data_validation(
        total_row + 1, SPEND, total_row + 1, SPEND,
        {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": LIMIT},
    )  # fmt: skip
    sheet.protect("", {"format_columns": True, "format_rows": True})
    sheet.activate()
    book.print_setup(sheet, HEADING_ROW)
    instructions.set_column(0, 0, 90)  # a portrait page's width; longer lines wrap
    for i, text in enumerate(lay["instructions"]["lines"]):
        book.text(instructions, i, 0, text.format(**texts), "label" if i == 0 else "note")
    instructions.protect()


def total_row(form_lines: int) -> int:
    """The 0-based row of the Total (the stated total is the row after it)."""
    return FIRST_LINE_ROW + form_lines


__all__ = [
    "ACTUAL", "COMPLETED_BY_ROW", "COMPLETED_ON_ROW", "COST", "FIRST_LINE_ROW", "FORM_ROW",
    "HEADING_ROW", "INPUT_COLUMNS", "MEASURE", "NUMBER", "PROGRESS", "SHEET", "SPEND", "TARGET",
    "TITLE", "display_cells", "filename", "total_row", "write",
]  # fmt: skip
