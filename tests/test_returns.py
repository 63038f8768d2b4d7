"""Return forms out and back: issue, fill as a recipient would, import; every bad file of
shared/RELIABILITY.md's table refused with a clear message and nothing written."""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from grants.db.models import Entry, ReturnFigure, ReturnFiling
from tests.conftest import Grants, add_person
from tests.helpers import books
from tests.test_archive import SHEET, declared
from tests.test_plans import FUND, PLAN

CHERWELL = "csf-2017-18-mid-year-cherwell.xlsx"


@pytest.fixture
def issued(grants: Grants, tmp_path: Path) -> Path:
    assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN))).exit_code == 0
    out = tmp_path / "forms"
    result = grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                    "mid-year", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    return out / CHERWELL


KEEP = object()  # a cell left as issued (a one-line form's total, in row 14)


def fill(form: Path, target: Path, **cells: object) -> Path:
    """Fill the form as a recipient would (openpyxl standing in for Excel); a cell given
    as KEEP is left as issued."""
    values: dict[str, object] = {
        "B9": "Jo Bloggs", "B10": datetime(2017, 10, 20), "D13": "£1,234", "E13": "Two posts",
        "F13": "Victims supported", "G13": 100, "H13": 45, "D14": 9000.5,
    }  # fmt: skip
    values.update(cells)
    wb = openpyxl.load_workbook(form)
    ws = wb["Return"]
    for ref, value in values.items():
        if value is not KEEP:
            ws[ref] = value
    wb.save(target)
    return target


