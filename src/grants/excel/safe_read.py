"""Opening a workbook that came from outside, as if it were hostile.

Before any part is parsed: the size, what the file is by its content (not its name), and
the zip's own account of itself (entries, sizes, compression ratios, macro parts, strict
OOXML, any DTD or entity declaration, duplicate cell references, merged cells other than the
title's across row 1); the zip is opened once and each XML part unpacked once, by these
checks. Then one sheet is read, streaming, by grants.excel.sheet_xml (expat, refusing DTDs
and entities as defusedxml does) by the rules of openpyxl's own cell parser: formulas stay
formulas (a cached value is the sender's claim, never trusted), numbers in date formats become
dates, and a number stored as Excel never writes one (``1_000``, ``INF``, which Python's
``float()`` takes) is refused naming its cell. The sheets' states, the tab the workbook opens
at and the hidden rows and columns are kept for grants.excel.form_shape. Only the parts a
sheet's cells need are parsed (the workbook's sheet list, the shared strings and the number
formats of the cell styles), not the whole stylesheet. Every failure is an UnsafeFile with a
reason code and a message a recipient can act on.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from defusedxml import DefusedXmlException, ElementTree
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH

from grants.excel.sheet_xml import MAIN, Node, RowReader, elements, shared_strings
from grants.limits import MAX_WORKBOOK_BYTES
from grants.services.form_rows import Received

MAX_FILE = MAX_WORKBOOK_BYTES  # bytes on disk
MAX_ENTRIES = 100
MAX_ENTRY = 20 * 1024 * 1024  # uncompressed bytes of one part
MAX_TOTAL = 50 * 1024 * 1024  # uncompressed bytes of all parts
MAX_RATIO = 100  # uncompressed / compressed, for parts over 1 MB
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MACRO_TYPES = (b"macroEnabled", b"vbaProject")
_STRICT = b"purl.oclc.org/ooxml/spreadsheetml/main"
_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
# A cell element with or without a namespace prefix, its reference in either quote.
_CELL_REF = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?c\b[^>]*?\br\s*=\s*[\"']([A-Z]{1,3}[0-9]{1,7})[\"']"
)
_MERGE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b")
# The one merge a form is issued with: its title across row 1, which no importer reads.
_TITLE_MERGE = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref\s*=\s*[\"']A1:[A-Z]{1,3}1[\"']"
)

if not getattr(openpyxl, "DEFUSEDXML", False):  # pragma: no cover - a broken installation
    raise ImportError("defusedxml must be installed: openpyxl would parse returns unguarded")


@dataclass
class UnsafeFile(Exception):
    """A file refused before its cells were read."""

    code: str
    message: str
    where: str | None = None  # the cell at fault (Return!D13), when it is one cell

    def __str__(self) -> str:
        return self.message


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"  # as expat
_C, _V = f"{MAIN}c", f"{MAIN}v"  # as expat names them (grants.excel.sheet_xml)
# A number as Excel writes one: not Python's float() syntax (1_000, INF, NaN, " 12 ").
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_INDEX = re.compile(r"[0-9]+")  # a shared string's index
_REF = re.compile(r"[A-Z]{1,3}[0-9]{1,7}")
_WORKBOOK = "xl/workbook.xml"
_WORKSHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


@dataclass(frozen=True)
class Cell:
    """A cell as the sender saved it: ``data_type`` is openpyxl's (n, s, b, d, e, or f for a
    formula, whose ``value`` is then the formula's text)."""

    value: Any = None
    data_type: str = "n"


EMPTY = Cell()


@dataclass
class Sheet:
    """One sheet's cells, 0-based: ``rows[r][c]``, every row ``columns`` wide."""

    sheetnames: list[str]
    name: str
    rows: list[list[Cell]] = field(default_factory=list)
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
    with _checked_archive(data) as (archive, parts):
        found = _parsed(archive, parts, name, max_rows, columns)
    found.sha256 = hashlib.sha256(data).hexdigest()
    found.content = data
    return found


def _parsed(
    archive: zipfile.ZipFile, parts: dict[str, bytes], name: str, max_rows: int, columns: int
) -> Sheet:
    try:
        return _read_sheet(archive, parts, name, max_rows, columns)
    except UnsafeFile:
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


