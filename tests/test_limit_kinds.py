"""The rule checks pass over a limit whose figure an entry's postings do not lower, without
reading its balances (grants.services.rules.check). That is sound only while the figure is a
plain sum of balances: then the figure after an entry is the figure before plus the same sum
over the entry's postings. These tests hold every limit named so (``rule_limits._LINEAR``) to it,
so that a limit made conditional cannot keep the shortcut unnoticed."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from grants.periods import parse_period
from grants.services import rule_limits, rules

PERIOD = parse_period("2017-18")
STREAM = "PCC-CSF"
LINE = "SOP"
LINE_ROLES = ("allocated", "split", "carried", "carried-in", "paid", "passed", "spent",
              "committed", rules.BRANCH)  # fmt: skip
STREAM_ROLES = ("unallocated", "claimed", "received", "claim:A", "funder", "funder:T",
                rules.AWARDED)  # fmt: skip
KEYS = [(STREAM, PERIOD, LINE, role) for role in LINE_ROLES] + [
    (STREAM, PERIOD, None, role) for role in STREAM_ROLES
]
# Each kind of limit and the account it is read from, as rule_limits._limits gives them.
ANCHORS = {
    "unallocated": (STREAM, PERIOD, None, "unallocated"),
    "available": (STREAM, PERIOD, LINE, "allocated"),
    "unpaid": (STREAM, PERIOD, LINE, "allocated"),
    "committable": (STREAM, PERIOD, LINE, "committed"),
    "held": (STREAM, PERIOD, LINE, "paid"),
    "paid": (STREAM, PERIOD, LINE, "paid"),
    "spent": (STREAM, PERIOD, LINE, "spent"),
    "owed": (STREAM, PERIOD, None, "claim:A"),
    "claimable": (STREAM, PERIOD, None, "claimed"),
    "receivable": (STREAM, PERIOD, None, "received"),
}
# Most balances of a limit are often nothing: a figure that counts one balance only when
# another is not nothing is then seen.
balances = st.dictionaries(st.sampled_from(KEYS), st.integers(-(10**12), 10**12))


def reader(values: dict[rules.AccountKey, int]) -> Callable[[rules.AccountKey], int]:
    return lambda key: values.get(key, 0)


def adds_up(kind: str, a: dict[rules.AccountKey, int], b: dict[rules.AccountKey, int]) -> bool:
    """Whether the limit's figure of the two sets of balances added is the sum of each's."""
    both = {key: a.get(key, 0) + b.get(key, 0) for key in {*a, *b}}
    value = rule_limits._limit_value
    return value(kind, ANCHORS[kind], reader(both)) == (
        value(kind, ANCHORS[kind], reader(a)) + value(kind, ANCHORS[kind], reader(b))
    )


def test_every_kind_of_limit_is_known_as_a_sum_or_not() -> None:
    kinds = {kind for key in KEYS for kind, _ in rule_limits._limits(key)}
    assert kinds == set(ANCHORS)
    assert {kind: anchor for key in KEYS for kind, anchor in rule_limits._limits(key)} == ANCHORS
    assert rule_limits._LINEAR == set(ANCHORS) - {"claimable", "receivable"}


@given(before=balances, entry=balances)
def test_a_limit_passed_over_is_a_sum_of_balances(
    before: dict[rules.AccountKey, int], entry: dict[rules.AccountKey, int]
) -> None:
    for kind in sorted(rule_limits._LINEAR):
        assert adds_up(kind, before, entry), kind
        assert rule_limits._limit_value(kind, ANCHORS[kind], reader({})) == 0, kind


def test_a_limit_passed_over_adds_up_balance_by_balance() -> None:
    """Every pair of single balances, so that no figure's condition can hide from chance."""
    singles = [{}] + [{key: 1} for key in KEYS] + [{key: -3} for key in KEYS]
    for kind in sorted(rule_limits._LINEAR):
        for a in singles:
            for b in singles:
                assert adds_up(kind, a, b), (kind, a, b)


def test_what_is_claimable_is_no_sum_so_it_is_always_read() -> None:
    """The award counts only once money is claimed: the test above would catch such a limit."""
    award = {(STREAM, PERIOD, None, rules.AWARDED): 10}
    claim = {(STREAM, PERIOD, None, "claimed"): 5}
    assert not adds_up("claimable", award, claim)
    assert "claimable" not in rule_limits._LINEAR


# An entry's postings: any accounts (AWARDED is no account: nothing posts to it).
postings = st.dictionaries(
    st.sampled_from([key for key in KEYS if key[3] != rules.AWARDED]),
    st.integers(-(10**12), 10**12),
)


@given(delta=postings)
def test_each_limit_is_moved_by_what_its_figure_reads(delta: dict[rules.AccountKey, int]) -> None:
    """``rule_limits._moved`` works out how an entry moves each limit account by account (a sign for
    each account in each of its limits); it must be the change of the figure as
    ``_limit_value`` reads it, for every limit, and name the limits in ``_anchors``' order."""
    moved = rule_limits._moved(delta)
    assert list(moved) == rule_limits._anchors(delta)
    for kind in sorted(rule_limits._LINEAR):
        change = rule_limits._limit_value(kind, ANCHORS[kind], reader(delta))
        assert moved.get((kind, ANCHORS[kind]), 0) == change, kind


def test_each_account_moves_its_limits_with_the_sign_their_figures_give() -> None:
    """Account by account, so that no sign can hide from chance."""
    for key in KEYS:
        if key[3] == rules.AWARDED:
            continue
        for amount in (1, -3):
            moved = rule_limits._moved({key: amount})
            for kind in sorted(rule_limits._LINEAR):
                change = rule_limits._limit_value(kind, ANCHORS[kind], reader({key: amount}))
                assert moved.get((kind, ANCHORS[kind]), 0) == change, (key, kind)


def test_each_account_moves_its_own_limits_whatever_was_moved_before() -> None:
    """``rule_limits._moved`` works out once, for each role, which limits an account of it moves
    and with what sign: the limits it names are those of the account at hand (its stream,
    period and line), never those of the account the role was first seen with."""
    others = [
        ("OTHER", parse_period("2019-20"), "KID", key[3]) if key[2] else
        ("OTHER", parse_period("2019-20"), None, key[3])
        for key in KEYS if key[3] != rules.AWARDED
    ]  # fmt: skip
    for key in [*[k for k in KEYS if k[3] != rules.AWARDED], *others]:
        for amount in (-7, 5):
            moved = rule_limits._moved({key: amount})
            assert list(moved) == rule_limits._anchors([key]), key
            for (kind, anchor), by in moved.items():
                assert anchor[:3] == key[:3], (key, kind, anchor)
                change = rule_limits._limit_value(kind, anchor, reader({key: amount}))
                assert by == change or kind not in rule_limits._LINEAR, (key, kind)
