"""The block at the top of both forms a recipient fills in (the return form and the spending
plan form): the form's identity, whom and what it is for, the allocation, and who completed
it and when. The rows are fixed (0-based), because the importers read them back: they are in
grants.excel.form_grid, with the reading of the block back, which imports no writer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from xlsxwriter.worksheet import Worksheet

from grants.excel.book import Book, cell, inert
from grants.excel.form_grid import (
    ALLOCATED_ROW,
    ALLOCATION_ROW,
    COMPLETED_BY_ROW,
    COMPLETED_ON_ROW,
    DISPLAY_ROWS,
    FORM_ROW,
    HEADING_ROW,
    PERIOD_ROW,
    RECIPIENT_ROW,
    YEAR_ROW,
    instructions_sheet,
    read_display,
    total_labels,
)
from grants.services.form_identity import recorded


@dataclass(frozen=True)
class Header:
    title: str
    identity: str
    recipient: str
    allocation: str
    year: str
    period_label: str  # the stage of a return, or the plan
    period: str
    allocated_pence: int
    completed_from: date  # the earliest date the form can have been completed
    date_hint: str  # the message of the date cell's validation


def display_cells(
    sheet: str, header: Header, labels: dict[str, Any], headings: list[str]
) -> dict[str, object]:
    """The locked cells the header writes (``Sheet!B4`` -> value, an amount in pounds as the
    cell holds it), as issued: whom and what the form is for, the title, the labels of
    column A and the table's headings (``heading_row``)."""
    values: list[object] = [
        header.recipient, header.allocation, header.year, header.period,
        header.allocated_pence / 100,
    ]  # fmt: skip
    shown = {f"{sheet}!{cell(row, 1)}": v for row, v in zip(DISPLAY_ROWS, values, strict=True)}
    shown[f"{sheet}!A1"] = locked(header.title)
    label_of = {
        FORM_ROW: labels["form"], RECIPIENT_ROW: labels["recipient"],
        ALLOCATION_ROW: labels["allocation"], YEAR_ROW: labels["year"],
        PERIOD_ROW: header.period_label, ALLOCATED_ROW: labels["allocated"],
        COMPLETED_BY_ROW: labels["completed_by"], COMPLETED_ON_ROW: labels["completed_on"],
    }  # fmt: skip
    for row, label in label_of.items():
        shown[f"{sheet}!{cell(row, 0)}"] = locked(label)
    for col, heading in enumerate(headings):
        shown[f"{sheet}!{cell(HEADING_ROW, col)}"] = locked(heading)
    return shown


def locked(text: str | None) -> object:
    """A locked text cell's value as it is written and read back (None when empty), as
    recorded at issue (grants.services.form_identity.recorded: a long text as its digest)."""
    return recorded(inert(text) or None) if text else None


def formula(text: str) -> str:
    """A formula cell as it is read back: its text, from the ``=``."""
    return text if text.startswith("=") else f"={text}"


def write_header(book: Book, sheet: Worksheet, header: Header) -> None:
    labels = book.layout["labels"]
    book.note(sheet, 0, header.title, "title")
    rows = [
        (FORM_ROW, labels["form"], header.identity),
        (RECIPIENT_ROW, labels["recipient"], header.recipient),
        (ALLOCATION_ROW, labels["allocation"], header.allocation),
        (YEAR_ROW, labels["year"], header.year),
        (PERIOD_ROW, header.period_label, header.period),
    ]
    for row, label, value in rows:
        book.text(sheet, row, 0, label, "label")
        book.text(sheet, row, 1, value, "fixed")
    book.text(sheet, ALLOCATED_ROW, 0, labels["allocated"], "label")
    sheet.write_number(ALLOCATED_ROW, 1, header.allocated_pence / 100, book.style("fixed_money"))
    book.text(sheet, COMPLETED_BY_ROW, 0, labels["completed_by"], "label")
    sheet.write_blank(COMPLETED_BY_ROW, 1, None, book.style("input_text", locked=False))
    book.text(sheet, COMPLETED_ON_ROW, 0, labels["completed_on"], "label")
    sheet.write_blank(COMPLETED_ON_ROW, 1, None, book.style("input_date", locked=False))
    sheet.data_validation(
        COMPLETED_ON_ROW, 1, COMPLETED_ON_ROW, 1,
        {"validate": "date", "criteria": ">=", "value": header.completed_from,
         "error_message": header.date_hint},
    )  # fmt: skip


__all__ = [
    "ALLOCATED_ROW",
    "ALLOCATION_ROW",
    "COMPLETED_BY_ROW",
    "COMPLETED_ON_ROW",
    "DISPLAY_ROWS",
    "FORM_ROW",
    "HEADING_ROW",
    "PERIOD_ROW",
    "RECIPIENT_ROW",
    "YEAR_ROW",
    "Header",
    "display_cells",
    "formula",
    "instructions_sheet",
    "locked",
    "read_display",
    "total_labels",
    "write_header",
]  # fmt: skip
