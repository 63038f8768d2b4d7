"""A received workbook's parts are unpacked from its bytes, never past the size the zip's
directory declares: a part that hides its size is refused, not read short or read whole."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from grants.excel.archive import MAX_ENTRY, Archive, checked_archive
from grants.excel.safe_read import UnsafeFile, read_sheet
from grants.services.form_rows import Received

SHEET = "xl/worksheets/sheet1.xml"


def workbook(compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Return"
    ws["A1"], ws["B2"], ws["C3"] = "Title", 1234.5, "=SUM(B2:B3)"
    out = io.BytesIO()
    wb.save(out)
    if compression == zipfile.ZIP_DEFLATED:
        return out.getvalue()
    again = io.BytesIO()
    with zipfile.ZipFile(out) as zin, zipfile.ZipFile(again, "w", compression) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    return again.getvalue()


def replaced(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            body = content if info.filename == name else zin.read(info)
            zout.writestr(info.filename, body, zipfile.ZIP_DEFLATED)
        if name not in zin.namelist():
            zout.writestr(name, content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def declared(data: bytes, name: str, size: int, crc: int) -> bytes:
    """The zip with ``name``'s size and CRC rewritten in its local header and its directory
    entry, its compressed bytes left as they are."""
    raw = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        local = z.getinfo(name).header_offset
    struct.pack_into("<L", raw, local + 14, crc)
    struct.pack_into("<L", raw, local + 22, size)
    entry = raw.index(b"PK\x01\x02")
    while raw[entry + 46 : entry + 46 + len(name)] != name.encode():
        entry = raw.index(b"PK\x01\x02", entry + 4)
    struct.pack_into("<L", raw, entry + 16, crc)
    struct.pack_into("<L", raw, entry + 24, size)
    return bytes(raw)


def refused(data: bytes) -> UnsafeFile:
    with pytest.raises(UnsafeFile) as caught:
        read_sheet(Received("bomb.xlsx", data), "Return", 100, 10)
    return caught.value


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_every_part_is_unpacked_as_zipfile_unpacks_it(compression: int) -> None:
    data = workbook(compression)
    archive = checked_archive(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {n: archive.read(n) for n in archive.names} == {
            i.filename: z.read(i) for i in z.infolist()
        }
    sheet = read_sheet(Received("ok.xlsx", data), "Return", 100, 10)
    assert [(c.value, c.data_type) for c in (sheet.at(0, 0), sheet.at(1, 1), sheet.at(2, 2))] == [
        ("Title", "s"), (1234.5, "n"), ("=SUM(B2:B3)", "f"),
    ]  # fmt: skip


def test_a_part_whose_directory_understates_its_size_is_refused_as_too_large() -> None:
    # The sheet, then 30 MB of blanks (which XML allows after the root): 30 KB compressed.
    # Its directory claims only the sheet's own bytes, with their CRC, so the size checks
    # pass and zipfile, trusting the directory, stops there and reports nothing wrong.
    ok = workbook()
    with zipfile.ZipFile(io.BytesIO(ok)) as z:
        sheet = z.read(SHEET)
    padded = sheet + b" " * (30 * 1024 * 1024)
    assert len(padded) > MAX_ENTRY
    bomb = declared(replaced(ok, SHEET, padded), SHEET, len(sheet), zlib.crc32(sheet))
    assert len(bomb) < 200_000
    with zipfile.ZipFile(io.BytesIO(bomb)) as z:
        assert z.read(SHEET) == sheet  # what the reader before this one saw
    error = refused(bomb)
    assert error.code == "E_FILE_TOO_LARGE_UNCOMPRESSED", error
    assert SHEET in error.message


def test_a_small_understatement_is_refused_too() -> None:
    ok = workbook()
    with zipfile.ZipFile(io.BytesIO(ok)) as z:
        sheet = z.read(SHEET)
    short = sheet[:-100]
    assert refused(declared(ok, SHEET, len(short), zlib.crc32(short))).code == (
        "E_FILE_TOO_LARGE_UNCOMPRESSED"
    )


def test_a_part_that_overstates_its_size_or_fails_its_crc_is_damaged() -> None:
    ok = workbook()
    with zipfile.ZipFile(io.BytesIO(ok)) as z:
        sheet = z.read(SHEET)
    assert refused(declared(ok, SHEET, len(sheet) + 10, zlib.crc32(sheet))).code == "E_NOT_XLSX"
    assert refused(declared(ok, SHEET, len(sheet), zlib.crc32(sheet) ^ 1)).code == "E_NOT_XLSX"


def test_a_part_named_otherwise_in_its_local_header_is_damaged() -> None:
    ok = bytearray(workbook())
    with zipfile.ZipFile(io.BytesIO(bytes(ok))) as z:
        local = z.getinfo(SHEET).header_offset
    ok[local + 30 : local + 30 + len(SHEET)] = SHEET.replace("sheet1", "sheetX").encode()
    assert refused(bytes(ok)).code == "E_NOT_XLSX"


def test_parts_are_unpacked_once_and_only_when_asked(tmp_path: Path) -> None:
    data = replaced(workbook(), "xl/media/image1.png", b"\x89PNG" + bytes(1000))
    archive = Archive(data)
    assert archive.parts == {}
    first = archive.read("xl/media/image1.png")
    assert archive.read("xl/media/image1.png") is first
    with pytest.raises(KeyError):
        archive.read("xl/nothing.xml")


def test_parts_seen_before_are_unpacked_and_checked_alike_and_bad_ones_refused_each_time() -> None:
    """Forms issued together share most parts byte for byte, and those are unpacked and
    checked once; a part that failed is refused every time, the same compressed bytes that
    declare another size or CRC are unpacked and checked afresh, a part that passed under one
    name is checked again under another, and what is kept stays within its bound."""
    from grants.excel import archive as unpacking

    ok = workbook()
    for _ in range(2):  # the second time from what was kept
        archive = checked_archive(ok)
        with zipfile.ZipFile(io.BytesIO(ok)) as z:
            assert {n: archive.read(n) for n in archive.names} == {
                i.filename: z.read(i) for i in z.infolist()
            }
    with zipfile.ZipFile(io.BytesIO(ok)) as z:
        sheet = z.read(SHEET)
    for _ in range(2):
        assert refused(declared(ok, SHEET, len(sheet), zlib.crc32(sheet) ^ 1)).code == "E_NOT_XLSX"
        short = sheet[:-100]
        assert refused(declared(ok, SHEET, len(short), zlib.crc32(short))).code == (
            "E_FILE_TOO_LARGE_UNCOMPRESSED"
        )
    twice = sheet.replace(b"</sheetData>", b'<row r="9"><c r="A1"/><c r="A1"/></row></sheetData>')
    elsewhere = replaced(ok, "xl/extra.xml", twice)  # not a sheet: its cells are not checked
    checked_archive(elsewhere)
    assert refused(replaced(elsewhere, SHEET, twice)).code == "E_CORRUPT_FILE"
    for n in range(2 * unpacking._KEPT):  # many distinct parts: what is kept stays bounded
        checked_archive(replaced(ok, "xl/extra.xml", b"<x>%d</x>" % n))
    assert len(unpacking._INFLATED) <= unpacking._KEPT
    assert len(unpacking._CHECKED) <= unpacking._KEPT


def test_a_reference_repeated_outside_the_cells_is_not_a_cell_named_twice() -> None:
    """The duplicate-cell scan first looks at every r="A1" attribute: one repeated in an
    element that is not a cell sends it on to the cells' own scan, which finds none twice."""
    with zipfile.ZipFile(io.BytesIO(workbook())) as z:
        sheet = z.read(SHEET)
    assert b'r="B2"' in sheet
    marked = sheet.replace(b"</worksheet>", b'<extLst><ext uri="x"><y r="B2"/></ext></extLst>'
                           b"</worksheet>")  # fmt: skip
    found = read_sheet(Received("ok.xlsx", replaced(workbook(), SHEET, marked)), "Return", 100, 10)
    assert found.at(1, 1).value == 1234.5
    twice = sheet.replace(b"</sheetData>", b'<row r="9"><c r="B2"/></row></sheetData>')
    assert refused(replaced(workbook(), SHEET, twice)).code == "E_CORRUPT_FILE"


