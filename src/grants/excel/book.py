"""What every workbook we write shares: a template's styles and print set-up, inert text, a
Sources sheet, cells fitted to their text (grants.excel.fitting), and writing to a temporary
file that replaces the target only when complete."""

from __future__ import annotations

import re
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name, xl_range, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from grants.errors import GrantsError
from grants.excel import metrics
from grants.excel.fitting import Fitting
from grants.excel.layout import DEFAULT_PRINT, cut, page, printable_width, tab_name
from grants.excel.sheet import _DYNAMIC as _DYNAMIC
from grants.excel.sheet import KEEP_ROWS as KEEP_ROWS
from grants.excel.sheet import _Sheet as _Sheet

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Characters a sheet name may not contain (Excel's rule), and its length limit.
_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
_FILE_NAME = re.compile(r"[^a-z0-9_-]", re.ASCII)
# A footer's literal ampersand and the placeholders the code fills in (templates/README.md).
_FOOTER_FIELD = re.compile(r"&&|&\[(Ledger|Date)\]")
# Control and format characters (bidi controls, zero-width), surrogates, line separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Text XlsxWriter's write() and write_row() write as a link (strings_to_urls).
_URL = ("http://", "https://", "ftp://", "ftps://", "mailto:", "internal:", "external:", "file://")
FOOTER_LIMIT = 255  # Excel's, in UTF-16 code units; XlsxWriter drops a longer footer


def inert(text: str, limit: int = 32_000) -> str:
    """Text safe for a cell: control characters removed, cut with a marker if too long.
    (Cells are written as strings, never as formulas.)"""
    cleaned = text if text.isprintable() else _CONTROL.sub("", text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def sheet_name(text: str) -> str:
    """A tab name from any text: Excel's forbidden characters replaced, cut with "…" to its
    31 characters (Book.sheet also numbers names that would clash)."""
    return cut(_SHEET_NAME.sub("-", inert(text)), 31) or "Sheet"


def file_name(*parts: str) -> str:
    """A workbook's file name made from codes of the ledger, lower case: anything but a
    letter, digit, '-' or '_' becomes '-', so that a name from the database can never
    leave the output folder or carry a control character."""
    stem = _FILE_NAME.sub("-", "-".join(parts).lower())
    return f"{stem}.xlsx"


@cache  # (at most Excel's 16,384 columns)
def _column(col: int) -> str:
    return str(xl_col_to_name(col))


# XlsxWriter's xl_rowcol_to_cell and xl_range, with each column's letters worked out once: a
# capital programme names three ranges a row (its total, its change and its source). A
# negative row or column still goes to XlsxWriter, which warns and gives "".
def cell(row: int, col: int) -> str:
    if row < 0 or col < 0:
        return str(xl_rowcol_to_cell(row, col))
    return _column(col) + str(row + 1)


def cells(first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    if first_row < 0 or first_col < 0 or last_row < 0 or last_col < 0:
        return str(xl_range(first_row, first_col, last_row, last_col))
    first = _column(first_col) + str(first_row + 1)
    last = _column(last_col) + str(last_row + 1)
    return first if first == last else first + ":" + last


def quoted(sheet: str) -> str:
    """A sheet name as a formula reference: 'Current grants'!"""
    return "'" + sheet.replace("'", "''") + "'!"


class Book:
    """A workbook laid out by one template (see templates/README.md).

    ``constant_memory`` streams each sheet to disk row by row (rows must then be written in
    order): the way to write hundreds of thousands of rows in little memory. ``ledger`` is
    the ledger's name (`grants.services.settings.ledger_name`), which the footer prints with
    the day the workbook was generated. ``as_of``: the day the report shows the ledger as it
    stood at the end of (None: as it stands), which its titles (``titled``) and the first
    row of its Sources sheet say."""

    def __init__(
        self,
        workbook: Any,
        layout: dict[str, Any],
        ledger: str,
        generated: date | None = None,
        as_of: date | None = None,
    ) -> None:
        self.workbook = workbook
        self.layout = layout
        self.ledger = ledger
        self.generated = generated or date.today()
        self.as_of = as_of
        self._formats: dict[tuple[str, tuple[tuple[str, Any], ...]], Format] = {}
        self._properties: dict[int, dict[str, Any]] = {}  # id of a format: its properties
        self._wrapped: dict[int, Format] = {}
        self._sheets: dict[str, _Sheet] = {}
        self.print = {**DEFAULT_PRINT, **layout.get("print", {})}
        self._sources: Worksheet | None = None
        self._source_row = 1

    def style(self, name: str, **extra: Any) -> Format:
        """The named style of the template, optionally with extra properties on top."""
        key = (name, tuple(sorted(extra.items())) if extra else ())
        if key not in self._formats:
            self._formats[key] = self._format({**self.layout["styles"][name], **extra})
        return self._formats[key]

    def add_format(self, properties: dict[str, Any]) -> Format:
        """A format of properties from another template (a sheet that every workbook may
        hold, such as the published figures): measured for fitting like the book's own."""
        return self._format(dict(properties))

    def _format(self, properties: dict[str, Any]) -> Format:
        made = self.workbook.add_format(properties)
        self._properties[id(made)] = properties
        return made

    def properties(self, cell_format: Format | None) -> dict[str, Any]:
        return self._properties.get(id(cell_format), {}) if cell_format is not None else {}

    def wrapped(self, cell_format: Format | None) -> Format:
        """The same format with text wrapping (for text longer than its column)."""
        key = id(cell_format)
        if key not in self._wrapped:
            self._wrapped[key] = self._format({**self.properties(cell_format), "text_wrap": True})
        return self._wrapped[key]

    def sheet(self, name: str) -> Worksheet:
        """The sheet of that name, added now unless ``order`` added it already. Its tab is
        the name cut with "…" to Excel's 31 characters, numbered if another tab has it."""
        key = _SHEET_NAME.sub("-", inert(name)) or "Sheet"
        if key not in self._sheets:
            tab = tab_name(key, {s.name for s in self._sheets.values()})
            sheet = self.workbook.add_worksheet(tab, worksheet_class=_Sheet)
            sheet.fitting = Fitting(
                self.properties, self.wrapped,
                lambda col, width: Worksheet.set_column(sheet, col, col, width),
                lambda row, height: Worksheet.set_row(sheet, row, height),
                float(self.print["max_column_width"]),
            )  # fmt: skip
            sheet.fitting.streamed = bool(sheet.constant_memory)
            self._sheets[key] = sheet
        return self._sheets[key]

    def order(self, names: list[str]) -> None:
        """Add sheets now, in this order (the order readers see), to be filled later."""
        for name in names:
            self.sheet(name)

    def text(self, sheet: Worksheet, row: int, col: int, value: str, style: str | None) -> None:
        sheet.write_string(row, col, inert(value), self.style(style) if style else None)

    def note(self, sheet: Worksheet, row: int, value: str, style: str | dict[str, Any]) -> None:
        """A title or a note in column A: wrapped across the table's width (the columns set
        so far) rather than crossing into the cells beside it or widening column A. (A form
        read back allows this merge in row 1 only: grants.excel.safe_read.) ``style`` names a
        style of the book's template, or gives another template's style properties."""
        fitting = _fitting(sheet)
        last = fitting.last_column()
        # Never wider than a landscape page at full size: a sheet too wide to fit its page
        # runs on to a second page across, and the note must not be cut at the page's edge.
        limit = printable_width(True, float(self.print["margin_cm"]))
        while last > 0 and fitting.width_points(last) > limit:
            last -= 1
        self.span(sheet, row, 0, last, value, style)

    def span(self, sheet: Worksheet, row: int, first: int, last: int, value: str,
             style: str | dict[str, Any]) -> None:  # fmt: skip
        """Text in columns ``first`` to ``last`` of a row: in the first cell if it fits
        there, else merged across them and wrapped, the row made tall enough."""
        fitting = _fitting(sheet)
        text = inert(value)
        props = dict(self.layout["styles"][style] if isinstance(style, str) else style)
        size, bold = float(props.get("font_size", metrics.FONT_SIZE)), bool(props.get("bold"))
        if metrics.fits(text, fitting.width(first), size, bold):
            plain = self.style(style) if isinstance(style, str) else self._format(props)
            sheet.write_string(row, first, text, plain)
            return
        wrapped = (
            self.style(style, text_wrap=True, valign="top")
            if isinstance(style, str)
            else self._format({**props, "text_wrap": True, "valign": "top"})
        )
        if last == first:
            sheet.write_string(row, first, text, wrapped)
            return
        fitting.merging = True
        try:
            sheet.merge_range(row, first, row, last, text, wrapped)
        finally:
            fitting.merging = False
        fitting.merged(row, first, last, text, size, bold)

    def titled(self, title: str) -> str:
        """A sheet's title, saying the day the report is as of when it is as of one."""
        return title if self.as_of is None else f"{title}, as of {long_day(self.as_of)}"

    def source(self, where: str, figure: str, entries: str) -> None:
        """One row of the Sources sheet: a cell or range, what it shows, where it came from."""
        sources = self._sources or self._open_sources()
        sheet, bang, cells = where.rpartition("!")
        if bang and not sheet.startswith("'"):
            where = quoted(sheet) + cells  # 'Flexible resources'!C6: a reference that works
        row = self._source_row
        for col, text in enumerate((where, inert(figure), inert(entries))):
            if text.startswith(_URL):  # as write_row writes it: a link
                sources.write(row, col, text)
            elif text:  # (write_row leaves an empty string's cell empty)
                sources.write_string(row, col, text)
        self._source_row += 1

    def _open_sources(self) -> Worksheet:
        """The Sources sheet with its headings, and the day the report is as of."""
        if self._sources is None:
            self._sources = self.sheet("Sources")
            heading = self.style("heading", align="left")
            self._sources.write_row(
                0, 0, ["Cell", "Figure", "Journal entries and books lines"], heading
            )
            self.print_setup(self._sources, 0)
            self._sources.set_column(0, 0, 24)
            self._sources.set_column(1, 1, 40)
            self._sources.set_column(2, 2, 60)
            if self.as_of is not None:
                self._sources.write_row(1, 0, ["Every sheet", "As of", AS_OF.format(
                    day=long_day(self.as_of))])  # fmt: skip
                self._source_row = 2
        return self._sources

    def print_setup(self, sheet: Worksheet, heading_row: int | None) -> None:
        """Say which row holds the sheet's headings (repeated on every printed page); the
        page itself is set when the workbook is finished (``finish``), when the columns'
        widths are final."""
        fitting = _fitting(sheet)
        fitting.heading_row = heading_row

    def finish(self) -> None:
        """Set up every sheet for printing on A4 by the template's [print] table (the
        defaults for a sheet it does not cover: layout.DEFAULT_PRINT), the Sources and
        instructions sheets too: orientation, scale, margins, heading rows and footer."""
        if self.as_of is not None:
            self._open_sources()  # it says the day, whether or not any figure has a source
        setup = self.print
        margin = float(setup["margin_cm"]) / 2.54  # inches
        for sheet in self._sheets.values():
            fitting = _fitting(sheet)
            last = sheet.dim_colmax if sheet.dim_colmax is not None else 0
            width = fitting.width_points(last)
            for _row, col, chart, x_offset, *_ in sheet.charts:
                chart_points = fitting.width_points(col - 1) + (x_offset + chart.width) * 0.75
                width = max(width, chart_points)
            chosen = page(width, fitting.smallest, setup)
            sheet.set_paper(9)  # A4
            if chosen.landscape:
                sheet.set_landscape()
            else:
                sheet.set_portrait()
            if chosen.fit:
                sheet.fit_to_pages(1, 0)
            else:
                sheet.set_print_scale(chosen.scale)
            sheet.set_margins(left=margin, right=margin, top=margin, bottom=max(margin, 0.8))
            if setup["repeat_heading_rows"] and fitting.heading_row is not None:
                sheet.repeat_rows(fitting.heading_row)
            sheet.set_footer(footer(setup["footer"], self.ledger, self.generated), {"margin": 0.3})


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


def long_day(value: date) -> str:
    """``2 December 2026``: grants.formatting.long_day (Babel's en_GB ``d MMMM y``), written
    without importing Babel's dates and locale data (which looks up the local time zone),
    some 20 to 50 ms of the start-up of a workbook's own process. tests/test_startup.py
    holds the two to the same text."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def _fitting(sheet: Worksheet) -> Fitting:
    fitting = getattr(sheet, "fitting", None)
    if fitting is None:
        raise TypeError(f"{sheet.name} was not added by Book.sheet")
    return fitting


def footer(template: str, ledger: str, generated: date) -> str:
    """A template's footer filled in: ``&[Ledger]`` the ledger's name, ``&[Date]`` the day
    as text in en_GB (``2 December 2026``; Excel's ``&D`` would print it in the reader's
    locale). The name loses any control or invisible character (a bidi override would
    reorder the footer) and is cut only as far as Excel's limit on a footer's length needs."""
    name = "".join(c for c in ledger if unicodedata.category(c) not in _INVISIBLE)

    def fill(name: str) -> str:
        values = {"Ledger": name.replace("&", "&&"), "Date": long_day(generated)}
        return _FOOTER_FIELD.sub(lambda m: values[m[1]] if m[1] else "&&", template)

    filled = fill(name)
    excess = _utf16_length(filled) - FOOTER_LIMIT
    if excess > 0 and name:
        filled = fill(name[: max(0, len(name) - excess - 1)] + "…")
    return filled


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


AS_OF = (
    "The ledger as it stood at the end of {day}: journal entries dated on or before that day, "
    "spending plans, returns and statements received or dated by then, and programme versions "
    "adopted by then; entries dated later are not counted."
)


@contextmanager
def writing(
    path: Path,
    layout: dict[str, Any],
    ledger: str,
    constant_memory: bool = False,
    as_of: date | None = None,
) -> Iterator[Book]:
    """A Book written to a temporary file beside ``path`` that replaces ``path`` only when
    the whole workbook is written: a failure leaves nothing half-written. XlsxWriter's own
    temporary files (one per sheet in constant-memory mode) go in a private directory that
    is removed whatever happens."""
    if path.suffix.lower() != ".xlsx":
        raise GrantsError(f"{path}: the workbook must be an .xlsx file")
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with tempfile.TemporaryDirectory(prefix="grants-xlsx-") as scratch:
            options = {
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "constant_memory": constant_memory,
                "tmpdir": scratch,
                # Arial 10 (Liberation Sans where Arial is missing): grants.excel.metrics.
                "default_format_properties": {
                    "font_name": metrics.FONT,
                    "font_size": metrics.FONT_SIZE,
                },
                "default_row_height": 17,  # pixels: 12.75 points, the height of Arial 10
            }
            workbook = xlsxwriter.Workbook(str(temporary), options)
            try:
                book = Book(workbook, layout, ledger, as_of=as_of)
                yield book
                book.finish()
            except BaseException:
                workbook.fileclosed = True  # abandoned: do not assemble the file
                raise
            workbook.close()
        temporary.replace(path)
    except (OSError, FileCreateError) as exc:
        cause = exc.args[0] if isinstance(exc, FileCreateError) and exc.args else exc
        reason = getattr(cause, "strerror", None) or cause
        raise GrantsError(f"cannot write {path}: {reason}") from exc
    finally:
        temporary.unlink(missing_ok=True)


__all__ = [
    "FOOTER_LIMIT", "Book", "cell", "cells", "file_name", "footer", "inert", "long_day",
    "quoted", "sheet_name", "writing",
]  # fmt: skip
