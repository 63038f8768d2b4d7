"""The spending plan form a recipient fills in: the grid is fixed here, because the importer
(grants.services.plan_forms) reads the same cells back; the texts and styles are in
templates/plan-form.toml."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grants.excel import form_header, stream_layout, templates
from grants.excel.book import Book, cell, file_name, writing
from grants.excel.form_header import (
    ALLOCATED_ROW,
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

if TYPE_CHECKING:
    from grants.services.plan_forms import PlanForm

SHEET = "Plan"
# The identity and header block (grants.excel.form_header): rows 2 to 9, 0-based.
HEADING_ROW = 11
FIRST_LINE_ROW = 12
MAX_LINES = 20
TOTAL_ROW = FIRST_LINE_ROW + MAX_LINES  # the row after the last line; "not yet planned" below
# Columns (0-based).
NUMBER, TITLE, OBJECTIVES, OBJECTIVE, COST, PERCENT, OTHER = range(7)
INPUT_COLUMNS = (TITLE, OBJECTIVES, OBJECTIVE, COST, OTHER)
LIMIT = 999_999_999_999.99  # the largest amount grants.money accepts

__all__ = [
    "ALLOCATED_ROW", "COMPLETED_BY_ROW", "COMPLETED_ON_ROW", "COST", "FIRST_LINE_ROW",
    "FORM_ROW", "HEADING_ROW", "INPUT_COLUMNS", "MAX_LINES", "NUMBER", "OBJECTIVE", "OBJECTIVES",
    "OTHER", "PERCENT", "SHEET", "TITLE", "TOTAL_ROW", "cell", "display_cells", "filename",
    "not_pcc", "write",
]  # fmt: skip


def filename(form: PlanForm) -> str:
    return file_name(form.stream, str(FinancialYear(form.year)), "plan", form.line)


@functools.lru_cache(maxsize=1)
def not_pcc() -> str:
    """What the PCC objective column shows on forms for other funds."""
    return str(templates.load("plan-form")["labels"]["not_pcc"])


def write(form: PlanForm, path: Path, ledger: str) -> None:
    """Write the form, with the identity it was issued with (grants.services.plan_forms
    .issue_plan_forms gives it)."""
    if not form.identity:
        raise ValueError("a plan form is written once it is issued, with its identity")
    layout = stream_layout.layout("plan-form", form.words)
    with writing(path, layout, ledger) as book:
        _fill(book, form)


def display_cells(form: PlanForm) -> dict[str, object]:
    """Every locked cell of the form as it will be written (``Plan!B4`` -> value; a
    formula's text): the form's identity covers them, and an import refuses a changed one."""
    layout = stream_layout.layout("plan-form", form.words)
    labels = layout["labels"]
    shown = form_header.display_cells(SHEET, _header(form, layout), labels, labels["headings"])
    for i in range(MAX_LINES):
        row = FIRST_LINE_ROW + i
        shown[_at(row, NUMBER)] = i + 1
        known = form.lines[i] if i < len(form.lines) else None
        if known is not None:  # its title and cost: the import's own check, which names them
            shown[_at(row, OBJECTIVES)] = locked(known.objectives)
            shown[_at(row, OBJECTIVE)] = known.pcc_objective
            shown[_at(row, OTHER)] = locked(known.other_funding)
        shown[_at(row, PERCENT)] = formula(_percent(row))
    # The Total row's label, and the objective of a fund other than the PCC's, are the
    # import's own checks too (grants.services.plan_forms).
    shown[_at(TOTAL_ROW, COST)] = formula(f"=SUM({_costs()})")
    shown[_at(TOTAL_ROW, PERCENT)] = formula(_total_percent())
    shown[_at(TOTAL_ROW + 1, TITLE)] = locked(labels["unplanned"])
    shown[_at(TOTAL_ROW + 1, COST)] = formula(_unplanned())
    return shown


_ALLOCATED = f"$B${ALLOCATED_ROW + 1}"


def _at(row: int, col: int) -> str:
    return f"{SHEET}!{cell(row, col)}"


def _costs() -> str:
    return f"{cell(FIRST_LINE_ROW, COST)}:{cell(TOTAL_ROW - 1, COST)}"


def _percent(row: int) -> str:
    cost = cell(row, COST)
    return f'=IF({cost}="","",{cost}/{_ALLOCATED})'


def _total_percent() -> str:
    return f'=IF({_ALLOCATED}=0,"",SUM({_costs()})/{_ALLOCATED})'


def _unplanned() -> str:
    return f"={_ALLOCATED}-SUM({_costs()})"


def _header(form: PlanForm, lay: dict[str, Any]) -> Header:
    labels, texts = lay["labels"], _texts(form)
    return Header(
        lay["sheet"]["title"].format(**texts), form.identity, form.recipient or form.line_name,
        f"{form.stream} {form.line}: {form.line_name}", texts["year"], labels["due"],
        labels["due_text"].format(**texts), form.allocated_pence,
        FinancialYear(form.year - 1).first_day,
        "Type the date you completed the plan, such as 31/05/2017.",
    )  # fmt: skip


def _texts(form: PlanForm) -> dict[str, str]:
    fy = FinancialYear(form.year)
    return {
        "stream_name": form.stream_name,
        "year": str(fy),
        "from": day(fy.first_day),
        "to": day(fy.last_day),
        "due": day(form.due) if form.due else "when agreed with the council",
        "lines": str(MAX_LINES),
    }


def _fill(book: Book, form: PlanForm) -> None:
    lay, labels = book.layout, book.layout["labels"]
    texts = _texts(form)
    sheet = book.sheet(SHEET)
    instructions = book.sheet(lay["sheet"]["instructions_sheet"])
    widths = lay["columns"]
    sheet.set_column(NUMBER, NUMBER, widths["number_width"])
    sheet.set_column(TITLE, TITLE, widths["title_width"])
    sheet.set_column(OBJECTIVES, OBJECTIVES, widths["text_width"])
    sheet.set_column(OBJECTIVE, OBJECTIVE, widths["objective_width"])
    sheet.set_column(COST, COST, widths["money_width"])
    sheet.set_column(PERCENT, PERCENT, widths["percent_width"])
    sheet.set_column(OTHER, OTHER, widths["funding_width"])
    write_header(book, sheet, _header(form, lay))
    for col, heading in enumerate(labels["headings"]):
        book.text(sheet, HEADING_ROW, col, heading, "heading")
    inputs = {
        "money": book.style("input_money", locked=False),
        "text": book.style("input_text", locked=False),
        "count": book.style("input_count", locked=False),
    }
    recorded = {i: x for i, x in enumerate(form.lines)}
    for i in range(MAX_LINES):
        row = FIRST_LINE_ROW + i
        sheet.write_number(row, NUMBER, i + 1, book.style("fixed_text", align="center"))
        known = recorded.get(i)
        if known is not None:  # recorded already: shown, locked
            book.text(sheet, row, TITLE, known.title, "fixed_text")
            book.text(sheet, row, OBJECTIVES, known.objectives or "", "fixed_text")
            if known.pcc_objective is not None:
                sheet.write_number(row, OBJECTIVE, known.pcc_objective, book.style("fixed_text"))
            else:
                sheet.write_blank(row, OBJECTIVE, None, book.style("fixed_text"))
            sheet.write_number(row, COST, known.cost_pence / 100, book.style("fixed_money"))
            book.text(sheet, row, OTHER, known.other_funding or "", "fixed_text")
        else:
            sheet.write_blank(row, TITLE, None, inputs["text"])
            sheet.write_blank(row, OBJECTIVES, None, inputs["text"])
            if form.pcc:
                sheet.write_blank(row, OBJECTIVE, None, inputs["count"])
            else:
                book.text(sheet, row, OBJECTIVE, labels["not_pcc"], "fixed_text")
            sheet.write_blank(row, COST, None, inputs["money"])
            sheet.write_blank(row, OTHER, None, inputs["text"])
        sheet.write_formula(
            row, PERCENT, _percent(row), book.style("percent"),
            (known.cost_pence / form.allocated_pence) if known and form.allocated_pence else "",
        )  # fmt: skip
    first_new, last = FIRST_LINE_ROW + len(form.lines), TOTAL_ROW - 1
    if first_new <= last:
        sheet.data_validation(
            first_new, COST, last, COST,
            {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": LIMIT,
             "error_message": "Type the cost to the fund in pounds, such as 12,345.67."},
        )  # fmt: skip
        if form.pcc:
            sheet.data_validation(
                first_new, OBJECTIVE, last, OBJECTIVE,
                {"validate": "integer", "criteria": "between", "minimum": 1, "maximum": 5,
                 "error_message": "Type the PCC strategic objective, 1 to 5 (see the "
                                  "Instructions sheet)."},
            )  # fmt: skip
        sheet.data_validation(
            first_new, TITLE, last, TITLE,
            {"validate": "length", "criteria": "<=", "value": 200,
             "error_message": "At most 200 characters: put the detail in the objectives."},
        )  # fmt: skip
        sheet.data_validation(
            first_new, OBJECTIVES, last, OBJECTIVES,
            {"validate": "length", "criteria": "<=", "value": 4000,
             "error_message": "At most 4,000 characters."},
        )  # fmt: skip
    costs = _costs()
    planned = sum(x.cost_pence for x in form.lines) / 100
    allocated_value = form.allocated_pence / 100
    book.text(sheet, TOTAL_ROW, TITLE, labels["total"], "total")
    sheet.write_formula(TOTAL_ROW, COST, f"=SUM({costs})", book.style("total"), planned)
    sheet.write_formula(
        TOTAL_ROW, PERCENT, _total_percent(),
        book.style("total_percent"), planned / allocated_value if allocated_value else "",
    )  # fmt: skip
    book.text(sheet, TOTAL_ROW + 1, TITLE, labels["unplanned"], "note")
    sheet.write_formula(
        TOTAL_ROW + 1, COST, _unplanned(), book.style("fixed_money"),
        allocated_value - planned,
    )  # fmt: skip
    sheet.protect("", {"format_columns": True, "format_rows": True})
    sheet.activate()
    book.print_setup(sheet, HEADING_ROW)
    instructions.set_column(0, 0, 90)  # a portrait page's width; longer lines wrap
    row = 0
    for i, text in enumerate(lay["instructions"]["lines"]):
        book.text(instructions, row, 0, text.format(**texts), "label" if i == 0 else "note")
        row += 1
    if form.pcc:
        row += 1
        book.text(instructions, row, 0, lay["instructions"]["objectives_heading"], "label")
        for text in lay["instructions"]["objectives"]:
            row += 1
            book.text(instructions, row, 0, text, "note")
    instructions.protect()
