"""The rules of the journal, as pure functions over balances.

An operation (award, allocate, pay, ...) becomes a list of postings that sum to zero. Every
figure a user sees is an account balance or a sum of them:

===================  ===========================================================
account role         balance means
===================  ===========================================================
``funder[:T]``       minus what the funder awarded (tranche T) for the period
``unallocated``      award not yet allocated to a top-level line
``allocated``        allocated to the line (from the award or its parent line)
``split``            minus what the line passed down to its child lines
``paid``             paid to the line's recipient (by the council, or passed on to it)
``passed``           minus what the line's recipient passed on to its children's
``cash``             minus everything paid out of the stream for the period
``spent``            spend the line's recipient reported
``claims``           minus everything reported for the stream and period
``claimed``          minus what the council claimed from the funder for the period
``claim:NAME``       what the funder still owes on claim NAME (claimed, not yet received)
``received``         cash the council received from the funder for the period
``on-award``         minus what was received against the award itself, not a claim
``carried``          minus the line's underspend carried forward into the next year
``carried-in``       underspend carried into this year from the line's previous year
``committed``        committed to the line by signed grant agreements
``commitments``      minus everything committed for the stream and period
===================  ===========================================================

Money in is kept apart from money out: a claim and a receipt post only to these stream-level
accounts, so they never change what is allocated, paid or reported. For a claim and a
receipt the operation's ``tranche`` is the claim's name (a receipt without one is received
against the award).

Regranting: a payment to a line is either the council's (``pay``: out of the stream's
``cash``) or money passed on by the recipient of the line's parent (``pay`` with ``to_line``
naming that parent: out of the parent's ``passed``). The limits that keep every level's
totals (and never count money twice) are, for each line:

* what is left of its allocation: allocated - passed down to its children >= 0;
* what is left to pay of its allocation: allocated - (paid - passed on), summed over the
  line and every line beneath it, >= 0 (the money that reached the line's branch from
  outside it, from the council or from the line's parent, fits its allocation: a council
  payment to a child of a line already paid in full is refused, passing it on is not); an
  underspend carried forward out of the period counts as paid there, and one brought into
  it as allocated, at the line and every line above it;
* what is allocated and carried stays within what is committed by signed agreements: a
  clawback, virement or carry-forward that would leave a commitment uncovered is refused
  (reverse the commitment first);
* what its recipient holds: paid - passed on >= 0 (no one passes on money not received).

A line that has been paid may therefore still grant on to its children: their allocation
comes out of its allocation, and their payments out of what it was paid.

The same functions serve the command-line write commands (one operation, balances read
from the database under a lock) and the books loader (many operations, balances kept in
memory), so both refuse exactly the same things.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from grants.errors import RuleError
from grants.formatting import gbp
from grants.money import from_pence
from grants.periods import Period
from grants.services.rule_texts import limit_name

# (stream code, period, line code or None, role)
AccountKey = tuple[str, Period, str | None, str]


@dataclass(frozen=True, slots=True)
class Operation:
    kind: str
    stream: str
    period: Period
    amount: int  # pence, > 0
    line: str | None = None
    to_line: str | None = None
    to_period: Period | None = None
    tranche: str | None = None
    over_allocation: bool = False


Parents = Callable[[str, str], str | None]


def postings(op: Operation, parent_of: Parents) -> list[tuple[AccountKey, int]]:
    """The postings of an operation (they sum to zero). Does not check balances."""
    s, p, a = op.stream, op.period, op.amount
    if a <= 0:
        raise RuleError(
            f"{op.kind}: the amount must be more than zero, not {gbp(from_pence(a))}; "
            "to undo an entry, reverse it"
        )

    def source_of(line: str) -> AccountKey:
        parent = parent_of(s, line)
        return (s, p, parent, "split") if parent else (s, p, None, "unallocated")

    def need_line() -> str:
        if not op.line:
            raise RuleError(f"{op.kind} needs a line")
        return op.line

    funder = "funder:" + op.tranche if op.tranche else "funder"
    if op.kind == "award":
        return [((s, p, None, funder), -a), ((s, p, None, "unallocated"), a)]
    if op.kind == "allocate":
        line = need_line()
        return [(source_of(line), -a), ((s, p, line, "allocated"), a)]
    if op.kind == "pay":
        line = need_line()
        if op.to_line:  # passed on by the recipient of the line's parent
            parent = parent_of(s, line)
            if parent != op.to_line:
                raise RuleError(
                    f"a payment passed on comes from the line's parent: {line}'s parent is "
                    f"{parent or 'none (it is a top-level line)'}, not {op.to_line}"
                )
            return [((s, p, parent, "passed"), -a), ((s, p, line, "paid"), a)]
        return [((s, p, None, "cash"), -a), ((s, p, line, "paid"), a)]
    if op.kind == "spent":
        line = need_line()
        return [((s, p, None, "claims"), -a), ((s, p, line, "spent"), a)]
    if op.kind == "clawback":
        line = need_line()
        return [
            ((s, p, line, "paid"), -a),
            ((s, p, None, "cash"), a),
            ((s, p, line, "allocated"), -a),
            (source_of(line), a),
        ]
    if op.kind == "virement":
        line = need_line()
        if not op.to_line or op.to_line == line:
            raise RuleError("a virement moves money between two different lines")
        if parent_of(s, line) != parent_of(s, op.to_line):
            raise RuleError(
                f"a virement moves money between lines with the same parent; {line} and "
                f"{op.to_line} have different parents"
            )
        return [((s, p, line, "allocated"), -a), ((s, p, op.to_line, "allocated"), a)]
    if op.kind == "reprofile":
        q = op.to_period
        if q is None or q == p:
            raise RuleError("reprofiling moves award from one period to a different one")
        return [
            ((s, p, None, "unallocated"), -a),
            ((s, p, None, funder), a),
            ((s, q, None, funder), -a),
            ((s, q, None, "unallocated"), a),
        ]
    if op.kind == "carry-forward":
        line = need_line()
        q = op.to_period
        if q is None or not p.is_single_year or q != Period(p.first + 1, p.first + 1):
            raise RuleError(
                "a carry-forward moves a line's underspend from one financial year into the next"
            )
        return [((s, p, line, "carried"), -a), ((s, q, line, "carried-in"), a)]
    if op.kind == "commit":
        line = need_line()
        return [((s, p, None, "commitments"), -a), ((s, p, line, "committed"), a)]
    if op.kind == "claim":
        if not op.tranche:
            raise RuleError("a claim needs a name")
        return [((s, p, None, "claim:" + op.tranche), a), ((s, p, None, "claimed"), -a)]
    if op.kind == "receipt":
        settles = "claim:" + op.tranche if op.tranche else "on-award"
        return [((s, p, None, settles), -a), ((s, p, None, "received"), a)]
    raise RuleError(f"unknown kind of entry {op.kind!r}")


AWARDED = "awarded"  # not an account: the sum of the period's funder accounts, negated


def reader(balances: dict[AccountKey, int]) -> Callable[[AccountKey], int]:
    """A balance lookup over ``balances`` that also answers ``(s, p, None, AWARDED)``: what
    the funder awarded for the period, every tranche included (claims and receipts are
    limited by it)."""
    return _Reader(balances)


class _Reader:
    """What ``reader`` gives: ``check`` reads its dictionary directly (one call less for
    each figure of each limit, which a load of a million entries reads some ten million
    times)."""

    __slots__ = ("balances",)

    def __init__(self, balances: dict[AccountKey, int]) -> None:
        self.balances = balances

    def __call__(self, key: AccountKey) -> int:
        if key[3] == AWARDED:
            return -sum(v for k, v in self.balances.items() if _funder_of(k, key))
        return self.balances.get(key, 0)


def _funder_of(key: AccountKey, awarded: AccountKey) -> bool:
    return (
        key[2] is None
        and key[:2] == awarded[:2]
        and (key[3] == "funder" or key[3].startswith("funder:"))
    )


# Not an account: a line's paid less passed on, plus what it carried forward out of the
# period and less what it brought into it, summed over the line and every line beneath it
# (what reached its branch from outside, and what its branch's allocation lost or gained
# between years). Kept beside the balances by ``rolled``.
BRANCH = "~branch-paid"
ROLLED = frozenset({"paid", "passed", "carried", "carried-in"})


def rolled(
    planned: Iterable[tuple[AccountKey, int]], parent_of: Parents
) -> list[tuple[AccountKey, int]]:
    """What postings add to the BRANCH figure of their line and of every line above it: what
    was paid and not passed on, and what was carried out of the period (more) or into it
    (less), so that a child's underspend carried forward frees its ancestors' allocation in
    the year it leaves and brings its own into the year it reaches."""
    out: list[tuple[AccountKey, int]] = []
    for (s, p, line, role), amount in planned:
        if line is None or role not in ROLLED:
            continue
        amount = -amount if role in ("carried", "carried-in") else amount
        at: str | None = line
        seen: set[str] = set()
        while at is not None and at not in seen:
            seen.add(at)
            out.append(((s, p, at, BRANCH), amount))
            at = parent_of(s, at)
    return out


def with_branches(balances: dict[AccountKey, int], parent_of: Parents) -> dict[AccountKey, int]:
    """``balances`` (of accounts) with each line's BRANCH figure added, in place."""
    for key, amount in rolled(list(balances.items()), parent_of):
        balances[key] = balances.get(key, 0) + amount
    return balances


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


