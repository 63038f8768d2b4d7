"""The figures the council published, each beside the ledger's: one plain row per figure
recorded with `printed` (or a `balance` that names the table it was printed in).

A figure is written in a scale (£, £'000, £m) to some places and was rounded one way
(`rounding:`, half-up unless the books say otherwise). It agrees when the ledger's figure
prints the same under that rule; otherwise the difference is given both at full precision
(in pounds) and as printed (in the figure's scale). A printed figure over a range of years
is compared with the sum over the years in the range (grants.services.balances)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Statement, Stream
from grants.formatting import SCALES, gbp_scaled
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services.balances import Balances, as_it_stood, compare, through

AGREES, DIFFERS = "agrees", "differs"


@dataclass(frozen=True)
class Figure:
    """One published figure and the ledger's."""

    stream: str
    kind: str  # printed, or balance (a figure asserted where it was printed)
    table: str | None
    row: str | None  # the row's name, else the note it came from
    period: Period
    metric: str
    target: str | None
    printed: str  # as printed ("-102.4", "in the region of £45m"), else the figure
    amount: Decimal  # the figure, in its scale
    amount_text: str  # the figure as the books write it
    scale: str
    rounding: str
    ledger_pence: int  # the ledger's figure at full precision (nothing recorded: 0)
    ledger_shown: Decimal  # the ledger's figure as the council would have printed it
    status: str
    origin: str | None

    @property
    def printed_pounds(self) -> Decimal:
        return self.amount * SCALES[self.scale]

    @property
    def ledger(self) -> Decimal:
        return from_pence(self.ledger_pence)

    @property
    def difference(self) -> Decimal:
        """The ledger minus the printed figure, in pounds, at full precision."""
        return self.ledger - self.printed_pounds

    @property
    def difference_shown(self) -> Decimal:
        """The ledger minus the printed figure as printed (in the figure's scale)."""
        return self.ledger_shown - self.amount

    @property
    def where(self) -> str:
        """The table and row (or the note) the figure was printed in."""
        where = ", ".join(x for x in (self.table, self.row) if x)
        return where.rstrip(". ") or "a published figure"

    @property
    def direction(self) -> str:
        """Which way the difference runs, in words."""
        if not self.difference:
            return "the ledger's figure is the printed one"
        way = "higher" if self.difference > 0 else "lower"
        text = f"the ledger is {gbp_scaled(abs(self.difference), '1')} {way} than printed"
        if self.scale != "1":
            text += f" ({gbp_scaled(abs(self.difference_shown), self.scale)} as printed)"
        return text

    def as_dict(self) -> dict[str, object]:
        """Amounts as strings in pounds (the printed figure also as written)."""
        return {
            "stream": self.stream,
            "table": self.table,
            "row": self.row,
            "period": str(self.period),
            "metric": self.metric,
            "target": self.target,
            "printed": self.printed,
            "printed_amount": f"{self.printed_pounds:.2f}",
            "scale": self.scale,
            "rounding": self.rounding,
            "ledger": f"{self.ledger:.2f}",
            "ledger_as_printed": str(self.ledger_shown),
            "difference": f"{self.difference:.2f}",
            "difference_as_printed": str(self.difference_shown),
            "direction": self.direction,
            "status": self.status,
            "origin": self.origin,
        }


def published_figures(
    session: Session,
    stream: str | None = None,
    year: FinancialYear | None = None,
    table: str | None = None,
    balances: Balances | None = None,
    as_of: date | None = None,
) -> list[Figure]:
    """Every published figure (of one stream, of the periods touching ``year``, of one
    table), in the order the books recorded them, with the ledger's figure beside it.
    ``as_of``: the figures published by the end of that day, beside the ledger's as it
    stood then (balances.through; ``balances``, if given, read as of the same day)."""
    balances = balances or as_it_stood(session, stream, as_of)
    query = (
        select(
            Stream.code, Statement.kind, Statement.first_year, Statement.last_year,
            Statement.metric, Statement.target, Statement.amount, Statement.scale,
            Statement.printed, Statement.rounding, Statement.table_name, Statement.row_label,
            Statement.note, Statement.origin,
        )
        .join(Stream, Stream.id == Statement.stream_id)
        .where(
            (Statement.kind == "printed")
            | ((Statement.kind == "balance") & Statement.table_name.is_not(None)),
            through(Statement.day, as_of),
        )
        .order_by(Statement.id)
    )  # fmt: skip
    if stream is not None:
        query = query.where(Stream.code == stream)
    if table is not None:
        query = query.where(Statement.table_name == table)
    out = []
    for r in session.execute(query):
        period = Period(FinancialYear(r.first_year), FinancialYear(r.last_year))
        if year is not None and not period.overlaps(Period(year, year)):
            continue
        # A printed figure over a range of years is the sum of the years in it; a balance is
        # asserted of exactly its period.
        measure = balances.within if r.kind == "printed" else balances.value
        actual = measure(r.code, period, r.metric, r.target)
        ok, shown = compare(actual or 0, r.amount, r.scale, r.rounding)
        out.append(
            Figure(
                r.code, r.kind, r.table_name, r.row_label or r.note, period, r.metric,
                r.target, r.printed or r.amount, Decimal(r.amount), r.amount, r.scale,
                r.rounding or "half-up", actual or 0, shown or Decimal(0),
                AGREES if ok else DIFFERS, r.origin,
            )
        )  # fmt: skip
    return out


__all__ = ["AGREES", "DIFFERS", "Figure", "published_figures"]