def _read_sheet(
    archive: zipfile.ZipFile, parts: dict[str, bytes], name: str, max_rows: int, columns: int
) -> Sheet:
    main = [t for kind, t in _relationships(parts, "_rels/.rels", "").values()
            if kind.endswith("/officeDocument")]  # fmt: skip
    if main != [_WORKBOOK]:
        raise UnsafeFile(
            "E_CORRUPT_FILE",
            "the workbook's main part is not where Excel keeps it: save it again as an Excel "
            "Workbook (.xlsx) and resend",
        )
    workbook = elements(parts[_WORKBOOK])
    targets = _relationships(parts, "xl/_rels/workbook.xml.rels", "xl")
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
    if by_type.get("sharedStrings") in archive.NameToInfo:
        strings = shared_strings(_part(archive, parts, by_type["sharedStrings"]))
    dates, durations = _date_styles(archive, parts, by_type.get("styles"))
    reader = RowReader(strings, CALENDAR_MAC_1904 if date1904 else WINDOWS_EPOCH, dates, durations)
    rows: list[list[Cell]] = []
    last = [0]  # the number of the row read last

    def each(number: int, cells: list[dict[str, Any]], _element: Node) -> None:
        # Excel writes rows in order and each row's cells in column order, each once: a file
        # that does not could show one figure in Excel and give the importer another.
        if number <= last[0]:
            raise UnsafeFile("E_CORRUPT_FILE", _OUT_OF_ORDER)
        last[0], last_col = number, 0
        r = number - 1
        for c in cells:
            if c["row"] != number or c["column"] <= last_col:
                raise UnsafeFile("E_CORRUPT_FILE", _OUT_OF_ORDER)
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

    parsed = reader.read(
        _part(archive, parts, part), each, before=lambda row: _as_excel_writes(row, name)
    )
    found.rows = rows
    found.hidden_rows = {
        int(n) - 1
        for n, attrs in parsed.row_dimensions.items()
        if attrs.get("hidden") in ("1", "true")
    }
    found.hidden_columns = {c for c in parsed.hidden_columns if c < columns}
    return found


_OUT_OF_ORDER = (
    "a sheet of the workbook has rows or cells out of order or named twice: save it again "
    "as an Excel Workbook (.xlsx) and resend"
)


def _as_excel_writes(row: Node, sheet_name: str) -> None:
    """Refuse a cell whose stored value Excel would not write: openpyxl's rules read it with
    Python's int() and float(), which take ``1_000``, ``INF`` and ``NaN``."""
    for c in row.iter(_C):
        kind = c.attrib.get("t", "n")
        v = c.find(_V)
        if v is None or kind not in ("n", "s"):
            continue
        text = v.text or ""
        if not text or (_NUMBER if kind == "n" else _INDEX).fullmatch(text):
            continue
        ref = c.attrib.get("r", "")
        where = f"{sheet_name}!{ref}" if _REF.fullmatch(ref) else None
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise UnsafeFile(
            "E_BAD_VALUE",
            f"{where or sheet_name + ' sheet'} holds a value Excel does not write "
            f"({shown!r}): type the figure in that cell again in Excel or LibreOffice, "
            "save and resend",
            where,
        )


def _first(
    found: list[tuple[int, str, str, dict[str, str]]], depth: int, parent: str, tag: str
) -> dict[str, str] | None:
    """The attributes of the first ``tag`` element at ``depth`` under a ``parent``."""
    return next((a for d, p, t, a in found if (d, p, t) == (depth, parent, tag)), None)


