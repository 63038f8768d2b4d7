"""`grants clawback`: the books' clawback entry, recorded by an officer's command through the
same service and rules, on both engines."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Grants
from tests.helpers import FUND, books, row_counts

BASE = (
    FUND
    + """
2017-04-01 award FUND 2017-18 1,000
2017-04-01 allocate FUND 2017-18 A 600
2017-05-01 pay FUND 2017-18 A 400
"""
)


def test_a_clawback_comes_off_paid_and_allocated_and_never_beyond_what_was_paid(
    grants: Grants, tmp_path: Path
) -> None:
    assert grants("ledger", "load", str(books(tmp_path, BASE))).exit_code == 0
    before = row_counts(grants.url)
    beyond = grants("clawback", "FUND", "2017-18", "a", "400.01")
    assert beyond.exit_code == 1
    assert beyond.output == (
        "Error: clawback of £400.01 to FUND 2017-18 A would take the amount paid to A "
        "(FUND 2017-18) below zero, short by £0.01\n"
    )
    assert row_counts(grants.url) == before
    made = grants("clawback", "FUND", "2017-18", "a", "150", "--reason", "underspend",
                  "--json")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert (json.loads(made.output)["kind"], json.loads(made.output)["amount"]) == (
        "clawback", "150.00"
    )  # fmt: skip
    rows = {r["line"]: r for r in json.loads(grants("balance", "--json").output)}
    assert (rows["A"]["allocated"], rows["A"]["paid"]) == ("450.00", "250.00")
    assert rows[None]["unallocated"] == "550.00"  # returned to the award
    # The export writes it as the books' own directive.
    assert grants("ledger", "export", "-o", str(tmp_path / "out")).exit_code == 0
    text = (tmp_path / "out" / "ledger-0001.grants").read_text()
    assert "clawback FUND 2017-18 A 150.00\n" in text
    assert grants("clawback", "--help").exit_code == 0
