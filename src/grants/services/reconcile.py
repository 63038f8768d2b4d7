"""Reconciliation: small checks over the whole ledger, each returning located findings.

Each check is a function ``check(ctx) -> Iterator[Finding]``; ``CHECKS`` lists them in the
order they are reported. A finding has a severity: ``error`` (the ledger or a recipient must
act; ``grants reconcile`` exits 1 while any stands), ``warning`` (to look at) or ``info``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grants import formatting
from grants.db.models import (
    Entry,
    Line,
    Organisation,
    PlanAgreement,
    PlanLine,
    Profile,
    ReturnFigure,
    ReturnFiling,
    ReturnStage,
    Stream,
)
from grants.formatting import SCALES, gbp, gbp_scaled
from grants.money import from_pence, to_pence
from grants.periods import FinancialYear, Period
from grants.services import (
    access,
    published,
    reconcile_commitments,
    reconcile_money_in,
    reconcile_schedules,
)
from grants.services.balance_reads import shared
from grants.services.balances import Balances, day_after
from grants.services.balances import read as read_balances
from grants.services.common_rate import common_rate, percent
from grants.services.misprints import misprints, slip
from grants.services.programmes import compare as compare_versions
from grants.services.programmes import versions
from grants.services.recent import Recent
from grants.services.record_checks import Evidence
from grants.services.returns import PLAN_STAGE
from grants.services.returns_import import latest_spend, reported_spends
from grants.services.verify import verify

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    severity: str
    check: str
    stream: str
    period: str
    line: str | None  # the allocation line concerned (None: the stream)
    recipient: str | None
    message: str
    amount_pence: int | None = None  # the amount at issue (a shortfall, an underspend)
    # A published figure's (printed, ledger, difference), in pounds.
    figures: tuple[Decimal, Decimal, Decimal] | None = None

    def as_dict(self) -> dict[str, object]:
        shown = {}
        if self.figures is not None:
            shown = dict(zip(("printed", "ledger", "difference"),
                             (f"{x:.2f}" for x in self.figures), strict=True))  # fmt: skip
        return {
            "severity": self.severity,
            "check": self.check,
            "stream": self.stream,
            "period": self.period,
            "line": self.line,
            "recipient": self.recipient,
            "message": self.message,
            "amount": None if self.amount_pence is None else f"{from_pence(self.amount_pence)}",
            **shown,
        }


@dataclass
class _LineInfo:
    id: int
    code: str
    name: str
    parent: str | None
    recipient: str | None
    stream_id: int


FilingKey = tuple[int, int, str]  # line id, year, stage


@dataclass
class _Filings:
    standing: dict[FilingKey, ReturnFiling]  # not superseded by `today`
    first: dict[FilingKey, ReturnFiling]  # the first received


@dataclass
class Context:
    session: Session
    stream: str | None
    year: FinancialYear | None
    today: date
    balances: Balances = field(init=False)
    streams: dict[int, tuple[str, str]] = field(init=False)  # id -> (code, kind)
    lines: dict[int, _LineInfo] = field(init=False)
    figures: list[published.Figure] | None = field(default=None, init=False)  # read once
    evidence: Evidence | None = None  # reads a return's workbook (grants.services.verify)
    verdicts: Recent | None = None  # a recent walk of the record, reused (the web)
    by_code: dict[tuple[int, str], _LineInfo] = field(init=False)  # (stream id, code) -> line
    # Read once for every check: the returns received by `today`, those that stand and each
    # line's, year's and stage's first; and every figure of them, by filing.
    filings: _Filings | None = field(default=None, init=False)
    return_figures: dict[int, list[ReturnFigure]] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        # As the ledger stood at the end of `today`: entries dated after it are not counted.
        self.balances = read_balances(self.session, self.stream, as_of=day_after(self.today))
        self.streams = {
            i: (code, kind)
            for i, code, kind in self.session.execute(select(Stream.id, Stream.code, Stream.kind))
            if self.stream is None or code == self.stream
        }
        names = dict(self.session.execute(select(Organisation.id, Organisation.name)).all())
        raw = self.session.execute(
            select(Line.id, Line.code, Line.name, Line.parent_id, Line.recipient_id, Line.stream_id)
        ).all()
        codes = {r.id: r.code for r in raw}
        self.lines = {
            r.id: _LineInfo(
                r.id, r.code, r.name, codes.get(r.parent_id), names.get(r.recipient_id),
                r.stream_id,
            )
            for r in raw
        }  # fmt: skip
        self.by_code = {(info.stream_id, info.code): info for info in self.lines.values()}

    def periods(self) -> list[tuple[str, Period]]:
        out = []
        for code, period in sorted(self.balances.periods):
            if self.year is not None and not period.overlaps(Period(self.year, self.year)):
                continue
            out.append((code, period))
        return out

    def money(self, pence: int) -> str:
        return gbp(from_pence(pence))

    def published_rows(self) -> list[published.Figure]:
        """The published figures of the streams and year reconciled, beside the ledger's."""
        if self.figures is None:
            self.figures = published.published_figures(
                self.session, self.stream, self.year, balances=self.balances
            )
        return self.figures


