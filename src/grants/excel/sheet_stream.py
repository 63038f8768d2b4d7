"""An ordinary received sheet read in one pass of expat, straight into its cells.

grants.excel.sheet_xml reads any sheet as openpyxl does, by way of a small tree for each row
and a dict for each cell. Most sheets a recipient sends back are ordinary: each row and cell
numbered (``r="12"``, ``r="D12"``), a cell holding at most one value (``<v>``), one plain
formula (``<f>`` without ``t``) or one plain inline string (``<is><t>``). Such a sheet is read
here with the same parser (grants.excel.sheet_xml.new_parser: DTDs and entities refused), the
same checks in the same order (a value Excel would not write, then each cell's type by
openpyxl's rules, then rows and cells in order, each once) and the same limits. Anything
else (a shared or array formula, rich text, a cell or row without its number, an element
where Excel writes none) stops this reader, and the sheet is read again by sheet_xml, which
decides. tests/test_sheet_stream.py holds the two to the same cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from grants.excel.archive import UnsafeFile
from grants.excel.sheet_xml import EMPTY, MAIN, MAX_NODES, Cell, RowReader, TooLarge, new_parser
from grants.excel.xlsx_rules import column_index

_ROW, _COL, _C, _V, _F, _IS, _T = (MAIN + t for t in ("row", "col", "c", "v", "f", "is", "t"))
# A number as Excel writes one: not Python's float() syntax (1_000, INF, NaN, " 12 ").
NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
INDEX = re.compile(r"[0-9]+")  # a shared string's index
_ORDINARY_REF = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")
_COLUMNS: dict[str, int] = {}  # column letters -> 1-based index, as openpyxl gives it
OUT_OF_ORDER = (
    "a sheet of the workbook has rows or cells out of order or named twice: save it again "
    "as an Excel Workbook (.xlsx) and resend"
)


# Where the reader is, and the slots of a cell's v, f and is (is and t share a slot).
OUT, ROW, CELL, V, F, IS, T = -3, -2, -1, 5, 6, 7, 8
_PARTS = {_V: V, _F: F, _IS: IS}


class Unusual(Exception):
    """The sheet holds something this reader leaves to grants.excel.sheet_xml."""


def refuse_value(sheet_name: str, where: str | None, text: str) -> UnsafeFile:
    """A cell whose stored value Excel would not write (openpyxl's rules read it with
    Python's int() and float(), which take ``1_000``, ``INF`` and ``NaN``)."""
    shown = text if len(text) <= 40 else text[:40] + "…"
    return UnsafeFile(
        "E_BAD_VALUE",
        f"{where or sheet_name + ' sheet'} holds a value Excel does not write "
        f"({shown!r}): type the figure in that cell again in Excel or LibreOffice, "
        "save and resend",
        where,
    )


@dataclass
class Streamed:
    """A sheet's cells within the limits, 0-based: ``rows[r][c]``, every row ``columns`` wide,
    as many rows as reach the last filled cell (as grants.excel.safe_read.Sheet has them)."""

    rows: list[list[Cell]] = field(default_factory=list)
    filled: list[tuple[int, int]] = field(default_factory=list)  # as Sheet.filled
    hidden_rows: set[int] = field(default_factory=set)  # 0-based
    hidden_columns: set[int] = field(default_factory=set)  # 0-based, every one
    beyond: tuple[int, int] | None = None


def _column(letters: str) -> int:
    """``A`` to ``ZZZ`` (as _ORDINARY_REF matches them), each a column openpyxl reads."""
    _COLUMNS[letters] = column_index(letters)
    return _COLUMNS[letters]


# A cell's reference -> its row and column, and a style's text -> its index, as parsed last;
# forms issued together name the same cells and styles. At most _KEPT of each are kept.
_PLACES: dict[str, tuple[int, int]] = {}
_STYLES: dict[str, int] = {}
_KEPT = 1 << 14
# A workbook has at most 64,000 cell styles: a longer text (zeros before the digits, up to the
# 4,300 digits int() reads) is read but not kept, so uploads cannot fill the table with text.
_STYLE_DIGITS = 5


def _place(ref: str) -> tuple[int, int]:
    matched = _ORDINARY_REF.fullmatch(ref)
    if matched is None:
        raise Unusual(ref)
    letters = matched[1]
    place = (int(matched[2]), _COLUMNS.get(letters) or _column(letters))
    if len(_PLACES) < _KEPT:
        _PLACES[ref] = place
    return place


def _style(style: str) -> int:
    if not (style.isascii() and style.isdigit()):
        raise Unusual(style)
    index = int(style)
    if len(style) <= _STYLE_DIGITS and len(_STYLES) < _KEPT:
        _STYLES[style] = index
    return index


def read(data: bytes, reader: RowReader, sheet_name: str, max_rows: int, columns: int) -> Streamed:
    """The sheet's cells in its first ``max_rows`` rows and ``columns`` columns; raises
    Unusual for a sheet this reader does not read, UnsafeFile and the parser's errors as
    grants.excel.sheet_xml does."""
    found = Streamed()
    # What is open: nothing read (OUT), a row, a cell, or the cell's v, f, is or is's t. The
    # open row's number, its cells as [ref, row, column, type, style, v, f, is], the open
    # cell, the text of the open v, f or t, and the elements in the row so far.
    at = OUT
    number = size = 0
    cells: list[list[Any]] = []
    cell: list[Any] = []
    text: list[str] = []
    last = [0]  # the number of the row read last
    places, styles, parts = _PLACES, _STYLES, _PARTS
    rows, filled, blank = found.rows, found.filled, [EMPTY] * columns
    make = tuple.__new__  # Cell(value, kind), without the keyword handling of Cell's own __new__

    def start(tag: str, attrib: dict[str, str]) -> None:
        nonlocal at, number, size, cell
        if at == OUT:
            if tag == _ROW:
                r = attrib.get("r", "")
                if not (r.isascii() and r.isdigit()):
                    raise Unusual(tag)
                number = int(r)
                if attrib.get("hidden") in ("1", "true"):
                    found.hidden_rows.add(number - 1)
                size = 0
                cells.clear()
                at = ROW
            elif tag == _COL and attrib.get("hidden") in ("1", "true"):
                first, end = attrib.get("min", ""), attrib.get("max", "")
                if first.isascii() and first.isdigit() and end.isascii() and end.isdigit():
                    # Only the columns read (see grants.excel.sheet_xml)
                    reach = min(int(end), columns)
                    found.hidden_columns.update(range(max(int(first), 1) - 1, reach))
            return
        size += 1
        if size > MAX_NODES:
            raise TooLarge("a row holds more than Excel writes")
        if at == ROW:
            if tag != _C:
                raise Unusual(tag)
            ref = attrib.get("r", "")
            place = places.get(ref) or _place(ref)
            style = attrib.get("s", "0")
            index = styles.get(style)
            if index is None:
                index = _style(style)
            cell = [ref, place[0], place[1], attrib.get("t", "n"), index, None, None, None]
            at = CELL
        elif at == CELL:
            slot = parts.get(tag)
            if slot is None or cell[slot] is not None or (slot == F and "t" in attrib):
                raise Unusual(tag)
            at = slot  # the text read is empty: each v, f and t empties it as it ends
        elif at == IS and tag == _T and cell[IS] is None:
            at = T
        else:
            raise Unusual(tag)

    def end(_tag: str) -> None:
        nonlocal at
        if at == CELL:
            cells.append(cell)
            at = ROW
        elif at >= V:
            if at == IS:
                if cell[IS] is None:
                    cell[IS] = ""  # an empty <is/>: openpyxl's text is ""
                at = CELL
            elif at == T:
                cell[IS] = "".join(text)
                text.clear()
                at = IS
            else:  # a v or an f
                cell[at] = "".join(text)
                text.clear()
                at = CELL
        elif at == ROW:
            at = OUT
            _row(number, cells)

    def chars(data: str) -> None:
        if at >= V and at != IS:  # in a v, f or t
            text.append(data)

    def _row(number: int, row: list[list[Any]]) -> None:
        for ref, _r, _c, kind, _s, v, _f, _is in row:
            if v and kind in ("n", "s") and not (NUMBER if kind == "n" else INDEX).fullmatch(v):
                raise refuse_value(sheet_name, f"{sheet_name}!{ref}", v)
        typed = []
        for _ref, r, c, kind, style, v, f, inline in row:
            if f is not None:
                value: Any = "=" + f
                kind = "f"
            elif kind != "inlineStr" and v:
                kind, value = reader.typed(kind, v, style)
            elif kind == "inlineStr" and inline is not None:
                kind, value = "s", inline
            else:
                value = None
            typed.append((r, c, kind, value))
        if number <= last[0]:
            raise UnsafeFile("E_CORRUPT_FILE", OUT_OF_ORDER)
        last[0], last_col = number, 0
        for r, c, kind, value in typed:
            if r != number or c <= last_col:
                raise UnsafeFile("E_CORRUPT_FILE", OUT_OF_ORDER)
            last_col = c
            if value is None or (isinstance(value, str) and not value):
                continue
            if r > max_rows or c > columns:
                found.beyond = found.beyond or (r - 1, c - 1)
                continue
            while len(rows) < r:
                rows.append(blank.copy())
            rows[r - 1][c - 1] = make(Cell, (value, kind))
            filled.append((r - 1, c - 1))

    parser = new_parser()
    parser.buffer_text = True  # a text in one piece, not split at each character reference
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.Parse(data, True)
    return found


__all__ = ["NUMBER", "OUT_OF_ORDER", "Streamed", "Unusual", "read", "refuse_value"]
