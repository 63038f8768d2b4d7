"""Every workbook `grants report` writes: opened and recalculated by LibreOffice, every money
cell traced to its sources, the PCC template's wording, and marks that come from the data."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from grants.excel import templates
from grants.formatting import day
from tests.conftest import Grants
from tests.helpers import books

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture
def reports(oxfordshire: Grants, tmp_path: Path) -> Path:
    out = tmp_path / "reports"
    result = oxfordshire("report", "all", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(f"16 workbooks in {out}")
    return out


def formula_cells(path: Path) -> Iterator[tuple[str, str, str]]:
    """(sheet, cell, formula) of every formula in a workbook."""
    for sheet in openpyxl.load_workbook(path).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    yield sheet.title, cell.coordinate, cell.value


def test_report_all_writes_every_workbook(reports: Path) -> None:
    names = sorted(p.name for p in reports.iterdir())
    assert names == sorted(
        [
            "pcc-csf-resourcing.xlsx",
            "capital-programme.xlsx",
            "growth-monitoring.xlsx",
            "esif-claims.xlsx",
        ]
        + [
            f"pcc-csf-{year}-{stage}.xlsx"
            for year in ("2014-15", "2015-16", "2016-17", "2017-18")
            for stage in ("plan", "mid-year", "end-year")
        ]
    )


def test_every_money_cell_of_every_workbook_has_its_sources(reports: Path) -> None:
    for path in sorted(reports.iterdir()):
        wb = openpyxl.load_workbook(path)
        covered: set[tuple[str, str]] = set()
        for where, _figure, entries in wb["Sources"].iter_rows(min_row=2, values_only=True):
            assert entries, f"{path.name} {where}: no source given"
            sheet, _, cells = str(where).rpartition("!")
            assert sheet.startswith("'") and sheet.endswith("'"), where  # a working reference
            sheet = sheet[1:-1].replace("''", "'")
            first_col, first_row, last_col, last_row = range_boundaries(cells)
            for row in range(first_row, last_row + 1):
                for col in range(first_col, last_col + 1):
                    covered.add((sheet, wb[sheet].cell(row, col).coordinate))
        for sheet in wb.worksheets:
            if sheet.title == "Sources":
                continue
            for row in sheet.iter_rows():
                for cell in row:
                    money = isinstance(cell.value, int | float) or str(cell.value).startswith("=")
                    if money:
                        assert (sheet.title, cell.coordinate) in covered, (
                            f"{path.name} {sheet.title}!{cell.coordinate} has no source"
                        )


def test_every_workbook_has_print_setup_from_its_template(reports: Path) -> None:
    # (how the pages print, LibreOffice's rendering: tests/test_print.py)
    for path in sorted(reports.iterdir()):
        for sheet in openpyxl.load_workbook(path).worksheets:
            assert sheet.page_setup.paperSize == 9, (path.name, sheet.title)  # A4
            assert sheet.page_setup.orientation in ("portrait", "landscape")
            fitted = sheet.sheet_properties.pageSetUpPr.fitToPage
            assert fitted or int(sheet.page_setup.scale or 100) >= 70, (path.name, sheet.title)
            assert sheet.print_title_rows, (path.name, sheet.title)
            footer = sheet.oddFooter.left.text
            assert footer.startswith("Oxfordshire County Council: generated "), (path.name, footer)


def test_capital_workbook_has_a_chart_per_table_of_current_against_proposed(
    reports: Path,
) -> None:
    import zipfile

    with zipfile.ZipFile(reports / "capital-programme.xlsx") as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        assert len(charts) == 2  # grants and annual programmes: never added together
        xml = z.read(charts[0]).decode()
    assert "'Programme by year'!$B$2" in xml and "'Programme by year'!$C$2" in xml
    sheet = openpyxl.load_workbook(reports / "capital-programme.xlsx", data_only=True)[
        "Programme by year"
    ]
    assert sheet["A1"].value == "grant funding by year"
    assert [c.value for c in sheet[2]] == ["Year", "Current", "Proposed"]
    assert "<a:t>grant funding by year: Proposed against Current</a:t>" in xml
    # 2017/18: current grants 39,730, proposed 39,767 (£'000), the annual programmes apart.
    assert [c.value for c in sheet[3]] == ["2017/18", 39730, 39767]


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed here")
def test_libreoffice_opens_every_workbook_and_recalculates_the_same_figures(
    oxfordshire: Grants, reports: Path, tmp_path: Path
) -> None:
    # Copies without cached values (openpyxl writes none), so LibreOffice computes every
    # formula itself; the originals too, to show that they open as written (charts and all).
    # Beside the defaults: narrowed years and the comparison the other way round.
    for name, args in (
        ("capital-narrowed.xlsx", ["--from", "2018/19", "--to", "2020/21"]),
        ("capital-reversed.xlsx", ["--compare", "proposed:current"]),
    ):
        result = oxfordshire("report", "capital-programme", *args, "-o", str(reports / name))
        assert result.exit_code == 0, result.output
    bare = tmp_path / "bare"
    bare.mkdir()
    for path in reports.iterdir():
        openpyxl.load_workbook(path).save(bare / f"bare-{path.name}")
    converted = tmp_path / "converted"
    # The originals and the bare copies in one LibreOffice run (it is slow to start).
    done = subprocess.run(
        [
            SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to", "xlsx", "--outdir", str(converted),
            *sorted(str(p) for p in reports.iterdir()),
            *sorted(str(p) for p in bare.iterdir()),
        ],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    checked = 0
    for path in sorted(reports.iterdir()):
        assert (converted / path.name).exists(), path.name
        ours = openpyxl.load_workbook(path, data_only=True)
        theirs = openpyxl.load_workbook(converted / f"bare-{path.name}", data_only=True)
        for sheet, cell, formula in formula_cells(path):
            expected, actual = ours[sheet][cell].value, theirs[sheet][cell].value
            if isinstance(expected, str):  # a status by a stated rule (RAG, within the rate)
                assert actual == expected, f"{path.name} {sheet}!{cell} {formula}: {actual}"
                checked += 1
                continue
            assert isinstance(actual, int | float), f"{path.name} {sheet}!{cell} {formula}"
            assert actual == pytest.approx(expected, abs=1e-9), (
                f"{path.name} {sheet}!{cell} {formula}: LibreOffice {actual}, ledger {expected}"
            )
            checked += 1
    assert checked > 300


# -- the PCC template -----------------------------------------------------------------------

HEADINGS_2017_18 = [
    "Expenditure Title (the expenditure titles proposed in the spending plan must be used in "
    "the midand end-year returns):",
    "Objectives (start of year spending plan) OR Progress/outcomes (mid- and end-year returns)",
    "Cost to CSF 2017-18",
    "% of 2017-18 CSF grant",
    "If part-funded by CSF, other funding source(s) and amount(s)",
]


def test_pcc_template_follows_appendix_1(reports: Path, oxfordshire: Grants) -> None:
    path = reports / "pcc-csf-2017-18-plan.xlsx"
    sheet = openpyxl.load_workbook(path)["CSF plan"]
    values = openpyxl.load_workbook(path, data_only=True)["CSF plan"]
    assert sheet["A1"].value == "Appendix 1 PCC Community Safety Fund Reporting Template"
    assert [sheet.cell(r, 1).value for r in (3, 4, 5, 6)] == [
        "Nominated Local Authority contact for CSF grant:", "Signature:", "Date:",
        "Local Authority Area:",
    ]  # fmt: skip
    assert sheet["C3"].value == "LPA Commander (or relevant county TVP lead) Name:"
    assert sheet["B8"].value == f"{day(date(2017, 4, 1))} to {day(date(2018, 3, 31))}"
    assert values["B9"].value == 700932
    assert [sheet.cell(12, c).value for c in range(1, 8)] == [*HEADINGS_2017_18, None, None]
    rows = {sheet.cell(r, 1).value: r for r in range(13, 30)}
    total = rows["Total"]
    assert sheet.cell(total, 3).value == "=SUM(C13,C14,C15,C20,C21)"  # districts not twice
    assert sheet.cell(total, 4).value == f"=IF($B$9=0,0,C{total}/$B$9)"
    assert values.cell(total, 3).value == 693923
    assert values.cell(total, 4).value == pytest.approx(693923 / 700932)
    assert values.cell(rows["- Cherwell"], 3).value == 58542
    assert values.cell(rows["Not yet allocated"], 3).value == 7009
    data = json.loads(oxfordshire("report", "pcc-template", "--year", "2017-18", "--json").output)
    assert data["total"] == "693923.00" and data["grant"] == "700932.00"


def test_pcc_template_earlier_year_substitutes_the_year(reports: Path) -> None:
    sheet = openpyxl.load_workbook(reports / "pcc-csf-2015-16-end-year.xlsx")["CSF end-year"]
    assert sheet["C12"].value == "Cost to CSF 2015-16"
    assert sheet["D12"].value == "% of 2015-16 CSF grant"
    assert sheet["F12"].value == f"Spend to {day(date(2016, 3, 31))}"
    assert sheet["G12"].value == "Variance (cost less spend)"


RETURNS = """\
2017-04-01 org FUNDER "The Commissioner"
  role: funder