def _lines_of(ctx: Context, stream: str, period: Period) -> list[tuple[str, str, str | None]]:
    """(code, name, parent code) of the lines with anything posted in the period."""
    return [
        (code, name, parent) for _, code, name, parent, _ in ctx.balances.lines_in[(stream, period)]
    ]


def _recipient(ctx: Context, stream: str, line: str) -> str | None:
    info = ctx.by_code.get((_stream_id(ctx, stream), line))
    return None if info is None else info.recipient or info.name


def _stream_id(ctx: Context, code: str) -> int:
    return next(i for i, (c, _) in ctx.streams.items() if c == code)


def stated_vs_award(ctx: Context) -> Iterator[Finding]:
    for stream, period in ctx.periods():
        stated = ctx.balances.value(stream, period, "stated", None)
        awarded = ctx.balances.value(stream, period, "awarded", None) or 0
        if stated is not None and stated != awarded:
            yield Finding(
                "warning", "stated vs award", stream, str(period), None, None,
                f"the stated award {ctx.money(stated)} is not the agreed award "
                f"{ctx.money(awarded)} (difference {ctx.money(stated - awarded)})",
                stated - awarded,
            )  # fmt: skip


def allocated_vs_award(ctx: Context) -> Iterator[Finding]:
    marked = {
        (code, first, last)
        for code, first, last in ctx.session.execute(
            select(Stream.code, Entry.first_year, Entry.last_year)
            .join(Stream, Stream.id == Entry.stream_id)
            .where(Entry.over_allocation.is_(True))
        )
    }
    for stream, period in ctx.periods():
        unallocated = ctx.balances.value(stream, period, "unallocated", None) or 0
        if unallocated > 0:
            yield Finding(
                "warning", "allocated vs award", stream, str(period), None, None,
                f"{ctx.money(unallocated)} of the award is not allocated", unallocated,
            )  # fmt: skip
        elif unallocated < 0:
            intended = (stream, period.first.start, period.last.start) in marked
            yield Finding(
                "warning" if intended else "error", "allocated vs award", stream, str(period),
                None, None,
                f"allocations exceed the award by {ctx.money(-unallocated)}"
                + (" (an over-allocation marked as intended: a shortfall to fund)"
                   if intended else ""),
                -unallocated,
            )  # fmt: skip
            yield from _running_balance(ctx, stream, period)


def _running_balance(ctx: Context, stream: str, period: Period) -> Iterator[Finding]:
    """Where, taking the top-level lines in the order of the books (the order of the capital
    programme's flexible resources table), the award runs out, and what is left unfunded."""
    balance = ctx.balances.value(stream, period, "awarded", None) or 0
    top = [(code, name) for code, name, parent in _lines_of(ctx, stream, period) if not parent]
    for i, (code, name) in enumerate(top):
        balance -= ctx.balances.value(stream, period, "allocated", code) or 0
        if balance < 0:
            later = top[i + 1 :]
            unfunded = sum(
                ctx.balances.value(stream, period, "allocated", c) or 0 for c, _ in later
            )
            rest = (
                f"; the {formatting.count(len(later), 'line')} after it "
                f"({', '.join(c for c, _ in later)}), "
                f"{ctx.money(unfunded)} in all, are not funded"
                if later
                else ""
            )
            yield Finding(
                "info", "allocated vs award", stream, str(period), code, name,
                f"the running balance of the award turns negative at {code} ({name}): "
                f"{ctx.money(-balance)} of its allocation is not funded{rest}",
                -balance,
            )  # fmt: skip
            return


