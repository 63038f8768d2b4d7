"""Opening a workbook that came from outside, as if it were hostile.

Before openpyxl sees a byte: the size, what the file is by its content (not its name), and
the zip's own account of itself (entries, sizes, compression ratios, macro parts, strict
OOXML, any DTD or entity declaration, duplicate cell references, merged cells). Then openpyxl
reads it in read-only mode with formulas as formulas (a cached value is the sender's claim,
never trusted), through defusedxml. Every failure is an UnsafeFile with a reason code and a
message a recipient can act on.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

MAX_FILE = 5 * 1024 * 1024  # bytes on disk
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

if not getattr(openpyxl, "DEFUSEDXML", False):  # pragma: no cover - a broken installation
    raise ImportError("defusedxml must be installed: openpyxl would parse returns unguarded")


@dataclass
class UnsafeFile(Exception):
    """A file refused before its cells were read."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def open_workbook(path: Path) -> Any:
    """The workbook, read-only, after every check; raises UnsafeFile."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise UnsafeFile("E_UNREADABLE", f"cannot read the file: {exc.strerror or exc}") from exc
    if size > MAX_FILE:
        raise UnsafeFile(
            "E_FILE_TOO_LARGE",
            f"the file is {size:,} bytes; a return is at most {MAX_FILE:,}: send the form as "
            "issued, without pictures or extra sheets",
        )
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
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _preflight(archive)
    except UnsafeFile:
        raise
    except zipfile.BadZipFile as exc:
        raise UnsafeFile(
            "E_NOT_XLSX",
            "this is not an Excel .xlsx workbook, or it was damaged in sending: send the "
            "form as an .xlsx file",
        ) from exc
    except Exception as exc:  # zlib errors, encrypted or unknown compression, ...
        raise UnsafeFile(
            "E_CORRUPT_FILE",
            f"the workbook cannot be unpacked ({type(exc).__name__}): save it again as an "
            "Excel Workbook (.xlsx) and resend",
        ) from exc
    try:
        # From memory, so that the content decides what the file is, not its name.
        return openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=False, keep_links=False
        )
    except Exception as exc:  # any parser's error: the file is damaged or hostile
        raise UnsafeFile(
            "E_CORRUPT_FILE",
            f"the workbook cannot be read ({type(exc).__name__}): save it again as an Excel "
            "Workbook (.xlsx) and resend",
        ) from exc


def _preflight(archive: zipfile.ZipFile) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise UnsafeFile(
            "E_FILE_TOO_LARGE_UNCOMPRESSED", f"the workbook has {len(infos)} parts (at most "
            f"{MAX_ENTRIES}): send the form as issued",
        )  # fmt: skip
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
    for info in infos:
        if not info.filename.endswith((".xml", ".rels")):
            continue
        data = archive.read(info)
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
            if _MERGE.search(data):
                raise UnsafeFile(
                    "E_TEMPLATE_MODIFIED",
                    "cells of the form have been merged: use the form as issued",
                )


__all__ = ["UnsafeFile", "open_workbook"]
