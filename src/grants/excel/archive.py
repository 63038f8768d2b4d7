"""A received workbook's zip, unpacked from its bytes as if it were hostile.

Before any part is parsed: the size, what the file is by its content (not its name), and the
zip's own account of itself (entries, sizes, compression ratios, macro parts, strict OOXML,
any DTD or entity declaration, duplicate cell references, merged cells other than the title's
across row 1). The zip's directory is read as zipfile reads it (grants.excel.zip_directory,
which leaves any but an ordinary directory to zipfile itself); each part is then unpacked
here, once, straight from the file's bytes with a bounded read: never more than the size the
directory declares, plus one byte to see that it was understated. A part that unpacks to more
than its directory says (a zip bomb hiding its size) is refused as too large, as a part that
says so is; a part that unpacks to less, or fails its CRC, is damaged. Only stored and
deflated parts are unpacked, which is all Excel, LibreOffice and openpyxl write. Every failure
is an UnsafeFile with a reason code and a message a recipient can act on.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from dataclasses import dataclass

from grants.excel.zip_directory import Entry, entries
from grants.kept import Kept
from grants.limits import MAX_WORKBOOK_BYTES

MAX_FILE = MAX_WORKBOOK_BYTES  # bytes on disk
MAX_ENTRIES = 100
MAX_ENTRY = 20 * 1024 * 1024  # uncompressed bytes of one part
MAX_TOTAL = 50 * 1024 * 1024  # uncompressed bytes of all parts
MAX_RATIO = 100  # uncompressed / compressed, for parts over 1 MB
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # a part's local header (zipfile's structFileHeader)
_MACRO_TYPES = (b"macroEnabled", b"vbaProject")
_STRICT = b"purl.oclc.org/ooxml/spreadsheetml/main"
_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
# A cell element with or without a namespace prefix, its reference in either quote.
_CELL_REF = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?c\b[^>]*?\br\s*=\s*[\"']([A-Z]{1,3}[0-9]{1,7})[\"']"
)
# Every r="A1" attribute, in any element: a superset of _CELL_REF's (no lower-case r can fall
# inside another's span), so if these name no cell twice, neither do the cells.
_ANY_REF = re.compile(rb"r\s*=\s*[\"']([A-Z]{1,3}[0-9]{1,7})[\"']")
_MERGE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b")
# The one merge a form is issued with: its title across row 1, which no importer reads.
_TITLE_MERGE = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref\s*=\s*[\"']A1:[A-Z]{1,3}1[\"']"
)
_TOO_LARGE = "the workbook unpacks to more than a return can hold: send the form as issued"


@dataclass
class UnsafeFile(Exception):
    """A file refused before its cells were read."""

    code: str
    message: str
    where: str | None = None  # the cell at fault (Return!D13), when it is one cell

    def __str__(self) -> str:
        return self.message


class Archive:
    """A checked zip: its parts' names, and each part's bytes unpacked (bounded) once."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.infos = entries(data)
        self.names = {info.filename: info for info in self.infos}
        self.parts: dict[str, bytes] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str) -> bytes:
        """A part's bytes, unpacked no further than its declared size (KeyError if none)."""
        if name not in self.parts:
            self.parts[name] = _unpack(self.data, self.names[name])
        return self.parts[name]


def _unpack(data: bytes, info: Entry) -> bytes:
    if info.flag_bits & 0x41:
        raise RuntimeError(f"{info.filename} is encrypted")
    if not 0 <= info.header_offset <= len(data) - _LOCAL.size:
        # A directory placed past where it is makes the offsets negative, which a slice
        # would read from the end of the file.
        raise zipfile.BadZipFile(f"{info.filename} lies outside the file")
    header = _LOCAL.unpack_from(data, info.header_offset)
    if header[0] != _ZIP:
        raise zipfile.BadZipFile(f"{info.filename} has no local header")
    start = info.header_offset + _LOCAL.size
    name = data[start : start + header[10]]
    if (name != info.raw_name or (header[3] ^ info.flag_bits) & 0x800) and name.decode(
        "utf-8" if header[3] & 0x800 else "cp437"
    ) != info.orig_filename:
        raise zipfile.BadZipFile(f"{info.filename} is named otherwise in its local header")
    start += header[10] + header[11]
    raw = data[start : start + info.compress_size]
    if len(raw) != info.compress_size:
        raise zipfile.BadZipFile(f"{info.filename} is cut short")
    size = info.file_size
    key = (info.compress_type, size, info.CRC, raw)
    kept = _INFLATED.get(key)
    if kept is not None:  # the same bytes, declaring the same: they unpacked and checked out
        return kept
    out = _inflated(info, raw)
    if size <= _SMALL and len(raw) <= _SMALL:
        _INFLATED.put(key, out)
    return out