2017-04-01 org COUNCIL "Some District Council"
  role: accountable-body
2017-04-01 stream CSF "A community safety fund"
  kind: pcc-csf
  funder: FUNDER
  accountable: COUNCIL
2017-04-01 line CSF IDVA "Three IDVA posts"
2017-04-01 line CSF ASB "ASB post within the community safety team"
2017-04-01 award CSF 2017-18 100,000
2017-04-01 allocate CSF 2017-18 IDVA 60,000
2017-04-01 allocate CSF 2017-18 ASB 40,000
2017-06-01 match CSF IDVA 15,000.50
  from: "Clinical commissioning group"
  form: cash
2017-09-30 spent CSF 2017-18 IDVA 25,000.25
2017-10-01 spent CSF 2017-18 IDVA 5,000
2018-03-31 spent CSF 2017-18 ASB 39,000
"""


@pytest.mark.parametrize(
    ("stage", "idva_spent", "asb_spent"),
    [("mid-year", 25000.25, None), ("end-year", 30000.25, 39000)],
)
def test_pcc_template_returns_add_spend_to_date_and_variance(
    grants: Grants, tmp_path: Path, stage: str, idva_spent: float, asb_spent: float | None
) -> None:
    """At mid-year nothing has been reported for ASB: its spend is "not given", not £0."""
    assert grants("ledger", "load", str(books(tmp_path, RETURNS))).exit_code == 0
    path = tmp_path / "csf.xlsx"
    result = grants(
        "report", "pcc-template", "--stream", "CSF", "--year", "2017-18", "--stage", stage,
        "-o", str(path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(path)[f"CSF {stage}"]
    values = openpyxl.load_workbook(path, data_only=True)[f"CSF {stage}"]
    assert sheet["B6"].value == "Some District Council"
    assert values["A13"].value == "Three IDVA posts"
    assert values["E13"].value == "Clinical commissioning group: £15,000.50"
    assert values["E14"].value in (None, "")
    assert values["F13"].value == idva_spent
    if asb_spent is None:
        assert (values["F14"].value, values["G14"].value) == ("not given", "not given")
    else:
        assert values["F14"].value == asb_spent
    assert sheet["G13"].value == "=C13-F13"
    assert values["G13"].value == pytest.approx(60000 - idva_spent)
    assert sheet["F15"].value == "=SUM(F13,F14)"
    assert values["F15"].value == pytest.approx(idva_spent + (asb_spent or 0))
    assert values["D15"].value == 1.0  # the whole grant is allocated
    sources = {
        r[0]: r[2] for r in openpyxl.load_workbook(path)["Sources"].iter_rows(values_only=True)
    }
    assert " spent (" in sources[f"'CSF {stage}'!F13:G13"]


def test_pcc_template_for_one_area(oxfordshire: Grants, tmp_path: Path) -> None:
    data = json.loads(
        oxfordshire(
            "report", "pcc-template", "--year", "2017-18", "--area", "community safety "
            "partnerships", "--json",
        ).output
    )  # fmt: skip
    assert data["area"] == "Community Safety Partnerships"
    assert data["grant"] == data["total"] == "319899.00"
    assert [r["title"] for r in data["rows"]] == [
        "Community Safety Partnerships", "Cherwell", "Oxford", "South and Vale",
        "West Oxfordshire",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--area", "Narnia"], "PCC-CSF has no line called 'Narnia' with an allocation in 2017-18"),
        (["--stream", "NOPE"], "there is no funding stream 'NOPE'"),
        (["--stream", "CAPITAL"], "CAPITAL is a capital-grant stream: the reporting template"),
        (["-o", "{tmp}/x.xls"], "must be an .xlsx file"),
        (["-o", "{tmp}/missing/x.xlsx"], "cannot write {tmp}/missing/x.xlsx: No such file"),
    ],
)
def test_pcc_template_mistakes_are_clear(
    oxfordshire: Grants, tmp_path: Path, args: list[str], message: str
) -> None:
    args = [a.format(tmp=tmp_path) for a in args]
    result = oxfordshire("report", "pcc-template", "--year", "2017-18", *args)
    assert result.exit_code == 1, result.output
    assert message.format(tmp=tmp_path) in result.output
    assert not [p.name for p in tmp_path.glob("**/*") if not p.name.startswith("grants.db")]


def test_pcc_template_unknown_stage_is_refused_by_its_option(oxfordshire: Grants) -> None:
    result = oxfordshire("report", "pcc-template", "--year", "2017-18", "--stage", "quarterly")
    assert result.exit_code == 2
    assert "'quarterly' is not one of 'plan', 'mid-year', 'end-year'" in result.output


@pytest.mark.parametrize("form", [[], ["--json"], ["-o", "x.xlsx"]])
def test_pcc_template_year_without_allocations(
    oxfordshire: Grants, tmp_path: Path, form: list[str]
) -> None:
    form = [str(tmp_path / f) if f.endswith(".xlsx") else f for f in form]
    result = oxfordshire("report", "pcc-template", "--year", "2012-13", *form)
    assert result.exit_code == 1
    assert "PCC-CSF has no allocations in 2012-13: no template to write" in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_pcc_returns_say_when_no_spend_is_reported(reports: Path) -> None:
    sheet = openpyxl.load_workbook(reports / "pcc-csf-2017-18-mid-year.xlsx")["CSF mid-year"]
    notes = [sheet.cell(r, 1).value for r in range(1, sheet.max_row + 1)]
    to = day(date(2017, 9, 30))
    assert any(str(n).startswith(f"No spend has been reported to {to} yet") for n in notes)


# -- the capital programme ------------------------------------------------------------------

PROGRAMME = """\
2017-04-01 org HMG "Government"
  role: funder
