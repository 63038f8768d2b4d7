"""A ledger holding every kind of record, built as its users would build it: the Oxfordshire
books, a spending plan form filled and imported, the demo's mid-year returns, a return
corrected twice (its spend replaced, so reversed), an officer's commands (a payment and its
reversal, an award with a stated figure, a claim to the funder and two receipts,
a signed grant agreement and its payment schedule, a carry-forward, an allocation dated before an assertion it then
breaks, a new title), and books with awkward text (a tab in a note, an empty source, a line
break and a carriage return in a reason)."""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl

from tests.conftest import BOOKS, Grants

ROOT = Path(__file__).resolve().parents[1]
RETURNS = ROOT / "ledger" / "oxfordshire" / "returns"


def _ok(result: object) -> None:
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]


def _fill_return(form: Path, target: Path, spend: str, who: str) -> Path:
    wb = openpyxl.load_workbook(form)
    ws = wb["Return"]
    ws["B9"], ws["B10"] = who, datetime(2017, 10, 20)
    ws["D13"], ws["E13"] = spend, "Two IDVA posts filled"
    wb.save(target)
    return target


def demo_filler() -> Any:
    """The demo's return filler (ledger/oxfordshire/returns/fill.py), standing in for the
    recipients typing into their forms."""
    spec = importlib.util.spec_from_file_location("fill", RETURNS / "fill.py")
    assert spec is not None and spec.loader is not None
    fill = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fill)
    return fill


def mid_year_returns(g: Grants, work: Path) -> tuple[Path, Path]:
    """The demo's mid-year returns issued, filled in from the seeds and imported, as `make
    demo` does: the folders of the forms as issued and as filled."""
    issued, filled = work / "issued", work / "filled"
    _ok(g("returns", "issue", "--stream", "PCC-CSF", "--year", "2017-18", "--stage", "mid-year",
          "-o", str(issued)))  # fmt: skip
    demo_filler().main(RETURNS / "2017-18-mid-year.toml", issued, filled)
    _ok(g("returns", "import", "--received", "2017-10-27", *sorted(map(str, filled.glob("*")))))
    return issued, filled


def build(g: Grants, work: Path, backdated: bool = True) -> None:
    _ok(g("ledger", "load", str(BOOKS)))
    # A spending plan form, as Cherwell would fill it in.
    _ok(g("plan", "issue", "--stream", "PCC-CSF", "--year", "2017-18", "--line", "CHERWELL",
          "-o", str(work / "plans")))  # fmt: skip
    (form,) = (work / "plans").glob("*.xlsx")
    wb = openpyxl.load_workbook(form)
    ws = wb["Plan"]
    cells = {"B9": "Jo Bloggs", "B10": datetime(2017, 5, 20), "B13": "Three IDVA posts",
             "C13": "Support high-risk victims", "D13": 1, "E13": "£40,000",
             "B14": "ASB caseworker", "D14": 2, "E14": 18542}  # fmt: skip
    for ref, value in cells.items():
        ws[ref] = value
    wb.save(work / "cherwell-plan.xlsx")
    _ok(g("plan", "import", "--received", "2017-06-20", str(work / "cherwell-plan.xlsx")))
    # The demo's mid-year returns, filled from the seeds.
    issued, _ = mid_year_returns(g, work)
    # Cherwell's return, corrected twice: the second correction reports less, so the spend
    # entries of the first are reversed.
    form = issued / "pcc-csf-2017-18-mid-year-cherwell.xlsx"
    first = _fill_return(form, work / "cherwell-1.xlsx", "£30,000", "Jo Bloggs")
    second = _fill_return(form, work / "cherwell-2.xlsx", "£32,000", "Jo Bloggs")
    third = _fill_return(form, work / "cherwell-3.xlsx", "£29,500.50", "Jo Bloggs")
    for path, day in ((first, "2017-10-28"), (second, "2017-10-29"), (third, "2017-10-30")):
        _ok(g("returns", "import", "--received", day, str(path)))
    # An officer's commands.
    _ok(g("pay", "PCC-CSF", "2017-18", "DA", "5,000", "--date", "2017-07-01",
          "--reason", "first instalment\nby BACS"))  # fmt: skip
    _ok(g("pay", "PCC-CSF", "2017-18", "DA", "5,000", "--date", "2017-07-02"))
    entries = g("journal", "--limit", "1", "--json")
    _ok(entries)
    newest = json.loads(entries.output)[-1]["entry"]
    _ok(g("reverse", str(newest), "--reason", "paid twice"))
    _ok(g("award", "LGF3", "2018-19", "1,000,000", "--stated", "1,000,000.50",
          "--date", "2018-04-01", "--source", "grant letter 2018/4"))  # fmt: skip
    # Money in: a claim to the funder with its details, a receipt paying part of it and one
    # received against the award.
    _ok(g("claim", "LGF3", "2018-19", "Q1-2018", "250,000", "--quarter", "Q1", "--eligible",
          "300,000", "--evidence", "LGF claim form 2018/Q1", "--date", "2018-07-15"))  # fmt: skip
    _ok(g("receipt", "LGF3", "2018-19", "200,000", "--claim", "Q1-2018", "--date", "2018-08-01"))
    _ok(g("receipt", "LGF3", "2018-19", "50,000", "--date", "2018-08-02"))
    # A signed grant agreement committing part of Cherwell's allocation.
    _ok(g("commit", "PCC-CSF", "2017-18", "CHERWELL", "50,000", "--agreement", "GA/2017/CHER",
          "--from", "2017-06-01", "--to", "2018-03-31", "--conditions",
          "Mid-year and end-year returns\nUnspent grant returned", "--date", "2017-06-15"))  # fmt: skip
    # Its payment schedule: two instalments on milestones.
    for due, milestone in (("2017-07-01", "Agreement signed"), ("2017-11-30", "Mid-year return")):
        _ok(g("schedule", "PCC-CSF", "2017-18", "CHERWELL", "25,000", "--basis", "milestone",
              "--due", due, "--milestone", milestone, "--date", "2017-06-15"))  # fmt: skip
    # An underspend carried into the next year with the funder's approval.
    _ok(g("carry-forward", "PCC-CSF", "2017-18", "2018-19", "DA", "1,000", "--approval",
          "OPCC/CF/2018/1", "--date", "2018-03-31"))  # fmt: skip
    _ok(g("ledger", "title", "Oxfordshire County Council grants ledger"))
    # Back-dated: the books assert PCC-CSF 2017-18's allocations at 31 March 2018.
    if backdated:
        _ok(g("allocate", "PCC-CSF", "2017-18", "DA", "500", "--date", "2017-06-03",
              "--reason", "one\rtwo", "--source", ""))  # fmt: skip
    awkward = work / "awkward.grants"
    awkward.write_text(
        '2017-04-01 org AWKWARD "Awkward Ltd"\n  note: "first\\tsecond\\nthird"\n  source: ""\n',
        encoding="utf-8",
    )
    _ok(g("ledger", "load", str(awkward)))


__all__ = ["build"]
