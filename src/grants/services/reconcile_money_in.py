"""Reconcile's checks of money in: claims to funders and the cash received from them.

* ``awards not yet claimed``: in a stream that claims from its funder (any claim recorded),
  what of each period's award is not yet claimed (info);
* ``claims not yet paid``: each claim with money still owed on it, with its age in days on
  the reconcile date (warning);
* ``receipts without a claim``: cash received against the award, not a claim, where the
  period has claims it could have paid (warning);
* ``received ahead of spend``: more received from the funder than the spend reported for
  the period (warning: cash held ahead of need).

Each reads the ledger as it stood at the end of the reconcile date.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from grants.db.models import Account, Entry, Posting, Stream
from grants.periods import FinancialYear, Period

if TYPE_CHECKING:
    from grants.services.reconcile import Context, Finding


def _finding(*args: object) -> Finding:
    from grants.services.reconcile import Finding  # reconcile lists these checks

    return Finding(*args)  # type: ignore[arg-type]


def _claiming(ctx: Context) -> set[str]:
    """The streams with any claim recorded by the reconcile date."""
    return set(
        ctx.session.scalars(
            select(Stream.code)
            .join(Entry, Entry.stream_id == Stream.id)
            .where(Entry.kind == "claim", Entry.day <= ctx.today)
            .distinct()
        )
    )


def awards_not_claimed(ctx: Context) -> Iterator[Finding]:
    claiming = _claiming(ctx)
    for stream, period in ctx.periods():
        if stream not in claiming:
            continue
        awarded = ctx.balances.value(stream, period, "awarded", None) or 0
        claimed = ctx.balances.value(stream, period, "claimed", None) or 0
        if awarded > claimed:
            yield _finding(
                "info", "awards not yet claimed", stream, str(period), None, None,
                f"{ctx.money(awarded - claimed)} of the award ({ctx.money(awarded)}) is not "
                f"yet claimed from the funder ({ctx.money(claimed)} claimed)",
                awarded - claimed,
            )  # fmt: skip


def _owed(ctx: Context) -> dict[int, int]:
    """What is owed on each claim account at the end of the reconcile date (account id ->
    pence)."""
    query = (
        select(Posting.account_id, func.sum(Posting.amount_pence))
        .join(Account, Account.id == Posting.account_id)
        .join(Entry, Entry.id == Posting.entry_id)
        .where(Account.role.like("claim:%"), Entry.day <= ctx.today)
        .group_by(Posting.account_id)
    )
    return {account_id: int(total) for account_id, total in ctx.session.execute(query)}


def claims_not_paid(ctx: Context) -> Iterator[Finding]:
    owed = _owed(ctx)
    if not owed:
        return
    accounts = {
        (stream_id, first, last, role): account_id
        for account_id, stream_id, first, last, role in ctx.session.execute(
            select(Account.id, Account.stream_id, Account.first_year, Account.last_year,
                   Account.role).where(Account.id.in_(owed))
        )
    }  # fmt: skip
    reversed_ids = select(Entry.reverses_id).where(Entry.reverses_id.is_not(None))
    claims = ctx.session.execute(
        select(Entry.stream_id, Entry.first_year, Entry.last_year, Entry.tranche, Entry.day,
               Entry.amount_pence)
        .where(Entry.kind == "claim", Entry.reverses_id.is_(None), Entry.day <= ctx.today,
               Entry.id.not_in(reversed_ids))
        .order_by(Entry.day, Entry.id)
    )  # fmt: skip
    for stream_id, first, last, name, day, amount in claims:
        if stream_id not in ctx.streams:
            continue
        period = Period(FinancialYear(first), FinancialYear(last))
        if ctx.year is not None and not period.overlaps(Period(ctx.year, ctx.year)):
            continue
        left = owed.get(accounts.get((stream_id, first, last, f"claim:{name}"), 0), 0)
        if left <= 0:
            continue
        age = (ctx.today - day).days
        yield _finding(
            "warning", "claims not yet paid", ctx.streams[stream_id][0], str(period), None,
            None,
            f"claim {name} of {ctx.money(amount)}, made on {_day(day)}, is {age} days old "
            f"and {ctx.money(left)} of it is not yet received",
            left,
        )  # fmt: skip


def _day(day: date) -> str:
    from grants.formatting import day as formatted

    return formatted(day)


def receipts_without_claim(ctx: Context) -> Iterator[Finding]:
    claiming = _claiming(ctx)
    reversed_ids = select(Entry.reverses_id).where(Entry.reverses_id.is_not(None))
    rows = ctx.session.execute(
        select(Entry.id, Entry.stream_id, Entry.first_year, Entry.last_year, Entry.day,
               Entry.amount_pence)
        .where(Entry.kind == "receipt", Entry.tranche.is_(None), Entry.reverses_id.is_(None),
               Entry.day <= ctx.today, Entry.id.not_in(reversed_ids))
        .order_by(Entry.id)
    )  # fmt: skip
    for entry_id, stream_id, first, last, day, amount in rows:
        stream = ctx.streams.get(stream_id, ("", ""))[0]
        period = Period(FinancialYear(first), FinancialYear(last))
        if stream not in claiming or not (ctx.balances.value(stream, period, "claimed", None)):
            continue
        if ctx.year is not None and not period.overlaps(Period(ctx.year, ctx.year)):
            continue
        yield _finding(
            "warning", "receipts without a claim", stream, str(period), None, None,
            f"entry {entry_id}: {ctx.money(amount)} received on {_day(day)} matches no claim "
            "(received against the award while the period has claims): if it paid a claim, "
            "reverse it and record it again with the claim's name",
            amount,
        )  # fmt: skip


def received_ahead_of_spend(ctx: Context) -> Iterator[Finding]:
    for stream, period in ctx.periods():
        received = ctx.balances.value(stream, period, "received", None) or 0
        spent = ctx.balances.value(stream, period, "reported", None) or 0
        if received > spent:
            yield _finding(
                "warning", "received ahead of spend", stream, str(period), None, None,
                f"{ctx.money(received)} received from the funder, {ctx.money(spent)} of spend "
                f"reported: {ctx.money(received - spent)} received ahead of spend",
                received - spent,
            )  # fmt: skip


CHECKS = [
    ("awards not yet claimed", awards_not_claimed),
    ("claims not yet paid", claims_not_paid),
    ("receipts without a claim", receipts_without_claim),
    ("received ahead of spend", received_ahead_of_spend),
]
