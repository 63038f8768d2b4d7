"""Reconcile's checks of spending plans and returns: plans against allocations, returns due
or late, the spend they report against the allocation (and the clawback to propose), their
titles against the plan, and the journal's reported spend against them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from grants import formatting
from grants.db.models import PlanAgreement, PlanLine, ReturnFigure, ReturnFiling, ReturnStage
from grants.periods import FinancialYear, Period
from grants.services.reconcile_context import (
    Context,
    FilingKey,
    Finding,
    _Filings,
    _lines_of,
    _recipient,
)
from grants.services.returns import PLAN_STAGE
from grants.services.returns_import import latest_spend, reported_spends


def plan_vs_allocation(ctx: Context) -> Iterator[Finding]:
    # Each line's and year's plan summed by the database (one row a plan, not a plan line).
    query = select(PlanLine.line_id, PlanLine.year, func.sum(PlanLine.cost_pence)).group_by(
        PlanLine.line_id, PlanLine.year
    )
    if ctx.year is not None:
        query = query.where(PlanLine.year == ctx.year.start)
    planned = {(line_id, year): int(total) for line_id, year, total in ctx.session.execute(query)}
    for (line_id, year), total in sorted(planned.items()):
        info = ctx.lines.get(line_id)
        if info is None:
            continue
        stream = _stream_of_line(ctx, line_id)
        if stream is None or (ctx.year is not None and ctx.year.start != year):
            continue
        period = Period(FinancialYear(year), FinancialYear(year))
        allocated = ctx.balances.value(stream, period, "allocated", info.code) or 0
        if total != allocated:
            yield Finding(
                "error", "plan vs allocation", stream, str(period), info.code,
                info.recipient or info.name,
                f"the spending plan totals {ctx.money(total)} against the allocation of "
                f"{ctx.money(allocated)} (difference {ctx.money(total - allocated)}); its "
                f"lines are {_percent(total, allocated)} of the allocation, not 100%",
                total - allocated,
            )  # fmt: skip


def _percent(part: int, whole: int) -> str:
    if not whole:
        return "n/a"
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(Decimal('0.1'))}%"


def _stream_of_line(ctx: Context, line_id: int) -> str | None:
    info = ctx.lines.get(line_id)
    return ctx.streams.get(info.stream_id, (None, None))[0] if info is not None else None


def _reporting_lines(ctx: Context, stream: str, period: Period) -> list[str]:
    """Lines that report: funded in the period with no funded lines beneath them."""
    lines = _lines_of(ctx, stream, period)
    parents = {parent for _, _, parent in lines if parent}
    return [code for code, _, _ in lines if code not in parents]


def _filings(ctx: Context) -> _Filings:
    """The returns received by ``today`` (read once): those that stand then (not superseded
    by then), and the first received for each line, year and stage."""
    if ctx.filings is None:
        filings = ctx.session.scalars(
            select(ReturnFiling)
            .where(ReturnFiling.received_on <= ctx.today)
            .order_by(ReturnFiling.id)
        ).all()
        superseded = {f.supersedes_id for f in filings if f.supersedes_id}
        standing = {(f.line_id, f.year, f.stage): f for f in filings if f.id not in superseded}
        first: dict[FilingKey, ReturnFiling] = {}
        for f in sorted(filings, key=lambda f: (f.received_on, f.id)):
            first.setdefault((f.line_id, f.year, f.stage), f)
        ctx.filings = _Filings(standing, first)
    return ctx.filings


def _standing(ctx: Context) -> dict[FilingKey, ReturnFiling]:
    """The returns that stand on ``today``: received by then, and not superseded by then."""
    return _filings(ctx).standing


def _figures(ctx: Context, filing_id: int) -> list[ReturnFigure]:
    """A return's figures in the order of its form (every return's read at once)."""
    if ctx.return_figures is None:
        ctx.return_figures = {}
        for figure in ctx.session.scalars(
            select(ReturnFigure).order_by(ReturnFigure.filing_id, ReturnFigure.position)
        ):
            ctx.return_figures.setdefault(figure.filing_id, []).append(figure)
    return ctx.return_figures.get(filing_id, [])


def _line_id(ctx: Context, stream: str, code: str) -> int | None:
    info = ctx.line_of(stream, code)
    return None if info is None else info.id


def returns_due(ctx: Context) -> Iterator[Finding]:
    standing = _standing(ctx)
    for stage in ctx.session.scalars(
        select(ReturnStage).order_by(ReturnStage.covers_to, ReturnStage.id)
    ):
        if stage.stream_id not in ctx.streams:
            continue
        if ctx.year is not None and stage.year != ctx.year.start:
            continue
        stream = ctx.streams[stage.stream_id][0]
        period = Period(FinancialYear(stage.year), FinancialYear(stage.year))
        if (stream, period) not in ctx.balances.periods:
            continue
        for code in _reporting_lines(ctx, stream, period):
            line_id = _line_id(ctx, stream, code)
            who = _recipient(ctx, stream, code)
            if stage.stage == PLAN_STAGE:
                yield from _plan_due(ctx, stage, stream, period, code, line_id or 0, who)
                continue
            filing = standing.get((line_id or 0, stage.year, stage.stage))
            if filing is None:
                if stage.due < ctx.today:
                    late = (ctx.today - stage.due).days
                    yield Finding(
                        "error", "returns due", stream, str(period), code, who,
                        f"the {stage.stage} return, due {formatting.day(stage.due)}, is missing "
                        f"({formatting.count(late, 'day')} late)",
                    )  # fmt: skip
                continue
            first = _first_filing(ctx, line_id or 0, stage.year, stage.stage)
            if first is not None and first.received_on > stage.due:
                yield Finding(
                    "warning", "returns due", stream, str(period), code, who,
                    f"the {stage.stage} return was received {formatting.day(first.received_on)}, "
                    f"after it was due ({formatting.day(stage.due)})",
                )  # fmt: skip


def _plan_due(
    ctx: Context,
    stage: ReturnStage,
    stream: str,
    period: Period,
    code: str,
    line_id: int,
    who: str | None,
) -> Iterator[Finding]:
    """The plan stage is met by the spending plan: recorded by the due date, then agreed."""
    first = ctx.session.scalar(
        select(func.min(PlanLine.day)).where(
            PlanLine.line_id == line_id, PlanLine.year == stage.year, PlanLine.day <= ctx.today
        )
    )
    if first is None:
        if stage.due < ctx.today:
            yield Finding(
                "error", "plans due", stream, str(period), code, who,
                f"no spending plan is recorded; it was due {formatting.day(stage.due)} "
                f"({formatting.count((ctx.today - stage.due).days, 'day')} ago)",
            )  # fmt: skip
        return
    if first > stage.due:
        yield Finding(
            "warning", "plans due", stream, str(period), code, who,
            f"the spending plan was recorded {formatting.day(first)}, after it was due "
            f"({formatting.day(stage.due)})",
        )  # fmt: skip
    agreed = ctx.session.scalar(
        select(PlanAgreement.day).where(
            PlanAgreement.line_id == line_id, PlanAgreement.year == stage.year,
            PlanAgreement.day <= ctx.today,
        )
    )  # fmt: skip
    if agreed is None and stage.due < ctx.today:
        yield Finding(
            "warning", "plans due", stream, str(period), code, who,
            f"the spending plan (recorded {formatting.day(first)}) is not yet agreed: record the "
            f"agreement with `grants plan agree {stream} {FinancialYear(stage.year)} {code}`",
        )  # fmt: skip


def _first_filing(ctx: Context, line_id: int, year: int, stage: str) -> ReturnFiling | None:
    return _filings(ctx).first.get((line_id, year, stage))


def returned_figures(ctx: Context) -> Iterator[Finding]:
    """Spend against the allocation, blanks, and the underspend to claw back at year end."""
    standing = _standing(ctx)
    calendar = {(s.stream_id, s.year, s.stage): s for s in ctx.session.scalars(select(ReturnStage))}
    for (line_id, year, stage_name), filing in sorted(standing.items()):
        if filing.stream_id not in ctx.streams:
            continue
        if ctx.year is not None and year != ctx.year.start:
            continue
        stream = ctx.streams[filing.stream_id][0]
        info = ctx.lines[line_id]
        who = info.recipient or info.name
        period = Period(FinancialYear(year), FinancialYear(year))
        figures = _figures(ctx, filing.id)
        for f in figures:
            where = f"{filing.filename}:Return!{f.cell}"
            if f.spend_pence is None:
                yield Finding(
                    "warning", "returned figures", stream, str(period), info.code, who,
                    f"{stage_name}: no spend to date given for {f.title!r} ({where})",
                )  # fmt: skip
            if not f.progress:
                yield Finding(
                    "warning", "returned figures", stream, str(period), info.code, who,
                    f"{stage_name}: no progress or outcomes given for {f.title!r}",
                )  # fmt: skip
        spent = sum(f.spend_pence or 0 for f in figures)
        allocated = ctx.balances.value(stream, period, "allocated", info.code) or 0
        if spent > allocated:
            yield Finding(
                "error", "returned figures", stream, str(period), info.code, who,
                f"{stage_name}: spend to date {ctx.money(spent)} exceeds the allocation of "
                f"{ctx.money(allocated)} by {ctx.money(spent - allocated)}",
                spent - allocated,
            )  # fmt: skip
        stage = calendar.get((filing.stream_id, year, stage_name))
        year_end = stage is not None and stage.covers_to == FinancialYear(year).last_day
        # Underspend carried forward into the next year, with the funder's approval, is not
        # unspent: it is next year's.
        carried = ctx.balances.value(stream, period, "carried", info.code) or 0
        if year_end and spent < allocated - carried:
            paid = ctx.balances.value(stream, period, "paid", info.code) or 0
            unspent = f"{stage_name}: {ctx.money(allocated - carried - spent)} of the " \
                f"allocation of {ctx.money(allocated)} is unspent at the year end" + (
                    f" ({ctx.money(carried)} carried forward)" if carried else "")  # fmt: skip
            if paid > spent:
                yield Finding(
                    "warning", "returned figures", stream, str(period), info.code, who,
                    f"{unspent}: proposed clawback {ctx.money(paid - spent)} (paid "
                    f"{ctx.money(paid)}, spent {ctx.money(spent)})",
                    paid - spent,
                )  # fmt: skip
            else:
                yield Finding(
                    "warning", "returned figures", stream, str(period), info.code, who,
                    f"{unspent}: nothing to claw back, {ctx.money(paid)} was paid; pay no more "
                    f"than the {ctx.money(spent)} spent",
                    allocated - spent,
                )  # fmt: skip


def titles_vs_plan(ctx: Context) -> Iterator[Finding]:
    """Standing returns whose expenditure titles are not the spending plan's: a form issued
    before the plan was recorded reports against the allocation, not the plan's lines."""
    plans: dict[tuple[int, int], set[str]] = {}
    for line_id, year, title in ctx.session.execute(
        select(PlanLine.line_id, PlanLine.year, PlanLine.title).where(PlanLine.day <= ctx.today)
    ):
        plans.setdefault((line_id, year), set()).add(title)
    for (line_id, year, stage), filing in sorted(_standing(ctx).items()):
        titles = plans.get((line_id, year))
        if not titles or filing.stream_id not in ctx.streams:
            continue
        if ctx.year is not None and year != ctx.year.start:
            continue
        stream = ctx.streams[filing.stream_id][0]
        info = ctx.lines[line_id]
        fy = FinancialYear(year)
        for figure in _figures(ctx, filing.id):
            title, cell = figure.title, figure.cell
            if title in titles:
                continue
            yield Finding(
                "error", "titles vs plan", stream, str(Period(fy, fy)), info.code,
                info.recipient or info.name,
                f"{stage}: the return reports against {title!r} ({filing.filename}:Return!"
                f"{cell}), which is not a title of the spending plan: issue a new form "
                f"(`grants returns issue --stream {stream} --year {fy} --stage {stage} "
                f"--line {info.code}`) for the plan's lines",
            )  # fmt: skip


