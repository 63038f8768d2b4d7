"""Fitting a sheet's text to its cells as it is written: a column is widened (up to the
template's `max_column_width`) for a label or figure that would cross into its neighbour,
longer text is wrapped and its row made tall enough, and what the sheet needs for printing is
noted (its width, its smallest text). Rows are fitted as they are written, because a sheet
streamed row by row (XlsxWriter's constant-memory mode) cannot go back to one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xlsxwriter.format import Format

from grants.excel import metrics
from grants.excel.layout import shown_number

DEFAULT_WIDTH = 8.43  # Excel's column width when none is set
DEFAULT_ROW = metrics.line_points()  # the row height of the default font
INDENT_POINTS = 9.0  # one level of a cell's indent


class Fitting:
    """The fitting state of one sheet. ``properties`` gives a format's properties and
    ``wrapped`` the same format with text wrapping (both from grants.excel.book.Book)."""

    def __init__(
        self,
        properties: Callable[[Format | None], dict[str, Any]],
        wrapped: Callable[[Format | None], Format],
        set_width: Callable[[int, float], None],
        set_height: Callable[[int, float], None],
        max_width: float,
    ) -> None:
        self.properties, self.wrapped = properties, wrapped
        self.set_width, self.set_height = set_width, set_height
        self.max_width = max_width
        self.widths: dict[int, float] = {}
        self.groups: dict[int, tuple[int, int]] = {}  # columns set together widen together
        self.heights: dict[int, float] = {}
        self.smallest = float(metrics.FONT_SIZE)
        self.merging = False
        self.heading_row: int | None = None
        self.streamed = False  # written row by row (constant memory): set by Book.sheet
        # The largest figure known to fit, by column and format: a column only ever widens,
        # so a smaller figure needs no measuring (the capital programme writes millions).
        self._fits_upto: dict[tuple[int, int, bool], float] = {}
        self._fonts: dict[int, tuple[float, bool, bool, float, str | None]] = {}
        self._short: dict[tuple[int, int], float] = {}  # characters that fit whatever they are
        # The points a column leaves for one line of text in a format, while its width stands.
        self._room: dict[tuple[int, int], float] = {}

    def width(self, col: int) -> float:
        return self.widths.get(col, DEFAULT_WIDTH)

    def last_column(self) -> int:
        return max(self.widths, default=0)

    def columns(self, first: int, last: int, width: float) -> None:
        self._room.clear()
        for col in range(first, last + 1):
            self.widths[col] = width
            self.groups[col] = (first, last)

    def row(self, row: int, height: float) -> float:
        """A height a writer sets: never lower than what the row's text needs."""
        height = max(height, self.heights.get(row, 0.0))
        self.heights[row] = height
        return height

    def widen(self, col: int, width: float) -> None:
        if width <= self.width(col):
            return
        first, last = self.groups.get(col, (col, col))
        self._room.clear()
        for c in range(first, last + 1):
            self.widths[c] = max(width, self.width(c))
            self.set_width(c, self.widths[c])

    def need_height(self, row: int, height: float) -> None:
        if height > max(self.heights.get(row, 0.0), DEFAULT_ROW):
            if self.streamed and row not in self.heights:
                self.heights.clear()  # a streamed sheet never goes back to an earlier row
            self.heights[row] = height
            self.set_height(row, height)

    def _font(self, cell_format: Format | None) -> tuple[float, bool, bool, float, str | None]:
        """A format's size, bold, wrapping, indent (in characters) and number format."""
        font = self._fonts.get(id(cell_format))
        if font is None:
            props = self.properties(cell_format)
            size = float(props.get("font_size", metrics.FONT_SIZE))
            indent = int(props.get("indent", 0)) * INDENT_POINTS / metrics.DIGIT_PIXELS / 0.75
            font = (size, bool(props.get("bold")), bool(props.get("text_wrap")), indent,
                    props.get("num_format"))  # fmt: skip
            self._fonts[id(cell_format)] = font
            self.smallest = min(self.smallest, size)
        return font

    def string(self, row: int, col: int, text: str, cell_format: Format | None) -> Format | None:
        """The format to write ``text`` with (wrapping when it does not fit), having widened
        the column or raised the row as it needs."""
        if self.merging:
            return cell_format
        font = self._fonts.get(id(cell_format))
        if font is None:
            if not text.strip():
                return cell_format  # (nor is its format's size counted)
            font = self._font(cell_format)
        size, bold, wrap, indent, _ = font
        one_line = "\n" not in text
        measured: float | None = None  # the width of a line of text, once measured
        if not wrap and size <= metrics.FONT_SIZE and one_line:
            key = (col, id(cell_format))
            short = self._short.get(key)
            if short is None:  # (a column only widens: a stale figure is on the safe side)
                room = metrics.room(self.width(col) - indent) / metrics.SLACK
                short = self._short[key] = room / (metrics.WIDEST_EM * size)
            if len(text) <= short:
                return cell_format  # short enough whatever its letters
            # One line of text that fits: measured as below, with the column's room kept.
            room = self._room.get(key)
            if room is None:
                room = self._room[key] = metrics.room(self.width(col) - indent)
            if text and not text.isspace():
                measured = metrics.text_points(text, size, bold)
                if measured * metrics.SLACK <= room:
                    return cell_format
        if not text.strip():
            return cell_format
        if one_line:  # measured once, whether it fits or not
            widest = metrics.text_points(text, size, bold) if measured is None else measured
            fits = widest * metrics.SLACK <= metrics.room(self.width(col) - indent)
        else:
            widest = max(metrics.text_points(x, size, bold) for x in text.split("\n"))
            fits = metrics.fits(text, self.width(col) - indent, size, bold)
        if not wrap and fits:
            if one_line and size <= metrics.FONT_SIZE:
                return cell_format  # one line of the default height or less
            count = text.count("\n") + 1
        else:
            need = metrics.width_for(widest) + indent
            if not wrap and need <= self.max_width:
                self.widen(col, need)
                count = text.count("\n") + 1
            else:
                if self.width(col) < self.max_width:  # (one at its widest stays so)
                    word = metrics.width_for(metrics.longest_word(text, size, bold)) + indent
                    self.widen(col, min(word, self.max_width))
                if not wrap:
                    cell_format = self.wrapped(cell_format)
                count = metrics.lines(text, self.width(col) - indent, size, bold)
        self.need_height(row, metrics.row_points(count, size))
        return cell_format

    def number(self, col: int, value: Any, cell_format: Format | None) -> None:
        """Widen the column for a figure that would otherwise show as ####."""
        if not isinstance(value, (int, float)) or value.__class__ is bool:
            return
        key = (col, id(cell_format), value < 0)  # a minus sign takes room too
        magnitude = abs(value)
        if magnitude <= self._fits_upto.get(key, -1.0):
            return
        size, bold, _, _, num_format = self._font(cell_format)
        text = shown_number(float(value), num_format)
        if not metrics.fits(text, self.width(col), size, bold):
            self.widen(col, metrics.width_for(metrics.text_points(text, size, bold)))
        self._fits_upto[key] = magnitude

    def merged(self, row: int, first: int, last: int, text: str, size: float, bold: bool) -> None:
        """Raise a row for wrapped text merged across columns ``first`` to ``last``."""
        points = sum(metrics.column_points(self.width(c)) for c in range(first, last + 1))
        width = (points / 0.75 - metrics.PADDING_PIXELS) / metrics.DIGIT_PIXELS
        self.smallest = min(self.smallest, size)
        self.need_height(row, metrics.row_points(metrics.lines(text, width, size, bold), size))

    def width_points(self, last_col: int) -> float:
        return sum(metrics.column_points(self.width(c)) for c in range(last_col + 1))


__all__ = ["DEFAULT_WIDTH", "Fitting"]
