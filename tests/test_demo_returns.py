"""The demo's returns: the 2017-18 mid-year forms, filled from the seeds, import cleanly."""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from pathlib import Path

from grants.formatting import day
from tests.conftest import Grants

ROOT = Path(__file__).parent.parent
RETURNS = ROOT / "ledger" / "oxfordshire" / "returns"


def test_the_seed_figures_fill_the_mid_year_forms_and_import(
    oxfordshire: Grants, tmp_path: Path, capsys: object
) -> None:
    issued, filled = tmp_path / "issued", tmp_path / "filled"
    result = oxfordshire("returns", "issue", "--stream", "PCC-CSF", "--year", "2017-18",
                         "--stage", "mid-year", "-o", str(issued))  # fmt: skip
    assert result.exit_code == 0, result.output
    spec = importlib.util.spec_from_file_location("fill", RETURNS / "fill.py")
    assert spec is not None and spec.loader is not None
    fill = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fill)
    fill.main(RETURNS / "2017-18-mid-year.toml", issued, filled)
    files = sorted(str(p) for p in filled.glob("*.xlsx"))
    assert [Path(f).name for f in files] == [
        "pcc-csf-2017-18-mid-year-da.xlsx", "pcc-csf-2017-18-mid-year-ph.xlsx",
        "pcc-csf-2017-18-mid-year-sia.xlsx", "pcc-csf-2017-18-mid-year-yos.xlsx",
    ]  # fmt: skip
    result = oxfordshire("returns", "import", "--received", "2017-10-27", *files)
    assert result.exit_code == 0, result.output
    data = json.loads(oxfordshire("reconcile", "--stream", "PCC-CSF", "--year", "2017-18",
                                  "--as-of", "2017-11-15", "--json").output)  # fmt: skip
    due = [
        (f["line"], f["message"])
        for f in data["findings"]
        if f["check"] in ("returns due", "plans due")
    ]
    missing = sorted(line for line, message in due if "mid-year return" in message)
    assert missing == ["CHERWELL", "OXFORD", "SOUTH-VALE", "WEST-OXON"]  # the district CSPs
    # The papers publish no spending plans: every recipient's plan, due in June, is missing.
    no_plan = f"no spending plan is recorded; it was due {day(date(2017, 6, 30))} (138 days ago)"
    assert sorted(line for line, message in due if message == no_plan) == [
        "CHERWELL", "DA", "OXFORD", "PH", "SIA", "SOUTH-VALE", "WEST-OXON", "YOS",
    ]  # fmt: skip
    assert len(due) == 12