def carried(bal: Callable[[AccountKey], int], s: str, p: Period, line: str | None) -> int:
    """What a line's allocation for the period gained from the year before (carried in) and
    lost to the year after (carried forward)."""
    return bal((s, p, line, "carried")) + bal((s, p, line, "carried-in"))


def underspend(bal: Callable[[AccountKey], int], s: str, p: Period, line: str | None) -> int:
    """What is left of a line's allocation for the period that it neither passed down to its
    children nor was paid and kept: allocated, less passed to its children, less paid and
    not passed on, with any underspend carried out of the period (less) or into it (more)."""
    return (
        bal((s, p, line, "allocated"))
        + bal((s, p, line, "split"))
        + carried(bal, s, p, line)
        - bal((s, p, line, "paid"))
        - bal((s, p, line, "passed"))
    )


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
    balances = balance.balances if type(balance) is _Reader else None
    if balances is None:

        def after(key: AccountKey) -> int:
            if key[3] == AWARDED:
                return balance(key) - sum(v for k, v in delta.items() if _funder_of(k, key))
            return balance(key) + delta.get(key, 0)

    else:  # the books loader's balances, read directly
        read = balances.get

        def after(key: AccountKey) -> int:
            if key[3] == AWARDED:
                return balance(key) - sum(v for k, v in delta.items() if _funder_of(k, key))
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
