"""Every workbook the demo writes, and the plan and return forms blank and filled in, printed
by LibreOffice: every page A4, no words over each other or off the page, every word of every
cell printed whole, no text under 7 points. The pages are left as PNGs in out/print/ for a
person to look at."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

import openpyxl

from grants.excel import templates
from tests.conftest import Grants
from tests.full_ledger import demo_filler, mid_year_returns
from tests.rendering import (
    missing_words,
    need_soffice,
    overlaps,
    read_pdf,
    to_pdf,
    to_png,
)

ROOT = Path(__file__).resolve().parents[1]
PNG = ROOT / "out" / "print"


def _ok(result: object) -> None:
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]


def _demo(g: Grants, work: Path) -> dict[str, list[Path]]:
    """The workbooks `make demo` writes (after loading the books), and a plan form filled in
    by its recipient, by kind."""
    plans = work / "plans"
    _ok(g("plan", "issue", "--stream", "PCC-CSF", "--year", "2017-18", "-o", str(plans)))
    issued, filled = mid_year_returns(g, work)
    reports = work / "reports"
    _ok(g("report", "all", "-o", str(reports)))
    g("reconcile", "--stream", "PCC-CSF", "--year", "2017-18", "--as-of", "2017-11-15",
      "-o", str(reports / "pcc-csf-2017-18-reconciliation.xlsx"))  # fmt: skip
    assert (reports / "pcc-csf-2017-18-reconciliation.xlsx").exists()
    # A plan form as Cherwell would fill it in.
    form = plans / "pcc-csf-2017-18-plan-cherwell.xlsx"
    wb = openpyxl.load_workbook(form)
    ws = wb["Plan"]
    cells = {"B9": "Jo Bloggs", "B10": datetime(2017, 5, 20), "B13": "Three IDVA posts",
             "C13": "Support high-risk victims of domestic abuse through the court process "
                    "and into safe housing", "D13": 1, "E13": 40000,
             "G13": "Thames Valley Police £5,000", "B14": "ASB caseworker", "D14": 2,
             "E14": 18542}  # fmt: skip
    for ref, value in cells.items():
        ws[ref] = value
    demo_filler().fit_row(ws, 13)
    plan_filled = work / "plan-filled"
    plan_filled.mkdir()
    wb.save(plan_filled / form.name)
    return {
        "report": sorted(reports.glob("*.xlsx")),
        "plan": sorted(plans.glob("*.xlsx")),
        "plan-filled": sorted(plan_filled.glob("*.xlsx")),
        "return": sorted(issued.glob("*.xlsx")),
        "return-filled": sorted(filled.glob("*.xlsx")),
    }


def test_every_workbook_prints_readably_on_a4(oxfordshire: Grants, tmp_path: Path) -> None:
    need_soffice()
    kinds = _demo(oxfordshire, tmp_path / "demo")
    assert all(kinds.values()), {k: len(v) for k, v in kinds.items()}
    # One folder of uniquely named copies: the issued and filled forms share their names.
    staged = tmp_path / "staged"
    staged.mkdir()
    workbooks = []
    for kind, paths in kinds.items():
        for path in paths:
            copy = staged / f"{kind}-{path.name}" if kind != "report" else staged / path.name
            shutil.copyfile(path, copy)
            workbooks.append(copy)
    pdfs = to_pdf(workbooks, tmp_path / "pdf", tmp_path / "profile")
    shutil.rmtree(PNG, ignore_errors=True)
    problems: list[str] = []
    for workbook, pdf in zip(workbooks, pdfs, strict=True):
        to_png(pdf, PNG)
        found, words = read_pdf(pdf)
        assert words, f"{pdf.name} prints no text"
        problems += found + overlaps(pdf, words) + missing_words(workbook, pdf, words)
        if any("#" * 3 in w.text for w in words):
            problems.append(f"{pdf.name}: a figure too wide for its column prints as ###")
    assert not problems, "\n".join(problems[:60])


def test_the_resources_sheet_prints_the_councils_notes_from_the_books(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    # The notes the books give each portfolio's balance row in the resources table, in the
    # order the lines are declared: the sheet prints them in F12:F20, beside the portfolios.
    books = (ROOT / "ledger" / "oxfordshire" / "capital.grants").read_text(encoding="utf-8")
    given = re.search(r'heading CAPITAL resources\.books_table "([^"]*)"', books)
    table = given[1] if given else templates.load("capital-programme")["resources"]["books_table"]
    notes: dict[str, str | None] = {}
    for block in re.split(r"\n(?=\S)", books):
        head = re.match(r"\S+ balance CAPITAL \S+ allocated:([A-Z-]+) ", block)
        if head and f'table: "{table}"' in block:
            note = re.search(r'\n  note: "([^"]*)"', block)
            notes[head[1]] = note[1] if note else None
    lines = re.findall(r'\S+ line CAPITAL ([A-Z-]+) "([^"]*)"\n  kind: portfolio', books)
    assert len(lines) == 9 and [notes.get(code) for code, _ in lines].count("Annex 3") == 5
    out = tmp_path / "capital.xlsx"
    _ok(oxfordshire("report", "capital-programme", "-o", str(out)))
    sheet = openpyxl.load_workbook(out)["Flexible resources"]
    printed = [(sheet[f"A{r}"].value, sheet[f"F{r}"].value) for r in range(12, 21)]
    assert printed == [(name, notes.get(code)) for code, name in lines]
