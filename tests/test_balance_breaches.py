"""The limits a walk's balances break, checked a part at a time, are those one check of the
whole finds, in the same order."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from grants.periods import FinancialYear, Period
from grants.services import balance_breaches, rules
from grants.services.rule_figures import AccountKey

PERIODS = [Period(FinancialYear(2017), FinancialYear(2017)),
           Period(FinancialYear(2018), FinancialYear(2018))]  # fmt: skip
LINE_ROLES = ["allocated", "split", "paid", "passed", "committed", "spent", "carried"]
STREAM_ROLES = ["unallocated", "claimed", "received", "funder", "funder:A"]


def _ledger(
    seed: int, lines: int = 60
) -> tuple[dict[int, int], dict[int, AccountKey | None], set[int], dict[tuple[str, str], str]]:
    """Balances by account id of two streams' trees of lines (a circle of parents among
    them, as a line table changed behind the ledger's back would have), two accounts that
    share a key, one with no key; some limits broken."""
    pick = random.Random(seed)
    parents: dict[tuple[str, str], str] = {}
    for stream in ("S", "T"):
        for n in range(1, lines):
            if pick.random() < 0.6:
                parents[(stream, f"L{n}")] = f"L{pick.randrange(n)}"
    parents[("T", "C1")], parents[("T", "C2")], parents[("T", "C3")] = "C2", "C3", "C1"
    parents[("T", "C4")] = "C2"
    keys: dict[int, AccountKey | None] = {}
    balances: dict[int, int] = {}
    account_id = 0
    for stream in ("S", "T"):
        codes = [f"L{n}" for n in range(lines)] + (
            ["C1", "C2", "C3", "C4"] if stream == "T" else []
        )
        for period in PERIODS:
            wanted = [(stream, period, None, role) for role in STREAM_ROLES]
            wanted += [(stream, period, code, role) for code in codes for role in LINE_ROLES]
            for key in wanted:
                if pick.random() < 0.7:
                    account_id += 1
                    keys[account_id] = key
                    balances[account_id] = pick.randrange(-40, 400) * (
                        -1 if key[3] in ("paid", "passed", "committed", "spent") else 1
                    )
    order = list(balances)
    pick.shuffle(order)  # the order the walk first posted to them
    shuffled = {account_id: balances[account_id] for account_id in order}
    twin = order[5]
    keys[account_id + 1] = keys[twin]  # an account of the same key
    shuffled[account_id + 1] = 17
    keys[account_id + 2] = None  # an account with impossible years
    shuffled[account_id + 2] = -5
    over = set(pick.sample(order, 20))
    return shuffled, keys, over, parents


def _whole(
    balances: dict[int, int],
    keys: dict[int, AccountKey | None],
    over: set[int],
    parent_of: rules.Parents,
) -> list[tuple[AccountKey, str]]:
    keyed: dict[AccountKey, int] = {}
    for account_id, pence in balances.items():
        key = keys[account_id]
        if key is not None:
            keyed[key] = pence
    over_keys = {key for i in over if (key := keys[i]) is not None}
    return rules.breaches(keyed, over_keys, parent_of)


@pytest.mark.parametrize("part", [8, 64, 100_000])
@pytest.mark.parametrize("seed", range(6))
def test_the_parts_name_what_the_whole_names_in_its_order(
    seed: int, part: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    balances, keys, over, parents = _ledger(seed)

    def parent_of(stream: str, line: str) -> str | None:
        return parents.get((stream, line))

    whole = _whole(balances, keys, over, parent_of)
    assert len(whole) > 2  # some limits broken, in more than one stream and period
    monkeypatch.setattr(balance_breaches, "PART", part)
    assert balance_breaches.breaches(balances, keys.get, over, parent_of) == whole


@pytest.mark.parametrize("parts", [2, 7, 50])
@pytest.mark.parametrize("seed", range(6))
def test_each_part_names_what_the_whole_names_among_its_accounts(seed: int, parts: int) -> None:
    """Every limit's accounts are in one part: the parts together name what the whole
    names, each part in the whole's order."""
    balances, keys, over, parents = _ledger(seed)

    def parent_of(stream: str, line: str) -> str | None:
        return parents.get((stream, line))

    whole = _whole(balances, keys, over, parent_of)
    over_keys = {key for i in over if (key := keys[i]) is not None}
    found = list(balance_breaches.in_parts(balances, keys.get, over_keys, parent_of, parts))
    assert len(found) == parts and sum(1 for part in found if part) > 1
    assert Counter(f for part in found for f in part) == Counter(whole)
    for part in found:
        assert part == [f for f in whole if f in part]


def test_a_tree_whose_limits_are_broken_in_one_part_is_checked_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A child's payment beyond its parent's allocation is seen only with the parent's
    accounts beside the child's: a tree is never split between parts."""
    balances, keys, over, parents = _ledger(1)
    # Only one limit broken: every balance made harmless but a deep line's payment.
    for account_id, key in keys.items():
        if key is not None and account_id in balances:
            balances[account_id] = 0 if key[3] != "allocated" else 1_000
    paid = next(
        i for i, key in keys.items()
        if key is not None and i in balances and key[0] == "S" and key[3] == "paid"
        and key[2] is not None and parents.get(("S", parents.get(("S", key[2]), "")))
    )  # fmt: skip
    balances[paid] = 1_000_000

    def parent_of(stream: str, line: str) -> str | None:
        return parents.get((stream, line))

    whole = _whole(balances, keys, over, parent_of)
    assert whole
    monkeypatch.setattr(balance_breaches, "PART", 8)
    assert balance_breaches.breaches(balances, keys.get, over, parent_of) == whole


def test_the_top_of_a_circle_of_parents_is_the_same_from_each_of_its_lines() -> None:
    parents: dict[object, object] = {
        "A": "B", "B": "C", "C": "A", "D": "B", "E": None, "F": "E", "G": "X",
        b"K": "L", "L": b"K",  # a code made bytes behind the ledger's back (SQLite)
    }  # fmt: skip

    def parent_of(stream: str, line: str) -> str | None:
        return parents.get(line)

    assert {balance_breaches._root("S", line, parent_of) for line in "ABCD"} == {frozenset("ABC")}
    assert balance_breaches._root("S", "F", parent_of) == "E"
    assert balance_breaches._root("S", "G", parent_of) == "X"  # a parent with no line
    assert balance_breaches._root("S", None, parent_of) is None
    assert balance_breaches._root("S", "L", parent_of) == frozenset({"L", b"K"})