def rezip(source: Path, target: Path, edit: dict[str, bytes | None]) -> Path:
    """A copy of a workbook with parts replaced (bytes) or removed (None)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in edit:
                if edit[info.filename] is not None:
                    zout.writestr(info.filename, edit[info.filename])
            else:
                zout.writestr(info, zin.read(info))
        for name, data in edit.items():
            if name not in zin.namelist() and data is not None:
                zout.writestr(name, data)
    return target


def part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def nothing_recorded(session: Session) -> bool:
    session.expire_all()
    filings = session.scalar(select(func.count()).select_from(ReturnFiling))
    spent = session.scalar(select(func.count()).select_from(Entry).where(Entry.kind == "spent"))
    return filings == 0 and spent == 0


def test_a_filled_return_is_recorded_once(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    filled = fill(issued, tmp_path / "filled.xlsx")
    dry = grants("returns", "import", "--dry-run", str(filled))
    assert dry.exit_code == 0, dry.output
    assert "would record the mid-year return for CSF CHERWELL 2017-18: 2 lines, spend to " \
        "date £10,234.50" in dry.output  # fmt: skip
    result = grants("returns", "import", str(filled))
    assert result.exit_code == 0, result.output
    again = grants("returns", "import", str(filled))
    assert again.exit_code == 0 and "already imported" in again.output
    session.expire_all()
    filing = session.scalars(select(ReturnFiling)).one()
    assert (filing.stage, filing.completed_by, str(filing.completed_on)) == (
        "mid-year",
        "Jo Bloggs",
        "2017-10-20",
    )
    figures = session.scalars(select(ReturnFigure).order_by(ReturnFigure.position)).all()
    assert [(f.title, f.spend_pence, f.target, f.actual) for f in figures] == [
        ("Three IDVA posts", 123_400, 100, 45),
        ("ASB caseworker", 900_050, None, None),
    ]
    spent = session.scalars(select(Entry).where(Entry.kind == "spent")).all()
    assert [(e.amount_pence, str(e.day)) for e in spent] == [(1_023_450, "2017-09-30")]
    assert spent[0].origin == "filled.xlsx:Return!D13:D14"


def test_a_corrected_return_supersedes_and_both_are_kept(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    assert grants("returns", "import", str(fill(issued, tmp_path / "first.xlsx"))).exit_code == 0
    fixed = fill(issued, tmp_path / "second.xlsx", D14=8000)
    add_person(grants.url, "officer2", ["officer"])  # the filing names who signed in
    result = grants.as_user("officer2")("returns", "import", str(fixed))
    assert result.exit_code == 0, result.output
    assert "supersedes the return filed" in result.output and "(first.xlsx)" in result.output
    # Who filed what and when (read before this test's own session takes the database).
    shown = json.loads(grants("returns", "history", "--stream", "CSF", "--json").output)
    assert [
        (h["file"], h["recorded_by"], h["completed_by"], h["spend_to_date"], h["stands"])
        for h in shown
    ] == [
        ("first.xlsx", "officer", "Jo Bloggs", "10234.50", False),
        ("second.xlsx", "officer2", "Jo Bloggs", "9234.00", True),
    ]
    assert shown[1]["supersedes"] == shown[0]["filing"]
    text = grants("returns", "history", "--line", "CHERWELL").output
    assert f"superseded by #{shown[1]['filing']}" in text and "stands" in text
    assert grants("returns", "history", "--stream", "NOPE").exit_code == 1
    session.expire_all()
    filings = session.scalars(select(ReturnFiling).order_by(ReturnFiling.id)).all()
    assert [(f.filename, f.actor, f.supersedes_id) for f in filings] == [
        ("first.xlsx", filings[0].actor, None),
        ("second.xlsx", "officer2", filings[0].id),
    ]
    spent = session.scalars(select(Entry).where(Entry.kind == "spent").order_by(Entry.id)).all()
    # recorded, reversed (the superseded filing's entry), and the correction
    assert [(e.amount_pence, e.reverses_id) for e in spent] == [
        (1_023_450, None), (1_023_450, spent[0].id), (923_400, None),
    ]  # fmt: skip


# -- bad files: each refused with its reason, nothing written --------------------------------


def _cases(form: Path, tmp: Path) -> dict[str, tuple[Path, str]]:
    ok = fill(form, tmp / "ok.xlsx")
    sheet = part(ok, "xl/worksheets/sheet1.xml")
    types = part(ok, "[Content_Types].xml")
    workbook = part(ok, "xl/workbook.xml")
    big = tmp / "big.xlsx"
    big.write_bytes(b"PK\x03\x04" + os.urandom(6 * 1024 * 1024))
    half = tmp / "half.xlsx"
    half.write_bytes(ok.read_bytes()[: ok.stat().st_size // 2])
    csv = tmp / "csv.xlsx"
    csv.write_text("title,spend\nThree IDVA posts,1234\n")
    empty = tmp / "empty.xlsx"
    empty.write_bytes(b"")
    ole = tmp / "ole.xlsx"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/worksheets/sheet1.xml", b" " * (30 * 1024 * 1024))
    bombed = tmp / "bomb.xlsx"
    bombed.write_bytes(bomb.getvalue())
    # The same sheet padded to 30 MB, its zip directory claiming only the sheet's own bytes.
    padded = rezip(ok, tmp / "padded.xlsx", {SHEET: sheet + b" " * (30 * 1024 * 1024)})
    understated = tmp / "understated.xlsx"
    understated.write_bytes(declared(padded.read_bytes(), SHEET, len(sheet), zlib.crc32(sheet)))
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><sst xmlns="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol2;</t></si></sst>'
    )
    first_cell = sheet.index(b"<c r=")
    raw = bytearray(ok.read_bytes())
    with zipfile.ZipFile(ok) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 10, start + 60):
        raw[i] ^= 0xFF  # garble the compressed sheet
    corrupt = tmp / "corrupt.xlsx"
    corrupt.write_bytes(bytes(raw))
    duplicate = sheet.replace(b'<c r="B9"', b'<c r="B10"', 1)
    rels = part(ok, "xl/_rels/workbook.xml.rels")
    root_rels = part(ok, "_rels/.rels")
    twice = tmp / "twice.xlsx"
    shutil.copyfile(ok, twice)
    with warnings.catch_warnings(), zipfile.ZipFile(twice, "a") as z:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name it writes
        z.writestr("xl/worksheets/sheet1.xml", sheet.replace(b"Jo Bloggs", b"Somebody else"))
    return {
        "empty": (empty, "[E_NOT_XLSX]"),
        "csv renamed": (csv, "[E_NOT_XLSX]"),
        "first half": (half, "[E_NOT_XLSX]"),
        "old xls or encrypted": (ole, "[E_LEGACY_OR_ENCRYPTED]"),
        "too large": (big, "[E_FILE_TOO_LARGE]"),
        "zip bomb": (bombed, "[E_FILE_TOO_LARGE_UNCOMPRESSED]"),
        "zip bomb understating its size": (understated, "[E_FILE_TOO_LARGE_UNCOMPRESSED]"),
        "no content types": (rezip(ok, tmp / "noct.xlsx", {"[Content_Types].xml": None}),
                             "[E_NOT_XLSX]"),
        "macros": (rezip(ok, tmp / "vba.xlsx", {"xl/vbaProject.bin": b"\x00" * 64}),
                   "[E_MACROS_NOT_ALLOWED]"),
        "macro content type": (rezip(ok, tmp / "xlsm.xlsx", {"[Content_Types].xml": types.replace(
            b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml")}),
            "[E_MACROS_NOT_ALLOWED]"),
        "billion laughs": (rezip(ok, tmp / "lol.xlsx", {"xl/sharedStrings.xml": laughs}),
                           "[E_UNSAFE_XML]"),
        "xxe": (rezip(ok, tmp / "xxe.xlsx", {"xl/worksheets/sheet1.xml": sheet.replace(
            b"<worksheet", b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><worksheet',
            1).replace(b"Jo Bloggs", b"&xxe;")}), "[E_UNSAFE_XML]"),
        "strict ooxml": (rezip(ok, tmp / "strict.xlsx", {"xl/workbook.xml": workbook.replace(
            b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
            b"http://purl.oclc.org/ooxml/spreadsheetml/main")}), "[E_STRICT_OOXML]"),
        "duplicate cell": (rezip(ok, tmp / "dup.xlsx", {"xl/worksheets/sheet1.xml": duplicate}),
                           "[E_CORRUPT_FILE]"),
        "merged cells": (rezip(ok, tmp / "merged.xlsx", {"xl/worksheets/sheet1.xml": sheet.replace(
            b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="D13:E13"/>'
            b"</mergeCells>")}), "[E_TEMPLATE_MODIFIED]"),
        "sheet not well formed": (rezip(ok, tmp / "broken.xlsx", {
            "xl/worksheets/sheet1.xml": sheet[: first_cell + 40]}), "[E_CORRUPT_FILE]"),
        "no sheet part": (rezip(ok, tmp / "nosheet.xlsx", {"xl/worksheets/sheet1.xml": None}),
                          "E_"),
        "duplicate cell, single quotes": (rezip(ok, tmp / "dup1.xlsx", {
            "xl/worksheets/sheet1.xml": sheet.replace(b'<c r="B9"', b"<c r='B10'", 1)}),
            "[E_CORRUPT_FILE]"),
        "duplicate cell, prefixed": (rezip(ok, tmp / "dup2.xlsx", {
            "xl/worksheets/sheet1.xml": sheet.replace(b'<c r="B9"', b'<x:c r="B10"', 1)}),
            "[E_CORRUPT_FILE]"),
        "corrupt deflate stream": (corrupt, "[E_CORRUPT_FILE]"),
        "row 0 before the rows": (rezip(ok, tmp / "row0.xlsx", {"xl/worksheets/sheet1.xml":
            sheet.replace(b"<sheetData>", b'<sheetData><row r="0"><c><v>777</v></c></row>', 1)}),
            "[E_CORRUPT_FILE]"),
        "a row repeated after the rows": (rezip(ok, tmp / "again.xlsx", {
            "xl/worksheets/sheet1.xml": sheet.replace(
                b"</sheetData>", b'<row r="13"><c t="n"><v>5</v></c></row></sheetData>', 1)}),
            "[E_CORRUPT_FILE]"),
        "a cell with no reference before D13": (rezip(ok, tmp / "noref.xlsx", {
            "xl/worksheets/sheet1.xml": sheet.replace(
                b'<c r="D13"', b'<c t="n"><v>5</v></c><c r="D13"', 1)}), "[E_CORRUPT_FILE]"),
        "a lower-case reference": (rezip(ok, tmp / "lower.xlsx", {
            "xl/worksheets/sheet1.xml": sheet.replace(b'<c r="B9"', b'<c r="b10"', 1)}),
            "[E_CORRUPT_FILE]"),
        "the sheet kept outside the worksheets": (rezip(ok, tmp / "media.xlsx", {
            "xl/_rels/workbook.xml.rels": rels.replace(b"worksheets/sheet1.xml",
                                                       b"media/data.xml", 1),
            "xl/media/data.xml": sheet}), "[E_TEMPLATE_MODIFIED]"),
        "the main part elsewhere": (rezip(ok, tmp / "main.xlsx", {
            "_rels/.rels": root_rels.replace(b"xl/workbook.xml", b"xl/other.xml", 1),
            "xl/other.xml": workbook}), "[E_CORRUPT_FILE]"),
        "two parts of one name": (twice, "[E_CORRUPT_FILE]"),
        "entities in UTF-16 without a byte-order mark": (rezip(ok, tmp / "utf16.xlsx", {
            "xl/worksheets/sheet1.xml": sheet.replace(
                b'<?xml version="1.0" encoding="utf-8"?>', b"", 1).replace(
                b"<worksheet", b'<!DOCTYPE x [<!ENTITY e "x">]><worksheet', 1).decode(
                "utf-8").encode("utf-16-le")}), "[E_UNSAFE_XML]"),
    }  # fmt: skip


def test_every_bad_file_is_refused_with_its_reason_and_nothing_is_written(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    cases = _cases(issued, tmp_path)
    for name, (path, code) in cases.items():
        result = grants("returns", "import", str(path))
        assert result.exit_code == 1, (name, result.output)
        assert f"{path.name}: " in result.output and code in result.output, (name, result.output)
        assert "Traceback" not in result.output
    assert nothing_recorded(session)


@pytest.mark.parametrize(
    ("cells", "problems"),
    [
        ({"D13": "=SUM(1,2,3)"}, ["Return!D13: spend to date is a formula (=SUM(1,2,3)): type "
                                  "the amount itself"]),
        ({"D13": 1234.565}, ["Return!D13: spend to date: '1234.565' has fractions of a penny"]),
        ({"D13": "1 234"}, ["Return!D13: spend to date: '1 234' is not an amount of money"]),
        ({"D13": "\u22121234"}, ["Return!D13: spend to date:"]),
        ({"D13": "1,23,4"}, ["Return!D13: spend to date: '1,23,4'"]),
        ({"D14": -5}, ["Return!D14: spend to date cannot be negative (-£5.00)"]),
        ({"G13": "lots"}, ["Return!G13: output target must be a whole number, 0 or more "
                           "(not 'lots')"]),
        ({"H13": 4.5}, ["Return!H13: output actual must be a whole number"]),
        ({"B10": "yesterday"}, ["Return!B10: the date completed is not a date ('yesterday')"]),
        ({"B10": "10/20/2017"}, ["Return!B10: the date completed is not a date ('10/20/2017')"]),
        ({"B10": datetime(2016, 1, 1)}, ["Return!B10: the date completed 01/01/2016 is not "
                                         "between 01/04/2017 and today"]),
        ({"B10": "20171020"}, ["Return!B10: the date completed is not a date ('20171020')"]),
        ({"G13": "\uff11\uff12"}, ["Return!G13: output target must be a whole number"]),
        ({"B13": "Three IDVA post"}, ["Return!B13: line 1 should be 'Three IDVA posts' as "
                                      "agreed in the plan, but is 'Three IDVA post'"]),
        ({"B14": None}, ["Return!B14: line 2 should be 'ASB caseworker' as agreed in the plan, "
                         "but is blank"]),
        ({"B15": "Extra line"}, ["Return!B15: the form's lines have been changed"]),
        ({"B20": "Another extra"}, ["Return!B20: something was added below the form"]),
        ({"C13": 99999}, ["Return!C13: the planned cost of 'Three IDVA posts' was changed"]),
        ({"D16": 5000}, ["Return!D16: your total, £5,000.00, is not the sum of the lines' spend "
                         "to date, £10,234.50"]),
        ({"B3": "something else"}, ["Return!B3: the form's identity is missing or altered"]),
        ({"E13": "x" * 4001}, ["Return!E13: progress and outcomes is 4,001 characters"]),
        ({"E13": "Two\u202eposts", "F13": "Victims\u200bsupported",
          "D13": 1_000_000_000_000, "D14": 1e20},
         ["Return!E13: progress and outcomes 'Two\\u202eposts' has U+202E RIGHT-TO-LEFT "
          "OVERRIDE at character 4: a bidirectional control, which can show text in another "
          "order than it is stored; type it again without it",
          "Return!F13: output measure 'Victims\\u200bsupported' has U+200B ZERO WIDTH SPACE "
          "at character 8: an invisible character, which can make two texts that look the "
          "same differ; type it again without it",
          "Return!D13: spend to date: 1000000000000 is larger than one entry may hold (at "
          "most £999,999,999,999.99); check the amount\n",
          "Return!D14: spend to date: 100000000000000000000 is larger than one entry may "
          "hold (at most £999,999,999,999.99); check the amount\n"]),
    ],
)  # fmt: skip
def test_cell_problems_name_the_cell_and_nothing_is_written(
    grants: Grants,
    issued: Path,
    tmp_path: Path,
    session: Session,
    cells: dict[str, object],
    problems: list[str],
) -> None:
    filled = fill(issued, tmp_path / "filled.xlsx", **cells)
    result = grants("returns", "import", str(filled))
    assert result.exit_code == 1, result.output
    for problem in problems:
        assert f"filled.xlsx:{problem}" in result.output, result.output
    assert "1 of 1 file not recorded" in result.output
    assert nothing_recorded(session)


def test_control_characters_in_a_cell_are_refused_with_the_cell(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    # Excel shows _x0000_ and _x001B_ in a file as the characters themselves.
    ok = fill(issued, tmp_path / "ok.xlsx", E13="NULHERE", F13="ESCHERE", B9="TABHERE")
    sheet = part(ok, "xl/worksheets/sheet1.xml")
    sheet = sheet.replace(b"NULHERE", b"a_x0000_b").replace(b"ESCHERE", b"a_x001B_[2J")
    sheet = sheet.replace(b"TABHERE", b"Jo_x0009_Bloggs")
    bad = rezip(ok, tmp_path / "bad.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    result = grants("returns", "import", str(bad))
    assert result.exit_code == 1
    control = "a control character; type it again without it"
    assert result.output.splitlines()[:3] == [
        f"bad.xlsx:Return!E13: progress and outcomes 'a\\x00b' has U+0000 NULL at character 2: "
        f"{control}",
        f"bad.xlsx:Return!F13: output measure 'a\\x1b[2J' has U+001B ESCAPE at character 2: "
        f"{control}",
        "bad.xlsx:Return!B9: completed by 'Jo\\tBloggs' has U+0009 TAB at character 3: a tab, "
        "which only a note may hold; use spaces instead",
    ]
    assert nothing_recorded(session)


def test_a_non_finite_number_is_refused(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    ok = fill(issued, tmp_path / "ok.xlsx")
    sheet = part(ok, "xl/worksheets/sheet1.xml")
    assert b"<v>9000.5</v>" in sheet
    bad = rezip(ok, tmp_path / "huge.xlsx", {
        "xl/worksheets/sheet1.xml": sheet.replace(b"<v>9000.5</v>", b"<v>1E999</v>")})  # fmt: skip
    result = grants("returns", "import", str(bad))
    assert result.exit_code == 1
    assert "huge.xlsx:Return!D14: spend to date: inf is not an amount" in result.output
    assert nothing_recorded(session)


def test_a_date_serial_in_the_date_cell_is_read_as_the_date(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    # The date cell is formatted as a date, so a serial typed into it is that date.
    result = grants("returns", "import", str(fill(issued, tmp_path / "f.xlsx", B10=43028)))
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert str(session.scalars(select(ReturnFiling)).one().completed_on) == "2017-10-20"


def test_accepted_spellings_of_amounts_and_dates(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    filled = fill(issued, tmp_path / "f.xlsx", D13="£1,234.50", D14="(0)", B10="31/10/2017",
                  D16="1,234.50", G13="1,000")  # fmt: skip
    result = grants("returns", "import", str(filled))
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert str(session.scalars(select(ReturnFiling)).one().completed_on) == "2017-10-31"


def test_a_form_whose_identity_was_changed_is_refused(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    identity = str(openpyxl.load_workbook(issued)["Return"]["B3"].value)
    forged = fill(issued, tmp_path / "f.xlsx", B3=identity.replace("mid-year", "end-year"))
    result = grants("returns", "import", str(forged))
    assert result.exit_code == 1
    assert "f.xlsx:Return!B3: this form was not issued by this ledger, or its identity was " \
        "altered" in result.output  # fmt: skip
    assert nothing_recorded(session)


def test_a_valid_workbook_is_read_whatever_its_name(grants: Grants, issued: Path,
                                                    tmp_path: Path) -> None:  # fmt: skip
    renamed = tmp_path / "return.csv"
    renamed.write_bytes(fill(issued, tmp_path / "f.xlsx").read_bytes())
    result = grants("returns", "import", "--dry-run", str(renamed))
    assert result.exit_code == 0, result.output


def test_stages_in_any_order_keep_the_journal_at_the_latest_stage(
    grants: Grants, issued: Path, tmp_path: Path, engine: Engine
) -> None:
    end_form = issued.parent.parent / "end"
    assert grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                  "end-year", "-o", str(end_form)).exit_code == 0  # fmt: skip
    end = fill(end_form / "csf-2017-18-end-year-cherwell.xlsx", tmp_path / "end.xlsx",
               D13=30000, D14=20000, B10=datetime(2018, 4, 20))  # fmt: skip
    assert grants("returns", "import", str(end)).exit_code == 0
    # The mid-year return arrives late: recorded, and the journal stays at the end-year figure.
    late = fill(issued, tmp_path / "mid.xlsx", D13=10000, D14=5000)
    result = grants("returns", "import", str(late))
    assert result.exit_code == 0, result.output

    def reported() -> int:
        with Session(engine) as session:  # a short read, so that the next import can write
            spent = session.scalars(select(Entry).where(Entry.kind == "spent")).all()
            return sum(-e.amount_pence if e.reverses_id else e.amount_pence for e in spent)

    assert reported() == 5_000_000
    # A corrected mid-year return changes nothing in the journal either.
    fixed = fill(issued, tmp_path / "mid2.xlsx", D13=11000, D14=5000)
    assert grants("returns", "import", str(fixed)).exit_code == 0
    assert reported() == 5_000_000
    # A mid-year figure above the end-year's is refused.
    high = fill(issued, tmp_path / "mid3.xlsx", D13=35000, D14=5000)
    result = grants("returns", "import", str(high))
    assert result.exit_code == 1
    assert ("mid3.xlsx:Return!D13: spend to date £35,000.00 is more than the £30,000.00 already "
            "reported at the later end-year") in result.output  # fmt: skip
    # A corrected end-year return with less spend takes the journal down with it.
    lower = fill(end_form / "csf-2017-18-end-year-cherwell.xlsx", tmp_path / "end2.xlsx",
                 D13=25000, D14=20000, B10=datetime(2018, 4, 21))  # fmt: skip
    assert grants("returns", "import", str(lower)).exit_code == 0
    assert reported() == 4_500_000


def test_a_form_for_an_older_plan_is_refused(grants: Grants, tmp_path: Path) -> None:
    unagreed = FUND + PLAN.replace("2017-06-30 agree CSF 2017-18 CHERWELL\n", "")
    assert grants("ledger", "load", str(books(tmp_path, unagreed))).exit_code == 0
    out = tmp_path / "forms"
    assert grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                  "mid-year", "-o", str(out)).exit_code == 0  # fmt: skip
    filled = fill(out / CHERWELL, tmp_path / "f.xlsx")
    added = grants("plan", "add", "CSF", "2017-18", "CHERWELL", "Youth outreach", "--cost", "1",
                   "--date", "2017-06-25")  # fmt: skip
    assert added.exit_code == 0, added.output
    result = grants("returns", "import", str(filled))
    assert result.exit_code == 1
    assert "f.xlsx:Return!B3: the form's identity does not match: it was altered, or the plan " \
        "or allocation has changed since the form was issued" in result.output  # fmt: skip


def test_spend_to_date_cannot_fall_below_an_earlier_stage(
    grants: Grants, issued: Path, tmp_path: Path
) -> None:
    assert grants("returns", "import", str(fill(issued, tmp_path / "mid.xlsx"))).exit_code == 0
    out = tmp_path / "end"
    result = grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                    "end-year", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    end = fill(out / "csf-2017-18-end-year-cherwell.xlsx", tmp_path / "end.xlsx", D14=100,
               B10=datetime(2018, 4, 20))  # fmt: skip
    result = grants("returns", "import", str(end))
    assert result.exit_code == 1
    assert ("end.xlsx:Return!D14: spend to date £100.00 is less than the £9,000.50 reported at "
            "mid-year") in result.output  # fmt: skip


def test_issue_needs_the_stage_in_the_calendar(grants: Grants, issued: Path) -> None:
    result = grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                    "q3", "-o", str(issued.parent))  # fmt: skip
    assert result.exit_code == 1
    assert "CSF has no stage 'q3' in 2017-18 (stages: mid-year, end-year)" in result.output


def test_the_form_is_locked_except_its_inputs(issued: Path) -> None:
    ws = openpyxl.load_workbook(issued)["Return"]
    assert ws.protection.sheet
    assert ws["B13"].protection.locked and ws["C13"].protection.locked
    assert not any(ws[f"{c}13"].protection.locked for c in "DEFGH")
    assert re.fullmatch(
        r"grants return form 2\|CSF\|2017-18\|CHERWELL\|mid-year\|[0-9a-f]{12}\|\|"
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}\|[0-9a-f]{16}(?:-[0-9a-f]{16}){3}",
        ws["B3"].value,
    )
    assert all(ws[f"B{row}"].protection.locked for row in range(3, 9))  # identity and display
    rules = {str(v.sqref): v.type for v in ws.data_validations.dataValidation}
    assert rules["D13:D14"] == "decimal" and rules["G13:H14"] == "whole"
    assert openpyxl.load_workbook(issued).sheetnames == ["Return", "Instructions"]


@pytest.mark.skipif(sys.platform != "linux", reason="uses POSIX signals")
def test_an_import_killed_at_any_point_leaves_no_partial_return(
    issued: Path, tmp_path: Path, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the kill test runs on the SQLite file; PostgreSQL commits atomically too")
    database = db_url.removeprefix("sqlite:///")
    grants_cli = [sys.executable, "-c", "from grants.cli.main import main; main()"]
    base = fill(issued, tmp_path / "base.xlsx")
    sheet = part(base, "xl/worksheets/sheet1.xml")
    count = 20

    def batch(run: int) -> list[Path]:
        """Files with figures never sent before (each import supersedes the last)."""
        return [
            rezip(base, tmp_path / f"r{run}-{i}.xlsx", {"xl/worksheets/sheet1.xml": sheet.replace(
                b"<v>9000.5</v>", f"<v>{9000 + 100 * run + i}.5</v>".encode())})
            for i in range(count)
        ]  # fmt: skip

    def start(files: list[Path]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*grants_cli, "--database", db_url, "returns", "import", *map(str, files)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    # When a run here records its first file and its last, watched in the ledger as it
    # goes: the kills land between the two, where files are being recorded. (Start-up is
    # most of a run's time, and how long it takes moves with the machine's load; a window
    # timed from a run of one file could close before the first of twenty was recorded.)
    with sqlite3.connect(database) as conn:
        before = conn.execute("SELECT count(*) FROM return_filing").fetchone()[0]
    first, last = _recording_window(start(batch(30)), database, before, count)
    before += count
    rng = random.Random(7)
    outcomes: list[int] = []
    for attempt in range(30):
        process = start(batch(attempt))
        time.sleep(rng.uniform(0.8 * first, last))
        process.send_signal(signal.SIGKILL)
        process.wait()
        with sqlite3.connect(database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            for (filing_id,) in conn.execute("SELECT id FROM return_filing"):
                figures = conn.execute(
                    "SELECT count(*) FROM return_figure WHERE filing_id = ?", (filing_id,)
                ).fetchone()[0]
                assert figures == 2, f"attempt {attempt}: filing {filing_id} is partial"
            standing = conn.execute(
                "SELECT coalesce(sum(rf.spend_pence), 0) FROM return_figure rf "
                "WHERE rf.filing_id NOT IN (SELECT supersedes_id FROM return_filing "
                "WHERE supersedes_id IS NOT NULL)"
            ).fetchone()[0]
            reported = conn.execute(
                "SELECT coalesce(sum(CASE WHEN reverses_id IS NULL THEN amount_pence "
                "ELSE -amount_pence END), 0) FROM entry WHERE kind = 'spent'"
            ).fetchone()[0]
            assert standing == reported, f"attempt {attempt}: the journal and filings disagree"
            done = conn.execute("SELECT count(*) FROM return_filing").fetchone()[0]
        outcomes.append(done - before)
        before = done
    # Some kills landed in the middle of a run, with some files recorded and others not.
    assert any(0 < n < count for n in outcomes), outcomes


def _recording_window(
    process: subprocess.Popen[bytes], database: str, before: int, count: int
) -> tuple[float, float]:
    """Seconds from the start of ``process`` (an import of ``count`` files) to its first
    file recorded and to its last, seen by reading the ledger as it runs (WAL: a reader
    does not hold the writer up)."""
    began = time.perf_counter()
    first = last = None
    with sqlite3.connect(database) as conn:
        while last is None:
            ended = process.poll() is not None  # read before the count: nothing missed
            done = conn.execute("SELECT count(*) FROM return_filing").fetchone()[0] - before
            now = time.perf_counter() - began
            if done > 0 and first is None:
                first = now
            if done >= count:
                last = now
            elif ended:
                break
            else:
                time.sleep(0.002)
    assert process.wait() == 0
    assert first is not None and last is not None, "the import did not record every file"
    return first, last


def test_the_pcc_template_for_an_area_lists_its_plan_with_the_returned_figures(
    grants: Grants, issued: Path, tmp_path: Path
) -> None:
    plan = json.loads(grants("report", "pcc-template", "--stream", "CSF", "--year", "2017-18",
                             "--area", "CHERWELL", "--json").output)  # fmt: skip
    assert [(r["title"], r["cost"]) for r in plan["rows"]] == [
        ("Three IDVA posts", "40000.00"), ("ASB caseworker", "18542.00"),
    ]  # fmt: skip
    filled = fill(issued, tmp_path / "f.xlsx", E14="Caseworker in post")
    assert grants("returns", "import", str(filled)).exit_code == 0
    path = tmp_path / "template.xlsx"
    result = grants("report", "pcc-template", "--stream", "CSF", "--year", "2017-18", "--area",
                    "CHERWELL", "--stage", "mid-year", "-o", str(path))  # fmt: skip
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(path, data_only=True)["CSF mid-year"]
    assert [[ws.cell(r, c).value for c in range(1, 8)] for r in (13, 14)] == [
        ["Three IDVA posts", "Two posts", 40000, pytest.approx(40000 / 58542),
         "Cherwell District Council: £5,000", 1234, 38766],
        ["ASB caseworker", "Caseworker in post", 18542, pytest.approx(18542 / 58542), "",
         9000.5, 9541.5],
    ]  # fmt: skip


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed here")
def test_a_form_saved_by_libreoffice_imports(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    filled = fill(issued, tmp_path / "filled.xlsx", D13="£1,234", B10=datetime(2017, 10, 20))
    out = tmp_path / "saved"
    done = subprocess.run(
        [SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
         "xlsx", "--outdir", str(out), str(filled)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = grants("returns", "import", str(out / "filled.xlsx"))
    assert result.exit_code == 0, result.output
    session.expire_all()
    filing = session.scalars(select(ReturnFiling)).one()
    assert str(filing.completed_on) == "2017-10-20"
    spends = [f.spend_pence for f in session.scalars(
        select(ReturnFigure).order_by(ReturnFigure.position))]  # fmt: skip
    assert spends == [123_400, 900_050]


def test_a_sheet_added_is_refused_naming_it(grants: Grants, issued: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(fill(issued, tmp_path / "f.xlsx"))
    hidden = wb.create_sheet("Secret")
    hidden.sheet_state = "veryHidden"
    hidden["D13"] = 999999
    wb.save(tmp_path / "extra.xlsx")
    result = grants("returns", "import", str(tmp_path / "extra.xlsx"))
    assert result.exit_code == 1, result.output
    assert ("extra.xlsx: the workbook has a sheet 'Secret' the form does not: send the form as "
            "issued, with no sheets added [E_TEMPLATE_MODIFIED]") in result.output  # fmt: skip


def test_hidden_rows_of_the_form_are_refused(grants: Grants, issued: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(fill(issued, tmp_path / "f.xlsx"))
    wb["Return"].row_dimensions[14].hidden = True
    wb.save(tmp_path / "hidden.xlsx")
    result = grants("returns", "import", str(tmp_path / "hidden.xlsx"))
    assert result.exit_code == 1, result.output
    assert ("hidden.xlsx: row 14 is hidden on the 'Return' sheet: unhide it and send "
            "again") in result.output  # fmt: skip


def test_a_cell_filled_far_beyond_the_form_is_refused(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    filled = fill(issued, tmp_path / "far.xlsx", XFD1048576="x")
    result = grants("returns", "import", str(filled))
    assert result.exit_code == 1
    assert ("far.xlsx:Return!XFD1048576: the sheet is filled far beyond the form: use the form "
            "as issued [E_SHEET_TOO_BIG]") in result.output  # fmt: skip
    assert nothing_recorded(session)


def test_a_cell_past_excels_last_column_is_refused_naming_it(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    """Cells written without references count on from the last: a row of 18,300 empty ones
    and then a figure puts it past column ZZZ, where a spreadsheet's own letters stop. The
    problem still names the cell; it is not a failure of the import."""
    filled = fill(issued, tmp_path / "f.xlsx")
    wide = tmp_path / "wide.xlsx"
    row = '<row r="1048576">' + "<c/>" * 18_300 + '<c t="n"><v>1</v></c></row>'
    with zipfile.ZipFile(filled) as source, zipfile.ZipFile(wide, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/") and b"<sheetData>" in data:
                data = data.replace(b"</sheetData>", row.encode() + b"</sheetData>")
            target.writestr(item, data)
    result = grants("returns", "import", str(wide))
    assert result.exit_code == 1, result.output
    assert ("wide.xlsx:Return!AAAW1048576: the sheet is filled far beyond the form: use the "
            "form as issued [E_SHEET_TOO_BIG]") in result.output  # fmt: skip
    assert nothing_recorded(session)


def test_the_return_sheet_is_found_by_name_wherever_it_is(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    """The sheets moved, the 1904 date system, strings stored inline (LibreOffice's save,
    tested above, stores them shared): the same figures."""
    wb = openpyxl.load_workbook(fill(issued, tmp_path / "f.xlsx"))
    wb.move_sheet("Return", offset=1)
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    wb.save(tmp_path / "moved.xlsx")
    assert wb.sheetnames.index("Return") == 1
    xml = part(tmp_path / "moved.xlsx", "xl/worksheets/sheet2.xml")
    assert b't="inlineStr"><is><t>Jo Bloggs</t>' in xml
    assert b"date1904" in part(tmp_path / "moved.xlsx", "xl/workbook.xml")
    result = grants("returns", "import", str(tmp_path / "moved.xlsx"))
    assert result.exit_code == 0, result.output
    assert "spend to date £10,234.50" in result.output
    session.expire_all()
    filing = session.scalars(select(ReturnFiling)).one()
    assert (filing.completed_by, str(filing.completed_on)) == ("Jo Bloggs", "2017-10-20")


def test_typed_text_amounts_and_spend_beyond_the_plan_are_named(
    grants: Grants, issued: Path, tmp_path: Path
) -> None:
    """Accepted, recorded as sent, and said: an amount typed as text, a line spending more
    than its planned cost, spend beyond the allocation (reconcile reports the overspend)."""
    filled = fill(issued, tmp_path / "over.xlsx", D13="£41,000", D14=18542)
    result = grants("returns", "import", str(filled))
    assert result.exit_code == 0, result.output
    assert ("over.xlsx:Return!D13: spend to date was typed as text ('£41,000'); read as "
            "£41,000.00 (warning)") in result.output  # fmt: skip
    assert ("over.xlsx:Return!D13: spend to date on 'Three IDVA posts', £41,000.00, is more "
            "than its planned cost of £40,000.00 (warning)") in result.output  # fmt: skip
    assert ("over.xlsx:Return!D15: spend to date, £59,542.00, is more than the allocation of "
            "£58,542.00: recorded as sent; `grants reconcile` reports the overspend "
            "(warning)") in result.output  # fmt: skip
    assert "recorded the mid-year return" in result.output


def test_an_infinite_number_in_a_locked_cell_is_refused_not_a_crash(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    ok = fill(issued, tmp_path / "ok.xlsx")
    sheet = part(ok, "xl/worksheets/sheet1.xml")
    edited, count = re.subn(rb'(<c r="C13"[^>]*>)<v>[^<]*</v>', rb"\1<v>1e999</v>", sheet)
    assert count == 1
    bad = rezip(ok, tmp_path / "inf.xlsx", {"xl/worksheets/sheet1.xml": edited})
    later = fill(issued, tmp_path / "later.xlsx")  # a batch goes on past the bad file
    result = grants("returns", "import", str(bad), str(later))
    assert result.exit_code == 1
    assert "inf.xlsx:Return!C13: the planned cost of 'Three IDVA posts' was changed" in (
        result.output
    )
    assert "later.xlsx: recorded the mid-year return" in result.output
    assert "Traceback" not in result.output


def test_a_form_sent_back_untouched_is_not_a_return(
    grants: Grants, issued: Path, tmp_path: Path, session: Session
) -> None:
    blank = tmp_path / "blank.xlsx"
    shutil.copyfile(issued, blank)
    result = grants("returns", "import", str(blank))
    assert result.exit_code == 1
    assert ("blank.xlsx:Return!D13: nothing has been filled in: give each line's spend to date "
            "and progress, and who completed the return and when, then send it again") in (
        result.output
    )  # fmt: skip
    named = fill(issued, tmp_path / "nil.xlsx", **dict.fromkeys(
        ("D13", "E13", "F13", "G13", "H13", "D14", "B10"), None))  # fmt: skip
    result = grants("returns", "import", str(named))  # a nil return, signed: taken
    assert result.exit_code == 0, result.output
    assert "no spend to date given" in result.output
