"""`grants balance --summary` through SQLAlchemy Core: each stream and period's row of
`grants.services.balances`, read with plain SQL and neither the ORM nor the models.

A command's start-up is most of `balance --summary`: importing the ORM, declaring the 37
mapped classes and configuring their mappers took more than the whole of the figures. The
summary needs only the streams' own accounts (awarded, allocated, unallocated, paid,
reported, claimed, received, committed: each a sum of postings), the accounts of their lines
only to know which periods have any, and the stated awards; so it reads those, sums them as
`Balances` does, and gives the same rows (tests/test_summary.py holds the two to the same
answer, and `STREAM_FIGURES` to balances'). It is for a person who sees every line: a
recipient's summary, made from their own lines, is `balances.balance_rows`'.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import Connection, text

from grants.money import money
from grants.periods import FinancialYear, Period

# Which of a stream's own accounts make each figure of its row, and how: (role, sign), a
# role "funder" covering its tranches ("funder:T") too (balances.STREAM_FIGURES).
Recipe = tuple[tuple[str, int], ...]
STREAM_FIGURES: dict[str, Recipe] = {
    "awarded": (("funder", -1),),
    "allocated": (("funder", -1), ("unallocated", -1)),  # the award less what is left
    "unallocated": (("unallocated", 1),),
    "paid": (("cash", -1),),
    "reported": (("claims", -1),),
    "claimed": (("claimed", -1),),
    "received": (("received", 1),),
    "committed": (("commitments", -1),),
}
# The roles with named parts ("funder:T", "claim:NAME"): balances.NAMED.
NAMED = frozenset({"funder", "claim"})
# The stream's own roles a row is made of, besides the funder's ("funder", "funder:T").
OWN_ROLES = ("unallocated", "cash", "claims", "claimed", "received", "commitments")
# A row's figures after awarded and stated, in its order.
COLUMNS = ("allocated", "unallocated", "paid", "reported", "claimed", "received", "committed")


class SummaryRow(NamedTuple):
    """A stream and period's row of `grants balance`: balances.BalanceRow's fields, the
    line's (line, name, parent, carried, brought) empty."""

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
    claimed: Decimal | None = None
    received: Decimal | None = None
    committed: Decimal | None = None
    carried: Decimal | None = None
    brought: Decimal | None = None


def figure_of(recipe: Recipe, totals: dict[str, int]) -> int:
    """The figure ``recipe`` makes of the balances ``totals`` (by role), in pence
    (balances.figure_of)."""
    total = 0
    for wanted, sign in recipe:
        total += sign * totals.get(wanted, 0)
        if wanted in NAMED:
            named = wanted + ":"
            total += sign * sum(v for role, v in totals.items() if role.startswith(named))
    return total


# The balance of every account with a posting, summed over the covering index
# posting(account_id, amount_pence) first (as balance_reads does), then added up by stream,
# period and, for a stream's own accounts, role (a line's accounts only say that the period
# has postings: role NULL).
_TOTALS = (
    "SELECT a.stream_id, a.first_year, a.last_year, "
    "CASE WHEN a.line_id IS NULL THEN a.role END AS own_role, "
    "CAST(SUM(b.total) AS BIGINT) AS total "
    "FROM (SELECT account_id, SUM(amount_pence) AS total FROM posting GROUP BY account_id) b "
    "JOIN account a ON a.id = b.account_id{where} "
    "GROUP BY a.stream_id, a.first_year, a.last_year, CASE WHEN a.line_id IS NULL THEN a.role END"
)
_OVERLAPPING = " WHERE a.first_year <= :last AND a.last_year >= :first"
# The stated awards, oldest first: the latest of a stream and period stands.
_STATED = (
    "SELECT s.code, st.first_year, st.last_year, st.amount FROM statement st "
    "JOIN stream s ON s.id = st.stream_id WHERE st.kind = 'stated' ORDER BY st.id"
)


def summary_rows(connection: Connection, period: Period | None = None) -> list[SummaryRow]:
    """Each stream and period's row (the periods overlapping ``period``, when given), by
    stream code and period, for a person who sees every line (the caller checks it)."""
    streams = dict(connection.execute(text("SELECT id, code FROM stream")).all())
    if period is None:
        found = connection.execute(text(_TOTALS.format(where="")))
    else:
        found = connection.execute(
            text(_TOTALS.format(where=_OVERLAPPING)),
            {"first": period.first.start, "last": period.last.start},
        )
    totals: dict[tuple[str, Period], dict[str, int]] = {}
    for stream_id, first, last, role, total in found:
        key = (streams[stream_id], Period(FinancialYear(first), FinancialYear(last)))
        roles = totals.setdefault(key, dict.fromkeys(OWN_ROLES, 0))
        if role is not None and (role.startswith("funder") or role in OWN_ROLES):
            roles[role] = roles.get(role, 0) + int(total)
    stated: dict[tuple[str, Period], int] = {}
    for code, first, last, amount in connection.execute(text(_STATED)):
        key = (code, Period(FinancialYear(first), FinancialYear(last)))
        stated[key] = int(money(amount) * 100)  # the latest statement stands
    rows = []
    for key in sorted(totals):
        if period is not None and not key[1].overlaps(period):
            continue
        roles = totals[key]
        shown = stated.get(key)
        rows.append(
            SummaryRow(
                key[0], key[1], None, "", None,
                _d(figure_of(STREAM_FIGURES["awarded"], roles)),
                None if shown is None else _d(shown),
                *(_d(figure_of(STREAM_FIGURES[c], roles)) for c in COLUMNS),
            )
        )  # fmt: skip
    return rows


_ZERO = Decimal("0.00")


def _d(pence: int) -> Decimal:
    """Pence as pounds with two places (balances._d)."""
    return Decimal(pence).scaleb(-2) if pence else _ZERO


__all__ = ["STREAM_FIGURES", "SummaryRow", "figure_of", "summary_rows"]
