"""A second funder's PCC books (tests/data/other-funder: an invented county, Northmoor, its
police and crime commissioner, a grant over two years with districts, a stated figure, printed
totals and a printed row that does not foot): every workbook and form of the stream speaks of
Northmoor in its own words or the templates' neutral ones, never Oxfordshire's; and the
Oxfordshire books still give Oxfordshire's workbooks the council's words."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from grants.formatting import day
from tests.conftest import Grants
from tests.test_other_council import _texts

BOOKS = Path(__file__).parent / "data" / "other-funder" / "pcc.grants"
TEXT = BOOKS.read_text(encoding="utf-8")
STREAM = "NM-CSG"
YEAR = "2021-22"


def _given(pattern: str) -> str:
    match = re.search(pattern, TEXT, re.MULTILINE)
    assert match, pattern
    return match[1]


FUNDER = _given(r'^\S+ org NM-PCC "([^"]+)"')
STREAM_NAME = _given(rf'^\S+ stream {STREAM} "([^"]+)"')
AREA = _given(r'^\S+ org NMCC "([^"]+)"')
RESOURCING_TITLE = _given(rf'^\S+ heading {STREAM} resourcing:sheet\.title "([^"]+)"')
FOOTER_NOTE = _given(rf'^\S+ heading {STREAM} pcc-template:sheet\.footer_note "([^"]+)"')
YJ_SPENT = Decimal(_given(rf"^\S+ spent {STREAM} {YEAR} YJ ([\d,.]+)").replace(",", ""))

# Oxfordshire's and Thames Valley's words: the places, the partnership, the appendices, the
# fund's abbreviation and the sentences of its template and the commissioner's objectives.
OXFORDSHIRE = re.compile(
    r"oxford|thames|cherwell|vale of white horse|south and vale|west oxon|appendix|\bTVP|"
    r"\bCSF\b|\bOCC\b|\bSOP\b|signs the grant agreement in june|"
    r"office of the police and crime commissioner|LPA commander|local authority area|"
    r"managing demand on services|police ethics and reform",
    re.IGNORECASE,
)


@pytest.fixture
def northmoor(grants: Grants) -> Grants:
    result = grants("ledger", "load", str(BOOKS))
    assert result.exit_code == 0, result.output
    return grants


def _run(grants: Grants, *args: str, exit_code: int = 0) -> None:
    result = grants(*args)
    assert result.exit_code == exit_code, result.output


@pytest.fixture
def workbooks(northmoor: Grants, tmp_path: Path) -> dict[str, Path]:
    """Every workbook and form the stream has: resourcing, the reporting template at the plan
    and mid-year stages, the spending plan and mid-year return forms and the reconciliation
    (which exits 1: the plans and returns are missing)."""
    out = {
        "resourcing": tmp_path / "resourcing.xlsx",
        "plan": tmp_path / "template-plan.xlsx",
        "mid-year": tmp_path / "template-mid-year.xlsx",
        "reconcile": tmp_path / "reconcile.xlsx",
    }
    _run(northmoor, "report", "resourcing", "--stream", STREAM, "--years", f"2020-21:{YEAR}",
         "-o", str(out["resourcing"]))  # fmt: skip
    for stage in ("plan", "mid-year"):
        _run(northmoor, "report", "pcc-template", "--stream", STREAM, "--year", YEAR,
             "--stage", stage, "-o", str(out[stage]))  # fmt: skip
    _run(northmoor, "plan", "issue", "--stream", STREAM, "--year", YEAR,
         "-o", str(tmp_path / "plans"))  # fmt: skip
    _run(northmoor, "returns", "issue", "--stream", STREAM, "--year", YEAR, "--stage",
         "mid-year", "-o", str(tmp_path / "returns"))  # fmt: skip
    _run(northmoor, "reconcile", "--stream", STREAM, "--as-of", "2021-11-15", "-o",
         str(out["reconcile"]), exit_code=1)  # fmt: skip
    forms = sorted((tmp_path / "plans").glob("*.xlsx")) + sorted(
        (tmp_path / "returns").glob("*.xlsx")
    )
    assert len(forms) >= 2 * TEXT.count(f"allocate {STREAM} {YEAR} ") - 2  # not the parent
    out.update({f"form {p.name}": p for p in forms})
    return out


def _all_text(path: Path) -> list[tuple[str, str]]:
    return list(_texts(openpyxl.load_workbook(path)))


def test_no_word_of_oxfordshire_in_any_workbook_or_form(workbooks: dict[str, Path]) -> None:
    found = [
        f"{name} {where}: {text!r}"
        for name, path in workbooks.items()
        for where, text in _all_text(path)
        if OXFORDSHIRE.search(text)
    ]
    assert not found, "\n".join(found)


def test_the_funders_own_words_appear(workbooks: dict[str, Path]) -> None:
    resourcing = openpyxl.load_workbook(workbooks["resourcing"]).worksheets[0]
    assert resourcing["A1"].value == RESOURCING_TITLE  # the books' heading
    labels = [c.value for c in resourcing["A"]]
    assert f"Stated by {FUNDER}" in labels  # the neutral label with the books' funder

    plan = openpyxl.load_workbook(workbooks["plan"]).worksheets[0]
    texts = [v for _, v in _texts(plan.parent)]
    assert plan["A1"].value == f"{STREAM_NAME}: reporting template"
    assert (plan["B6"].value, plan["E6"].value) == (AREA, AREA)
    assert FOOTER_NOTE in texts

    summary = openpyxl.load_workbook(workbooks["reconcile"]).worksheets[0]
    assert summary["A1"].value == f"{STREAM_NAME}: checks as of {day(date(2021, 11, 15))}"

    plan_forms = [p for n, p in workbooks.items() if n.startswith("form ") and "-plan-" in n]
    assert plan_forms
    for path in plan_forms:
        instructions = [c.value for c in openpyxl.load_workbook(path)["Instructions"]["A"]]
        assert f"Strategic objectives of {FUNDER}" in instructions
        assert openpyxl.load_workbook(path)["Plan"]["A1"].value.startswith(STREAM_NAME)


def test_spend_not_reported_reads_not_given(workbooks: dict[str, Path]) -> None:
    sheet = openpyxl.load_workbook(workbooks["mid-year"], data_only=True).worksheets[0]
    rows = {sheet.cell(r, 1).value: r for r in range(13, 30) if sheet.cell(r, 1).value}
    youth = rows[_given(rf'^\S+ line {STREAM} YJ "([^"]+)"')]
    assert Decimal(str(sheet.cell(youth, 6).value)) == YJ_SPENT
    victims = rows[_given(rf'^\S+ line {STREAM} VICTIMS "([^"]+)"')]
    assert (sheet.cell(victims, 6).value, sheet.cell(victims, 7).value) == ("not given",) * 2
    assert Decimal(str(sheet.cell(rows["Total"], 6).value)) == YJ_SPENT


def test_a_year_with_no_spend_reported_totals_not_given(northmoor: Grants, tmp_path: Path) -> None:
    """When no line has said what it spent, the total does not read as nothing spent."""
    earlier = f"{int(YEAR[:4]) - 1}-{YEAR[2:4]}"
    assert f" spent {STREAM} {earlier} " not in TEXT
    path = tmp_path / "earlier.xlsx"
    _run(northmoor, "report", "pcc-template", "--stream", STREAM, "--year", earlier,
         "--stage", "mid-year", "-o", str(path))  # fmt: skip
    sheet = openpyxl.load_workbook(path).worksheets[0]
    total = next(r for r in range(13, 40) if sheet.cell(r, 1).value == "Total")
    assert (sheet.cell(total, 6).value, sheet.cell(total, 7).value) == ("not given",) * 2
    assert str(sheet.cell(total, 3).value).startswith("=SUM(")


def test_a_heading_the_template_lacks_is_refused_naming_the_books_line(
    northmoor: Grants, tmp_path: Path
) -> None:
    extra = tmp_path / "more.grants"
    extra.write_text(f'2021-04-02 heading {STREAM} resourcing:sheet.colour "Blue"\n')
    _run(northmoor, "ledger", "load", str(extra))
    result = northmoor("report", "resourcing", "--stream", STREAM, "--years", YEAR,
                       "-o", str(tmp_path / "r.xlsx"))  # fmt: skip
    assert result.exit_code != 0
    assert "more.grants:1" in result.output and "resourcing:sheet.title" in result.output
    assert "Traceback" not in result.output


def test_the_json_gives_no_spend_for_a_line_that_reported_none(northmoor: Grants) -> None:
    result = northmoor("report", "pcc-template", "--stream", STREAM, "--year", YEAR,
                       "--stage", "mid-year", "--json")  # fmt: skip
    spent = {r["line"]: r["spent"] for r in json.loads(result.output)["rows"]}
    assert Decimal(spent["YJ"]) == YJ_SPENT
    assert spent["VICTIMS"] is None
    table = northmoor("report", "pcc-template", "--stream", STREAM, "--year", YEAR,
                      "--stage", "mid-year").output  # fmt: skip
    victims = _given(rf'^\S+ line {STREAM} VICTIMS "([^"]+)"')
    assert "not given" in next(line for line in table.splitlines() if victims in line)


def test_a_heading_with_a_placeholder_the_text_cannot_use_is_refused(
    northmoor: Grants, tmp_path: Path
) -> None:
    extra = tmp_path / "more.grants"
    extra.write_text(f'2021-04-02 heading {STREAM} resourcing:sheet.title "Grant {{budget}}"\n')
    _run(northmoor, "ledger", "load", str(extra))
    result = northmoor("report", "resourcing", "--stream", STREAM, "--years", YEAR,
                       "-o", str(tmp_path / "r.xlsx"))  # fmt: skip
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "more.grants:1" in result.output and "{funder}" in result.output


def test_a_heading_for_an_unknown_report_is_refused_at_load(
    northmoor: Grants, tmp_path: Path
) -> None:
    extra = tmp_path / "more.grants"
    extra.write_text(f'2021-04-02 heading {STREAM} budget:sheet.title "Budget"\n')
    result = northmoor("ledger", "load", str(extra))
    assert result.exit_code != 0
    assert "more.grants:1" in result.output and "'budget' is not a report's template" in (
        result.output
    )


def test_a_form_importer_text_cannot_be_reworded(northmoor: Grants, tmp_path: Path) -> None:
    """The Total row's label is read back by `grants plan import`: the books cannot change it."""
    extra = tmp_path / "more.grants"
    extra.write_text(f'2021-04-02 heading {STREAM} plan-form:labels.total "Sum"\n')
    _run(northmoor, "ledger", "load", str(extra))
    result = northmoor("plan", "issue", "--stream", STREAM, "--year", YEAR,
                       "-o", str(tmp_path / "plans"))  # fmt: skip
    assert result.exit_code != 0 and "plan-form:labels.total" in result.output


