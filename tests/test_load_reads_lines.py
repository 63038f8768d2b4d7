"""A load into a journal that holds entries reads the lines' accounts and balances as its
new entries reach them, not every account of the ledger (grants.services.journal
``_read_lines``): the same refusals and the same balances as a load of everything at once,
whatever the order in which a branch's lines are read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grants.ledger import write_journal
from grants.services import journal_catalog
from tests.conftest import Grants
from tests.helpers import FUND, books

REFERENCE = (
    FUND
    + """\
2017-04-01 line FUND A1X "Grandchild A1X"
  parent: A1

2017-04-01 award FUND 2017-18 1,000
2017-04-01 award FUND 2018-19 500
"""
)

# Recorded by the first load; skipped by the second, which reads them from the ledger.
FIRST = """\
2017-04-02 allocate FUND 2017-18 A 600
2017-04-02 allocate FUND 2017-18 B 200
2017-04-03 allocate FUND 2017-18 A1 300
2017-04-03 allocate FUND 2017-18 A1X 100
2017-04-04 pay FUND 2017-18 A1X 60
2017-04-05 pay FUND 2017-18 A 200
"""

# New in the second load, two entries a batch: A, A1 and A2 are read by the first batch
# (A1X's 60 already in A's and A1's BRANCH figures, summed beneath them), A1X only by the
# third; B by the second. The last payment to A fills A's branch to its allocation exactly
# (60 + 200 + 100 + 20 + 220 = 600): counting A1X's 60 twice would refuse it.
SECOND = """\
2017-05-01 allocate FUND 2017-18 A2 100
2017-05-02 pay FUND 2017-18 A1 50
  from: A
2017-05-03 pay FUND 2017-18 B 150
2017-05-04 pay FUND 2017-18 A2 100
2017-05-05 pay FUND 2017-18 A1X 20
2017-05-06 pay FUND 2017-18 A 220
2018-03-31 carry-forward FUND 2017-18 2018-19 B 50
  approval: CF-1
2018-04-02 pay FUND 2018-19 B 50
"""

# One penny more into A's branch, in the batch that first reads A1X.
OVER = "2017-05-07 pay FUND 2017-18 A1X 0.01\n"


def _problems(result_output: str, path: Path) -> list[str]:
    return [line.replace(str(path), "BOOKS") for line in result_output.splitlines()]


def test_a_second_load_refuses_and_records_as_one_load_of_everything(
    two_ledgers: tuple[Grants, Grants], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_journal, "BATCH", 2)
    in_two, at_once = two_ledgers
    first = books(tmp_path, REFERENCE + FIRST, "first.grants")
    assert in_two("ledger", "load", str(first)).exit_code == 0
    over = books(tmp_path, REFERENCE + FIRST + SECOND + OVER, "over.grants")
    refused = [g("ledger", "load", str(over)) for g in (in_two, at_once)]
    assert [r.exit_code for r in refused] == [1, 1]
    messages = [_problems(r.output, over) for r in refused]
    assert messages[0] == messages[1]
    assert "BOOKS:" + str(len((REFERENCE + FIRST + SECOND).splitlines()) + 1) in messages[0][0]
    whole = books(tmp_path, REFERENCE + FIRST + SECOND, "whole.grants")
    loaded = [g("ledger", "load", str(whole)) for g in (in_two, at_once)]
    assert [r.exit_code for r in loaded] == [0, 0], [r.output for r in loaded]
    figures = [json.loads(g("balance", "--json").output) for g in (in_two, at_once)]
    assert figures[0] == figures[1]
    lines = {(r["year"], r.get("line")): r for r in figures[0] if r.get("line")}
    assert lines[("2017-18", "A")]["paid"] == "600.00"  # the branch, filled exactly


@pytest.fixture
def accounts_read(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None, str]]:
    """Each account the journal's catalogue reads, as it reads it: (stream, line, role)."""
    read: list[tuple[str, str | None, str]] = []
    accounts = journal_catalog._accounts

    def reading(*args: Any) -> Any:
        for account_id, key in accounts(*args):
            read.append((key[0], key[2], key[3]))
            yield account_id, key

    monkeypatch.setattr(journal_catalog, "_accounts", reading)
    return read


