"""How much room text takes in a cell: Liberation Sans advance widths (metric-compatible with
Arial, the font every workbook is written in), Excel's column-width unit and row heights. The
layout (grants.excel.layout) uses these to size columns, wrap text and set row heights so that
a printed sheet shows every word whole."""

from __future__ import annotations

import math
from collections.abc import Callable

FONT = "Arial"  # printed as Liberation Sans where Arial is missing: the same widths
FONT_SIZE = 10

# Advance widths in thousandths of an em of the characters 32 to 126, then of EXTRA.
_REGULAR = (
    "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
    "556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 "
    "556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556 333 556 "
    "556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 278 556 500 722 "
    "500 500 500 334 260 334 584 556 1000 556 1000 222 222 333 333 556 889"
)
_BOLD = (
    "278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
    "556 556 556 556 333 333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 556 722 "
    "611 833 722 778 667 778 722 667 611 722 667 944 667 667 611 333 278 333 584 556 333 556 "
    "611 556 611 556 333 611 611 278 278 556 278 889 611 611 611 611 389 556 333 611 556 778 "
    "556 556 500 389 280 389 584 556 1000 556 1000 278 278 500 500 556 889"
)
_EXTRA = "£…–—‘’“”€%"
_WIDEST = 1015  # for a character not listed: never narrower than it prints
WIDEST_EM = _WIDEST / 1000  # no character is wider, in ems


class _Widths(dict[str, int]):
    def __missing__(self, key: str) -> int:
        return _WIDEST


def _table(numbers: str) -> _Widths:
    chars = [chr(c) for c in range(32, 127)] + list(_EXTRA)
    return _Widths(zip(chars, (int(n) for n in numbers.split()), strict=True))


_WIDTHS = {False: _table(_REGULAR), True: _table(_BOLD)}

# Excel's column width is in characters of the default font's digits (7 pixels for Arial 10)
# plus 5 pixels of padding; a pixel is 0.75 point.
DIGIT_PIXELS = 7
PADDING_PIXELS = 5
# Room kept free in a cell: the cell's inner margins, and a margin for renderers that lay
# text out a little wider than the font's advance widths.
CELL_MARGIN_POINTS = 6.0
SLACK = 1.1


def text_points(text: str, size: float = FONT_SIZE, bold: bool = False) -> float:
    """The width of one line of text in points."""
    return sum(map(_WIDTHS[bold].__getitem__, text)) * size / 1000


def column_points(width: float) -> float:
    """The width in points of a column ``width`` characters wide."""
    return (width * DIGIT_PIXELS + PADDING_PIXELS) * 0.75


def room(width: float) -> float:
    """The points a column of ``width`` characters leaves for text."""
    return column_points(width) - CELL_MARGIN_POINTS


def width_for(points: float) -> float:
    """The narrowest column width (characters, to a quarter) that holds ``points`` of text."""
    pixels = (points * SLACK + CELL_MARGIN_POINTS) / 0.75 - PADDING_PIXELS
    return math.ceil(max(pixels, 0) / DIGIT_PIXELS * 4) / 4


def fits(text: str, width: float, size: float = FONT_SIZE, bold: bool = False) -> bool:
    return all(text_points(x, size, bold) * SLACK <= room(width) for x in text.split("\n"))


# Each word's width in thousandths of an em, by weight: wrapped texts are counted word by
# word and the same words come back row after row (a capital programme's Sources sheet has
# thousands of "Scheme N of portfolio M: cost and specific funding..."). Kept to
# WORDS_KEPT words a weight, then started afresh; a word longer than WORD_KEPT_CHARACTERS (a
# pasted link, a cell of unbroken text) is measured each time, so that what is kept stays
# under a few MB in a long-running web service whatever the texts.
WORDS_KEPT = 20_000
WORD_KEPT_CHARACTERS = 64
_WORD_UNITS: dict[bool, dict[str, int]] = {False: {}, True: {}}


def _word_units(bold: bool) -> Callable[[str], int]:
    """A word's width in thousandths of an em (what text_points sums), remembered."""
    known = _WORD_UNITS[bold]
    widths = _WIDTHS[bold].__getitem__

    def units(word: str) -> int:
        found = known.get(word)
        if found is None:
            found = sum(map(widths, word))
            if len(word) <= WORD_KEPT_CHARACTERS:
                if len(known) >= WORDS_KEPT:
                    known.clear()
                known[word] = found
        return found

    return units


def longest_word(text: str, size: float = FONT_SIZE, bold: bool = False) -> float:
    units = _word_units(bold)
    return max((units(w) * size / 1000 for w in text.split()), default=0.0)


def lines(text: str, width: float, size: float = FONT_SIZE, bold: bool = False) -> int:
    """How many lines ``text`` takes wrapped at word boundaries in a column (or merged
    columns) of ``width`` characters; a word longer than the line takes lines of its own."""
    limit = room(width) / SLACK
    space = text_points(" ", size, bold)
    units = _word_units(bold)
    count = 0
    for paragraph in text.split("\n"):
        count += 1
        used = 0.0
        for word in paragraph.split():
            need = units(word) * size / 1000  # text_points(word, size, bold), remembered
            if used and used + space + need <= limit:
                used += space + need
                continue
            if used:
                count += 1
            extra = max(math.ceil(need / limit) - 1, 0) if limit > 0 else 0
            count += extra
            used = need - extra * limit
    return count


def line_points(size: float = FONT_SIZE) -> float:
    """The height of a line of text (Excel's: 12.75 points for 10-point Arial)."""
    return math.ceil(size * 1.275 * 4) / 4


def row_points(line_count: int, size: float = FONT_SIZE) -> float:
    """A row's height for ``line_count`` lines of text, with room above and below."""
    return line_count * line_points(size) + (1.5 if line_count > 1 else 0.0)


__all__ = [
    "FONT", "FONT_SIZE", "column_points", "fits", "line_points", "lines", "longest_word",
    "room", "row_points", "text_points", "width_for",
]  # fmt: skip
