"""The workbooks generated from the Oxfordshire books against the council's published tables.

Every printed money figure of the PCC resourcing table and of every capital annex table
(``tests/data/seed-tables/*.csv``, copies of ``shared/domain/tables/``) is compared with the
cell of the generated workbook that shows it, read as a reader that does not recalculate
would (openpyxl ``data_only``). Where the seeds contradict themselves (the £m summary,
discrepancies B1-B7) the test expects the ledger's consistent figure in the derived column,
the printed figure beside it as published, and a difference, never the wrong total.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from tests.conftest import Grants

SEEDS = Path(__file__).parent / "data" / "seed-tables"


def read_table(name: str) -> list[dict[str, str]]:
    with (SEEDS / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@pytest.fixture
def reports(oxfordshire: Grants, tmp_path: Path) -> Path:
    out = tmp_path / "reports"
    result = oxfordshire("report", "all", "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


def values(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path, data_only=True)


def rows_by_label(sheet: Worksheet, col: int = 1) -> dict[str, int]:
    """Row number of each label in a column (the first row that has it)."""
    found: dict[str, int] = {}
    for row in range(1, sheet.max_row + 1):
        label = sheet.cell(row, col).value
        if isinstance(label, str):
            found.setdefault(label.strip(), row)
    return found


def columns_by_heading(sheet: Worksheet, row: int = 4) -> dict[str, int]:
    return {
        str(sheet.cell(row, col).value): col
        for col in range(1, sheet.max_column + 1)
        if sheet.cell(row, col).value not in (None, "")
    }


def figure(value: str) -> Decimal:
    return Decimal(value)


class Mismatches:
    def __init__(self) -> None:
        self.items: list[str] = []

    def expect(self, where: str, actual: object, expected: Decimal | None) -> None:
        if expected is None:
            if actual not in (None, ""):
                self.items.append(f"{where}: expected a blank cell, found {actual!r}")
            return
        if not isinstance(actual, int | float) or Decimal(str(actual)) != expected:
            self.items.append(f"{where}: expected {expected}, found {actual!r}")

    def check(self) -> None:
        assert not self.items, "\n".join(self.items)


def test_resourcing_workbook_shows_every_printed_figure(reports: Path) -> None:
    sheet = values(reports / "pcc-csf-resourcing.xlsx")["Resourcing"]
    labels = rows_by_label(sheet)
    years = columns_by_heading(sheet)
    wrong = Mismatches()
    count = 0
    for r in read_table("pcc_csf_resourcing_2014-15_to_2017-18.csv"):
        if not r["value_gbp"]:
            continue
        name = r["line_item"]
        label = next(
            (k for k in labels if k.lstrip("- ").startswith(name)),
            None,
        )
        if r["row_type"] == "total":
            label = "TOTAL"
        assert label is not None, f"no row for {name!r}"
        where = f"Resourcing {name} {r['financial_year']}"
        cell = sheet.cell(labels[label], years[r["financial_year"]]).value
        wrong.expect(where, cell, figure(r["value_gbp"]))
        count += 1
    wrong.check()
    assert count >= 30


def programme_figures(name: str) -> Iterator[tuple[str, str, str, Decimal | None]]:
    for r in read_table(name):
        if r["row_type"] == "section_heading":
            continue
        value = r["value_gbp000"]
        yield r["line_item"], r["row_type"], r["column"], figure(value) if value else None


@pytest.mark.parametrize(
    ("csv_name", "sheet_name"),
    [
        ("capital_current_programme_grants_2017-18_to_2027-28_gbp000.csv", "Current grants"),
        ("capital_proposed_programme_grants_2017-18_to_2027-28_gbp000.csv", "Proposed grants"),
        ("capital_current_annual_programmes_2017-18_to_2027-28_gbp000.csv", "Current annual"),
        ("capital_proposed_annual_programmes_2017-18_to_2027-28_gbp000.csv", "Proposed annual"),
    ],
)
def test_programme_sheets_show_every_printed_figure(
    reports: Path, csv_name: str, sheet_name: str
) -> None:
    sheet = values(reports / "capital-programme.xlsx")[sheet_name]
    labels = rows_by_label(sheet)
    columns = columns_by_heading(sheet)
    wrong = Mismatches()
    count = 0
    for label, _row_type, column, expected in programme_figures(csv_name):
        assert label in labels, f"{sheet_name}: no row {label!r}"
        cell = sheet.cell(labels[label], columns[column]).value
        wrong.expect(f"{sheet_name} {label} {column}", cell, expected)
        count += 1
    wrong.check()
    assert count >= 80


def test_flexible_resources_sheet_with_running_balance(reports: Path) -> None:
    sheet = values(reports / "capital-programme.xlsx")["Flexible resources"]
    labels = rows_by_label(sheet)
    columns = {"cost": 2, "funding": 3, "net": 4, "balance": 5}
    wrong = Mismatches()
    count = 0
    for r in read_table("capital_flexible_resources_running_balance_gbp000.csv"):
        if r["row_type"] == "section_heading":
            continue
        assert r["description"] in labels, f"no row {r['description']!r}"
        for name, col in columns.items():
            if r[name]:
                cell = sheet.cell(labels[r["description"]], col).value
                wrong.expect(f"{r['description']} {name}", cell, figure(r[name]))
                count += 1
        if r["section"].startswith("Estimated") and r["row_type"] == "line_item":
            # The funding rows carry the council's notes (which annex they come from).
            assert sheet.cell(labels[r["description"]], 6).value == r["notes_printed"]
    wrong.check()
    assert count >= 40


def test_funding_annex_sheet(reports: Path) -> None:
    sheet = values(reports / "capital-programme.xlsx")["Funding"]
    labels = rows_by_label(sheet)
    wrong = Mismatches()
    for r in read_table("capital_funding_annex2_gbp000.csv"):
        label = next(k for k in labels if k.endswith(r["project"]))
        wrong.expect(
            r["project"], sheet.cell(labels[label], 2).value, figure(r["funding_available"])
        )
    wrong.check()


def test_portfolio_allocations_annex_sheet(reports: Path) -> None:
    sheet = values(reports / "capital-programme.xlsx")["Portfolio allocations"]
    by_ref = {
        str(sheet.cell(row, 1).value): row
        for row in range(5, sheet.max_row + 1)
        if sheet.cell(row, 1).value
    }
    by_label = rows_by_label(sheet, 2)
    columns = {
        "total_project_cost": 3, "project_specific_funding": 4, "flexible_funding_required": 5,
    }  # fmt: skip
    wrong = Mismatches()
    for r in read_table("capital_proposed_allocations_portfolio_annex3_gbp000.csv"):
        if r["row_type"] == "portfolio_heading":
            continue
        if r["row_type"] == "line_item":
            row = by_ref[r["ref"]]
            assert sheet.cell(row, 2).value == r["project"]
            # The Description/Notes column as printed (blank where the council printed none).
            assert (sheet.cell(row, 6).value or "") == r["description_notes"], r["project"]
        else:  # subtotals and the grand total, labelled as the council printed them
            assert r["project"] in by_label, f"no row {r['project']!r}"
            row = by_label[r["project"]]
        for name, col in columns.items():
            expected = figure(r[name]) if r[name] else None
            wrong.expect(f"Annex 3 {r['project']} {name}", sheet.cell(row, col).value, expected)
    wrong.check()


# The £m summary against the £'000 annex: the label of each summary row and the T2 row
# (description, column) whose figure it restates. The summary's allocations are negative.
SUMMARY_FROM_T2 = {
    "Additional estimated funding up to and for 2027/28": (
        "Additional Estimated Funding to 2027/28", "funding", 1),
    "Capital Receipts & other resources": ("Capital Receipts New / Revaluations", "funding", 1),
    "Earmarked Reserves released for reallocation": (
        "Earmarked Reserves released for reallocation", "funding", 1),
    "Total Estimated Funding Available": (
        "Total Estimated New Flexible Capital Resources Available to 2027/28", "funding", 1),
    "Schools Basic Need": ("Schools Basic Need", "net", -1),
    "Schools Maintenance (Annual Programme)": (
        "Schools Maintenance (Annual Programme)", "net", -1),
    "Highways Maintenance (Annual Programme)": ("Highways Maintenance", "net", -1),
    "Schools Estate": ("Schools Estate", "net", -1),
    "Non-Schools Estate": ("Non-Schools Estate", "net", -1),
    "Operational Assets": ("Operational Assets", "net", -1),
    "Highways and associated Infrastructure": (
        "Highways and Associated Infrastructure", "net", -1),
    "Operational Redesign": ("Organisational Redesign", "net", -1),
    "Capital Programme Contingency": ("Contingency", "net", -1),
    "Total Funding Requirement": ("Total Proposed Allocations to Portfolio Areas", "net", -1),
    "Total Surplus(+)/Shortfall(-)": ("Total Surplus (+)/Shortfall (-)", "balance", 1),
}  # fmt: skip

# The summary rows whose printed figure is not the annex's (discrepancies.md B1-B7).
SUMMARY_DISCREPANCIES = {
    "Capital Receipts & other resources",  # B1: 40.5 against 45,000
    "Earmarked Reserves released for reallocation",  # B2: 12.1 against 7,135
    "Total Estimated Funding Available",  # B3: 205.8 against 205,322
    "Highways Maintenance (Annual Programme)",  # B6: -102.4 against 102,459
    "Total Surplus(+)/Shortfall(-)",  # B5: 0.0 against -487
}


def test_summary_is_derived_from_the_annex_and_shows_the_published_figures(
    reports: Path,
) -> None:
    sheet = values(reports / "capital-programme.xlsx")["Summary £m"]
    labels = rows_by_label(sheet)
    t2 = {
        r["description"]: r
        for r in read_table("capital_flexible_resources_running_balance_gbp000.csv")
    }
    wrong = Mismatches()
    for r in read_table("capital_summary_funding_and_allocations_gbp_m.csv"):
        if r["row_type"] in ("section_heading", "group_heading"):
            continue
        label = r["line_item"]
        assert label in labels, f"no summary row {label!r}"
        row = labels[label]
        description, column, sign = SUMMARY_FROM_T2[label]
        annex = Decimal(t2[description][column]) * sign / 1000  # £'000 to £m
        derived = sheet.cell(row, 2).value
        wrong.expect(f"{label} (derived, £m)", derived, annex)
        wrong.expect(f"{label} (as published)", sheet.cell(row, 3).value, figure(r["value_gbp_m"]))
        shown = annex.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        difference = sheet.cell(row, 4).value
        if label in SUMMARY_DISCREPANCIES:
            assert shown != figure(r["value_gbp_m"]), label
            wrong.expect(f"{label} (difference)", difference, shown - figure(r["value_gbp_m"]))
        else:
            assert shown == figure(r["value_gbp_m"]), label
            wrong.expect(f"{label} (difference)", difference, None)
    wrong.check()
    # The derived summary foots: its total is the sum of its lines.
    funding = [labels[k] for k, v in SUMMARY_FROM_T2.items() if v[1] == "funding"][:-1]
    assert sum(sheet.cell(r, 2).value for r in funding) == pytest.approx(
        sheet.cell(labels["Total Estimated Funding Available"], 2).value
    )
    # The lines print to -205.9 against a total of -205.8: the note says why.
    notes = [sheet.cell(r, 1).value for r in range(1, sheet.max_row + 1)]
    assert any(str(n).startswith("Rounding: the lines above print to -205.9") for n in notes)