# Parts unpacked before, by their compression, declared size and CRC and compressed bytes:
# forms issued together share their theme, styles, instructions sheet, workbook and
# relationship parts byte for byte. Only a part that unpacked whole and matched its CRC is
# kept, at most _KEPT of them, each at most _SMALL bytes either way (a few MB in all).
_SMALL = 32 * 1024
_KEPT = 64
_INFLATED: Kept[tuple[int, int, int, bytes], bytes] = Kept(_KEPT)
_CHECKED: Kept[tuple[str, bytes], bool] = Kept(_KEPT)  # (name, part) that passed _check_xml


def _inflated(info: Entry, raw: bytes) -> bytes:
    size = info.file_size
    if info.compress_type == zipfile.ZIP_STORED:
        out = raw
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflate = zlib.decompressobj(-15)
        out = inflate.decompress(raw, size + 1)  # one byte past what the directory declares
        if len(out) > size or (len(out) == size and inflate.unconsumed_tail):
            raise UnsafeFile(
                "E_FILE_TOO_LARGE_UNCOMPRESSED",
                f"a part of the workbook ({info.filename}) unpacks to more than the zip says "
                "it holds: send the form as issued",
            )
        if not inflate.eof:
            raise zipfile.BadZipFile(f"{info.filename} is cut short")
    else:
        raise NotImplementedError(f"{info.filename}: compression {info.compress_type}")
    if len(out) != size or zlib.crc32(out) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    return out


def check_size(size: int) -> None:
    if size > MAX_FILE:
        raise UnsafeFile(
            "E_FILE_TOO_LARGE",
            f"the file is {size:,} bytes; a return is at most {MAX_FILE:,}: send the form as "
            "issued, without pictures or extra sheets",
        )


def checked_archive(data: bytes) -> Archive:
    """A file's zip, after every check of the file and of the zip, with the bytes of its XML
    parts (each unpacked once, by the checks)."""
    check_size(len(data))
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
        archive = Archive(data)
        _preflight(archive)
    except UnsafeFile:
        raise
    except Exception as exc:
        raise unpacking(exc) from exc
    return archive


def unpacking(exc: Exception) -> UnsafeFile:
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


def _preflight(archive: Archive) -> None:
    """Every check of the zip and its XML parts, each XML part unpacked by them."""
    infos = archive.infos
    if len(infos) > MAX_ENTRIES:
        raise UnsafeFile(
            "E_FILE_TOO_LARGE_UNCOMPRESSED", f"the workbook has {len(infos)} parts (at most "
            f"{MAX_ENTRIES}): send the form as issued",
        )  # fmt: skip
    if len(archive.names) != len(infos):
        raise UnsafeFile(
            "E_CORRUPT_FILE",
            "the workbook holds two parts of the same name: save it again as an Excel Workbook "
            "(.xlsx) and resend",
        )
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > MAX_ENTRY or total > MAX_TOTAL:
            raise UnsafeFile("E_FILE_TOO_LARGE_UNCOMPRESSED", _TOO_LARGE)
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
        if required not in archive:
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
        if info.filename.endswith((".xml", ".rels")):
            part = archive.read(info.filename)
            if (info.filename, part) not in _CHECKED:
                _check_xml(info.filename, part)
                if len(part) <= _SMALL:
                    _CHECKED.put((info.filename, part), True)


def _check_xml(name: str, data: bytes) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: Excel writes UTF-8
        data = data.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    if _DTD.search(data):
        raise UnsafeFile(
            "E_UNSAFE_XML",
            f"a part of the workbook ({name}) declares XML entities, which Excel never "
            "writes: save the form again from Excel or LibreOffice",
        )
    if name == "xl/workbook.xml" and _STRICT in data:
        raise UnsafeFile(
            "E_STRICT_OOXML",
            "the workbook is saved as Strict Open XML: use Save As, Excel Workbook (.xlsx)",
        )
    if name.startswith("xl/worksheets/") and name.endswith(".xml"):
        refs = _ANY_REF.findall(data)  # the cells' own only if some reference comes twice
        if len(refs) != len(set(refs)) and _twice(_CELL_REF.findall(data)):
            raise UnsafeFile(
                "E_CORRUPT_FILE",
                "a sheet of the workbook names the same cell twice: save it again and resend",
            )
        merge = data.find(b"mergeCell")
        if merge >= 0:
            # A merge starts at the last "<" before its name (a prefix holds no "<"), so no
            # merge starts before the "<" that precedes the first name: both scans start there.
            start = max(data.rfind(b"<", 0, merge), 0)
            if len(_MERGE.findall(data, start)) > len(_TITLE_MERGE.findall(data, start)):
                raise UnsafeFile(
                    "E_TEMPLATE_MODIFIED",
                    "cells of the form have been merged: use the form as issued",
                )


def _twice(refs: list[bytes]) -> bool:
    return len(refs) != len(set(refs))


__all__ = [
    "MAX_ENTRIES", "MAX_ENTRY", "MAX_FILE", "Archive", "UnsafeFile", "check_size",
    "checked_archive",
]  # fmt: skip
