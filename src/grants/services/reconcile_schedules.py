"""Reconcile's check of payment schedules: the instalments due by the reconcile date that
the payments made to the line by then do not cover, earliest first (payments pay the
earliest instalments first), each with the days it is overdue (warning), or due that day
(info); and instalments falling due in the next 30 days (info).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select

from grants.db.models import Instalment
from grants.formatting import day as formatted
from grants.periods import FinancialYear, Period

if TYPE_CHECKING:
    from grants.services.reconcile import Context, Finding

SOON_DAYS = 30


def _finding(*args: object) -> Finding:
    from grants.services.reconcile import Finding  # reconcile lists these checks

    return Finding(*args)  # type: ignore[arg-type]


def payments_due(ctx: Context) -> Iterator[Finding]:
    rows = ctx.session.execute(
        select(Instalment.line_id, Instalment.first_year, Instalment.last_year,
               Instalment.amount_pence, Instalment.due, Instalment.milestone, Instalment.basis)
        .where(Instalment.day <= ctx.today)
        .order_by(Instalment.line_id, Instalment.first_year, Instalment.due, Instalment.id)
    )  # fmt: skip
    schedules: dict[tuple[int, int, int], list[tuple[int, date, str | None, str]]] = {}
    for line_id, first, last, amount, due, milestone, basis in rows:
        schedules.setdefault((line_id, first, last), []).append((amount, due, milestone, basis))
    for (line_id, first, last), instalments in schedules.items():
        info = ctx.lines.get(line_id)
        if info is None or info.stream_id not in ctx.streams:
            continue
        period = Period(FinancialYear(first), FinancialYear(last))
        if ctx.year is not None and not period.overlaps(Period(ctx.year, ctx.year)):
            continue
        stream = ctx.streams[info.stream_id][0]
        paid = ctx.balances.value(stream, period, "paid", info.code) or 0
        yield from _line(ctx, stream, period, info.code, info.recipient, paid, instalments)


def _line(
    ctx: Context,
    stream: str,
    period: Period,
    line: str,
    recipient: str | None,
    paid: int,
    instalments: list[tuple[int, date, str | None, str]],
) -> Iterator[Finding]:
    scheduled = 0
    for amount, due, milestone, basis in instalments:
        covered_before = min(max(paid - scheduled, 0), amount)
        scheduled += amount
        short = amount - covered_before
        if short <= 0:
            continue
        what = f"{line}'s {basis} instalment of {ctx.money(amount)} due {formatted(due)}" + (
            f" ({milestone})" if milestone else ""
        )
        left = f"{ctx.money(short)} of it not yet paid" if short != amount else "not yet paid"
        days = (ctx.today - due).days
        if days > 0:
            yield _finding(
                "warning", "payments due", stream, str(period), line, recipient,
                f"{what} is {days} days overdue: {left}", short,
            )  # fmt: skip
        elif days == 0:
            yield _finding(
                "info", "payments due", stream, str(period), line, recipient,
                f"{what} is due today: {left}", short,
            )  # fmt: skip
        elif -days <= SOON_DAYS:
            yield _finding(
                "info", "payments due", stream, str(period), line, recipient,
                f"{what} falls due in {-days} days: {left}", short,
            )  # fmt: skip


CHECKS = [("payments due", payments_due)]
