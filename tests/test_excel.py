"""Workbooks: layouts from templates/, live totals with cached values, sources, LibreOffice."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from grants.excel import templates
from grants.excel.book import FOOTER_LIMIT, footer
from tests.conftest import Grants
from tests.helpers import FUND, books

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.parametrize("name", sorted(templates.CONTRACT))
def test_every_template_meets_its_contract(name: str) -> None:
    layout = templates.load(name)
    assert templates.contract_problems(name, layout) == []


def test_a_broken_template_is_a_clear_error() -> None:
    layout = templates.load("resourcing")
    del layout["sheet"]["total_label"]
    layout["styles"]["money"]["colour"] = "red"
    assert templates.contract_problems("resourcing", layout) == [
        "[sheet] has no 'total_label'",
        "style 'money' has unknown property 'colour'",
    ]


def test_a_footer_takes_the_ledger_and_the_date_never_excels_own_date() -> None:
    layout = templates.load("resourcing")
    layout["print"]["footer"] = "&LPrinted &D &T &[Database]&R&[Date]"
    assert templates.contract_problems("resourcing", layout) == [
        "[print] footer: &D prints the date in the reader's locale; write &[Date] for the day "
        "the workbook was generated",
        "[print] footer: &T prints the time in the reader's locale; write &[Date] for the day "
        "the workbook was generated",
        "[print] footer: &[Database] is not a placeholder; use &[Ledger] or &[Date]",
    ]
    layout["print"]["footer"] = "&L" + "x" * 240
    assert templates.contract_problems("resourcing", layout) == [
        "[print] footer is too long: Excel allows 255 characters with the date filled in"
    ]


def test_the_footer_names_the_ledger_and_the_day_in_words() -> None:
    day = date(2026, 12, 2)
    template = "&LGenerated &[Date] from the ledger &[Ledger]&RPage &P of &N"
    assert footer(template, "Grants & Loans", day) == (
        "&LGenerated 2 December 2026 from the ledger Grants && Loans&RPage &P of &N"
    )
    assert footer("&&[Date] &[Ledger]", "&[Date]\x1b\x9b\u202e\u200b", day) == "&&[Date] &&[Date]"
    assert footer("&L&[Ledger]", "t" * 200, day) == "&L" + "t" * 200  # a title fits whole
    long = footer("&L" + "x" * 200 + " &[Ledger]", "y" * 100, day)
    assert len(long) == FOOTER_LIMIT and long.endswith("y…")


@pytest.fixture
def workbook(oxfordshire: Grants, tmp_path: Path) -> Path:
    path = tmp_path / "resourcing.xlsx"
    result = oxfordshire("report", "resourcing", "--years", "2014-15:2017-18", "-o", str(path))
    assert result.exit_code == 0, result.output
    return path


def ledger_totals(g: Grants) -> dict[str, float]:
    data = json.loads(g("report", "resourcing", "--years", "2014-15:2017-18", "--json").output)
    return {year: float(v) for year, v in data["total"].items()}


def test_totals_are_live_formulas_with_their_values_written(
    oxfordshire: Grants, workbook: Path
) -> None:
    formulas = openpyxl.load_workbook(workbook)["Resourcing"]
    values = openpyxl.load_workbook(workbook, data_only=True)["Resourcing"]
    total_row = next(r for r in range(1, 30) if formulas.cell(r, 1).value == "TOTAL")
    assert (
        formulas.cell(total_row, 2).value == "=SUM(B5,B6,B7,B12,B13)"
    )  # districts not counted twice
    totals = ledger_totals(oxfordshire)
    assert [values.cell(total_row, c).value for c in range(2, 6)] == list(totals.values())
    assert values.cell(total_row + 2, 5).value == 7009  # stated less allocated, 2017-18
    assert formulas.cell(total_row + 2, 5).value == f"=E{total_row + 1}-E{total_row}"


def test_a_district_cell_names_its_entry_and_books_line(workbook: Path) -> None:
    # (that every money cell of every workbook has its sources: tests/test_workbooks.py)
    sources = openpyxl.load_workbook(workbook)["Sources"]
    listed = {row[0]: row for row in sources.iter_rows(min_row=2, values_only=True)}
    cherwell = listed["'Resourcing'!E8"]
    assert cherwell[1] == "Cherwell 2017-18"
    assert cherwell[2].startswith("entry ")
    assert " allocate (" in cherwell[2]
    assert "pcc-csf.grants:" in cherwell[2]


def test_chart_and_print_setup(workbook: Path) -> None:
    with zipfile.ZipFile(workbook) as z:
        charts = [name for name in z.namelist() if name.startswith("xl/charts/chart")]
        assert charts
        xml = z.read(charts[0]).decode()
    # The lines read top to bottom in the table's order, the amounts along the bottom in £.
    category, value = xml.split("<c:valAx>")
    assert '<c:orientation val="maxMin"/>' in category
    assert '<c:crosses val="max"/>' in value  # at the last line, so at the bottom
    assert "£" in value and "#,##0" in value
    sheet = openpyxl.load_workbook(workbook)["Resourcing"]
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.print_title_rows == "$4:$4"
    assert ": generated " in sheet.oddFooter.left.text


def test_recipient_text_is_never_a_formula(grants: Grants, tmp_path: Path) -> None:
    text = (
        FUND.replace('"Line A"', '"=HYPERLINK(\\"http://x\\",\\"y\\")"')
        + "2017-04-01 award FUND 2017-18 10\n2017-04-01 allocate FUND 2017-18 A 10\n"
    )
    assert grants("ledger", "load", str(books(tmp_path, text))).exit_code == 0
    path = tmp_path / "fund.xlsx"
    result = grants(
        "report", "resourcing", "--stream", "FUND", "--years", "2017-18", "-o", str(path)
    )
    assert result.exit_code == 0, result.output
    cell = openpyxl.load_workbook(path)["Resourcing"]["A5"]
    assert cell.value == '=HYPERLINK("http://x","y")'
    assert cell.data_type == "s"


def test_not_an_xlsx_name(oxfordshire: Grants, tmp_path: Path) -> None:
    result = oxfordshire(
        "report", "resourcing", "--years", "2017-18", "-o", str(tmp_path / "x.csv")
    )
    assert result.exit_code == 1
    assert "must be an .xlsx file" in result.output
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed here")
def test_libreoffice_opens_it_and_recalculates_the_same_totals(
    oxfordshire: Grants, workbook: Path, tmp_path: Path
) -> None:
    # A copy without cached values, so LibreOffice must compute every formula itself.
    bare = tmp_path / "bare.xlsx"
    openpyxl.load_workbook(workbook).save(bare)
    # Both in one LibreOffice run (it is slow to start): the workbook as written must open
    # too, and each is converted.
    done = subprocess.run(
        [
            SOFFICE,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            str(tmp_path),
            str(workbook),
            str(bare),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    for source in (workbook, bare):
        assert source.with_suffix(".csv").exists(), f"LibreOffice did not open {source.name}"
    with (tmp_path / "bare.csv").open(encoding="utf-8") as f:
        rows = {r[0]: r[1:] for r in csv.reader(f) if r}
    totals = ledger_totals(oxfordshire)
    # The CSV holds the figures as displayed: "789,316".
    assert [float(v.replace(",", "")) for v in rows["TOTAL"]] == list(totals.values())
    assert rows["Difference (stated less allocated)"][-1] == "7,009"


def test_no_allocations_no_workbook(oxfordshire: Grants, tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    result = oxfordshire("report", "resourcing", "--years", "2010-11", "-o", str(path))
    assert result.exit_code == 1
    assert "PCC-CSF has no allocations in 2010-11: no table to write" in result.output
    assert not path.exists()