@pytest.fixture
def branches_read(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """The codes of the lines each read of an officer's branches finds."""
    read: list[set[str]] = []
    branches = journal_catalog._branches

    def reading(*args: Any) -> Any:
        found = branches(*args)
        read.append({r.code for r in found})
        return found

    monkeypatch.setattr(journal_catalog, "_branches", reading)
    return read


def _granted(codes: list[str], allocated: int, paid: int) -> str:
    """Each line of ``codes`` allocated and paid, in 2017-18."""
    return "".join(
        f"2017-04-03 allocate FUND 2017-18 {code} {allocated}\n"
        f"2017-04-04 pay FUND 2017-18 {code} {paid}\n"
        for code in codes
    )


def test_a_second_load_reads_only_the_accounts_of_the_lines_it_posts_to(
    grants: Grants, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Books of many lines loaded again with one new payment: the journal reads the
    stream's own accounts and that line's (with the line above it), not the others'."""
    codes = [f"L{i:03d}" for i in range(200)]
    lines = "".join(f'2017-04-01 line FUND {code} "{code}"\n  parent: B\n' for code in codes)
    entries = "2017-04-02 allocate FUND 2017-18 B 1,000\n" + _granted(codes, 2, 1)
    base = REFERENCE + lines + entries
    assert grants("ledger", "load", str(books(tmp_path, base, "base.grants"))).exit_code == 0
    read = request.getfixturevalue("accounts_read")  # from here on
    more = books(tmp_path, base + "2017-05-01 pay FUND 2017-18 L123 1\n", "more.grants")
    result = grants("ledger", "load", str(more))
    assert result.exit_code == 0, result.output
    assert {line for _, line, _ in read} == {None, "B", "L123"}
    assert sorted(role for _, line, role in read if line == "L123") == ["allocated", "paid"]
    before = len(read)
    again = grants("ledger", "load", str(more))  # nothing new: no line's accounts read
    assert again.exit_code == 0
    assert {line for _, line, _ in read[before:]} == {None}


def test_an_officers_entry_reads_the_lines_of_its_branch_alone(
    grants: Grants, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A payment to one of 300 lines reads that line and its accounts, and so does its
    reversal; one to a grandchild reads its branch (the lines above it, and every line
    beneath those), not the others."""
    codes = [f"L{i:03d}" for i in range(300)]
    many = "".join(f'2017-04-01 line FUND {code} "{code}"\n' for code in codes)
    more = "2017-04-01 award FUND 2017-18 1,000\n"
    text = REFERENCE + many + more + FIRST.replace("600", "300") + _granted(codes, 2, 1)
    assert grants("ledger", "load", str(books(tmp_path, text))).exit_code == 0
    lines = request.getfixturevalue("branches_read")
    read = request.getfixturevalue("accounts_read")

    def reads() -> tuple[list[set[str]], set[str | None]]:
        found = list(lines), {line for _, line, _ in read}
        lines.clear()
        read.clear()
        return found

    paid = grants("pay", "FUND", "2017-18", "L123", "1")
    assert paid.exit_code == 0
    assert reads() == ([{"L123"}], {None, "L123"})
    number = paid.output.split("recorded entry ")[1].split()[0]
    undone = grants("reverse", number, "--reason", "keyed twice")  # reads what it undoes
    assert undone.exit_code == 0, undone.output
    assert reads() == ([{"L123"}], {None, "L123"})
    paid = grants("pay", "FUND", "2017-18", "A1X", "40")  # A's branch: 60 + 200 + 40 = 300
    assert paid.exit_code == 0, paid.output
    assert reads() == ([{"A", "A1", "A2", "A1X"}], {None, "A", "A1", "A1X"})
    over = grants("pay", "FUND", "2017-18", "A", "0.01")  # A's branch summed beneath it
    assert over.exit_code == 1
    assert "what is left to pay of the allocation to A (FUND 2017-18) below zero, short by " \
        "£0.01" in over.output  # fmt: skip


def test_a_branch_is_read_a_chunk_of_lines_at_a_time(
    grants: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """A parent with more lines beneath it than a statement binds (PostgreSQL's driver takes
    65,535 parameters; here two): every line of the branch is still read, and a payment
    beneath it is checked against the parent's allocation."""
    codes = [f"B{i}" for i in range(5)]
    children = "".join(f'2017-04-01 line FUND {code} "{code}"\n  parent: B\n' for code in codes)
    entries = "2017-04-02 allocate FUND 2017-18 B 10\n" + _granted(codes, 2, 2)
    assert (
        grants("ledger", "load", str(books(tmp_path, REFERENCE + children + entries))).exit_code
        == 0
    )
    monkeypatch.setattr(journal_catalog, "IN_CHUNK", 2)
    lines = request.getfixturevalue("branches_read")
    over = grants("pay", "FUND", "2017-18", "B", "0.01")  # B's branch paid in full
    assert over.exit_code == 1
    assert "allocation to B (FUND 2017-18) below zero, short by £0.01" in over.output
    assert lines == [{"B", "B0", "B1", "B2", "B3", "B4"}]
