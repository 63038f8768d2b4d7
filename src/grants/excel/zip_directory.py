"""A zip's central directory read in one pass, as zipfile reads it, or left to zipfile.

A workbook as Excel, LibreOffice and openpyxl save it has an ordinary directory: its end
record is the file's last 22 bytes (no archive comment, no Zip64 records), the directory lies
just before it (nothing prepended to the zip), and its entries carry no extra fields. Such a
directory is read here straight from the bytes, entry by entry with struct, and gives the same
names, sizes, offsets, flags and CRCs zipfile gives. Anything else (a comment, Zip64, data
before the zip, an extra field, a name holding a NUL, an entry that overruns the directory,
a version zipfile does not read) is left to zipfile.ZipFile, which decides, so every file is
accepted or refused as zipfile accepts or refuses it. tests/test_zip_directory.py holds the two
to the same entries on good, damaged and hostile zips.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from dataclasses import dataclass

_END = struct.Struct("<4s4H2LH")  # the end of central directory record (zipfile's)
_ENTRY = struct.Struct("<4s4B4HL2L5H2L")  # one entry of the directory (zipfile's)
_END_SIG, _ENTRY_SIG, _ZIP64_LOCATOR = b"PK\x05\x06", b"PK\x01\x02", b"PK\x06\x07"
_MAX_VERSION = 63  # zipfile.MAX_EXTRACT_VERSION: zipfile refuses a later one


@dataclass(slots=True)
class Entry:
    """What the checks and the unpacking use of a part's directory entry, named as in
    zipfile.ZipInfo."""

    filename: str
    orig_filename: str
    raw_name: bytes  # the name's bytes, as the directory holds them
    flag_bits: int
    compress_type: int
    CRC: int  # zipfile's name
    compress_size: int
    file_size: int
    header_offset: int


def entries(data: bytes) -> list[Entry]:
    """The zip's directory, in its order; raises what zipfile raises for a zip it refuses."""
    found = _ordinary(data)
    if found is not None:
        return found
    with zipfile.ZipFile(io.BytesIO(data)) as directory:
        return [_from_info(info) for info in directory.infolist()]


def _from_info(info: zipfile.ZipInfo) -> Entry:
    flags = info.flag_bits
    raw = info.orig_filename.encode("utf-8" if flags & 0x800 else "cp437", "replace")
    return Entry(
        info.filename, info.orig_filename, raw, flags, info.compress_type, info.CRC,
        info.compress_size, info.file_size, info.header_offset,
    )  # fmt: skip


def _ordinary(data: bytes) -> list[Entry] | None:
    """The directory of an ordinary zip, or None to leave the zip to zipfile."""
    end = len(data) - _END.size
    if end < 0 or data[end : end + 4] != _END_SIG or data[-2:] != b"\0\0":
        return None
    if end >= 20 and data[end - 20 : end - 16] == _ZIP64_LOCATOR:
        return None
    size, offset = _END.unpack_from(data, end)[5:7]
    if offset + size != end:  # data before the zip, or a directory that is not where it says
        return None
    found: list[Entry] = []
    at, stop = offset, end
    unpack, head, entry_sig = _ENTRY.unpack_from, _ENTRY.size, _ENTRY_SIG
    while at < stop:
        if at + head > stop:
            return None
        (sig, _cv, _cs, version, _r, flags, method, _t, _d, crc, packed, unpacked,
         name_len, extra_len, comment_len, _disk, _ia, _ea, local) = unpack(data, at)  # fmt: skip
        name_end = at + head + name_len
        if sig != entry_sig or extra_len or version > _MAX_VERSION:
            return None
        if name_end + comment_len > stop:
            return None
        raw = data[at + head : name_end]
        try:
            name = raw.decode("utf-8") if flags & 0x800 else raw.decode("cp437")
        except UnicodeDecodeError:
            return None
        if "\0" in name or (os.sep != "/" and os.sep in name):  # zipfile renames those
            return None
        found.append(Entry(name, name, raw, flags, method, crc, packed, unpacked, local))
        at = name_end + comment_len
    return found


__all__ = ["Entry", "entries"]
