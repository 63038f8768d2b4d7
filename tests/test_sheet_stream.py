"""The one-pass reader of an ordinary sheet (grants.excel.sheet_stream) gives the cells, the
hidden rows and columns, the limits and the refusals that grants.excel.sheet_xml gives: on
workbooks made with every kind of cell, on the return forms as issued and as filled, and on
every bad file of the returns' suite. And it does read them (it does not hand them all on)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from grants.excel import safe_read, sheet_stream
from grants.excel.safe_read import UnsafeFile, read_sheet
from grants.services.form_rows import Received
from tests.test_returns import _cases, fill, issued  # noqa: F401  (issued: a fixture)
from tests.test_safe_read import ROWS, sheet

Outcome = tuple[Any, ...]


def outcome(data: bytes, name: str, limits: tuple[int, int]) -> Outcome:
    try:
        found = read_sheet(Received("x.xlsx", data), name, *limits)
    except UnsafeFile as exc:
        return ("refused", exc.code, exc.message, exc.where)
    # Every cell that holds a value, row by row and each row's from the left, and no other.
    held = [(r, c) for r, row in enumerate(found.rows) for c, x in enumerate(row)
            if x.value is not None]  # fmt: skip
    assert found.filled == held
    return (found.rows, found.hidden_rows, found.hidden_columns, found.beyond, found.sheetnames,
            found.states, found.active)  # fmt: skip


def both(
    monkeypatch: pytest.MonkeyPatch, data: bytes, name: str = "Return", limits=(40, 12)
) -> tuple[Outcome, Outcome, int]:
    """What each reader makes of a workbook, and how many sheets the one-pass reader read
    through (not handing them on)."""
    streamed = [0]
    real = sheet_stream.read

    def counting(*args: Any) -> Any:
        found = real(*args)
        streamed[0] += 1
        return found

    def unusual(*_args: Any) -> Any:
        raise sheet_stream.Unusual("test")

    monkeypatch.setattr(sheet_stream, "read", counting)
    one_pass = outcome(data, name, limits)
    monkeypatch.setattr(sheet_stream, "read", unusual)
    fallback = outcome(data, name, limits)
    monkeypatch.setattr(sheet_stream, "read", real)
    return one_pass, fallback, streamed[0]


def workbook(fill_in: Callable[[Any], None], date1904: bool = False) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Return"
    wb.create_sheet("Instructions")["A1"] = "Read me"
    if date1904:
        wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    fill_in(ws)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def every_kind(ws: Any) -> None:
    ws.append(["Title", 12, -2.5e3, 1.5, 0, True, False, None, "", "  padded "])
    ws.append([datetime(2017, 10, 20), datetime(2017, 10, 20, 13, 30), time(7, 15),
               timedelta(hours=30), "=SUM(B1:C1)", '=A1&"x"', "#N/A", 10**15, 1e-9])  # fmt: skip
    ws["D2"].number_format = "dd/mm/yyyy"
    ws["E2"].number_format = "[h]:mm:ss"
    ws["A4"] = "Line with a\nbreak & <angle> \u00a3 \u202e"
    ws["L5"] = "past the columns"
    ws["B60"] = "past the rows"
    ws.row_dimensions[3].hidden = True
    ws.column_dimensions["C"].hidden = True
    ws.column_dimensions["Z"].hidden = True


@pytest.mark.parametrize("date1904", [False, True])
def test_every_kind_of_cell_is_read_alike(monkeypatch: pytest.MonkeyPatch, date1904: bool) -> None:
    one_pass, fallback, streamed = both(monkeypatch, workbook(every_kind, date1904))
    assert one_pass == fallback and streamed == 1
    rows = one_pass[0]
    assert [c.value for c in rows[0][:3]] == ["Title", 12, -2500]
    assert rows[1][4].data_type == "f" and rows[1][4].value == "=SUM(B1:C1)"
    assert one_pass[1:4] == ({2}, {2}, (59, 1)) and rows[4][11].value == "past the columns"


def test_limits_and_other_sheets_are_read_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    data = workbook(every_kind)
    for name, limits in [("Return", (1, 1)), ("Return", (100, 50)), ("Instructions", (5, 5)),
                         ("Nothing", (5, 5))]:  # fmt: skip
        one_pass, fallback, _ = both(monkeypatch, data, name, limits)
        assert one_pass == fallback, (name, limits)


def raw_sheet(rows: str) -> bytes:
    """A workbook whose Return sheet is the given rows."""
    ok = workbook(lambda ws: None)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(ok)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            body = sheet(rows) if info.filename == "xl/worksheets/sheet1.xml" else zin.read(info)
            zout.writestr(info.filename, body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


@pytest.mark.parametrize(
    ("rows", "read_through"),
    [
        (ROWS, False),  # shared and array formulas, rich text, rows and cells unnumbered
        ('<row r="1"><c r="A1"><v>1_000</v></c></row>', True),
        ('<row r="1"><c r="A1" t="s"><v>x</v></c><c r="B1"><v>INF</v></c></row>', True),
        ('<row r="2"><c r="A2"><v>1</v></c></row><row r="1"><c r="A1"><v>1</v></c></row>', True),
        ('<row r="1"><c r="B1"><v>1</v></c><c r="A1"><v>2</v></c></row>', True),
        ('<row r="1"><c r="A2"><v>1</v></c></row>', True),
        ('<row r="1"><c r="A1"><v>1</v></c></row><row r="1"/>', True),
        ('<row r="1"><c r="A1" t="s"><v>3</v></c></row>', True),
        ('<row r="1"><c r="A1" t="b"><v>2</v></c><c r="B1" t="e"><v>#REF!</v></c></row>', True),
        ('<row r="1"><c r="A1" t="d"><v>2017-10-20T00:00:00</v></c></row>', True),
        ('<row r="1"><c r="A1" t="str"><f>A2</f><v>cached</v></c></row>', True),
        ('<row r="1"><c r="A1"><f>1+1</f><v>1.2.3</v></c></row>', True),
        ('<row r="1"><c r="A1" t="inlineStr"><is/></c><c r="B1" t="inlineStr"/></row>', True),
        ('<row r="1"><c r="A1"><v>1</v><v>2</v></c></row>', False),
        ('<row r="1"><c r="A1" s=""><v>1</v></c></row>', False),
        ('<row r="1"><c r="a1"><v>1</v></c></row>', False),
        ('<row r="1"><c r="XFE1"><v>1</v></c></row>', True),  # past Excel's columns: beyond
        ('<row r="1" hidden="true"><c r="A1"><v>1</v><x/></c></row>', False),
        ('<row r="1" hidden="1"><c r="A1" s="0"><v>1</v></c></row>', True),
        ('<row r="1"><c r="A1"><v>1</v></c>', True),  # not well formed
    ],
)  # fmt: skip
def test_unusual_and_bad_sheets_are_read_or_refused_alike(
    monkeypatch: pytest.MonkeyPatch, rows: str, read_through: bool
) -> None:
    one_pass, fallback, streamed = both(monkeypatch, raw_sheet(rows))
    assert one_pass == fallback
    assert streamed == (read_through and one_pass[0] != "refused")


def test_a_row_of_more_cells_than_excel_writes_is_refused_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from grants.excel.sheet_xml import MAX_NODES

    one_pass, fallback, _ = both(monkeypatch, raw_sheet('<row r="1">' + "<c/>" * 10 + "</row>"))
    assert one_pass == fallback
    monkeypatch.setattr(sheet_stream, "MAX_NODES", 5)
    with pytest.raises(UnsafeFile, match="cannot be read"):
        read_sheet(Received("x.xlsx", raw_sheet('<row r="1">' + "".join(f'<c r="{c}1"/>' for c in "ABCDEF") + "</row>")),
                   "Return", 5, 5)  # fmt: skip
    assert MAX_NODES > 5


def test_the_return_forms_issued_filled_and_refused_are_read_alike(
    monkeypatch: pytest.MonkeyPatch,
    issued: Path,  # noqa: F811  (the fixture of tests/test_returns.py)
    tmp_path: Path,
) -> None:
    filled = fill(issued, tmp_path / "filled.xlsx")
    typed = fill(issued, tmp_path / "typed.xlsx", D13="=SUM(1,2)", D14=-5, E13="x" * 4001)
    read_through = 0
    for path in (issued, filled, typed):
        one_pass, fallback, streamed = both(monkeypatch, path.read_bytes(), limits=(1000, 50))
        assert one_pass == fallback and one_pass[0] != "refused"
        read_through += streamed
    assert read_through == 3
    for name, (path, _code) in _cases(issued, tmp_path).items():
        one_pass, fallback, _ = both(monkeypatch, path.read_bytes(), limits=(1000, 50))
        assert one_pass == fallback, name


def test_the_reader_keeps_to_its_own_module() -> None:
    assert safe_read.sheet_stream is sheet_stream


def test_a_workbook_part_seen_before_is_read_alike_and_a_bad_one_refused_each_time() -> None:
    # The sheet list and relationships of forms issued together are the same bytes, parsed
    # once; a part that cannot be parsed is never remembered as parsed.
    good = workbook(every_kind)
    first = outcome(good, "Return", (40, 12))
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        rels = z.read("xl/_rels/workbook.xml.rels")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            body = zin.read(info) if info.filename != "xl/_rels/workbook.xml.rels" else rels[:-20]
            zout.writestr(info.filename, body, zipfile.ZIP_DEFLATED)
    for _ in range(2):
        assert outcome(out.getvalue(), "Return", (40, 12))[:2] == ("refused", "E_CORRUPT_FILE")
        assert outcome(good, "Return", (40, 12)) == first


def test_the_cells_and_styles_remembered_are_bounded_and_read_alike_again() -> None:
    """A sheet naming more cells and styles than are remembered reads the same a second time,
    and what is remembered stays within its bound; a reference past ZZZ is still handed on."""
    from openpyxl.utils.datetime import WINDOWS_EPOCH

    from grants.excel.sheet_xml import RowReader

    many = sheet_stream._KEPT + 500
    rows = "".join(f'<row r="{n}"><c r="A{n}" s="{n}"><v>{n}</v></c></row>' for n in
                   range(1, many + 1))  # fmt: skip
    data = sheet(rows)
    reader = RowReader([], WINDOWS_EPOCH, frozenset(), frozenset())
    first = sheet_stream.read(data, reader, "Return", many, 3).rows
    assert first == sheet_stream.read(data, reader, "Return", many, 3).rows
    assert len(first) == many
    assert first[many - 1] == [safe_read.Cell(many, "n"), safe_read.EMPTY, safe_read.EMPTY]
    assert type(first[many - 1][0]) is safe_read.Cell
    assert len(sheet_stream._PLACES) <= sheet_stream._KEPT
    assert len(sheet_stream._STYLES) <= sheet_stream._KEPT
    with pytest.raises(sheet_stream.Unusual):
        sheet_stream.read(sheet('<row r="1"><c r="AAAA1"><v>1</v></c></row>'), reader, "R", 9, 9)
    with pytest.raises(sheet_stream.Unusual):
        sheet_stream.read(sheet('<row r="1"><c r="A1" s="x"><v>1</v></c></row>'), reader, "R", 9, 9)


def test_a_style_written_long_is_read_but_not_kept() -> None:
    """Uploads cannot fill what is kept with long texts: a style with thousands of leading
    zeros is read as its number and left out of the kept styles."""
    long_style = "0" * 4000 + "7"
    before = len(sheet_stream._STYLES)
    assert sheet_stream._style(long_style) == 7
    assert long_style not in sheet_stream._STYLES
    assert len(sheet_stream._STYLES) == before
    assert sheet_stream._style("7") == 7
