"""The recipes of a balance's figures, and its row: which accounts make each figure and how,
in pence, and `grants balance`'s row of them. Imports nothing heavy, so that
`grants balance --summary` (grants.services.summary, SQLAlchemy Core) and the ORM's
`grants.services.balances` read the same recipes and make the same rows."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from grants.periods import Period

METRICS = (
    "awarded", "stated", "allocated", "unallocated", "paid", "reported", "claimed", "received",
    "committed", "carried", "brought",
)  # fmt: skip


# Which accounts make each figure, and how: (role, sign), a role "funder" covering its
# tranches ("funder:T") too. Balances.value computes each figure from these and
# entries_behind lists the entries posted to the same accounts, so the two cannot differ.
Recipe = tuple[tuple[str, int], ...]
STREAM_FIGURES: dict[str, Recipe] = {
    "awarded": (("funder", -1),),
    "allocated": (("funder", -1), ("unallocated", -1)),  # the award less what is left
    "unallocated": (("unallocated", 1),),
    "paid": (("cash", -1),),
    "reported": (("claims", -1),),
    # Money in (stream-level only): what the council claimed from the funder, and received.
    "claimed": (("claimed", -1),),
    "received": (("received", 1),),
    "committed": (("commitments", -1),),
}
# Figures a stream has and its lines do not (money in is the stream's).
STREAM_ONLY = ("claimed", "received")
LINE_FIGURES: dict[str, Recipe] = {
    "allocated": (("allocated", 1),),
    "unallocated": (("allocated", 1), ("split", 1)),  # less what it passed down
    # Paid to the line's recipient less what it passed on to its children's: summed over
    # the line and every line beneath it (ROLLED_UP), money passed on counts once.
    "paid": (("paid", 1), ("passed", 1)),
    "reported": (("spent", 1),),
    "committed": (("committed", 1),),  # by signed grant agreements
    # Underspend carried forward into the next year, and brought forward from the last.
    "carried": (("carried", -1),),
    "brought": (("carried-in", 1),),
}
# The line figures that are the line's own accounts and those of every line beneath it: a
# parent's paid and reported include its children's (a payment passed on from the parent
# to a child adds to the child's paid and takes the same from the parent's "passed": once).
ROLLED_UP = frozenset({"paid", "reported"})


def sign_in(recipe: Recipe, role: str) -> int:
    """How an account of ``role`` counts in the figure ``recipe`` makes (0: not at all)."""
    for wanted, sign in recipe:
        if role == wanted or role.startswith(wanted + ":"):
            return sign
    return 0


# The roles that have named parts ("funder:T", a tranche; "claim:NAME"): the only roles with
# a colon in them (grants.services.rules.postings), all of them a stream's own.
NAMED = frozenset({"funder", "claim"})


def figure_of(recipe: Recipe, totals: dict[str, int]) -> int:
    """The figure ``recipe`` makes of the balances ``totals`` (by role), in pence: each
    account counted as :func:`sign_in` says."""
    total = 0
    for wanted, sign in recipe:
        total += sign * totals.get(wanted, 0)
        if wanted in NAMED:
            named = wanted + ":"
            total += sign * sum(v for role, v in totals.items() if role.startswith(named))
    return total


class BalanceRow(NamedTuple):
    """One row of `grants balance`: a stream and period (line None) or one of its lines."""

    stream: str
    period: Period
    line: str | None
    name: str
    parent: str | None
    awarded: Decimal | None
    stated: Decimal | None
    allocated: Decimal
    unallocated: Decimal | None
    paid: Decimal
    reported: Decimal
    # Money in, for a stream and period (None for a line): claimed from the funder, received.
    claimed: Decimal | None = None
    received: Decimal | None = None
    # Committed by signed grant agreements (a stream's: every line's).
    committed: Decimal | None = None
    # A line's underspend carried forward into the next year, and brought forward into this
    # one (None for a stream).
    carried: Decimal | None = None
    brought: Decimal | None = None


_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")


def pounds(pence: int) -> Decimal:
    """Pence as pounds with two places (the values come from integer columns). A hundredth
    multiplied by them: the same digits and places as ``scaleb(-2)``, made faster (the
    integer taken exactly, as ``Decimal(pence)`` takes it, with no Decimal made of it)."""
    return _CENT * pence if pence else _ZERO
