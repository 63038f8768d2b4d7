"""A second council's capital programme (tests/data/other-council: an invented county, six
years, seven financing sources, a payments table and a financing table that both foot, a
"Subsequent years" column, named tranches, its own headings): the workbook spans every year,
draws one chart per table, labels rows with the books' names, writes only the sheets it has
figures for, and carries no word of Oxfordshire's anywhere a reader could see it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart.title import Title
from openpyxl.workbook.workbook import Workbook

from tests.conftest import Grants

BOOKS = Path(__file__).parent / "data" / "other-council" / "capital.grants"
YEARS = ["2021/22", "2022/23", "2023/24", "2024/25", "2025/26", "2026/27"]
# Words only Oxfordshire's papers (or a template written from them) use.
OXFORDSHIRE = re.compile(
    r"oxford|\bOCC\b|annex|flexible|portfolio areas|project specific|funding required|"
    r"estimated funding|cherwell|thames valley|capital summary|2027/28|2017/18|basic need|"
    r"cabinet",
    re.IGNORECASE,
)


@pytest.fixture
def council(grants: Grants) -> Grants:
    result = grants("ledger", "load", str(BOOKS))
    assert result.exit_code == 0, result.output
    return grants


@pytest.fixture
def workbook(council: Grants, tmp_path: Path) -> Path:
    path = tmp_path / "capital.xlsx"
    result = council("report", "capital-programme", "-o", str(path))
    assert result.exit_code == 0, result.output
    return path


def _title_text(title: Title | None) -> str:
    if title is None or title.tx is None or title.tx.rich is None:
        return ""
    return "".join(run.t for p in title.tx.rich.p for run in (p.r or []))


def _charts(book: Workbook) -> dict[str, list[str]]:
    return {ws.title: [_title_text(c.title) for c in ws._charts] for ws in book.worksheets}


def _texts(book: Workbook) -> Iterator[tuple[str, str]]:
    """Everything a reader sees: sheet names, cells, chart titles, headers and footers."""
    for ws in book.worksheets:
        yield ws.title, ws.title
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    yield f"{ws.title}!{c.coordinate}", str(c.value)
        for chart in ws._charts:
            yield f"{ws.title} chart", _title_text(chart.title)
            for axis in (chart.x_axis, chart.y_axis):
                yield f"{ws.title} chart axis", _title_text(axis.title)
        for part in (ws.oddHeader, ws.oddFooter, ws.evenHeader, ws.evenFooter):
            for side in (part.left, part.center, part.right):
                if side.text:
                    yield f"{ws.title} header/footer", side.text


def _rows(ws: openpyxl.worksheet.worksheet.Worksheet) -> dict[str, list[object]]:
    return {str(r[0]): list(r[1:]) for r in ws.iter_rows(values_only=True) if r[0]}


def test_no_word_of_oxfordshire_anywhere_a_reader_sees(workbook: Path) -> None:
    found = []
    for book in (
        openpyxl.load_workbook(workbook),
        openpyxl.load_workbook(workbook, data_only=True),
    ):
        found += [(where, text) for where, text in _texts(book) if OXFORDSHIRE.search(text)]
    assert found == []


def test_only_the_sheets_the_books_have_figures_for(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    # No funding or allocations annex: the books place no tranche in a funding table and
    # have no schemes beneath the portfolio lines.
    assert book.sheetnames == [
        "Summary £m", "Resources", "Approved payments", "Approved financing", "Charts by year",
        "Sources",
    ]  # fmt: skip


def test_the_programme_spans_every_year_with_the_later_years_column(
    council: Grants, workbook: Path
) -> None:
    book = openpyxl.load_workbook(workbook, data_only=True)
    totals = {}
    for name in ("Approved payments", "Approved financing"):
        ws = book[name]
        headings = [c.value for c in ws[4]]
        assert headings == ["", *YEARS, "Subsequent years", "TOTAL"], name
        totals[name] = _rows(ws)["TOTAL"]
    # Both tables foot to the same figures in every column, the later years' included.
    assert totals["Approved payments"] == totals["Approved financing"]
    # The resources are every year's awards, not the last year's: the six years' financing.
    data = json.loads(council("report", "capital-programme", "--json").output)
    six_years = sum(totals["Approved financing"][:6]) * 1000
    assert float(data["total_funding"]) == pytest.approx(six_years)
    assert data["period"] == "2021-22:2026-27"
    resources = _rows(book["Resources"])
    assert resources["Total resources to 2026/27"][1] == pytest.approx(six_years / 1000)


def test_rows_carry_the_names_the_books_give(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook, data_only=True)
    names = re.findall(r'^\S+ tranche NCC-CAP (\S+) "([^"]+)"', BOOKS.read_text(), re.MULTILINE)
    assert len(names) == 7
    resources = _rows(book["Resources"])
    summary = _rows(book["Summary £m"])
    for code, name in names:
        assert name in resources and name in summary, name
        assert code not in resources and code not in summary, code


def test_one_chart_per_table_never_adding_tables_together(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    charts = _charts(book)
    assert charts["Charts by year"] == [
        "Capital payments by portfolio: Approved",
        "Financing of the capital programme: Approved",
    ]
    assert sum(len(c) for c in charts.values()) == 2
    ws = book["Charts by year"]
    formulas = [str(c.value) for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas and all("+" not in f for f in formulas)  # each cell one table's total


def test_its_own_headings(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    assert book["Resources"]["A1"].value == (
        "Capital resources and spending plans, 2021/22 to 2026/27"
    )
    assert book["Summary £m"]["A1"].value == (
        "Capital Strategy 2021-2027: resources and spending plans"
    )
    assert book["Approved payments"]["A1"].value.startswith("Approved: Capital payments")
    footer = book["Resources"].oddFooter.left.text
    assert footer.startswith("Northmoor County Council capital ledger")


def test_from_and_to_choose_the_years(council: Grants, tmp_path: Path) -> None:
    path = tmp_path / "two-years.xlsx"
    result = council(
        "report", "capital-programme", "--from", "2022-23", "--to", "2023-24", "-o", str(path)
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(path, data_only=True)
    # No later years' column: the report stops before the books' last year.
    assert [c.value for c in book["Approved payments"][4]] == ["", "2022/23", "2023/24", "TOTAL"]
    payments = _rows(book["Approved payments"])["TOTAL"]
    resources = _rows(book["Resources"])
    assert resources["Total resources to 2023/24"][1] == pytest.approx(payments[2])
    wrong = council("report", "capital-programme", "--from", "2024-25", "--to", "2022-23")
    assert wrong.exit_code == 1 and "cannot end (2022-23) before it starts" in wrong.output


def test_programme_command_takes_the_only_table_or_asks(council: Grants) -> None:
    asked = council("programme")
    assert asked.exit_code == 1
    assert "name the programme table with --table: NCC-CAP has the tables payments, financing" in (
        asked.output
    )
    data = json.loads(council("programme", "--table", "financing", "--json").output)
    assert data["stream"] == "NCC-CAP"
    borrowing = next(x for x in data["lines"] if x["code"] == "BORROWING")
    assert "later" in borrowing["other"]


def test_reloading_changes_nothing_and_the_export_round_trips(
    council: Grants, tmp_path: Path
) -> None:
    again = council("ledger", "load", str(BOOKS), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["created"] == {}
    head = council("verify", "--head").output.strip()
    out = tmp_path / "export"
    exported = council("ledger", "export", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    text = "".join(p.read_text() for p in sorted(out.glob("*.grants")))
    assert 'tranche NCC-CAP BORROWING "Prudential borrowing"' in text
    assert 'heading NCC-CAP programme.later_heading "Subsequent years"' in text
    assert '  later: "5,000,000.00"' in text
    restored = Grants(f"sqlite:///{tmp_path / 'restored.db'}")
    assert restored("db", "upgrade", "--for-restore").exit_code == 0
    loaded = restored("ledger", "load", str(out / "main.grants"))
    assert loaded.exit_code == 0, loaded.output
    assert restored("verify", "--head").output.strip() == head


def test_a_heading_the_template_does_not_have_is_refused(grants: Grants, tmp_path: Path) -> None:
    books = tmp_path / "books.grants"
    text = BOOKS.read_text()
    books.write_text(
        text.replace("programme.later_heading", "programme.latter_heading", 1), encoding="utf-8"
    )
    assert grants("ledger", "load", str(books)).exit_code == 0
    result = grants("report", "capital-programme", "-o", str(tmp_path / "x.xlsx"))
    assert result.exit_code == 1
    assert "heading programme.latter_heading" in result.output
    assert "books.grants:" in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_a_heading_key_out_of_shape_is_refused_at_its_line(grants: Grants, tmp_path: Path) -> None:
    books = tmp_path / "books.grants"
    books.write_text(
        BOOKS.read_text().replace("heading NCC-CAP summary.title", "heading NCC-CAP Title", 1),
        encoding="utf-8",
    )
    result = grants("ledger", "check", str(books))
    assert result.exit_code == 1
    assert "'Title' is not a heading key" in result.output


@pytest.mark.parametrize(
    ("heading", "message"),
    [
        ('resources.sheet "Summary £m"', "two sheets would have the same name"),
        ('funding.headings.4 "Extra"', "the list funding.headings has 3 texts"),
        ('resources.title "Resources to {year}"', "[resources] title"),
        ("resources.sheet " + '"' + "A" * 32 + '"', "a sheet's name is at most 31 characters"),
    ],
)
def test_headings_that_do_not_fit_are_refused(
    grants: Grants, tmp_path: Path, heading: str, message: str
) -> None:
    books = tmp_path / "books.grants"
    books.write_text(
        BOOKS.read_text() + f"\n2021-03-01 heading NCC-CAP {heading}\n", encoding="utf-8"
    )
    assert grants("ledger", "load", str(books)).exit_code == 0
    result = grants("report", "capital-programme", "-o", str(tmp_path / "x.xlsx"))
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "x.xlsx").exists()
