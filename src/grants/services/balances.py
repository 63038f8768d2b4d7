"""Balances: every figure derived from the journal with one GROUP BY over the postings."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from grants.db.models import Line, Statement, Stream
from grants.formatting import SCALES
from grants.money import from_pence, money
from grants.periods import FinancialYear, Period

METRICS = ("awarded", "stated", "allocated", "unallocated", "paid", "spent")


@dataclass(frozen=True, slots=True)
class BalanceRow:
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
    spent: Decimal


@dataclass
class _Figures:
    funder: dict[str, int]
    unallocated: int = 0
    cash: int = 0
    claims: int = 0


class Balances:
    """All account balances of the journal (optionally of one stream), grouped by role."""

    def __init__(self, session: Session, stream: str | None = None) -> None:
        self.session = session
        where = ""
        params: dict[str, object] = {}
        if stream is not None:
            where = "WHERE a.stream_id = (SELECT id FROM stream WHERE code = :code)"
            params["code"] = stream
        rows = session.execute(
            text(
                "SELECT a.stream_id, a.first_year, a.last_year, a.line_id, a.role, b.total "
                "FROM (SELECT account_id, SUM(amount_pence) AS total FROM posting "
                "GROUP BY account_id) b JOIN account a ON a.id = b.account_id " + where
            ),
            params,
        ).all()
        streams = dict(session.execute(select(Stream.id, Stream.code)).all())
        self.lines = {
            r.id: r
            for r in session.execute(
                select(Line.id, Line.stream_id, Line.code, Line.name, Line.parent_id)
            )
        }
        self.line_by_code = {(streams[r.stream_id], r.code): r for r in self.lines.values()}
        self.periods: dict[tuple[str, Period], _Figures] = {}
        self.by_line: dict[tuple[str, Period, str], dict[str, int]] = defaultdict(dict)
        for stream_id, first, last, line_id, role, total in rows:
            key = (streams[stream_id], Period(FinancialYear(first), FinancialYear(last)))
            figures = self.periods.setdefault(key, _Figures(funder={}))
            total = int(total)
            if line_id is None:
                if role.startswith("funder"):
                    figures.funder[role] = figures.funder.get(role, 0) + total
                elif role == "unallocated":
                    figures.unallocated += total
                elif role == "cash":
                    figures.cash += total
                elif role == "claims":
                    figures.claims += total
            else:
                self.by_line[(*key, self.lines[line_id].code)][role] = total
        self.stated: dict[tuple[str, Period], int] = {}
        for code, first, last, amount in session.execute(
            select(Stream.code, Statement.first_year, Statement.last_year, Statement.amount)
            .join(Stream, Stream.id == Statement.stream_id)
            .where(Statement.kind == "stated")
            .order_by(Statement.id)
        ):
            key = (code, Period(FinancialYear(first), FinancialYear(last)))
            self.stated[key] = int(money(amount) * 100)  # the latest statement stands

    # -- metrics --------------------------------------------------------------------------

    def value(self, stream: str, period: Period, metric: str, target: str | None) -> int | None:
        """A metric in pence (see grants.services.rules for what each balance means)."""
        figures = self.periods.get((stream, period), _Figures(funder={}))
        if metric == "awarded":
            if target:
                return -figures.funder.get("funder:" + target, 0)
            return -sum(figures.funder.values())
        if metric == "stated":
            return self.stated.get((stream, period))
        if target is None:
            if metric == "allocated":
                return -sum(figures.funder.values()) - figures.unallocated
            if metric == "unallocated":
                return figures.unallocated
            if metric == "paid":
                return -figures.cash
            if metric == "spent":
                return -figures.claims
            raise ValueError(f"unknown metric {metric!r}")
        roles = self.by_line.get((stream, period, target), {})
        if metric == "allocated":
            return roles.get("allocated", 0)
        if metric == "unallocated":
            return roles.get("allocated", 0) + roles.get("split", 0)
        if metric in ("paid", "spent"):
            return roles.get(metric, 0)
        raise ValueError(f"unknown metric {metric!r}")

    def rows(self, period_filter: Period | None = None) -> list[BalanceRow]:
        """Rows for `grants balance`: each stream and period, then each of its lines."""
        lines_in: dict[tuple[str, Period], list[tuple[str, dict[str, int]]]] = defaultdict(list)
        for (stream, period, code), roles in self.by_line.items():
            lines_in[(stream, period)].append((code, roles))
        parent_code = {r.id: r.code for r in self.lines.values()}
        out: list[BalanceRow] = []
        for stream, period in sorted(set(self.periods) | set(lines_in)):
            if period_filter is not None and not period.overlaps(period_filter):
                continue
            stated = self.value(stream, period, "stated", None)
            out.append(
                BalanceRow(
                    stream,
                    period,
                    None,
                    "",
                    None,
                    from_pence(self.value(stream, period, "awarded", None) or 0),
                    None if stated is None else from_pence(stated),
                    from_pence(self.value(stream, period, "allocated", None) or 0),
                    from_pence(self.value(stream, period, "unallocated", None) or 0),
                    from_pence(self.value(stream, period, "paid", None) or 0),
                    from_pence(self.value(stream, period, "spent", None) or 0),
                )
            )
            members = lines_in.get((stream, period), [])
            info = self.line_by_code
            members.sort(key=lambda m, s=stream: info[(s, m[0])].id)
            for code, roles in members:
                line = info.get((stream, code))
                has_children = "split" in roles
                out.append(
                    BalanceRow(
                        stream,
                        period,
                        code,
                        line.name if line else code,
                        parent_code.get(line.parent_id) if line and line.parent_id else None,
                        None,
                        None,
                        from_pence(roles.get("allocated", 0)),
                        from_pence(roles.get("allocated", 0) + roles["split"])
                        if has_children
                        else None,
                        from_pence(roles.get("paid", 0)),
                        from_pence(roles.get("spent", 0)),
                    )
                )
        return out


def compare(actual_pence: int | None, amount: str, scale: str) -> tuple[bool, Decimal | None]:
    """Does a ledger figure match one written as ``amount`` in ``scale`` (rounded half-up to
    the places written)? Returns (matches, the ledger figure in that scale)."""
    if actual_pence is None:
        return False, None
    written = Decimal(amount.replace(",", "").replace("£", ""))
    places = max(0, -written.as_tuple().exponent)  # type: ignore[operator]
    quantum = Decimal(1).scaleb(-places)
    mine = (from_pence(actual_pence) / SCALES[scale]).quantize(quantum, rounding=ROUND_HALF_UP)
    return mine == written, mine