def children_vs_parent(ctx: Context) -> Iterator[Finding]:
    shares: dict[tuple[str, str, int, int], str] = {}
    for stream, code, first, last, share in ctx.session.execute(
        select(Stream.code, Line.code, Entry.first_year, Entry.last_year, Entry.share)
        .join(Line, Line.id == Entry.line_id)
        .join(Stream, Stream.id == Entry.stream_id)
        .where(Entry.kind == "allocate", Entry.share.is_not(None), Entry.reverses_id.is_(None))
    ):
        shares[(stream, code, first, last)] = share
    for stream, period in ctx.periods():
        lines = _lines_of(ctx, stream, period)
        parents = {parent for _, _, parent in lines if parent}
        for code, _name, _parent in lines:
            if code not in parents:
                continue
            left = ctx.balances.value(stream, period, "unallocated", code) or 0
            allocated = ctx.balances.value(stream, period, "allocated", code) or 0
            if left:
                yield Finding(
                    "warning" if left > 0 else "error", "children vs parent", stream,
                    str(period), code, _recipient(ctx, stream, code),
                    (f"{ctx.money(left)} of {code}'s {ctx.money(allocated)} is not passed on "
                     "to the lines beneath it") if left > 0 else
                    f"the lines beneath {code} have {ctx.money(-left)} more than it",
                    left,
                )  # fmt: skip
            for child, _n, parent in lines:
                printed = shares.get((stream, child, period.first.start, period.last.start))
                if parent != code or printed is None or not allocated:
                    continue
                mine = ctx.balances.value(stream, period, "allocated", child) or 0
                written = Decimal(printed.rstrip("%"))
                places = max(0, -written.as_tuple().exponent)  # type: ignore[operator]
                actual = (Decimal(mine) * 100 / Decimal(allocated)).quantize(
                    Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
                )
                exact = (Decimal(mine) * 100 / Decimal(allocated)).quantize(Decimal("0.0001"))
                if actual != written:
                    yield Finding(
                        "warning", "children vs parent", stream, str(period), child,
                        _recipient(ctx, stream, child),
                        f"the printed share {printed} of {code} is not {child}'s "
                        f"{ctx.money(mine)} of {ctx.money(allocated)}, which is {exact}%",
                    )  # fmt: skip


def plan_vs_allocation(ctx: Context) -> Iterator[Finding]:
    planned: dict[tuple[int, int], int] = {}
    for line_id, year, cost in ctx.session.execute(
        select(PlanLine.line_id, PlanLine.year, PlanLine.cost_pence)
    ):
        planned[(line_id, year)] = planned.get((line_id, year), 0) + cost
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
    info = ctx.by_code.get((_stream_id(ctx, stream), code))
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


def capital_programmes(ctx: Context) -> Iterator[Finding]:
    for stream, _kind in sorted(ctx.streams.values()):
        found = versions(ctx.session, stream)
        by_code = {v.code: v for v in found}
        for version in found:
            base = version.compare_code
            if base not in by_code:
                continue
            tables = sorted(
                set(
                    ctx.session.scalars(
                        select(Profile.table_name).where(Profile.version_id == version.id)
                    )
                )
            )
            for table in tables:
                comparison = compare_versions(ctx.session, stream, table, base, version.code)
                for code, before, after in comparison.lines:
                    change = comparison.change(code)
                    if change:
                        label = (after or before).label  # type: ignore[union-attr]
                        yield Finding(
                            "info", "capital programme", stream, f"{version.code} vs {base}",
                            None, None,
                            f"{table}: {label} changes by {ctx.money(change)} "
                            f"({base} {ctx.money(before.total if before else 0)}, "
                            f"{version.code} {ctx.money(after.total if after else 0)})",
                            change,
                        )  # fmt: skip


