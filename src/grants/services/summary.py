"""`grants balance --summary` through SQLAlchemy Core: each stream and period's row of
`grants.services.balances`, read with plain SQL and neither the ORM nor the models.

A command's start-up is most of `balance --summary`: importing the ORM, declaring the 37
mapped classes and configuring their mappers took more than the whole of the figures. The
summary needs only the streams' own accounts (awarded, allocated, unallocated, paid,
reported, claimed, received, committed: each a sum of postings), the accounts of their lines
only to know which periods have any, and the stated awards; so it reads those, sums them by the
same recipes (grants.services.figures), and gives the same rows (tests/test_summary.py holds
the two to the same answer). It is for a person who sees every line: a
recipient's summary, made from their own lines, is `balances.balance_rows`'.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from grants.errors import ODD_STATEMENT, behind_its_back, not_in_ledger
from grants.money import money
from grants.periods import FinancialYear, Period
from grants.services.account_span import SPAN, of_span
from grants.services.figures import STREAM_FIGURES, BalanceRow, figure_of
from grants.services.figures import pounds as _d

# The stream's own roles a row is made of, besides the funder's ("funder", "funder:T").
OWN_ROLES = ("unallocated", "cash", "claims", "claimed", "received", "commitments")
# A row's figures after awarded and stated, in its order.
COLUMNS = ("allocated", "unallocated", "paid", "reported", "claimed", "received", "committed")


# The balance of every account with a posting, summed over the covering index
# posting(account_id, amount_pence) first (as balance_reads does), then added up by span
# (stream and period, as every balance read groups them: account_span) and, for a stream's
# own accounts, role (a line's accounts only say that the period has postings: role NULL),
# with how many of its accounts sum to NULL (postings of no amount, behind the ledger's
# back: in a group of many, one such is lost in the group's sum). The lines themselves are
# not read: an account of a line the ledger lacks (changed behind its back) is still of its
# stream, and is found by `grants verify` (looking each line up here cost a national
# funder's summary a tenth more time on SQLite, a quarter more on PostgreSQL).
_OWN_ROLE = "CASE WHEN a.line_id IS NULL THEN a.role END"
_TOTALS = (
    f"SELECT {SPAN} AS span, {_OWN_ROLE} AS own_role, "
    "CAST(SUM(b.total) AS BIGINT) AS total, COUNT(*) - COUNT(b.total) AS blank "
    "FROM (SELECT account_id, SUM(amount_pence) AS total FROM posting GROUP BY account_id) b "
    f"JOIN account a ON a.id = b.account_id{{where}} GROUP BY {SPAN}, {_OWN_ROLE}"
)
_OVERLAPPING = " WHERE a.first_year <= :last AND a.last_year >= :first"
# The stated awards, oldest first: the latest of a stream and period stands.
_STATED = (
    "SELECT stream_id, first_year, last_year, amount FROM statement WHERE kind = 'stated' "
    "ORDER BY id"
)


def summary_rows(connection: Connection, period: Period | None = None) -> list[BalanceRow]:
    """Each stream and period's row (the periods overlapping ``period``, when given), by
    stream code and period, for a person who sees every line (the caller checks it)."""
    streams = dict(connection.execute(text("SELECT id, code FROM stream")).all())
    if period is None:
        found = connection.execute(text(_TOTALS.format(where=""))).all()
    else:
        found = connection.execute(
            text(_TOTALS.format(where=_OVERLAPPING)),
            {"first": period.first.start, "last": period.last.start},
        ).all()
    totals: dict[tuple[str, Period], dict[str, int]] = {}
    # Refused in the order of a read through the ORM (balances._group): an account of no
    # span (of_span), or of no amount, as each is met; then one of a missing stream.
    spanned = []
    for span, role, total, blank in found:
        spanned.append((*of_span(span), role, total))
        if blank:  # an account's postings of no amount (NOT NULL dropped behind its back)
            raise behind_its_back("an account's postings add up to no amount")
    if any(row[0] not in streams for row in spanned):
        raise not_in_ledger("an account", "stream", (row[0] for row in spanned), streams)
    for stream_id, first, last, role, total in spanned:
        key = (streams[stream_id], Period(FinancialYear(first), FinancialYear(last)))
        roles = totals.setdefault(key, dict.fromkeys(OWN_ROLES, 0))
        if role is not None and (role.startswith("funder") or role in OWN_ROLES):
            roles[role] = roles.get(role, 0) + int(total)
    stated: dict[tuple[str, Period], int] = {}
    statements = connection.execute(text(_STATED)).all()
    for stream_id, first, last, amount in statements:
        if stream_id not in streams:
            raise not_in_ledger("a statement", "stream", (row[0] for row in statements), streams)
        if first.__class__ is not int or last.__class__ is not int:
            raise behind_its_back(ODD_STATEMENT)
        key = (streams[stream_id], Period(FinancialYear(first), FinancialYear(last)))
        stated[key] = int(money(amount) * 100)  # the latest statement stands
    rows = []
    for key in sorted(totals):
        if period is not None and not key[1].overlaps(period):
            continue
        roles = totals[key]
        shown = stated.get(key)
        rows.append(
            BalanceRow(
                key[0], key[1], None, "", None,
                _d(figure_of(STREAM_FIGURES["awarded"], roles)),
                None if shown is None else _d(shown),
                *(_d(figure_of(STREAM_FIGURES[c], roles)) for c in COLUMNS),
            )
        )  # fmt: skip
    return rows


__all__ = ["summary_rows"]
