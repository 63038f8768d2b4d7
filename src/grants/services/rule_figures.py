"""The figures the rules read beside the accounts' balances (grants.services.rules): what a
funder awarded for a period, every tranche included, read through ``reader``; each line's
BRANCH figure, what reached its branch from outside and what its allocation lost or gained
between years, kept beside the balances by ``rolled``; and what is left of a line's
allocation (``underspend``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from grants.periods import Period

# (stream code, period, line code or None, role)
AccountKey = tuple[str, Period, str | None, str]

# The parent of a line of a stream (stream code, line code), or None for a top-level line.
Parents = Callable[[str, str], str | None]


AWARDED = "awarded"  # not an account: the sum of the period's funder accounts, negated


def reader(balances: dict[AccountKey, int]) -> Callable[[AccountKey], int]:
    """A balance lookup over ``balances`` that also answers ``(s, p, None, AWARDED)``: what
    the funder awarded for the period, every tranche included (claims and receipts are
    limited by it)."""
    return Reader(balances)


class Reader:
    """What ``reader`` gives: ``check`` reads its dictionary directly (one call less for
    each figure of each limit, which a load of a million entries reads some ten million
    times)."""

    __slots__ = ("balances",)

    def __init__(self, balances: dict[AccountKey, int]) -> None:
        self.balances = balances

    def __call__(self, key: AccountKey) -> int:
        if key[3] == AWARDED:
            return -sum(v for k, v in self.balances.items() if funder_of(k, key))
        return self.balances.get(key, 0)


def funder_of(key: AccountKey, awarded: AccountKey) -> bool:
    """Whether ``key`` is one of the funder accounts (any tranche) that make the award
    ``awarded`` asks for (its stream and period)."""
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
