"""What the sheets of the capital programme workbook share: units and the title and
heading rows."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from xlsxwriter.worksheet import Worksheet

from grants.excel.book import Book, inert
from grants.services.capital_types import CapitalProgramme

THOUSAND = 100_000  # pence in £1,000
MILLION = 100_000_000  # pence in £1m


def k(pence: int) -> float:
    return pence / THOUSAND


def shown(pence: int) -> int:
    """A figure as a £'000 cell displays it: to the nearest thousand, halves away from 0."""
    whole, rest = divmod(abs(pence), THOUSAND)
    rounded = whole + (2 * rest >= THOUSAND)
    return rounded if pence >= 0 else -rounded


def m1(pounds_m: Decimal) -> Decimal:
    return pounds_m.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def years(p: CapitalProgramme) -> str:
    """The award periods the resources cover, as the sheets' subtitles say it."""
    return f"{p.period.first.render('/')} to {p.period.last.render('/')}"


def title(book: Book, sheet: Worksheet, text: str, subtitle: str) -> None:
    """The title and subtitle rows, wrapped across the columns set so far (set them first)."""
    book.note(sheet, 0, book.titled(text), "title")
    book.note(sheet, 1, subtitle, "note")


def headings(
    book: Book, sheet: Worksheet, row: int, texts: list[str], text_columns: tuple[int, ...] = ()
) -> None:
    """The heading row; over a column of text (``text_columns``) the heading is left-aligned
    like the text beneath it, over figures as the template's style says."""
    for col, heading in enumerate(texts):
        style = book.style("heading", align="left") if col in text_columns else None
        sheet.write_string(row, col, inert(heading), style or book.style("heading"))


__all__ = ["MILLION", "THOUSAND", "headings", "k", "m1", "shown", "title", "years"]
