"""A received sheet is read cell for cell as openpyxl's own sheet parser reads it, and its
parser refuses a DTD or an entity whatever the checks before it missed."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from defusedxml import DefusedXmlException
from openpyxl.reader.strings import read_string_table
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH
from openpyxl.worksheet._reader import WorkSheetParser

from grants.excel.sheet_xml import RowReader, parse, shared_strings

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
ROWS = """
<row r="1" spans="1:9"><c r="A1" t="n"><v>12</v></c><c r="B1"><v>1.5</v></c>
  <c r="C1"><v>-2.5E3</v></c><c r="D1" s="1"><v>43028</v></c><c r="E1" s="2"><v>0.75</v></c>
  <c r="F1" s="0"><v>7</v></c><c r="G1" s="3"><v>1e400</v></c></row>
<row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2" t="b"><v>1</v></c><c r="C2" t="b"><v>0</v></c>
  <c r="D2" t="e"><v>#DIV/0!</v></c><c r="E2" t="str"><v>cached text</v></c>
  <c r="F2" t="d"><v>2017-10-20T00:00:00</v></c><c r="G2" t="n"><v></v></c><c r="H2"/></row>
<row r="3" hidden="1" ht="20" customHeight="1">
  <c r="A3" t="inlineStr"><is><t>plain</t></is></c>
  <c r="B3" t="inlineStr"><is><r><rPr><b/></rPr><t>bold</t></r><r><t xml:space="preserve"> run</t>
    </r><rPh sb="0" eb="1"><t>phonetic</t></rPh></is></c>
  <c r="C3" t="inlineStr"><is><t>first</t><t>last</t></is></c>
  <c r="D3" t="inlineStr"></c><c r="E3" t="inlineStr"><is><t>a_x000D_b &amp; c</t></is></c>
  <c r="F3" t="inlineStr"><is><t/></is></c></row>
<row r="4"><c r="A4"><f>SUM(1,2,3)</f><v>6</v></c><c r="B4" t="str"><f>A1&amp;"x"</f><v>12x</v></c>
  <c r="C4"><f t="shared" ref="C4:C6" si="0">A4+B1</f><v>7</v></c>
  <c r="D4"><f t="array" ref="D4:D5">A1:A2*2</f><v>24</v></c>
  <c r="E4"><f t="dataTable" ref="E4:E5" dt2D="0" dtr="1" r1="A1"/><v>1</v></c>
  <c r="F4"><f/><v>3</v></c></row>
