"""Reconciliation: small checks over the whole ledger, each returning located findings.

Each check is a function ``check(ctx) -> Iterator[Finding]``; ``CHECKS`` lists them in the
order they are reported. A finding has a severity: ``error`` (the ledger or a recipient must
act; ``grants reconcile`` exits 1 while any stands), ``warning`` (to look at) or ``info``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants import formatting
from grants.db.models import Entry, Line, Profile, Stream
from grants.formatting import SCALES, gbp_scaled
from grants.money import from_pence, to_pence
from grants.periods import FinancialYear, Period
from grants.services import (
    access,
    checkpoints,
    published,
    reconcile_commitments,
    reconcile_money_in,
    reconcile_returns,
    reconcile_schedules,
)
from grants.services.balance_reads import shared
from grants.services.common_rate import common_rate, percent
from grants.services.misprints import misprints, slip
from grants.services.programmes import compare as compare_versions
from grants.services.programmes import versions
from grants.services.recent import Recent
from grants.services.reconcile_context import (
    SEVERITIES,
    Context,
    Finding,
    _lines_of,
    _recipient,
)
from grants.services.record_checks import Evidence
from grants.services.verification import Verification
from grants.services.verify import verify


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
    if not ctx.balances.nested:  # no line beneath another: no period's lines made
        return
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
        for line, parent, a, b in ctx.balances.lines_of_both(code, before, after):
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
    while it stands. Unless ``ctx.whole``, it relies on the last head a walk of every link
    found whole (grants.services.checkpoints): that link must still have its digest, no row may
    have been added since to a record sealed up to it, and only the links after it are
    walked (every link, when most of the chain is newer than it, or a guard, a policy or the
    ids already show a problem); ``ctx.record`` says which was done."""
    connection = ctx.session.connection()
    since, why = checkpoints.relied_on(
        connection, None if ctx.whole else checkpoints.latest(connection)
    )
    result = (verify(connection, ctx.evidence, since) if ctx.verdicts is None
              else ctx.verdicts.verify(connection, ctx.evidence, since))  # fmt: skip
    result = ctx.record = checkpoints.walked_whole(result, why)
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
    ("plan vs allocation", reconcile_returns.plan_vs_allocation),
    ("returns due", reconcile_returns.returns_due),
    ("returned figures", reconcile_returns.returned_figures),
    ("titles vs plan", reconcile_returns.titles_vs_plan),
    ("journal vs returns", reconcile_returns.journal_vs_returns),
    ("capital programme", capital_programmes),
    ("published figures", published_figures),
    ("table footing", table_footing),
    ("common rate", common_rates),
    *reconcile_commitments.CHECKS,
    *reconcile_schedules.CHECKS,
    *reconcile_money_in.CHECKS,
]


class Findings(list[Finding]):
    """Every check's findings, and what the record's check walked (``record``: every link,
    or those after the last head a walk of every link found whole; None if it was not run)."""

    record: Verification | None = None

    @property
    def record_statement(self) -> str | None:
        """What the record's check walked and relied on, for a finance officer."""
        return None if self.record is None else checkpoints.statement(self.record)


def reconcile(
    session: Session,
    stream: str | None = None,
    year: FinancialYear | None = None,
    today: date | None = None,
    evidence: Evidence | None = None,
    verdicts: Recent | None = None,
    whole: bool = False,
) -> Findings:
    """Every check's findings, errors first. ``evidence``: the reader of returns' workbooks
    that the record's check compares them with (grants.excel.return_evidence); ``verdicts``:
    a recent walk of the record to reuse while the record stands as it was (a page shown
    again and again), else the record is walked now: the links after the last head `grants
    verify` found whole, or (``whole``, or no such head) every link."""
    access.require(session, "report")
    findings = Findings()
    with shared(session):  # the checks that read balances again read them once
        ctx = Context(session, stream, year, today or date.today(), evidence=evidence,
                      verdicts=verdicts, whole=whole)  # fmt: skip
        for _name, check in CHECKS:
            findings.extend(check(ctx))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: order[f.severity])
    findings.record = ctx.record
    return findings


__all__ = ["CHECKS", "SEVERITIES", "Context", "Finding", "Findings", "reconcile"]
