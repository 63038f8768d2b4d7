"""The reconciliation workbook: a summary (counts by recipient and severity, with live
totals) and a sheet of findings per recipient. Recipient text is written inert."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from grants.excel import stream_layout
from grants.excel.book import cell, sheet_name, writing
from grants.excel.layout import tab_name
from grants.formatting import day
from grants.money import from_pence
from grants.services import checkpoints
from grants.services.reconcile import SEVERITIES, Finding, Findings
from grants.services.stream_texts import StreamWords


def write(
    findings: Findings, path: Path, ledger: str, as_of: date, words: StreamWords | None = None
) -> None:
    """``words``: the stream's names and headings when the findings are one stream's (its
    books may word the template's texts, ``heading STREAM reconcile:SECTION.KEY``)."""
    layout = stream_layout.layout("reconcile", words or StreamWords())
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.recipient or layout["summary"]["stream_wide"], []).append(f)
    with writing(path, layout, ledger) as book:
        summary = book.sheet(layout["summary"]["sheet"])
        widths = layout["columns"]
        summary.set_column(0, 0, widths["label_width"])
        summary.set_column(1, 3, widths["count_width"])
        book.note(summary, 0, layout["summary"]["title"].format(date=day(as_of)), "title")
        for col, heading in enumerate(layout["summary"]["headings"]):  # counts: right
            style = book.style("heading", align="right") if col else book.style("heading")
            summary.write_string(2, col, heading, style)
        row = 3
        names = sorted(groups)
        sheets: dict[str, str] = {}
        for name in names:
            sheets[name] = book.sheet(_sheet_name(name, {summary.name, *sheets.values()})).name
        for name in names:
            book.text(summary, row, 0, name, "label")
            for col, severity in enumerate(SEVERITIES, start=1):
                count = sum(1 for f in groups[name] if f.severity == severity)
                summary.write_number(row, col, count, book.style("count"))
            row += 1
        book.text(summary, row, 0, layout["summary"]["total_label"], "total")
        for col, severity in enumerate(SEVERITIES, start=1):
            total = sum(1 for f in findings if f.severity == severity)
            formula = f"=SUM({cell(3, col)}:{cell(row - 1, col)})" if names else "=0"
            summary.write_formula(row, col, formula, book.style("total"), total)
        statement = findings.record_statement
        if statement:  # what the record's check walked, and what it relied on
            plain = statement.replace("`", "")  # a command's name, as the words say it
            book.note(summary, row + 2, checkpoints.sentence(plain), "label")
        book.print_setup(summary, 2)
        for name in names:
            sheet = book.sheet(sheets[name])
            sheet.set_column(0, 4, 12)
            sheet.set_column(5, 5, widths["text_width"])
            sheet.set_column(6, 9, widths["money_width"])
            book.note(sheet, 0, name, "title")
            for col, heading in enumerate(layout["findings"]["headings"]):
                book.text(sheet, 2, col, heading, "heading")
            for i, f in enumerate(groups[name], start=3):
                book.text(sheet, i, 0, f.severity, f.severity)
                for col, value in enumerate((f.check, f.stream, f.period, f.line or ""), 1):
                    book.text(sheet, i, col, value, "label")
                book.text(sheet, i, 5, f.message, "label")
                if f.amount_pence is not None:
                    sheet.write_number(i, 6, float(from_pence(f.amount_pence)), book.style("money"))
                for col, value in enumerate(f.figures or (), start=7):  # a published figure's
                    sheet.write_number(i, col, float(value), book.style("money"))
            book.print_setup(sheet, 2)


def _sheet_name(name: str, taken: set[str]) -> str:
    """A sheet name from a recipient's name: Excel's 31 characters (cut with "…"), numbered
    when two recipients' names would make the same tab."""
    return tab_name(sheet_name(name), taken)


__all__ = ["write"]