def published_figures(ctx: Context) -> Iterator[Finding]:
    """Figures printed in the council's papers (recorded with `printed`) that the ledger does
    not bear out: named by table and row, with the printed figure, the ledger's and the
    difference, as money in the figure's scale."""
    for f in ctx.published_rows():
        if f.status == published.AGREES or f.kind != "printed":
            continue
        how = [f"as printed: {f.printed!r}"] if f.printed != f.amount_text else []
        how += [] if f.rounding == "half-up" else [f"rounded {f.rounding}"]
        shown = "" if f.scale == "1" else f" ({gbp_scaled(f.ledger_shown, f.scale)} as printed)"
        # The printed figure is the ledger's with a slip of the hand (one unit in the last
        # place is a question of rounding, not a misprint).
        unit = Decimal(1).scaleb(f.amount.as_tuple().exponent)  # type: ignore[arg-type]
        typo = slip(f.amount, f.ledger_shown) if abs(f.difference_shown) > unit else None
        if typo is not None:
            how.append(f"a misprint of {gbp_scaled(f.ledger_shown, f.scale)}? {typo[0]}")
        yield Finding(
            "warning", "published figures", f.stream, str(f.period), f.target, None,
            f"{f.where}: printed {gbp_scaled(f.amount, f.scale)}"
            + (f" ({'; '.join(how)})" if how else "")
            + f"; the ledger's figure is {gbp_scaled(f.ledger, '1')}{shown}: {f.direction} "
            f"({f.origin})",
            to_pence(f.difference.quantize(Decimal("0.01"))),
            (f.printed_pounds, f.ledger, f.difference),
        )  # fmt: skip


def table_footing(ctx: Context) -> Iterator[Finding]:
    """A printed table whose rows do not add up to its printed total (beyond what rounding
    each row can explain), with the single figures a slip of the hand would explain it by
    (grants.services.misprints): suggestions only, no figure is changed."""
    tables: dict[tuple[str, str, str, str, str], list[published.Figure]] = {}
    for f in ctx.published_rows():
        if f.table and (f.target is None or "+" not in f.target):
            tables.setdefault((f.stream, f.table, str(f.period), f.metric, f.scale), []).append(f)
    for (stream, table, period, metric, scale), figures in tables.items():
        totals = [f for f in figures if f.target is None]
        rows = [f for f in figures if f.target is not None]
        if len(totals) != 1 or len(rows) < 2:
            continue
        total = totals[0]
        found = sum((f.amount for f in rows), Decimal(0))
        places = max(max(0, -f.amount.as_tuple().exponent) for f in figures)  # type: ignore[operator]
        if abs(total.amount - found) <= Decimal(len(rows)) / 2 * Decimal(1).scaleb(-places):
            continue  # each row rounded on its own: the rounding explains it
        slips = misprints(
            [(f"{f.row or f.target}", f.amount) for f in rows],
            (total.row or "the total", total.amount),
        )
        reasons = "; ".join(
            f"{m.label} printed {gbp_scaled(m.printed, scale)} may be "
            f"{gbp_scaled(m.intended, scale)} ({m.slip})"
            for m in slips
        ) if slips else (
            "no single figure differs from the one that would foot by one digit or by two "
            "adjacent digits swapped"
        )  # fmt: skip
        yield Finding(
            "warning", "table footing", stream, period, None, None,
            f"{table} ({metric}) does not foot: its rows add up to "
            f"{gbp_scaled(found, scale)}, its total is printed {gbp_scaled(total.amount, scale)} "
            f"(difference {gbp_scaled(total.amount - found, scale)}). Plausible misprints, "
            f"most likely first: {reasons} ({total.origin})",
            to_pence(((total.amount - found) * SCALES[scale]).quantize(Decimal("0.01"))),
        )  # fmt: skip