def _relationships(parts: dict[str, bytes], part: str, base: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, the target's path in the archive)."""
    if part not in parts:
        return {}
    found = {}
    for rel in (attrib for _, _, tag, attrib in elements(parts[part]) if tag == _PACKAGE_REL):
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
        found[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(path))
    return found


def _date_styles(
    archive: zipfile.ZipFile, parts: dict[str, bytes], part: str | None
) -> tuple[frozenset[int], frozenset[int]]:
    """The cell styles whose number format shows a date (or a duration), as openpyxl finds
    them, without building the whole stylesheet. Forms issued together share a stylesheet,
    so it is worked out once per distinct stylesheet."""
    if part is None or part not in archive.NameToInfo:
        return frozenset(), frozenset()
    styles = _part(archive, parts, part)
    key = hashlib.sha256(styles).digest()  # not the bytes: a stylesheet may be megabytes
    if key not in _STYLES:
        if len(_STYLES) >= 16:
            _STYLES.pop(next(iter(_STYLES)))
        _STYLES[key] = _styles_dates(styles)
    return _STYLES[key]


_STYLES: dict[bytes, tuple[frozenset[int], frozenset[int]]] = {}


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


def _part(archive: zipfile.ZipFile, parts: dict[str, bytes], name: str) -> bytes:
    """A part's bytes: as the checks read it, if it is XML, or read now."""
    return parts[name] if name in parts else archive.read(name)


def _file_bytes(path: Path) -> bytes:
    """The file's bytes, if it is not too large to be a return."""
    try:
        _size(path.stat().st_size)
        return path.read_bytes()
    except OSError as exc:
        raise UnsafeFile("E_UNREADABLE", f"cannot read the file: {exc.strerror or exc}") from exc


def _size(size: int) -> None:
    if size > MAX_FILE:
        raise UnsafeFile(
            "E_FILE_TOO_LARGE",
            f"the file is {size:,} bytes; a return is at most {MAX_FILE:,}: send the form as "
            "issued, without pictures or extra sheets",
        )


@contextmanager
def _checked_archive(data: bytes) -> Iterator[tuple[zipfile.ZipFile, dict[str, bytes]]]:
    """A file's zip, after every check of the file and of the zip, with the bytes of its XML
    parts (each read once, by the checks)."""
    _size(len(data))
    head = data[:8]
    if head.startswith(_OLE2):
        raise UnsafeFile(
            "E_LEGACY_OR_ENCRYPTED",
            "this is an old .xls workbook or a password-protected one: remove any password "
            "and save it as an Excel Workbook (.xlsx)",
        )
    if not head.startswith(_ZIP):
        raise UnsafeFile(
            "E_NOT_XLSX",
            "this is not an Excel .xlsx workbook, or it was damaged in sending: send the "
            "form as an .xlsx file",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:
        raise _unpacking(exc) from exc
    with archive:
        try:
            parts = _preflight(archive)
        except UnsafeFile:
            raise
        except Exception as exc:
            raise _unpacking(exc) from exc
        yield archive, parts


def _unpacking(exc: Exception) -> UnsafeFile:
    """Why a zip could not be unpacked, as a recipient is told."""
    if isinstance(exc, zipfile.BadZipFile):
        return UnsafeFile(
            "E_NOT_XLSX",
            "this is not an Excel .xlsx workbook, or it was damaged in sending: send the "
            "form as an .xlsx file",
        )
    return UnsafeFile(  # zlib errors, encrypted or unknown compression, ...
        "E_CORRUPT_FILE",
        f"the workbook cannot be unpacked ({type(exc).__name__}): save it again as an "
        "Excel Workbook (.xlsx) and resend",
    )


def _preflight(archive: zipfile.ZipFile) -> dict[str, bytes]:
    """Every check of the zip and its XML parts; the parts' bytes."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise UnsafeFile(
            "E_FILE_TOO_LARGE_UNCOMPRESSED", f"the workbook has {len(infos)} parts (at most "
            f"{MAX_ENTRIES}): send the form as issued",
        )  # fmt: skip
    if len({info.filename for info in infos}) != len(infos):
        raise UnsafeFile(
            "E_CORRUPT_FILE",
            "the workbook holds two parts of the same name: save it again as an Excel Workbook "
            "(.xlsx) and resend",
        )
    total = 0
    names = set()
    for info in infos:
        names.add(info.filename)
        total += info.file_size
        if info.file_size > MAX_ENTRY or total > MAX_TOTAL:
            raise UnsafeFile(
                "E_FILE_TOO_LARGE_UNCOMPRESSED",
                "the workbook unpacks to more than a return can hold: send the form as issued",
            )
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnsafeFile(
                "E_FILE_TOO_LARGE_UNCOMPRESSED",
                f"a part of the workbook ({info.filename}) is compressed suspiciously well: "
                "send the form as issued",
            )
        if info.filename.lower().endswith("vbaproject.bin"):
            raise UnsafeFile(
                "E_MACROS_NOT_ALLOWED", "the workbook contains macros: save it as an Excel "
                "Workbook (.xlsx), without macros",
            )  # fmt: skip
    for required in ("[Content_Types].xml", "xl/workbook.xml"):
        if required not in names:
            raise UnsafeFile(
                "E_NOT_XLSX", f"the workbook has no {required}: it is not an .xlsx workbook"
            )
    types = archive.read("[Content_Types].xml")
    if any(t in types for t in _MACRO_TYPES):
        raise UnsafeFile(
            "E_MACROS_NOT_ALLOWED",
            "the workbook is macro-enabled: save it as an Excel Workbook (.xlsx)",
        )
    parts: dict[str, bytes] = {}
    for info in infos:
        if not info.filename.endswith((".xml", ".rels")):
            continue
        data = parts[info.filename] = archive.read(info)
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: Excel writes UTF-8
            data = data.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
        if _DTD.search(data):
            raise UnsafeFile(
                "E_UNSAFE_XML",
                f"a part of the workbook ({info.filename}) declares XML entities, which Excel "
                "never writes: save the form again from Excel or LibreOffice",
            )
        if info.filename == "xl/workbook.xml" and _STRICT in data:
            raise UnsafeFile(
                "E_STRICT_OOXML",
                "the workbook is saved as Strict Open XML: use Save As, Excel Workbook (.xlsx)",
            )
        if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
            refs = _CELL_REF.findall(data)
            if len(refs) != len(set(refs)):
                raise UnsafeFile(
                    "E_CORRUPT_FILE",
                    "a sheet of the workbook names the same cell twice: save it again and resend",
                )
            if len(_MERGE.findall(data)) > len(_TITLE_MERGE.findall(data)):
                raise UnsafeFile(
                    "E_TEMPLATE_MODIFIED",
                    "cells of the form have been merged: use the form as issued",
                )
    return parts


__all__ = ["EMPTY", "Cell", "Sheet", "UnsafeFile", "read_sheet"]