def test_oxfordshire_workbooks_keep_the_councils_words(oxfordshire: Grants, tmp_path: Path) -> None:
    resourcing, template = tmp_path / "r.xlsx", tmp_path / "t.xlsx"
    _run(oxfordshire, "report", "resourcing", "--stream", "PCC-CSF", "--years",
         "2014-15:2017-18", "-o", str(resourcing))  # fmt: skip
    _run(oxfordshire, "report", "pcc-template", "--stream", "PCC-CSF", "--year", "2017-18",
         "-o", str(template))  # fmt: skip
    _run(oxfordshire, "plan", "issue", "--stream", "PCC-CSF", "--year", "2017-18", "--line",
         "PH", "-o", str(tmp_path / "plans"))  # fmt: skip
    books = (Path(__file__).parents[1] / "ledger" / "oxfordshire" / "pcc-csf.grants").read_text(
        encoding="utf-8"
    )
    headings = dict(re.findall(r'^\S+ heading PCC-CSF (\S+) "([^"]+)"', books, re.MULTILINE))
    assert headings, "the Oxfordshire books word the PCC workbooks"
    sheet = openpyxl.load_workbook(resourcing).worksheets[0]
    assert sheet["A1"].value == headings["resourcing:sheet.title"] == "Appendix 7 Resourcing"
    sheet = openpyxl.load_workbook(template).worksheets[0]
    assert sheet["A1"].value == headings["pcc-template:sheet.title"]
    assert sheet["C12"].value == headings["pcc-template:table.headings.3"].format(year="2017-18")
    texts = [v for _, v in _texts(sheet.parent)]
    assert headings["pcc-template:sheet.footer_note"] in texts
    assert "signs the grant agreement in June" in headings["pcc-template:sheet.footer_note"]
    form = next((tmp_path / "plans").glob("*.xlsx"))
    instructions = [c.value for c in openpyxl.load_workbook(form)["Instructions"]["A"]]
    for n in range(1, 6):
        assert headings[f"plan-form:instructions.objectives.{n}"] in instructions