@pytest.mark.parametrize(
    "merges",
    [
        b'<x:mergeCell ref="B2:C3"/><x:mergeCell ref="A1:H1"/>',  # prefixed, before the title's
        b'<mergeCell ref="A1:H1"/><mergeCell ref="B2:C3"/>',
        b'<x:mergeCell ref="A1:H1"/><mergeCells><mergeCell ref="B2:C3"/></mergeCells>',
        b'<ns.a-b:mergeCell\tref="B2:C3"/><mergeCell ref="A1:H1"/>',
    ],
)
def test_every_merge_is_seen_wherever_and_however_it_is_written(merges: bytes) -> None:
    """The merge scans start at the "<" before the first merge's name: a merge written with a
    prefix, before or after the title's, is still counted, and the title's alone passes."""
    with zipfile.ZipFile(io.BytesIO(workbook())) as z:
        sheet = z.read(SHEET)
    title_only = sheet.replace(b"</sheetData>", b'</sheetData><x:mergeCell ref="A1:H1"/>')
    checked_archive(replaced(workbook(), SHEET, title_only))  # the zip's checks alone
    merged = sheet.replace(b"</sheetData>", b"</sheetData>" + merges)
    with pytest.raises(UnsafeFile) as caught:
        checked_archive(replaced(workbook(), SHEET, merged))
    assert caught.value.code == "E_TEMPLATE_MODIFIED"
