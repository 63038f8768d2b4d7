"""A received sheet's rows and shared strings, parsed straight from expat, as openpyxl reads them.

grants.excel.safe_read checks a workbook before any of its parts is parsed here. Expat is
set up as defusedxml sets it up: a DTD, an entity declaration or an external entity stops the
parse (defusedxml's own exceptions), so no entity is ever expanded. Only the rows (and the
shared strings' items) are kept, as small trees; everything else is parsed for its
well-formedness and dropped as it passes, except the hidden columns. Each cell is read by the
rules of openpyxl's sheet parser (openpyxl.worksheet._reader.WorkSheetParser, data_only
False): the same value and data type, a formula as its text from ``=``, a number in a date
format as a date; tests/test_safe_read.py compares the two on every kind of cell.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from xml.parsers import expat

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from grants.excel.xlsx_rules import WINDOWS_EPOCH, from_excel

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _COL, _C, _V, _F, _IS = (MAIN + t for t in ("row", "col", "c", "v", "f", "is"))
_SI, _T, _R = MAIN + "si", MAIN + "t", MAIN + "r"


class Cell(NamedTuple):
    """A cell as the sender saved it: ``data_type`` is openpyxl's (n, s, b, d, e, or f for a
    formula, whose ``value`` is then the formula's text). Immutable; a tuple, made for every
    filled cell read (a frozen dataclass takes some three times as long to make)."""

    value: Any = None
    data_type: str = "n"


EMPTY = Cell()


class Node:
    """An element kept: its tag (``namespace}name``), attributes, text before its first
    child (as ElementTree's ``text``) and children. Slotted and plain: one is made for every
    element of every row read."""

    __slots__ = ("attrib", "children", "tag", "text")

    def __init__(self, tag: str, attrib: dict[str, str]) -> None:
        self.tag = tag
        self.attrib = attrib
        self.text: str | None = None
        self.children: list[Node] = []

    def __repr__(self) -> str:
        return f"Node({self.tag!r}, {self.attrib!r}, text={self.text!r}, {self.children!r})"

    def find(self, tag: str) -> Node | None:
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def iter(self, tag: str) -> Iterator[Node]:
        for child in self.children:
            if child.tag == tag:
                yield child
            if child.children:
                yield from child.iter(tag)


@functools.cache  # a few names; the general reader asks for one at each cell
def openpyxl_module(name: str) -> Any:
    """A module of openpyxl, imported only when a sheet or cell needs its own code (importing
    any part of it imports the whole package): refused if openpyxl would parse XML without
    defusedxml, as a broken installation would have it."""
    import importlib

    import openpyxl

    if not getattr(openpyxl, "DEFUSEDXML", False):  # pragma: no cover - a broken installation
        raise ImportError("defusedxml must be installed: openpyxl would parse returns unguarded")
    return importlib.import_module(name)


def new_parser() -> Any:
    """An expat parser that refuses what defusedxml refuses."""
    parser = expat.ParserCreate(namespace_separator="}")

    def doctype(name: str, sysid: str | None, pubid: str | None, _internal: bool) -> None:
        raise DTDForbidden(name, sysid, pubid)

    def entity(name: str, _param: bool, value: str | None, base: str | None,
               sysid: str | None, pubid: str | None, _notation: str | None) -> None:  # fmt: skip
        raise EntitiesForbidden(name, value, base, sysid, pubid, None)

    def unparsed(name: str, base: str | None, sysid: str | None, pubid: str | None,
                 notation: str | None) -> None:  # fmt: skip
        raise EntitiesForbidden(name, None, base, sysid, pubid, notation)

    def external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> None:
        raise ExternalReferenceForbidden(context, base, sysid, pubid)

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = unparsed
    parser.ExternalEntityRefHandler = external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    return parser


# The most elements one kept element (a row, a shared string) may hold: a row of Excel's
# 16,384 columns, each cell with its value, formula and inline text, is well within it. A part
# is read one kept element at a time, so a sheet of millions of empty cells, a few megabytes
# compressed a hundredfold, never stands in memory whole.
MAX_NODES = 100_000


class TooLarge(ValueError):
    """One row (or shared string) holds more than Excel writes."""


def parse(
    data: bytes,
    keep: str,
    on_other: Callable[[str, dict[str, str]], None],
    on_kept: Callable[[Node], None] | None = None,
) -> list[Node]:
    """The ``keep`` elements of a part, each with its subtree, in order; every other
    element outside them is passed to ``on_other`` (tag, attributes) as it starts. With
    ``on_kept``, each kept element is handed to it as it ends, and forgotten (the list
    returned is then empty)."""
    parser = new_parser()
    kept: list[Node] = []
    stack: list[Node] = []  # the open elements of the current kept subtree
    size = [0]  # elements in the current kept subtree

    def start(tag: str, attrib: dict[str, str]) -> None:
        if stack:
            size[0] += 1
            if size[0] > MAX_NODES:
                raise TooLarge(f"a {keep.rsplit('}', 1)[-1]} holds more than Excel writes")
            node = Node(tag, attrib)
            stack[-1].children.append(node)
            stack.append(node)
        elif tag == keep:
            node = Node(tag, attrib)
            size[0] = 0
            if on_kept is None:
                kept.append(node)
            stack.append(node)
        else:
            on_other(tag, attrib)

    def end(_tag: str) -> None:
        if stack:
            node = stack.pop()
            if not stack and on_kept is not None:
                on_kept(node)

    def chars(text: str) -> None:
        if stack:
            node = stack[-1]
            if not node.children:  # ElementTree's text: what comes before the first child
                node.text = text if node.text is None else node.text + text

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.Parse(data, True)
    return kept


def elements(data: bytes) -> list[tuple[int, str, str, dict[str, str]]]:
    """Every element of a small part (a workbook, its relationships) as (its depth, the
    parent's tag, the tag, the attributes), in order; the root is at depth 0, its parent
    ``""``."""
    found: list[tuple[int, str, str, dict[str, str]]] = []
    open_tags = [""]

    def start(tag: str, attrib: dict[str, str]) -> None:
        found.append((len(open_tags) - 1, open_tags[-1], tag, attrib))
        open_tags.append(tag)

    def end(_tag: str) -> None:
        open_tags.pop()

    parser = new_parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(data, True)
    return found


def text_content(node: Node) -> str:
    """openpyxl's Text.content of a rich text element (``<is>``, ``<si>``): the last plain
    ``<t>`` and each run's last ``<t>``, phonetic runs left out."""
    plain: str | None = None
    runs: list[str] = []
    for child in node.children:
        if child.tag == _T:
            plain = child.text
        elif child.tag == _R:
            run = None
            for part in child.children:
                if part.tag == _T:
                    run = part.text
            if run is not None:
                runs.append(run)
    return "".join(([plain] if plain is not None else []) + runs)


def shared_strings(data: bytes) -> list[str]:
    """The shared strings table, as openpyxl's read_string_table gives it."""
    strings: list[str] = []
    parse(data, _SI, _ignore, lambda si: strings.append(text_content(si).replace("x005F_", "")))
    return strings


def _ignore(_tag: str, _attrib: dict[str, str]) -> None:
    return None


def _cast_number(value: str) -> int | float:
    if "." in value or "E" in value or "e" in value:
        return float(value)
    return int(value)


@dataclass
class SheetRows:
    """What a sheet's XML gives: its rows as (number, cells), each cell a dict as openpyxl's
    parse_cell gives it; the attributes of rows that have more than their number and spans;
    and the hidden columns (0-based)."""

    rows: list[tuple[int, list[dict[str, Any]], Node]]
    row_dimensions: dict[str, dict[str, str]]
    hidden_columns: set[int]


class RowReader:
    """A sheet's cells by openpyxl's rules (WorkSheetParser with data_only False)."""

    def __init__(
        self,
        strings: list[str],
        epoch: datetime = WINDOWS_EPOCH,
        date_formats: frozenset[int] = frozenset(),
        timedelta_formats: frozenset[int] = frozenset(),
    ) -> None:
        self.strings = strings
        self.epoch = epoch
        self.date_formats = date_formats
        self.timedelta_formats = timedelta_formats
        self.row_counter = self.col_counter = 0
        self.shared_formulae: dict[str | None, Any] = {}

    def read(
        self,
        data: bytes,
        each: Callable[[int, list[dict[str, Any]], Node], None] | None = None,
        before: Callable[[Node], None] | None = None,
        columns: int = 16384,
    ) -> SheetRows:
        """The sheet's rows, each as (number, cells, its element); with ``each``, every row
        is handed to it as it is read and forgotten (``rows`` is then empty). ``before`` sees
        each row's element before its values are read by openpyxl's rules (which take what
        Python's int() and float() take)."""
        hidden: set[int] = set()

        def column(tag: str, attrib: dict[str, str]) -> None:
            if tag == _COL and attrib.get("hidden") in ("1", "true"):
                first, last = attrib.get("min", ""), attrib.get("max", "")
                if first.isascii() and first.isdigit() and last.isascii() and last.isdigit():
                    # Only the columns read: a sheet may name every column hidden many times
                    # over, each time 16,384 of them to add again.
                    hidden.update(range(max(int(first), 1) - 1, min(int(last), columns)))

        dimensions: dict[str, dict[str, str]] = {}
        rows: list[tuple[int, list[dict[str, Any]], Node]] = []

        def kept(row: Node) -> None:
            if before is not None:
                before(row)
            number, cells = self.row(row, dimensions)
            if each is None:
                rows.append((number, cells, row))
            else:
                each(number, cells, row)

        parse(data, _ROW, column, kept)
        return SheetRows(rows, dimensions, hidden)

    def row(self, row: Node, dimensions: dict[str, dict[str, str]]) -> tuple[int, list[Any]]:
        attrs = row.attrib
        if "r" in attrs:
            try:
                self.row_counter = int(attrs["r"])
            except ValueError:
                val = float(attrs["r"])
                if not val.is_integer():
                    raise ValueError(f"{attrs['r']} is not a valid row number") from None
                self.row_counter = int(val)
        else:
            self.row_counter += 1
        self.col_counter = 0
        if {k for k in attrs if "}" not in k} - {"r", "spans"}:
            dimensions[str(self.row_counter)] = dict(attrs)
        return self.row_counter, [self.cell(c) for c in row.children]

    def cell(self, element: Node) -> dict[str, Any]:
        data_type = element.attrib.get("t", "n")
        coordinate = element.attrib.get("r")
        style: Any = element.attrib.get("s", 0)
        if style:
            style = int(style)
        value: Any = None
        if data_type != "inlineStr":
            v = element.find(_V)
            value = (v.text if v is not None else None) or None
        if coordinate:
            row, column = openpyxl_module("openpyxl.utils.cell").coordinate_to_tuple(coordinate)
            self.col_counter = column
        else:
            self.col_counter += 1
            row, column = self.row_counter, self.col_counter
        formula = element.find(_F)
        if formula is not None:
            data_type, value = "f", self.formula(formula, coordinate)
        elif value is not None:
            data_type, value = self.typed(data_type, value, style)
        elif data_type == "inlineStr":
            child = element.find(_IS)
            if child is not None:
                data_type, value = "s", text_content(child)
        return {"row": row, "column": column, "value": value, "data_type": data_type,
                "style_id": style}  # fmt: skip

    def typed(self, data_type: str, value: str, style: int) -> tuple[str, Any]:
        if data_type == "n":
            number = _cast_number(value)
            if style in self.date_formats:
                try:
                    timed = style in self.timedelta_formats
                    return "d", from_excel(number, self.epoch, timedelta=timed)
                except (OverflowError, ValueError):
                    return "e", "#VALUE!"
            return "n", number
        if data_type == "s":
            return "s", self.strings[int(value)]
        if data_type == "b":
            return "b", bool(int(value))
        if data_type == "str":
            return "s", value
        if data_type == "d":  # Excel writes none: its dates are numbers in a date format
            return "d", openpyxl_module("openpyxl.utils.datetime").from_ISO8601(value)
        return data_type, value

    def formula(self, formula: Node, coordinate: str | None) -> Any:
        """A formula's text from ``=`` (an array or data table formula as openpyxl's
        object); a shared formula's later cells translated from its first."""
        value = "=" + (formula.text or "")
        kind = formula.attrib.get("t")
        if kind == "array":
            formulas = openpyxl_module("openpyxl.worksheet.formula")
            return formulas.ArrayFormula(ref=formula.attrib.get("ref"), text=value)
        if kind == "shared":
            index = formula.attrib.get("si")
            if index in self.shared_formulae:
                return self.shared_formulae[index].translate_formula(coordinate)
            if value != "=":
                translate = openpyxl_module("openpyxl.formula.translate")
                self.shared_formulae[index] = translate.Translator(value, coordinate)
        elif kind == "dataTable":
            return openpyxl_module("openpyxl.worksheet.formula").DataTableFormula(**formula.attrib)
        return value


__all__ = [
    "EMPTY", "MAIN", "Cell", "Node", "RowReader", "SheetRows", "elements", "new_parser",
    "openpyxl_module", "parse", "shared_strings", "text_content",
]  # fmt: skip
