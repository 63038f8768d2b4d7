"""The growth programme monitoring workbook from the Oxfordshire books: the named projects
with the awards and match the papers print, live totals, slippage and RAG formulas with
their values cached, the rule stated on the sheet, print set-up and a chart; in
`report all`. (How it prints through LibreOffice: tests/test_print.py.)"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import Grants

# From the papers: each project's award (000:817-829, 001:121-123).
AWARDS = {
    "Elevate (business start-up and support programme)": 1_000_000,
    "Innovation Support for Business Programme": 2_600_000,
    "OxFutures (low-carbon element of the business support programme)": 1_400_000,
    "Building Better Opportunities": 1_200_000,
    "Back on Track (NEET)": 1_000_000,
    "Oxfordshire Community Grants Scheme": 387_000,
    "City Deal skills programme (apprenticeships)": 1_500_000,
    "LGF skills capital programmes (STEM and care sector)": 9_000_000,
}
ELEVATE = "Elevate (business start-up and support programme)"
INNOVATION = "Innovation Support for Business Programme"


@pytest.fixture
def workbook(oxfordshire: Grants, tmp_path: Path) -> Path:
    path = tmp_path / "growth.xlsx"
    result = oxfordshire("report", "growth", "-o", str(path))
    assert result.exit_code == 0, result.output
    return path


def _rows(sheet: openpyxl.worksheet.worksheet.Worksheet) -> dict[str, list[object]]:
    return {
        str(row[0]): list(row)
        for row in sheet.iter_rows(values_only=True)
        if row[0] is not None and (str(row[0]) in AWARDS or row[0] == "TOTAL")
    }


def test_the_named_projects_with_award_match_and_rag(workbook: Path) -> None:
    values = _rows(openpyxl.load_workbook(workbook, data_only=True)["Monitoring"])
    formulas = _rows(openpyxl.load_workbook(workbook)["Monitoring"])
    assert {name: row[3] for name, row in values.items() if name != "TOTAL"} == AWARDS
    assert values["TOTAL"][3] == sum(AWARDS.values())
    assert str(formulas["TOTAL"][3]).startswith("=SUM(")
    elevate = values[ELEVATE]
    # The illustrative quarter: profile 150,000 claimed with eligible 120,000, grant 60,000
    # and match 60,000 (50%, as the paper's '£2m with match' for £1m ERDF, 000:817).
    assert elevate[5:10] == [150_000, 120_000, 60_000, 0, 30_000]
    assert elevate[11] == 60_000  # match spent
    assert elevate[12] == "Amber"  # 30,000 / 150,000 = 20%: more than 10%, not 25%
    assert re.fullmatch(r"=F(\d+)-G\1", str(formulas[ELEVATE][9]))  # profile to date - spend
    assert str(formulas[ELEVATE][12]).startswith("=IF(")
    assert values["Building Better Opportunities"][12] == "No claim"
    # The match the papers print: '£1m ERDF (£2m with match)' (000:817) and '£2.6 million ...
    # (£5.2m with match)' (000:819); the other projects are printed with no match.
    pledged = {name: row[10] for name, row in values.items() if name != "TOTAL" and row[10]}
    assert pledged == {ELEVATE: 2_000_000 - 1_000_000, INNOVATION: 5_200_000 - 2_600_000}
    assert values["TOTAL"][10] == sum(pledged.values())
    text = [c for row in openpyxl.load_workbook(workbook)["Monitoring"].iter_rows(
        max_row=5, values_only=True) for c in row if c]  # fmt: skip
    assert any(str(t).startswith("RAG: Red where slippage is more than 25%") for t in text)
    assert any("illustrative, not from the papers" in str(t) for t in text)


def test_outputs_against_target_and_the_quarters(workbook: Path) -> None:
    wb = openpyxl.load_workbook(workbook, data_only=True)
    outputs = [r for r in wb["Outputs"].iter_rows(min_row=4, values_only=True) if r[0]]
    bbo = {(r[1], r[5]) for r in outputs if r[0] == "Building Better Opportunities"}
    assert bbo == {("PARTICIPANTS", 314), ("INTO-WORK", 33)}  # 000:825
    elevate = [r for r in outputs if r[1] == "C1"]
    assert [(r[4], r[5], r[6]) for r in elevate] == [(200, 22, 0.11)]
    quarters = [r for r in wb["Quarters"].iter_rows(min_row=4, values_only=True) if r[0]]
    assert [(r[1], r[2], r[3]) for r in quarters if r[0].startswith("Elevate")] == [
        ("2017-18 q2", 150_000, 120_000), ("2017-18 q3", 150_000, "not claimed"),
    ]  # fmt: skip


def test_print_setup_chart_and_sources(workbook: Path) -> None:
    wb = openpyxl.load_workbook(workbook)
    assert wb.sheetnames == ["Monitoring", "Quarters", "Outputs", "Sources"]
    for sheet in wb.worksheets:
        assert sheet.page_setup.paperSize == 9  # A4
        assert sheet.print_title_rows
    assert wb["Monitoring"].page_setup.orientation == "landscape"
    with zipfile.ZipFile(workbook) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 1
    sources = [r for r in wb["Sources"].iter_rows(min_row=2, values_only=True)]
    assert any("ESIF ELEVATE" == r[1] and "000_f418ceb26182cb49.txt:817" in r[2] for r in sources)


def test_in_report_all_and_refused_without_projects(oxfordshire: Grants, tmp_path: Path) -> None:
    out = tmp_path / "all"
    result = oxfordshire("report", "all", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "growth-monitoring.xlsx").exists()
    assert (out / "esif-claims.xlsx").exists()
    empty = Grants(f"sqlite:///{tmp_path / 'empty.db'}")
    assert empty("db", "upgrade").exit_code == 0
    refused = empty("report", "growth", "-o", str(tmp_path / "g.xlsx"))
    assert refused.exit_code == 1
    assert "holds no growth projects" in refused.output
    assert not (tmp_path / "g.xlsx").exists()


def test_the_esif_claim_workbook_caps_each_claim_by_the_rate(
    grants: Grants, tmp_path: Path
) -> None:
    from tests.helpers import books
    from tests.test_growth import BOOKS

    claim = "2017-10-20 project-claim ESIF BIZ 2017-18 q2\n  eligible: 60,000.01\n  grant: 30,000\n"
    assert grants("ledger", "load", str(books(tmp_path, BOOKS + claim))).exit_code == 0
    path = tmp_path / "esif.xlsx"
    result = grants("report", "esif-claims", "-o", str(path))
    assert result.exit_code == 0, result.output
    values = openpyxl.load_workbook(path, data_only=True)["Claims"]
    formulas = openpyxl.load_workbook(path)["Claims"]
    rows = [r for r in values.iter_rows(min_row=6, values_only=True) if r[0]]
    # eligible, rate, most grant, grant, within rate, match, form, outputs
    assert [r[3:11] for r in rows[:2]] == [
        (80000.01, 0.5, 40000, 40000, "Yes", 40000.01, "in-kind", "C1 40"),
        (60000.01, 0.5, 30000, 30000, "Yes", 0, None, None),
    ]  # fmt: skip
    assert rows[2][0] == "TOTAL" and rows[2][3] == 140000.02
    assert [r[5] for r in formulas.iter_rows(min_row=6, max_row=7, values_only=True)] == [
        "=ROUNDDOWN(D6*E6,2)", "=ROUNDDOWN(D7*E7,2)",
    ]  # fmt: skip
    with zipfile.ZipFile(path) as z:
        assert [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert openpyxl.load_workbook(path)["Claims"].page_setup.paperSize == 9
