"""Opening a workbook that came from outside, as if it were hostile.

Before any part is parsed: the size, what the file is by its content (not its name), and
the zip's own account of itself (entries, sizes, compression ratios, macro parts, strict
OOXML, any DTD or entity declaration, duplicate cell references, merged cells other than the
title's across row 1), by grants.excel.archive, which unpacks each part once, straight from
the file's bytes and never past the size the zip declares. Then one sheet is read, streaming,
by the rules of openpyxl's own cell parser, with expat refusing DTDs and entities as
defusedxml does: in one pass by grants.excel.sheet_stream if it is an ordinary sheet, else by
grants.excel.sheet_xml. Formulas stay formulas (a cached value is the sender's claim, never
trusted), numbers in date formats become dates, and a number stored as Excel never writes one
(``1_000``, ``INF``, which Python's ``float()`` takes) is refused naming its cell. The sheets'
states, the tab the workbook opens at and the hidden rows and columns are kept for
grants.excel.form_shape. Only the parts a sheet's cells need are parsed (the workbook's sheet
list, the shared strings and the number formats of the cell styles), not the whole
stylesheet. Every failure is an UnsafeFile with a reason code and a message a recipient can
act on.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from defusedxml import DefusedXmlException, ElementTree

from grants.excel import sheet_stream
from grants.excel.archive import Archive, UnsafeFile, check_size, checked_archive
from grants.excel.sheet_stream import NUMBER, OUT_OF_ORDER, refuse_value
from grants.excel.sheet_xml import (
    EMPTY,
    MAIN,
    Cell,
    Node,
    RowReader,
    elements,
    shared_strings,
)
from grants.excel.xlsx_rules import (
    BUILTIN_FORMATS,
    CALENDAR_MAC_1904,
    WINDOWS_EPOCH,
    is_date_format,
    is_timedelta_format,
)
from grants.kept import Kept
from grants.services.form_rows import Received

_T = TypeVar("_T")
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"  # as expat
_C, _V = f"{MAIN}c", f"{MAIN}v"  # as expat names them (grants.excel.sheet_xml)
_INDEX = re.compile(r"[0-9]+")  # a shared string's index
_REF = re.compile(r"[A-Z]{1,3}[0-9]{1,7}")
_WORKBOOK = "xl/workbook.xml"
_WORKSHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


@dataclass
class Sheet:
    """One sheet's cells, 0-based: ``rows[r][c]``, every row ``columns`` wide."""

    sheetnames: list[str]
    name: str
    rows: list[list[Cell]] = field(default_factory=list)
    filled: list[tuple[int, int]] = field(default_factory=list)  # (row, column) of each cell
    # in ``rows`` that holds a value, in order: row by row, each row's from the left
    hidden_rows: set[int] = field(default_factory=set)  # 0-based
    hidden_columns: set[int] = field(default_factory=set)  # 0-based, of those read
    states: dict[str, str] = field(default_factory=dict)  # sheet -> visible/hidden/veryHidden
    active: str | None = None  # the sheet the workbook opens at
    beyond: tuple[int, int] | None = None  # the first filled cell past the limits (0-based)
    sha256: str = ""  # of the bytes read: the file as it was checked and parsed
    content: bytes = b""  # those bytes, kept as the evidence of what was received

    def at(self, row: int, col: int) -> Cell:
        if 0 <= row < len(self.rows) and 0 <= col < len(self.rows[row]):
            return self.rows[row][col]
        return EMPTY


def read_sheet(source: Path | Received, name: str, max_rows: int, columns: int) -> Sheet:
    """The cells of sheet ``name`` in its first ``max_rows`` rows and ``columns`` columns,
    after every check; raises UnsafeFile. ``source``: a file on disk, or a file's name and
    bytes as received (a web upload). If the workbook has no such sheet, ``rows`` is
    empty and ``sheetnames`` says what it has. A filled cell outside the limits is noted in
    ``beyond`` (the rest of the sheet is still parsed, as far as the part's size allows)."""
    data = source.content if isinstance(source, Received) else _file_bytes(source)
    found = _parsed(checked_archive(data), name, max_rows, columns)
    found.sha256 = hashlib.sha256(data).hexdigest()
    found.content = data
    return found