2017-04-01 stream CAP "A capital programme"
  kind: capital-grant
  funder: HMG
2017-04-01 award CAP 2018-19:2019-20 1,000,000
2017-04-01 line CAP P "A portfolio"
  kind: portfolio
  total-cost: 900,000
  specific-funding: 100,000
2017-04-01 line CAP S "A scheme"
  parent: P
  kind: scheme
  ref: "1)"
  total-cost: 900,000
  specific-funding: 100,000
  note: "Description/Notes: the only scheme"
2017-04-01 allocate CAP 2018-19:2019-20 P 800,000
2017-04-01 allocate CAP 2018-19:2019-20 S 800,000
2017-04-01 programme CAP old "Old programme"
2017-04-01 programme CAP new "New programme"
  compare: old
2017-04-01 profile CAP old grants G "A grant"
  2018/19: 100,000
  2019/20: 200,000
2017-04-01 profile CAP new grants G "A grant"
  2018/19: 100,000
  2019/20: 250,000
  2020/21: 300,000
  estimate: 2020/21
2017-04-01 profile CAP new grants H "A new grant"
  2019/20: 50,000
"""


def test_capital_marks_estimates_and_changes_from_the_data(grants: Grants, tmp_path: Path) -> None:
    assert grants("ledger", "load", str(books(tmp_path, PROGRAMME))).exit_code == 0
    path = tmp_path / "capital.xlsx"
    result = grants("report", "capital-programme", "--stream", "CAP", "-o", str(path))
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(path)
    # No funding annex: the books place no tranche in one.
    assert wb.sheetnames == [
        "Summary £m", "Resources", "Allocations", "Old grants", "New grants",
        "Programme by year", "Sources",
    ]  # fmt: skip
    new, old = wb["New grants"], wb["Old grants"]
    assert [c.value for c in new[4]][:6] == ["", "2018/19", "2019/20", "2020/21", "TOTAL", "Change"]

    def marks(cell: openpyxl.cell.Cell) -> tuple[bool, bool, bool]:
        yellow = (cell.fill.fgColor.rgb or "").endswith("FFFF00")
        return bool(cell.font.b), bool(cell.font.i), yellow

    assert marks(new["B5"]) == (False, False, False)  # 100,000 in both versions
    assert marks(new["C5"]) == (False, False, True)  # 200,000 became 250,000
    assert marks(new["D5"]) == (True, True, True)  # new, and an estimate
    assert marks(new["C6"]) == (False, False, True)  # a line the old version did not have
    assert all(marks(c) == (False, False, False) for c in old[5][1:4])  # the base: no marks
    assert new["F5"].value == "=E5-'Old grants'!E5"
    assert new["F6"].value == "=E6-0.0"
    notes = [new.cell(r, 1).value for r in range(1, new.max_row + 1)]
    assert "Figures shown in bold italics are estimates." in notes
    assert "Figures shown in yellow are changes to the old programme." in notes
    values = openpyxl.load_workbook(path, data_only=True)
    assert [c.value for c in values["New grants"][7]][:6] == [
        "TOTAL", 100, 300, 300, 700, 400,
    ]  # fmt: skip
    assert [c.value for c in values["New grants"][8]][:6] == [
        "Difference", 0, 100, 300, 400, 400,
    ]  # fmt: skip
    resources = values["Resources"]
    surplus = [r for r in resources.iter_rows(values_only=True) if r[0] and "Surplus" in r[0]]
    assert surplus[0][4] == 200  # £'000: 1,000 funding less 800 allocated


def test_capital_without_versions_or_award(grants: Grants, tmp_path: Path) -> None:
    result = grants("report", "capital-programme")
    assert result.exit_code == 1
    assert "the ledger holds no capital stream (one with programme versions)" in result.output
    assert grants("ledger", "load", str(books(tmp_path, PROGRAMME))).exit_code == 0
    result = grants("report", "capital-programme", "--compare", "old:newer")
    assert result.exit_code == 1
    assert "CAP has no programme version 'newer' (versions: old, new)" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compare", "current:current"], "--compare current:current: compare two different"),
        (["--compare", "current"], "--compare 'current': write BASE:OTHER"),
        (["--stream", "PCC-CSF"], "PCC-CSF has no programme versions"),
        (["--from", "2020/21", "--to", "2018/19"], "cannot end (2018-19) before it starts"),
        (["--from", "2018/19x"], "2018/19x"),
    ],
)
def test_capital_mistakes_are_clear(
    oxfordshire: Grants, tmp_path: Path, args: list[str], message: str
) -> None:
    result = oxfordshire("report", "capital-programme", *args, "-o", str(tmp_path / "c.xlsx"))
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert not any(p.suffix.startswith(".xlsx") or "tmp" in p.name for p in tmp_path.iterdir())


def test_a_failed_write_leaves_nothing_behind(
    oxfordshire: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from grants.excel import capital_programmes

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    out = tmp_path / "out"
    out.mkdir()
    (out / "capital.xlsx").write_bytes(b"the previous workbook")

    def broken(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(capital_programmes, "chart", broken)
    result = oxfordshire("report", "capital-programme", "-o", str(out / "capital.xlsx"))
    assert result.exit_code == 1
    assert f"cannot write {out / 'capital.xlsx'}: No space left on device" in result.output
    assert [p.name for p in out.iterdir()] == ["capital.xlsx"]
    assert (out / "capital.xlsx").read_bytes() == b"the previous workbook"  # untouched
    assert list(scratch.iterdir()) == []  # XlsxWriter's sheet files are gone too


@pytest.mark.parametrize(
    ("table", "key", "value", "problem"),
    [
        ("columns", "money_width", "11", "[columns] money_width = '11' must be a positive number"),
        ("print", "fit_to_width", "no", "[print] fit_to_width = 'no' must be true or false"),
        ("print", "orientation", "sideways", "[print] orientation = 'sideways' must be one of "
         "'portrait', 'landscape', 'auto'"),
        ("print", "min_font_size", 0, "[print] min_font_size = 0 must be a positive number"),
        ("programme", "title", "{name} ({years})", "[programme] title = '{name} ({years})' "
         "cannot be filled in (KeyError('years')): it may use {name}, {table_title}"),
        ("resources", "headings", [1, 2, 3, 4, 5, 6], "[resources] headings = [1, 2, 3, 4, 5, 6]"
         " must be text"),
    ],
)  # fmt: skip
def test_a_template_of_the_wrong_type_is_a_clear_error(
    oxfordshire: Grants,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    table: str,
    key: str,
    value: object,
    problem: str,
) -> None:
    import tomllib

    layout = tomllib.loads(
        (templates.templates_dir() / "capital-programme.toml").read_text(encoding="utf-8")
    )
    layout[table][key] = value
    assert problem in templates.contract_problems("capital-programme", layout)
    style = {**layout["styles"]["money"], "bg_color": 12}
    layout["styles"]["money"] = style
    assert "style 'money': bg_color = 12 is not text" in templates.contract_problems(
        "capital-programme", layout
    )


def test_capital_json_and_text(oxfordshire: Grants) -> None:
    data = json.loads(oxfordshire("report", "capital-programme", "--json").output)
    assert data["total_funding"] == "205322000.00"
    assert data["total_allocated"] == "205809000.00"
    assert data["surplus"] == "-487000.00"
    text = oxfordshire("report", "capital-programme").output
    assert "Contingency" in text and "-487,000" in text


def test_template_list_lengths_are_checked() -> None:
    layout = templates.load("pcc-template")
    layout["table"]["headings"] = layout["table"]["headings"][:4]
    assert templates.contract_problems("pcc-template", layout) == [
        "[table] headings must be a list of 5 headings"
    ]


@pytest.mark.parametrize(
    "formula",
    [
        "=SUM(B5:L5)",
        "=SUBTOTAL(9,C5:C7)",
        "=IF($B$9=0,0,C13/$B$9)",
        "=ROUND(B5,1)-C5",
        "='Current grants'!M5-'Flexible resources'!C9/1000",
        "{=SUM(A1:A3)}",
        "=FILTER(A1:A3,B1:B3)",
        "=XLOOKUP(1,A1:A3,B1:B3)",
        "=_xlfn.SINGLE(A1)",
    ],
)
def test_formulas_are_written_as_xlsxwriter_writes_them(formula: str) -> None:
    from xlsxwriter.worksheet import Worksheet

    from grants.excel.book import _Sheet

    assert _Sheet()._prepare_formula(formula) == Worksheet()._prepare_formula(formula)


def test_capital_rounding_note_names_the_columns_that_do_not_add_up(
    grants: Grants, tmp_path: Path
) -> None:
    text = PROGRAMME.split("2017-04-01 programme CAP old")[0] + (
        '2017-04-01 programme CAP only "Only version"\n'
        '2017-04-01 profile CAP only grants A "A"\n  2018/19: 400\n  2019/20: 2,000\n'
        '2017-04-01 profile CAP only grants B "B"\n  2018/19: 400\n  2019/20: 3,000\n'
    )
    assert grants("ledger", "load", str(books(tmp_path, text))).exit_code == 0
    path = tmp_path / "capital.xlsx"
    result = grants("report", "capital-programme", "-o", str(path))
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(path)["Only grants"]
    notes = [sheet.cell(r, 1).value for r in range(1, sheet.max_row + 1)]
    # 2018/19: 0.4 + 0.4 show as 0 and 0, the total 0.8 as 1; 2019/20 adds up (2 + 3 = 5).
    assert (
        "Rounding: figures are shown to the nearest £1,000, so in 2018/19, TOTAL the figures "
        "shown do not add up to the total shown, which is the sum of the exact figures."
    ) in notes
