"""`carry-forward`: a line's underspend carried into the next year with the funder's
approval, in the books and as a command, on both engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Entry
from grants.errors import BooksError
from grants.periods import parse_period
from grants.services.balances import Balances
from tests.conftest import Grants
from tests.helpers import FUND, books, load_text, row_counts

BASE = (
    FUND
    + """
2017-04-01 award FUND 2017-18 1,000
2017-04-01 allocate FUND 2017-18 A 600
2017-04-01 allocate FUND 2017-18 B 100
2017-05-01 pay FUND 2017-18 A 400
2017-05-01 pay FUND 2017-18 B 100
"""
)

CARRY = """
2018-03-31 carry-forward FUND 2017-18 2018-19 A 150
  approval: "MHCLG/CF/2018/7"
"""


def test_the_underspend_moves_to_the_next_year_and_the_first_years_allocation_is_kept(
    session: Session, tmp_path: Path
) -> None:
    load_text(session, tmp_path, BASE + CARRY + "\n2018-06-01 pay FUND 2018-19 A 150\n")
    balances = Balances(session)
    first, then = parse_period("2017-18"), parse_period("2018-19")
    assert balances.value("FUND", first, "allocated", "A") == 60_000  # kept
    assert balances.value("FUND", first, "carried", "A") == 15_000
    assert balances.value("FUND", then, "brought", "A") == 15_000
    assert balances.value("FUND", then, "paid", "A") == 15_000  # paid from what was brought
    entry = session.scalars(select(Entry).where(Entry.kind == "carry-forward")).one()
    assert entry.tranche == "MHCLG/CF/2018/7"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            CARRY.replace(" 150", " 200.01"),
            "carry-forward of £200.01 is beyond A (FUND 2017-18)'s underspend of £200.00 "
            "(allocated, less paid and passed to its lines)",
        ),
        (
            CARRY.replace(" A ", " B "),
            "B (FUND 2017-18) has no underspend to carry forward",
        ),
        (
            "\n2018-03-31 carry-forward FUND 2017-18 2018-19 A 1\n",
            "a carry-forward needs the funder's approval: add `approval: REFERENCE`",
        ),
        (
            CARRY.replace("2018-19", "2019-20"),
            "a carry-forward moves a line's underspend from one financial year into the next",
        ),
    ],
)
def test_a_carry_forward_without_an_underspend_or_beyond_it_is_refused_at_its_line(
    session: Session, tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(BooksError) as error:
        load_text(session, tmp_path, BASE + text)
    found = [str(p) for p in error.value.problems]
    where = f"books.grants:{BASE.count(chr(10)) + 2}: "
    assert any(where in p and expected in p for p in found), found
    assert session.scalars(select(Entry).where(Entry.kind == "carry-forward")).first() is None


def test_the_command_carries_forward_and_refuses_naming_the_line(
    grants: Grants, tmp_path: Path
) -> None:
    assert grants("ledger", "load", str(books(tmp_path, BASE))).exit_code == 0
    before = row_counts(grants.url)
    none = grants("carry-forward", "FUND", "2017-18", "2018-19", "b", "1", "--approval", "X")
    assert none.exit_code == 1
    assert none.output.startswith("Error: B (FUND 2017-18) has no underspend to carry forward")
    missing = grants("carry-forward", "FUND", "2017-18", "2018-19", "A", "1")
    assert missing.exit_code == 2 and "--approval" in missing.output
    assert row_counts(grants.url) == before
    made = grants("carry-forward", "FUND", "2017-18", "2018-19", "a", "200", "--approval",
                  "CF/1", "--json")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert (json.loads(made.output)["kind"], json.loads(made.output)["approval"]) == (
        "carry-forward", "CF/1"
    )  # fmt: skip
    rows = {(r["year"], r["line"]): r for r in json.loads(grants("balance", "--json").output)}
    assert (rows[("2017-18", "A")]["allocated"], rows[("2017-18", "A")]["carried"]) == (
        "600.00", "200.00"
    )  # fmt: skip
    assert rows[("2018-19", "A")]["brought"] == "200.00"
    shown = grants("balance").output
    assert "carried" in shown and "brought" in shown
    assert grants("verify").exit_code == 0
    assert grants("carry-forward", "--help").exit_code == 0


def test_carried_brought_and_claimed_are_metrics_of_a_line_or_of_the_stream(
    session: Session, tmp_path: Path
) -> None:
    load_text(session, tmp_path, BASE + CARRY + """
2018-04-01 balance FUND 2017-18 carried:A 150
2018-04-01 balance FUND 2018-19 brought:A 150
2018-04-01 balance FUND 2017-18 claimed 0
""")  # fmt: skip
    for text, expected in (
        ("2018-04-01 balance FUND 2017-18 carried 150\n",
         "carried is a line's figure: name the line (carried:LINE)"),
        ("2018-04-01 balance FUND 2017-18 received:A 0\n",
         "received is the stream's figure: give it no target"),
    ):  # fmt: skip
        with pytest.raises(BooksError) as error:
            load_text(session, tmp_path, BASE + "\n" + text)
        found = [str(p) for p in error.value.problems]
        assert any(f"books.grants:{BASE.count(chr(10)) + 2}: {expected}" in p for p in found)
