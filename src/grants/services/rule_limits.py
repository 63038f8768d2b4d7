"""The limits of the journal (grants.services.rules) and the checks against them: which
limits a posting to an account can break, the figure each keeps at or above zero, how an
entry's postings move it, and ``check`` (an entry against the balances before it), ``apply``
(the entry added to them) and ``breaches`` (every limit a set of balances breaks)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from grants.errors import RuleError
from grants.formatting import gbp
from grants.money import from_pence
from grants.services.rule_figures import (
    AWARDED,
    BRANCH,
    AccountKey,
    Parents,
    Reader,
    funder_of,
    reader,
    rolled,
    with_branches,
)
from grants.services.rule_texts import limit_name


def _limits(key: AccountKey) -> list[tuple[str, AccountKey]]:
    """The limits that a posting to this account could break: (kind, anchor), the anchor
    being the account each is read from (see ``_anchors``)."""
    line, role = key[2], key[3]
    if line is None:
        s, p = key[0], key[1]
        # The unallocated award guards every award, reversal and reprofiling.
        if role == "unallocated":
            return [("unallocated", key)]
        # What is claimed, and what is received, stay within the award; what is received
        # on a claim, within the claim.
        if role == "claimed":
            return [("claimable", key)]
        if role == "received":
            return [("receivable", key)]
        if role.startswith("claim:"):
            return [("owed", key)]
        if role == "funder" or role.startswith("funder:"):
            return [
                ("claimable", (s, p, None, "claimed")),
                ("receivable", (s, p, None, "received")),
            ]
        return []
    # What is allocated (with what is carried) stays within reach of the line's commitments:
    # a clawback, virement or carry-forward that would leave a signed agreement uncovered is
    # refused until the commitment is reversed.
    if role == "allocated":
        return [("available", key), ("unpaid", key), ("committable", _at(key, "committed"))]
    if role in ("carried", "carried-in"):
        allocated = _at(key, "allocated")
        return [
            ("available", allocated),
            ("unpaid", allocated),
            ("committable", _at(key, "committed")),
        ]
    if role == "split":
        return [("available", _at(key, "allocated"))]
    if role == "paid":
        return [("paid", key), ("held", key)]
    if role == "passed":
        return [("held", _at(key, "paid"))]
    if role == BRANCH:
        return [("unpaid", _at(key, "allocated"))]
    if role == "spent":
        return [("spent", key)]
    if role == "committed":  # commitments stay within the line's allocation
        return [("committable", key)]
    return []


def _at(key: AccountKey, role: str) -> AccountKey:
    """The account of the same stream, period and line with another role."""
    return (key[0], key[1], key[2], role)


def _anchors(keys: Iterable[AccountKey]) -> list[tuple[str, AccountKey]]:
    """Each limit the accounts ``keys`` take part in, once, in the order of the accounts:
    (kind, its anchor: the line's allocated account for what is available and unpaid, its
    committed account for what is committable, its paid account for what is held)."""
    seen: set[tuple[str, AccountKey]] = set()
    out: list[tuple[str, AccountKey]] = []
    for key in keys:
        for limit in _limits(key):
            if limit not in seen:
                seen.add(limit)
                out.append(limit)
    return out


def _limit_value(kind: str, key: AccountKey, bal: Callable[[AccountKey], int]) -> int:
    """The figure a limit keeps at or above zero, read with ``bal`` from its anchor (as
    ``_anchors`` gives it)."""
    if kind == "unallocated":
        return bal(key)
    s, p, line = key[0], key[1], key[2]
    if kind == "available":  # the anchor is the line's allocated account
        return (
            bal(key)
            + bal((s, p, line, "split"))
            + bal((s, p, line, "carried"))
            + bal((s, p, line, "carried-in"))
        )
    if kind == "unpaid":  # the allocated account
        return bal(key) - bal((s, p, line, BRANCH))
    if kind == "held":  # the paid account
        return bal(key) + bal((s, p, line, "passed"))
    if kind == "committable":  # the committed account
        return (
            bal((s, p, line, "allocated"))
            + bal((s, p, line, "carried"))
            + bal((s, p, line, "carried-in"))
            - bal(key)
        )
    # Nothing claimed (received) cannot exceed the award: the award, summed over its
    # tranches, is read only for a period with money in, so loading thousands of awards
    # costs no more than before.
    if kind == "claimable":
        claimed = bal(key)
        return 0 if claimed == 0 else bal((s, p, None, AWARDED)) + claimed
    if kind == "receivable":
        received = bal(key)
        return 0 if received == 0 else bal((s, p, None, AWARDED)) - received
    return bal(key)  # paid, spent, owed


OVERRIDABLE = frozenset({"unallocated", "available", "unpaid"})
# The limits whose figure is a sum of balances (each counted once, added or taken away): the
# figure after an entry is the figure before plus the same sum over the entry's postings.
# (What is claimable and receivable are not: they read the award only when money is in.)
_LINEAR = frozenset(
    {"unallocated", "available", "unpaid", "held", "committable", "paid", "spent", "owed"}
)


# How a posting moves the figure of each limit its account takes part in (``_limits``): the
# sign its balance has in the limit's sum (``_limit_value``); 1 unless named here. An
# underspend carried moves what is left to pay through the BRANCH figure only.
_SIGN = {
    ("committed", "committable"): -1,
    (BRANCH, "unpaid"): -1,
    ("carried", "unpaid"): 0,
    ("carried-in", "unpaid"): 0,
}


# What ``_limits`` gives an account of a role, as (kind, the anchor's role, or None for the
# account itself, the sign of ``_SIGN``): worked out once for each role, of a line's account
# and of a stream's (a few dozen roles; claim and tranche names are the books', so no more
# than _MAX_PLANS are kept).
_Plan = tuple[tuple[str, str | None, int], ...]
_LINE_PLANS: dict[str, _Plan] = {}
_STREAM_PLANS: dict[str, _Plan] = {}
_MAX_PLANS = 1024


def _plan(key: AccountKey) -> _Plan:
    plans = _STREAM_PLANS if key[2] is None else _LINE_PLANS
    role = key[3]
    plan = tuple(
        (kind, None if anchor is key else anchor[3], _SIGN.get((role, kind), 1))
        for kind, anchor in _limits(key)
    )
    if len(plans) < _MAX_PLANS:
        plans[role] = plan
    return plan


def _moved(delta: dict[AccountKey, int]) -> dict[tuple[str, AccountKey], int]:
    """Each limit the accounts of ``delta`` take part in, once, in the order ``_anchors``
    gives them, with how much the postings ``delta`` move its figure (for a limit that is a
    sum of balances, ``_LINEAR``: its figure after less its figure before). Worked out from
    the postings alone, account by account, without reading each term of each limit."""
    out: dict[tuple[str, AccountKey], int] = {}
    read, on_line, on_stream = out.get, _LINE_PLANS.get, _STREAM_PLANS.get
    for key, amount in delta.items():
        line = key[2]
        plan = on_stream(key[3]) if line is None else on_line(key[3])
        if plan is None:
            plan = _plan(key)
        for kind, role, sign in plan:
            limit = (kind, key if role is None else (key[0], key[1], line, role))
            out[limit] = read(limit, 0) + sign * amount
    return out


def check(
    planned: list[tuple[AccountKey, int]],
    balance: Callable[[AccountKey], int],
    *,
    over_allocation: bool,
    what: Callable[[], str],
    parent_of: Parents,
    may_over_allocate: bool = False,
    rolls: list[tuple[AccountKey, int]] | None = None,
) -> list[str]:
    """Warnings for the postings; raises RuleError if they break a limit.

    A limit may already be broken (an over-allocation recorded earlier); then an entry is
    refused only if it makes it worse. ``what`` describes the entry (called only when needed).
    ``balance`` gives the BRANCH figures too (``with_branches``). ``rolls``: the postings'
    ``rolled`` figures, if the caller has worked them out already.
    """
    delta: dict[AccountKey, int] = {}
    for key, amount in planned:
        delta[key] = delta.get(key, 0) + amount
    for key, amount in rolled(planned, parent_of) if rolls is None else rolls:
        delta[key] = delta.get(key, 0) + amount

    warnings: list[str] = []
    for (kind, anchor), moved in _moved(delta).items():
        if kind in _LINEAR:
            # A limit whose figure the entry does not lower (its figure's change, read from
            # the entry's postings alone, is not negative) is neither broken nor made worse
            # by it: its balances are not read. One it lowers is read once: its figure after
            # the entry is its figure before and that change.
            if moved >= 0:
                continue
            after_value = _limit_value(kind, anchor, balance) + moved
            if after_value >= 0:
                continue
        else:
            after_value = _limit_value(kind, anchor, _after(balance, delta))
            if after_value >= 0 or after_value >= _limit_value(kind, anchor, balance):
                continue
        short = gbp(from_pence(-after_value))
        name = limit_name(kind, anchor)
        if over_allocation and kind in OVERRIDABLE:
            warnings.append(f"{what()} over-allocates {name} by {short} (marked as intended)")
            continue
        hint = (
            "; if this over-allocation is intended, mark it as such (over-allocation: yes, "
            "or --over-allocate) and it will be reported"
            if kind in OVERRIDABLE and may_over_allocate
            else ""
        )
        raise RuleError(f"{what()} would take {name} below zero, short by {short}{hint}")
    return warnings


def _after(
    balance: Callable[[AccountKey], int], delta: dict[AccountKey, int]
) -> Callable[[AccountKey], int]:
    """A balance lookup as it will read once the postings ``delta`` are applied."""
    balances = balance.balances if type(balance) is Reader else None
    if balances is None:

        def after(key: AccountKey) -> int:
            if key[3] == AWARDED:
                return balance(key) - sum(v for k, v in delta.items() if funder_of(k, key))
            return balance(key) + delta.get(key, 0)

    else:  # the books loader's balances, read directly
        read = balances.get

        def after(key: AccountKey) -> int:
            if key[3] == AWARDED:
                return balance(key) - sum(v for k, v in delta.items() if funder_of(k, key))
            return read(key, 0) + delta.get(key, 0)

    return after


def breaches(
    balances: dict[AccountKey, int], over_allocated: set[AccountKey], parent_of: Parents
) -> list[tuple[AccountKey, str]]:
    """Every limit the balances break, as (anchor, what): what no accepted entry can leave
    behind. A limit an intended over-allocation posted to (``over_allocated``, the accounts
    of entries marked so) may be below zero; paid and reported never may."""
    balances = with_branches(dict(balances), parent_of)
    found: list[tuple[AccountKey, str]] = []
    read = reader(balances)
    # Every limit the accounts take part in, in ``_anchors``' order: a limit that is a sum
    # of balances (``_LINEAR``) has as its figure what every balance moves it by from none
    # (``_moved``, account by account); the others are read as ``_limit_value`` reads them.
    for (kind, anchor), figure in _moved(balances).items():
        value = figure if kind in _LINEAR else _limit_value(kind, anchor, read)
        if value >= 0:
            continue
        if kind in OVERRIDABLE and _touches(kind, anchor, over_allocated):
            continue
        found.append((anchor, f"{limit_name(kind, anchor)} is {gbp(from_pence(value))}"))
    return found


def _touches(kind: str, anchor: AccountKey, accounts: set[AccountKey]) -> bool:
    if kind == "unallocated":
        return anchor in accounts
    s, p, line = anchor[0], anchor[1], anchor[2]
    return any((s, p, line, role) in accounts for role in ("allocated", "split", "paid", "passed"))


def apply(
    balances: dict[AccountKey, int],
    planned: list[tuple[AccountKey, int]],
    parent_of: Parents,
    rolls: list[tuple[AccountKey, int]] | None = None,
) -> None:
    """Add the postings (and their ``rolled`` figures: ``rolls`` if worked out already) to
    ``balances``."""
    read = balances.get
    for key, amount in planned:
        balances[key] = read(key, 0) + amount
    for key, amount in rolled(planned, parent_of) if rolls is None else rolls:
        balances[key] = read(key, 0) + amount
