"""A zip's directory read in one pass gives what zipfile gives, entry for entry, and any zip
it does not read as ordinary is left to zipfile, which accepts or refuses it."""

from __future__ import annotations

import io
import random
import struct
import zipfile

import openpyxl
import pytest

from grants.excel import zip_directory
from grants.excel.zip_directory import entries


def workbook() -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Title"
    wb.create_sheet("Return")["B2"] = 12.5
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def rezipped(data: bytes, **options: object) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", **options) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info), zipfile.ZIP_DEFLATED)
    return out.getvalue()


def as_zipfile_reads(data: bytes) -> list[tuple[object, ...]] | str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except Exception as exc:  # what zipfile raises is what is compared
        return type(exc).__name__
    return [
        (i.filename, i.orig_filename, i.flag_bits, i.compress_type, i.CRC, i.compress_size,
         i.file_size, i.header_offset)
        for i in infos
    ]  # fmt: skip


def as_read_here(data: bytes) -> list[tuple[object, ...]] | str:
    try:
        found = entries(data)
    except Exception as exc:
        return type(exc).__name__
    return [
        (e.filename, e.orig_filename, e.flag_bits, e.compress_type, e.CRC, e.compress_size,
         e.file_size, e.header_offset)
        for e in found
    ]  # fmt: skip


def test_an_ordinary_workbook_is_read_in_one_pass_as_zipfile_reads_it() -> None:
    data = workbook()
    found = zip_directory._ordinary(data)
    assert found is not None  # read here, not by zipfile
    assert as_read_here(data) == as_zipfile_reads(data)
    assert len(found) > 5


def with_comment(data: bytes) -> bytes:
    return data[:-2] + struct.pack("<H", 5) + b"hello"


def with_extra(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            info.extra = struct.pack("<HH", 0x5455, 5) + b"\x01abcd"  # a timestamp field
            zout.writestr(info, zin.read(info.filename), zipfile.ZIP_DEFLATED)
    return out.getvalue()


def zip64(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            with zout.open(info.filename, "w", force_zip64=True) as part:
                part.write(zin.read(info.filename))
    return out.getvalue()


def with_nul_name(data: bytes) -> bytes:
    raw = bytearray(data)
    at = raw.index(b"PK\x01\x02")
    raw[at + 46 + 2] = 0  # the third letter of the first name, in the directory only
    return bytes(raw)


@pytest.mark.parametrize(
    "make",
    [
        lambda d: d,
        with_comment,
        with_extra,
        zip64,
        with_nul_name,
        lambda d: b"prepended bytes" + d,
        lambda d: rezipped(d),
        lambda d: d[:-1],
        lambda d: d[:-22] + b"PK\x05\x06" + bytes(18),
        lambda d: d.replace(b"PK\x01\x02", b"PK\x01\x03", 1),
    ],
    ids="plain comment extra zip64 nul prepended rezipped cut empty bad-entry".split(),
)
def test_every_kind_of_zip_is_read_as_zipfile_reads_it(make) -> None:  # type: ignore[no-untyped-def]
    data = make(workbook())
    assert as_read_here(data) == as_zipfile_reads(data)


def test_unusual_zips_are_left_to_zipfile() -> None:
    data = workbook()
    for unusual in (with_comment(data), with_extra(data), with_nul_name(data), b"x" + data):
        assert zip_directory._ordinary(unusual) is None


def test_a_damaged_directory_is_read_as_zipfile_reads_it() -> None:
    data = workbook()
    start = data.index(b"PK\x01\x02")
    for cut in range(start, len(data)):  # cut anywhere in the directory or its end record
        damaged = data[:cut]
        assert as_read_here(damaged) == as_zipfile_reads(damaged), cut
    chance = random.Random(14)
    for _ in range(3000):  # bytes of the directory and its end record changed at random
        raw = bytearray(data)
        for _ in range(chance.randint(1, 3)):
            raw[chance.randrange(start, len(raw))] = chance.randrange(256)
        assert as_read_here(bytes(raw)) == as_zipfile_reads(bytes(raw))