<row r="5"><c r="C5"><f t="shared" si="0"/><v>8</v></c><c><v>5</v></c><c t="s"><v>0</v></c></row>
<row><c r="C6"><f t="shared" si="0"/></c><c r="D6"><v>4<x/>2</v></c></row>
<row r="7.0"><c r="A7" s="1"><v>4.5</v></c></row>
"""
STRINGS = f"""<sst {NS}><si><t>Three IDVA posts</t></si><si><r><t>rich</t></r><r><t> text</t></r>
<rPh sb="0" eb="1"><t>x</t></rPh></si><si><t>a_x005F_x000D_b</t></si><si/></sst>""".encode()


def sheet(rows: str) -> bytes:
    return f'<?xml version="1.0"?><worksheet {NS}><cols><col min="2" max="3" hidden="1"/>' \
        f"</cols><sheetData>{rows}</sheetData></worksheet>".encode()  # fmt: skip


def _comparable(value: Any) -> Any:
    """A formula object (array, data table) by its type and attributes."""
    if isinstance(value, str | int | float | bool | datetime | timedelta | None):
        return value
    return type(value).__name__, getattr(value, "text", None), dict(value)


def openpyxl_rows(data: bytes, strings: list[str], epoch: datetime) -> tuple[list[Any], dict]:
    parser = WorkSheetParser(io.BytesIO(data), strings, data_only=False, epoch=epoch,
                             date_formats={1, 2}, timedelta_formats={2})  # fmt: skip
    rows = [(n, [{**c, "value": _comparable(c["value"])} for c in cells])
            for n, cells in parser.parse()]  # fmt: skip
    return rows, parser.row_dimensions


@pytest.mark.parametrize("epoch", [WINDOWS_EPOCH, CALENDAR_MAC_1904])
def test_every_kind_of_cell_is_read_as_openpyxl_reads_it(epoch: datetime) -> None:
    strings = read_string_table(io.BytesIO(STRINGS))
    data = sheet(ROWS)
    expected, dimensions = openpyxl_rows(data, strings, epoch)
    read = RowReader(strings, epoch, frozenset({1, 2}), frozenset({2})).read(data)
    assert [(n, [{**c, "value": _comparable(c["value"])} for c in cells])
            for n, cells, _ in read.rows] == expected  # fmt: skip
    assert read.row_dimensions == dimensions and list(dimensions) == ["3"]
    assert read.hidden_columns == {1, 2}
    assert shared_strings(STRINGS) == strings


@pytest.mark.parametrize(
    "rows",
    [
        '<row r="x"><c r="A1"><v>1</v></c></row>',
        '<row r="1.5"><c r="A1"><v>1</v></c></row>',
        '<row r="1"><c r="A1" s="x"><v>1</v></c></row>',
        '<row r="1"><c r="A1" t="b"><v>yes</v></c></row>',
        '<row r="1"><c r="A1" t="s"><v>9</v></c></row>',
        '<row r="1"><c r="A1" t="d"><v>not a date</v></c></row>',
        '<row r="1"><c r="A1"><v>1.2.3</v></c></row>',
        '<row r="1"><c r="A1"><v>1</v></c>',
    ],
)  # fmt: skip
def test_what_openpyxl_cannot_read_is_not_read(rows: str) -> None:
    data = sheet(rows)
    with pytest.raises(Exception):  # noqa: B017 - whichever error openpyxl raises
        openpyxl_rows(data, [], WINDOWS_EPOCH)
    with pytest.raises(Exception):  # noqa: B017 - read_sheet refuses it as corrupt
        RowReader([]).read(data)


@pytest.mark.parametrize(
    "xml",
    [
        b'<!DOCTYPE x [<!ENTITY e "boom">]><sst><si><t>&e;</t></si></sst>',
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><sst><si><t>&e;</t></si></sst>',
        b'<!DOCTYPE x SYSTEM "http://example.org/x.dtd"><sst/>',
        b'<!DOCTYPE x [<!ENTITY % p "x">]><sst/>',
        '<!DOCTYPE x [<!ENTITY e "x">]><sst><si><t>&e;</t></si></sst>'.encode("utf-16-le"),
    ],
)
def test_a_dtd_or_an_entity_stops_the_parse(xml: bytes) -> None:
    with pytest.raises(DefusedXmlException):
        parse(xml, "si", lambda _tag, _attrib: None)


def test_a_sheet_is_read_a_row_at_a_time_so_millions_of_empty_cells_cannot_fill_memory() -> None:
    # 300 rows of 1,000 bare cells: a few megabytes of XML that compress a hundredfold. Held
    # whole (every row's element and cells), they took about 150 MB; read a row at a time,
    # what stays is one row.
    import tracemalloc

    data = sheet("".join(f'<row r="{n}">' + "<c/>" * 1000 + "</row>" for n in range(1, 301)))
    seen: list[int] = []
    tracemalloc.start()
    try:
        RowReader([]).read(data, lambda number, cells, _row: seen.append(len(cells)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == [1000] * 300
    assert peak < 20 * 1024 * 1024, f"{peak / 1024 / 1024:.0f} MB"


def test_a_row_of_more_cells_than_excel_writes_is_refused() -> None:
    from grants.excel.sheet_xml import MAX_NODES, TooLarge

    with pytest.raises(TooLarge, match="row holds more than Excel writes"):
        RowReader([]).read(sheet('<row r="1">' + "<c/>" * (MAX_NODES + 1) + "</row>"), print)