def common_rates(ctx: Context) -> Iterator[Finding]:
    """Lines of a stream that change from one year to the next out of line with a rate
    the other lines share (a cut or raise applied to every recipient; see
    grants.services.common_rate), each with the figure the common rate would give."""
    by_year = {(code, p.first.start): p for code, p in ctx.balances.periods if p.first == p.last}
    for (code, start), before in sorted(by_year.items()):
        after = by_year.get((code, start + 1))
        if after is None or (ctx.year is not None and ctx.year.start != start + 1):
            continue
        groups: dict[str | None, list[tuple[str, Decimal, Decimal]]] = {}
        earlier = {
            c: (parent, roles) for _, c, _, parent, roles in ctx.balances.lines_in[(code, before)]
        }
        for _, line, _, parent, roles in ctx.balances.lines_in[(code, after)]:
            if line in earlier and earlier[line][0] == parent:
                a, b = earlier[line][1].get("allocated", 0), roles.get("allocated", 0)
                groups.setdefault(parent, []).append((line, from_pence(a), from_pence(b)))
        for lines in groups.values():
            _rate, out = common_rate(lines)
            for o in out:
                way = "more" if o.after > o.expected else "less"
                yield Finding(
                    "warning", "common rate", code, f"{before} to {after}", o.label,
                    _recipient(ctx, code, o.label),
                    f"{o.sharing} of {o.lines} lines change by {percent(o.common)} from "
                    f"{before} to {after}, a common rate; {o.label} changes by "
                    f"{percent(o.rate)} ({ctx.money(to_pence(o.before))} to "
                    f"{ctx.money(to_pence(o.after))}): at the common rate it would be "
                    f"{ctx.money(to_pence(o.expected))}, "
                    f"{ctx.money(to_pence(abs(o.after - o.expected)))} {way} than allocated",
                    to_pence(o.after - o.expected),
                )  # fmt: skip


def the_record(ctx: Context) -> Iterator[Finding]:
    """The record is what the ledger recorded (`grants verify`): a broken chain, a changed
    or missing record, a guard removed. Reported first: no other finding can be trusted
    while it stands."""
    connection = ctx.session.connection()
    result = (verify(connection, ctx.evidence) if ctx.verdicts is None
              else ctx.verdicts.verify(connection, ctx.evidence))  # fmt: skip
    first = result.first
    if first is None:
        return
    yield Finding(
        "error", "the record", "", "", None, None,
        f"the record has been changed behind the ledger's back; the first broken record is "
        f"{first}. Run `grants verify` for all "
        f"{formatting.count(len(result.problems) + result.more, 'problem')}, and restore the "
        "ledger from a backup",
    )  # fmt: skip


CHECKS: list[tuple[str, Callable[[Context], Iterator[Finding]]]] = [
    ("the record", the_record),
    ("stated vs award", stated_vs_award),
    ("allocated vs award", allocated_vs_award),
    ("children vs parent", children_vs_parent),
    ("plan vs allocation", plan_vs_allocation),
    ("returns due", returns_due),
    ("returned figures", returned_figures),
    ("titles vs plan", titles_vs_plan),
    ("journal vs returns", journal_vs_returns),
    ("capital programme", capital_programmes),
    ("published figures", published_figures),
    ("table footing", table_footing),
    ("common rate", common_rates),
    *reconcile_commitments.CHECKS,
    *reconcile_schedules.CHECKS,
    *reconcile_money_in.CHECKS,
]


def reconcile(
    session: Session,
    stream: str | None = None,
    year: FinancialYear | None = None,
    today: date | None = None,
    evidence: Evidence | None = None,
    verdicts: Recent | None = None,
) -> list[Finding]:
    """Every check's findings, errors first. ``evidence``: the reader of returns' workbooks
    that the record's check compares them with (grants.excel.return_evidence); ``verdicts``:
    a recent walk of the whole record to reuse while the record stands as it was (a page
    shown again and again), else the record is walked now."""
    access.require(session, "report")
    findings: list[Finding] = []
    with shared(session):  # the checks that read balances again read them once
        ctx = Context(session, stream, year, today or date.today(), evidence=evidence,
                      verdicts=verdicts)  # fmt: skip
        for _name, check in CHECKS:
            findings.extend(check(ctx))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: order[f.severity])


__all__ = ["CHECKS", "SEVERITIES", "Finding", "reconcile"]