def _parsed(archive: Archive, name: str, max_rows: int, columns: int) -> Sheet:
    try:
        return _read_sheet(archive, name, max_rows, columns)
    except (UnsafeFile, ImportError):  # ImportError: a broken installation, not the file
        raise
    except DefusedXmlException as exc:  # an entity or DTD the byte scan could not see
        raise UnsafeFile(
            "E_UNSAFE_XML",
            f"a part of the workbook declares XML entities ({type(exc).__name__}), which Excel "
            "never writes: save the form again from Excel or LibreOffice",
        ) from exc
    except Exception as exc:  # any parser's error: the file is damaged or hostile
        raise UnsafeFile(
            "E_CORRUPT_FILE",
            f"the workbook cannot be read ({type(exc).__name__}): save it again as an Excel "
            "Workbook (.xlsx) and resend",
        ) from exc


def _read_sheet(archive: Archive, name: str, max_rows: int, columns: int) -> Sheet:
    main = [t for kind, t in _relationships(archive, "_rels/.rels", "").values()
            if kind.endswith("/officeDocument")]  # fmt: skip
    if main != [_WORKBOOK]:
        raise UnsafeFile(
            "E_CORRUPT_FILE",
            "the workbook's main part is not where Excel keeps it: save it again as an Excel "
            "Workbook (.xlsx) and resend",
        )
    workbook = _once("elements", archive.read(_WORKBOOK), elements)
    targets = _relationships(archive, "xl/_rels/workbook.xml.rels", "xl")
    listed = [attrib for _, _, tag, attrib in workbook if tag == f"{MAIN}sheet"]
    sheets = {s.get("name", ""): targets.get(s.get(_REL, ""), ("", "")) for s in listed}
    found = Sheet(list(sheets), name)
    found.states = {s.get("name", ""): s.get("state", "visible") for s in listed}
    view = _first(workbook, 2, f"{MAIN}bookViews", f"{MAIN}workbookView")
    tab = view.get("activeTab", "0") if view is not None else "0"
    if _INDEX.fullmatch(tab) and int(tab) < len(listed):
        found.active = listed[int(tab)].get("name", "")
    if name not in sheets:
        return found
    kind, part = sheets[name]
    if not kind.endswith("/worksheet") or not _WORKSHEET_PART.fullmatch(part):
        raise UnsafeFile(
            "E_TEMPLATE_MODIFIED",
            f"the {name!r} sheet is not an ordinary worksheet where Excel keeps one: use the "
            "form as issued",
        )
    properties = _first(workbook, 1, workbook[0][2], f"{MAIN}workbookPr")
    flag = properties.get("date1904") if properties is not None else None
    date1904 = flag is not None and flag.strip().lower() not in ("", "0", "false", "f")
    by_type = {kind.rsplit("/", 1)[-1]: part for kind, part in targets.values()}
    strings: list[str] = []
    if by_type.get("sharedStrings") in archive:
        strings = shared_strings(archive.read(by_type["sharedStrings"]))
    dates, durations = _date_styles(archive, by_type.get("styles"))
    epoch = CALENDAR_MAC_1904 if date1904 else WINDOWS_EPOCH
    data = archive.read(part)
    try:
        streamed = sheet_stream.read(
            data, RowReader(strings, epoch, dates, durations), name, max_rows, columns
        )
    except sheet_stream.Unusual:
        return _read_rows(found, data, RowReader(strings, epoch, dates, durations), columns,
                          max_rows)  # fmt: skip
    found.rows, found.filled = streamed.rows, streamed.filled
    found.beyond = streamed.beyond
    found.hidden_rows = streamed.hidden_rows
    found.hidden_columns = {c for c in streamed.hidden_columns if c < columns}
    return found


def _read_rows(found: Sheet, data: bytes, reader: RowReader, columns: int, max_rows: int) -> Sheet:
    """The sheet read by grants.excel.sheet_xml, for what grants.excel.sheet_stream leaves."""
    name = found.name
    rows: list[list[Cell]] = []
    last = [0]  # the number of the row read last

    def each(number: int, cells: list[dict[str, Any]], _element: Node) -> None:
        # Excel writes rows in order and each row's cells in column order, each once: a file
        # that does not could show one figure in Excel and give the importer another.
        if number <= last[0]:
            raise UnsafeFile("E_CORRUPT_FILE", OUT_OF_ORDER)
        last[0], last_col = number, 0
        r = number - 1
        for c in cells:
            if c["row"] != number or c["column"] <= last_col:
                raise UnsafeFile("E_CORRUPT_FILE", OUT_OF_ORDER)
            last_col = c["column"]
            value, col = c["value"], c["column"] - 1
            if value is None or (isinstance(value, str) and not value):
                continue
            if r >= max_rows or col >= columns:
                found.beyond = found.beyond or (r, col)
                continue
            while len(rows) <= r:
                rows.append([EMPTY] * columns)
            rows[r][col] = Cell(value, c["data_type"])
            found.filled.append((r, col))

    parsed = reader.read(data, each, lambda row: _as_excel_writes(row, name), columns)
    found.rows = rows
    found.hidden_rows = {
        int(n) - 1
        for n, attrs in parsed.row_dimensions.items()
        if attrs.get("hidden") in ("1", "true")
    }
    found.hidden_columns = {c for c in parsed.hidden_columns if c < columns}
    return found


