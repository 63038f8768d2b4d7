"""`grants chain`: funder -> accountable body -> partnership -> recipient, with awarded,
committed, paid and spent at each level, on the Oxfordshire books (both engines)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.conftest import Grants, add_person
from tests.helpers import books


def _json(g: Grants, *args: str) -> Any:
    result = g(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _allocated(g: Grants) -> dict[str, Decimal]:
    rows = _json(g, "balance", "--stream", "PCC-CSF", "--year", "2017-18")
    return {r["line"]: Decimal(r["allocated"]) for r in rows if r["line"]}


def _pay_and_spend(g: Grants, tmp_path: Path) -> tuple[Decimal, Decimal, Decimal]:
    """The council pays SOP the CSP line; SOP passes half of Cherwell's allocation on;
    Cherwell reports spending a quarter of it (books, as a return would record it)."""
    allocated = _allocated(g)
    csp, passed = allocated["CSP"], (allocated["CHERWELL"] / 2).quantize(Decimal("1"))
    spent = (allocated["CHERWELL"] / 4).quantize(Decimal("1"))
    assert g("pay", "PCC-CSF", "2017-18", "CSP", str(csp), "--date", "2017-06-30").exit_code == 0
    on = g("pay", "PCC-CSF", "2017-18", "CHERWELL", str(passed), "--from", "CSP",
           "--date", "2017-07-31")  # fmt: skip
    assert on.exit_code == 0, on.output
    text = f"2017-09-30 spent PCC-CSF 2017-18 CHERWELL {spent}\n  source: mid-year return\n"
    assert g("ledger", "load", str(books(tmp_path, text, "spent.grants"))).exit_code == 0
    return csp, passed, spent


def test_the_pcc_fund_chain_from_the_commissioner_to_cherwell(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    csp, passed, spent = _pay_and_spend(oxfordshire, tmp_path)
    allocated = _allocated(oxfordshire)
    rows = _json(oxfordshire, "chain", "--stream", "PCC-CSF", "--year", "2017-18")
    by = {(r["depth"], r["line"] or r["organisation"]): r for r in rows}
    funder, council = by[(0, "TVPCC")], by[(1, "OCC")]
    partnership, district = by[(2, "CSP")], by[(3, "CHERWELL")]
    assert [r["level"] for r in (funder, council, partnership, district)] == [
        "funder", "accountable body", "partnership", "recipient"
    ]  # fmt: skip
    assert (partnership["organisation"], district["organisation"]) == ("SOP", "CHERWELL-CSP")
    # The chain in the order printed: each level beneath the one before it.
    order = [(r["depth"], r["line"] or r["organisation"]) for r in rows]
    assert order.index((0, "TVPCC")) < order.index((1, "OCC")) < order.index((2, "CSP"))
    assert order.index((2, "CSP")) < order.index((3, "CHERWELL"))
    assert Decimal(funder["awarded"]) == Decimal(council["awarded"])
    assert funder["paid"] is None and funder["spent"] is None
    assert Decimal(partnership["awarded"]) == allocated["CSP"]
    assert Decimal(district["awarded"]) == allocated["CHERWELL"]
    # Paid: the council paid SOP once; SOP passed part on to Cherwell (counted once).
    assert Decimal(council["paid"]) == csp
    assert Decimal(partnership["paid"]) == csp
    assert Decimal(partnership["passed_on"]) == passed
    assert Decimal(district["paid"]) == passed
    # Spent rolls up from Cherwell to the partnership and the council.
    for level in (council, partnership, district):
        assert Decimal(level["spent"]) == spent
        assert Decimal(level["committed"]) == 0
        assert level["flags"] == []
    # As it stood before SOP passed the money on.
    before = _json(oxfordshire, "chain", "--stream", "PCC-CSF", "--year", "2017-18",
                   "--as-of", "2017-07-30")  # fmt: skip
    then = {(r["depth"], r["line"] or r["organisation"]): r for r in before}
    assert Decimal(then[(3, "CHERWELL")]["paid"]) == 0
    assert Decimal(then[(2, "CSP")]["paid"]) == csp
    # The tree, indented level by level.
    table = oxfordshire("chain", "--stream", "pcc-csf", "--year", "2017-18")
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split()[:3] == ["chain", "level", "organisation"]
    cherwell = next(x for x in lines if x.lstrip().startswith("CHERWELL "))
    csp_line = next(x for x in lines if x.lstrip().startswith("CSP "))
    indent = len(cherwell) - len(cherwell.lstrip())
    assert indent == len(csp_line) - len(csp_line.lstrip()) + 2
    assert f"£{passed:,.2f}" in cherwell and f"£{spent:,.2f}" in cherwell


def test_a_level_its_children_exceed_is_flagged_with_the_figures(oxfordshire: Grants) -> None:
    allocated = _allocated(oxfordshire)
    more = oxfordshire("allocate", "PCC-CSF", "2017-18", "CHERWELL", "1,000", "--over-allocate")
    assert more.exit_code == 0, more.output
    rows = _json(oxfordshire, "chain", "--stream", "PCC-CSF", "--year", "2017-18")
    csp = next(r for r in rows if r["line"] == "CSP")
    children = sum(v for k, v in allocated.items() if k in
                   ("CHERWELL", "OXFORD", "SOUTH-VALE", "WEST-OXON")) + 1000  # fmt: skip
    assert csp["flags"] == [
        f"the levels beneath add up to £{children:,.2f} awarded, more than the "
        f"£{allocated['CSP']:,.2f} awarded here"
    ]
    table = oxfordshire("chain", "--stream", "PCC-CSF", "--year", "2017-18").output
    assert f"PCC-CSF 2017-18 CSP: the levels beneath add up to £{children:,.2f}" in table


def test_a_recipient_sees_its_own_branch_only(oxfordshire: Grants, tmp_path: Path) -> None:
    _, passed, spent = _pay_and_spend(oxfordshire, tmp_path)
    add_person(oxfordshire.url, "cher", ["recipient"], organisations=["CHERWELL-CSP"])
    add_person(oxfordshire.url, "vic", ["viewer"])
    rows = _json(oxfordshire.as_user("cher"), "chain", "--year", "2017-18")
    assert [(r["stream"], r["year"], r["depth"], r["line"]) for r in rows] == [
        ("PCC-CSF", "2017-18", 0, None), ("PCC-CSF", "2017-18", 1, None),
        ("PCC-CSF", "2017-18", 2, "CHERWELL"),
    ]  # fmt: skip
    # The stream's own figures are not its to see; its own line's are.
    assert all(rows[i][f] is None for i in (0, 1) for f in ("awarded", "paid", "spent"))
    assert (Decimal(rows[2]["paid"]), Decimal(rows[2]["spent"])) == (passed, spent)
    viewer = _json(oxfordshire.as_user("vic"), "chain", "--stream", "PCC-CSF")
    assert any(r["line"] == "CSP" for r in viewer)


def test_bad_options_are_refused_by_name(oxfordshire: Grants) -> None:
    year = oxfordshire("chain", "--year", "2017-99")
    assert year.exit_code != 0 and year.output.startswith("Error: ") and "2017-99" in year.output
    stream = oxfordshire("chain", "--stream", "PCC-CFS")
    assert stream.exit_code != 0 and "PCC-CSF" in stream.output  # the near miss offered
    day = oxfordshire("chain", "--as-of", "31/02/2018")
    assert day.exit_code != 0 and "--as-of" in day.output