def journal_vs_returns(ctx: Context) -> Iterator[Finding]:
    """The spend the journal holds for a line and year against its standing returns, as
    recorded (whatever the as-of date): each import writes both in one transaction, so any
    difference is an entry made by hand or a damaged ledger."""
    filings = ctx.session.execute(
        select(ReturnFiling.id, ReturnFiling.line_id, ReturnFiling.year, ReturnFiling.stage,
               ReturnFiling.supersedes_id, ReturnFiling.stream_id)
        .order_by(ReturnFiling.id)
    ).all()  # fmt: skip
    superseded = {f.supersedes_id for f in filings if f.supersedes_id}
    standing: dict[tuple[int, int, int], list[tuple[str, int]]] = {}
    for f in filings:
        if f.id in superseded or f.stream_id not in ctx.streams:
            continue
        if ctx.year is not None and f.year != ctx.year.start:
            continue
        standing.setdefault((f.stream_id, f.line_id, f.year), []).append((f.stage, f.id))
    covers: dict[tuple[int, int], dict[str, date]] = {}
    for stage in ctx.session.execute(
        select(ReturnStage.stream_id, ReturnStage.year, ReturnStage.stage, ReturnStage.covers_to)
    ):
        covers.setdefault((stage.stream_id, stage.year), {})[stage.stage] = stage.covers_to
    journals = reported_spends(ctx.session) if standing else {}

    def spend(filing_id: int) -> list[tuple[int, int]]:
        return [(f.position, f.spend_pence) for f in _figures(ctx, filing_id)
                if f.spend_pence is not None]  # fmt: skip

    for (stream_id, line_id, year), stages in sorted(standing.items()):
        returned = latest_spend(covers.get((stream_id, year), {}), stages, spend)
        journal = journals.get((stream_id, line_id, year), 0)
        if journal != returned:
            info = ctx.lines[line_id]
            fy = FinancialYear(year)
            yield Finding(
                "error", "journal vs returns", ctx.streams[stream_id][0],
                str(Period(fy, fy)), info.code, info.recipient or info.name,
                f"the journal holds {ctx.money(journal)} of reported spend, but the standing "
                f"returns report {ctx.money(returned)} (difference "
                f"{ctx.money(journal - returned)}): find the spend entries made other than by "
                "`grants returns import` (`grants journal`) and reverse them",
                journal - returned,
            )  # fmt: skip


__all__ = [
    "journal_vs_returns",
    "plan_vs_allocation",
    "returned_figures",
    "returns_due",
    "titles_vs_plan",
]
