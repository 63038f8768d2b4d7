"""The capital programme's plain rows and tables (grants.services.capital makes them): no
database and no ORM, so the workbook's sheets can be written from rows read through
SQLAlchemy Core (grants.services.capital_core_rows) or through a session alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from grants.periods import Period


@dataclass
class Tranche:
    code: str
    label: str
    pence: int
    note: str | None
    sources: list[str]


@dataclass
class Portfolio:
    code: str
    name: str
    cost: int | None
    specific: int | None
    net: int
    note: str | None
    sources: list[str]
    schemes: int = 0  # how many schemes it has (read them with ``schemes``)
    printed_note: str | None = None  # the note its balance row in the resources table gives


@dataclass
class Published:
    """A figure the council printed in a table, as recorded in the books (``printed``)."""

    amount: str
    scale: str
    printed: str | None
    origin: str | None
    rounding: str | None = None  # how it was rounded (None: half-up)


@dataclass
class CapitalProgramme:
    stream: str
    period: Period  # the award periods reported, first to last (else the span's years)
    periods: list[Period]  # the award periods within the span
    tranches: list[Tranche]
    funding_annex: list[Tranche]
    portfolios: list[Portfolio]
    base: str | None
    other: str | None
    tables: list[str]  # every programme table of either version, in the books' order
    years: list[int]
    # (metric, target) -> the figure printed in the summary table of the books
    published: dict[tuple[str, str | None], Published]
    labels: dict[tuple[str, str | None], str]  # summary row labels as printed
    subtotals: dict[str, str] = field(default_factory=dict)  # portfolio -> its annex total row
    # The report's headings in the council's words (template key -> text, origin).
    headings: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    # The tables that carry the later years' column (when the report runs to the last year).
    later_tables: set[str] = field(default_factory=set)
    version_tables: set[tuple[str, str]] = field(default_factory=set)  # (version, table)
    as_of: date | None = None  # the ledger as it stood at the end of this day (None: now)

    @property
    def funding(self) -> int:
        return sum(t.pence for t in self.tranches)

    @property
    def allocated(self) -> int:
        return sum(p.net for p in self.portfolios)

    @property
    def has_schemes(self) -> bool:
        return any(p.schemes for p in self.portfolios)


@dataclass
class Scheme:
    code: str
    name: str
    ref: str | None
    cost: int | None
    specific: int | None
    flexible: int
    description: str | None
    sources: list[str]


@dataclass
class ProgrammeRow:
    code: str
    label: str
    section: str | None
    amounts: dict[int, int]  # year -> pence; a year left out is printed blank
    estimates: set[int]
    changed: set[int]  # years whose figure differs from the compared version
    compared_total: int | None  # the compared version's line total (None: not in it)
    origin: str | None
    later: int | None = None  # the later years' column (None: printed blank)

    @property
    def total(self) -> int:
        return sum(self.amounts.values()) + (self.later or 0)


__all__ = ["CapitalProgramme", "Portfolio", "ProgrammeRow", "Published", "Scheme", "Tranche"]