def _as_excel_writes(row: Node, sheet_name: str) -> None:
    """Refuse a cell whose stored value Excel would not write: openpyxl's rules read it with
    Python's int() and float(), which take ``1_000``, ``INF`` and ``NaN``."""
    for c in row.iter(_C):
        kind = c.attrib.get("t", "n")
        v = c.find(_V)
        if v is None or kind not in ("n", "s"):
            continue
        text = v.text or ""
        if not text or (NUMBER if kind == "n" else _INDEX).fullmatch(text):
            continue
        ref = c.attrib.get("r", "")
        raise refuse_value(sheet_name, f"{sheet_name}!{ref}" if _REF.fullmatch(ref) else None, text)


def _first(
    found: list[tuple[int, str, str, dict[str, str]]], depth: int, parent: str, tag: str
) -> dict[str, str] | None:
    """The attributes of the first ``tag`` element at ``depth`` under a ``parent``."""
    return next((a for d, p, t, a in found if (d, p, t) == (depth, parent, tag)), None)


def _relationships(archive: Archive, part: str, base: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, the target's path in the archive)."""
    if part not in archive:
        return {}
    return _once(base, archive.read(part), lambda data: _targets(data, base))


def _targets(data: bytes, base: str) -> dict[str, tuple[str, str]]:
    found = {}
    rels = (attrib for _, _, tag, attrib in elements(data) if tag == _PACKAGE_REL)
    for rel in rels:
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
        found[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(path))
    return found


def _date_styles(archive: Archive, part: str | None) -> tuple[frozenset[int], frozenset[int]]:
    """The cell styles whose number format shows a date (or a duration), as openpyxl finds
    them, without building the whole stylesheet. Forms issued together share a stylesheet,
    so it is worked out once per distinct stylesheet."""
    if part is None or part not in archive:
        return frozenset(), frozenset()
    styles = archive.read(part)
    key = hashlib.sha256(styles).digest()  # not the bytes: a stylesheet may be megabytes
    kept = _STYLES.get(key)
    return kept if kept is not None else _STYLES.put(key, _styles_dates(styles))


_STYLES: Kept[bytes, tuple[frozenset[int], frozenset[int]]] = Kept(16)
# bytes: a workbook's sheet list or relationships as a form has them (about 1 KB): at most
# _KEPT such parts are kept parsed, some 150 KB each at worst, whatever the uploads hold
_SMALL = 8 * 1024
_KEPT = 16
_PARSED: Kept[tuple[str, bytes], Any] = Kept(_KEPT)


def _once(kind: str, data: bytes, make: Callable[[bytes], _T]) -> _T:
    """What ``make`` gives for a small part's bytes (never to be changed by the caller),
    worked out once for the forms of one issue, whose workbook and relationship parts are
    the same bytes. A parse that fails is not remembered: it fails each time."""
    if len(data) > _SMALL:
        return make(data)
    key = (kind, data)
    found = _PARSED.get(key)
    return cast(_T, found if found is not None else _PARSED.put(key, make(data)))


def _styles_dates(styles: bytes) -> tuple[frozenset[int], frozenset[int]]:
    root = ElementTree.fromstring(styles)
    custom = {
        int(f.get("numFmtId", "-1")): f.get("formatCode", "")
        for f in root.iterfind(f"{_MAIN}numFmts/{_MAIN}numFmt")
    }
    dates, durations = set(), set()
    for i, xf in enumerate(root.iterfind(f"{_MAIN}cellXfs/{_MAIN}xf")):
        number = int(xf.get("numFmtId", "0"))
        code = custom.get(number, BUILTIN_FORMATS.get(number, "General"))
        if is_date_format(code):
            dates.add(i)
        if is_timedelta_format(code):
            durations.add(i)
    return frozenset(dates), frozenset(durations)


def _file_bytes(path: Path) -> bytes:
    """The file's bytes, if it is not too large to be a return."""
    try:
        check_size(path.stat().st_size)
        return path.read_bytes()
    except OSError as exc:
        raise UnsafeFile("E_UNREADABLE", f"cannot read the file: {exc.strerror or exc}") from exc


__all__ = ["EMPTY", "Cell", "Sheet", "UnsafeFile", "read_sheet"]