PUBLISHED = re.compile(
    rf"^\S+ (?:printed {STREAM} |balance {STREAM} .*\n  table:)(?:.*\n  .*)*", re.MULTILINE
)


def test_every_printed_figure_is_shown_and_checked(workbooks: dict[str, Path]) -> None:
    """Each figure the books record as printed is on the resourcing workbook's Published
    figures sheet, beside the ledger's figure; the row that does not foot is marked."""
    given = PUBLISHED.findall(TEXT)
    assert len(given) >= 3
    book = openpyxl.load_workbook(workbooks["resourcing"])
    sheet = book["Published figures"]
    rows = [
        r for r in sheet.iter_rows(min_row=5, values_only=True) if r[3]
    ]  # a figure's row, not the note
    assert len(rows) == len(given)
    partnerships = _given(r'^  row: "(District partnerships)"')
    (row,) = [r for r in rows if r[1] == partnerships]
    printed = Decimal(_given(rf"^\S+ printed {STREAM} {YEAR} allocated:PARTNERSHIPS ([\d,]+)")
                      .replace(",", ""))  # fmt: skip
    districts = sum(
        Decimal(a.replace(",", ""))
        for a in re.findall(
            rf"^\S+ allocate {STREAM} {YEAR} (?:FENWICK|HARROWDEN) ([\d,]+)", TEXT, re.MULTILINE
        )
    )
    assert (Decimal(str(row[7])), Decimal(str(row[8]))) == (printed, districts)
    assert row[10] == "differs"
    assert sum(1 for r in rows if r[10] == "agrees") == len(given) - 1
