"""The layout's arithmetic, without a workbook or LibreOffice: text widths and wrapping, row
heights, tab names, how wide a figure prints, and the page a sheet is printed on
(tests/test_print.py checks the printed result)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from grants.excel import metrics, templates
from grants.excel.book import sheet_name, writing
from grants.excel.layout import DEFAULT_PRINT, page, printable_width, shown_number, tab_name


def test_widths_follow_the_font() -> None:
    # Liberation Sans (Arial's metrics): a digit is 0.556 em, "i" 0.222, "W" 0.944.
    assert metrics.text_points("0") == pytest.approx(5.56)
    assert metrics.text_points("iiii") < metrics.text_points("WWWW")
    assert metrics.text_points("Total", bold=True) > metrics.text_points("Total")
    assert metrics.text_points("Total", size=20) == pytest.approx(2 * metrics.text_points("Total"))
    # A character the table does not list is taken as the widest, never narrower.
    assert metrics.text_points("漢") >= metrics.text_points("W")


def test_a_column_made_for_a_text_holds_it_and_a_narrower_one_does_not() -> None:
    for text in ("Total", "Estimated Flexible Capital Resources Available", "£1,234,567.00"):
        width = metrics.width_for(metrics.text_points(text))
        assert metrics.fits(text, width)
        assert not metrics.fits(text, width - 1)


def test_wrapped_lines_and_row_heights() -> None:
    words = "word " * 40
    width = metrics.width_for(metrics.text_points("word " * 10))
    count = metrics.lines(words, width)
    assert 4 <= count <= 5  # ten words a line, give or take the cell's margin
    assert metrics.lines("one\ntwo\nthree", 50) == 3
    assert metrics.lines("x" * 300, 10) > 1  # a word longer than the line takes more lines
    assert metrics.row_points(1) == metrics.line_points() == 12.75  # Excel's, Arial 10
    assert metrics.row_points(3) > 3 * metrics.line_points()
    assert metrics.line_points(14) > metrics.line_points(10)


def test_tab_names_are_cut_with_an_ellipsis_and_numbered_when_they_clash() -> None:
    long = "Proposed Allocations to Portfolio Areas (Annex 3)"
    assert tab_name("Summary", set()) == "Summary"
    cut = tab_name(long, set())
    assert len(cut) == 31 and cut.endswith("…") and long.startswith(cut[:-1])
    second = tab_name(long, {cut})
    assert len(second) <= 31 and second.endswith("… 2") and second != cut
    third = tab_name(long, {cut, second})
    assert third.endswith("… 3")
    assert tab_name("summary", {"Summary"}) == "summary 2"  # Excel ignores case
    assert sheet_name("a/b: [c]") == "a-b- -c-"
    assert sheet_name("x" * 40) == "x" * 30 + "…"


@pytest.mark.parametrize(
    ("value", "num_format", "shown"),
    [
        (1234567.891, "#,##0.00", "1,234,567.89"),
        (-487, "#,##0;-#,##0", "-487"),
        (0.324, "0.0%", "32.4%"),
        (50656, "£#,##0.00;-£#,##0.00", "£50,656.00"),
        (12.5, None, "12.5"),
    ],
)
def test_how_wide_a_figure_prints(value: float, num_format: str | None, shown: str) -> None:
    assert shown_number(value, num_format) == shown


def test_the_page_a_sheet_is_printed_on() -> None:
    setup = {**DEFAULT_PRINT, "orientation": "auto"}
    narrow = page(300, 10, setup)
    assert not narrow.landscape and narrow.fit and narrow.scale == 100
    wide = page(printable_width(False, 1.5) * 1.2, 10, setup)
    assert wide.landscape and wide.fit
    # Fitting a very wide sheet would print 10-point text below 7 points: it runs on to a
    # second page across at the smallest readable scale instead.
    huge = page(printable_width(True, 1.5) * 3, 10, setup)
    assert huge.landscape and not huge.fit and huge.scale == 70
    assert page(300, 10, {**setup, "orientation": "landscape"}).landscape


def test_negative_money_in_brackets_or_colour_is_refused() -> None:
    layout = templates.read("resourcing")
    for num_format in ("#,##0;(#,##0)", "#,##0;[Red]-#,##0"):
        layout["styles"]["money"]["num_format"] = num_format
        problems = templates.contract_problems("resourcing", layout)
        assert any("minus sign" in p for p in problems), problems
    layout["styles"]["money"]["num_format"] = "[$£-809]#,##0.00;-[$£-809]#,##0.00"
    assert not templates.contract_problems("resourcing", layout)


def test_every_templates_money_shows_negatives_with_a_minus_sign() -> None:
    for name in templates.CONTRACT:
        for style, properties in templates.load(name)["styles"].items():
            shown = properties.get("num_format", "")
            assert "(" not in shown and "[Red]" not in shown, (name, style)


def test_a_sheet_without_a_print_table_gets_a4_portrait_fitted(tmp_path: Path) -> None:
    layout = {"styles": {"heading": {"bold": True}}}  # no [print]: a writer's new template
    path = tmp_path / "new.xlsx"
    with writing(path, layout, "A ledger") as book:
        sheet = book.sheet("Anything")
        sheet.set_column(0, 0, 10)
        book.text(sheet, 0, 0, "A label much longer than its column is wide", "heading")
        sheet.write_number(1, 0, 123456789.0)
        sheet.set_column(1, 1, 20)
        book.text(sheet, 2, 1, "A note " * 30, "heading")  # too long to widen for: wrapped
    read = openpyxl.load_workbook(path)["Anything"]
    assert read.page_setup.paperSize == 9 and read.page_setup.orientation == "portrait"
    assert read.sheet_properties.pageSetUpPr.fitToPage
    assert read.oddFooter.left.text.startswith("A ledger: generated ")
    assert read.column_dimensions["A"].width > 10  # widened for the label and the figure
    assert read["B3"].alignment.wrap_text
    lines = metrics.lines("A note " * 30, read.column_dimensions["B"].width - 0.71, bold=True)
    assert read.row_dimensions[3].height == pytest.approx(metrics.row_points(lines), abs=0.5)
    assert lines > 3


def test_a_streamed_sheet_fits_every_row_and_forgets_the_written_ones(tmp_path: Path) -> None:
    layout = {"styles": {"label": {}}}
    path = tmp_path / "streamed.xlsx"
    with writing(path, layout, "A ledger", constant_memory=True) as book:
        sheet = book.sheet("Long")
        sheet.set_column(0, 0, 12)
        for row in range(1200):
            book.text(sheet, row, 0, "words too many for one line " * 5, "label")
        assert len(sheet.row_info) <= 1002  # the first rows' and the current one's
    read = openpyxl.load_workbook(path)["Long"]
    heights = {read.row_dimensions[r].height for r in (1, 1001, 1200)}
    assert len(heights) == 1 and heights.pop() > metrics.row_points(1)
    assert read["A1200"].alignment.wrap_text
