"""The capital programme tables, derived from the journal and the programme profiles.

* the resources: the award tranches of every award period in the report's span (named as the
  books name them), then the portfolio lines (cost, specific funding, net allocation) with the
  running balance and the surplus or shortfall;
* the funding annex: the tranches the books place in that table;
* the portfolio allocations annex: portfolio lines that have schemes, with their schemes;
* the programmes by year, one table per version and programme table, each cell marked as an
  estimate or as changed from the compared version, with the later years' column when the
  books give one;
* the summary in £m, derived from the same figures.

The rows of the annex and programme tables are read as streams (grants.services.capital_rows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grants import formatting
from grants.db.models import (
    Entry,
    Line,
    Profile,
    ProfileAmount,
    ProgrammeVersion,
    Statement,
    Stream,
)
from grants.errors import GrantsError, NotFound
from grants.periods import FinancialYear, Period
from grants.services import access
from grants.services.balances import as_it_stood, through
from grants.services.capital_rows import (
    ProgrammeRow,
    Scheme,
    in_periods,
    programme_rows,
    schemes,
)
from grants.services.stream_texts import standing
from grants.services.streams import stream_id as find_stream


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


def _sources(rows: list[tuple[int, str, str | None]]) -> list[str]:
    return [f"entry {entry_id} {kind} ({origin})" for entry_id, kind, origin in rows]


def stream_headings(session: Session, stream: str) -> dict[str, tuple[str, str | None]]:
    """The headings the stream's books give (``heading``): template key -> (text, origin)."""
    return standing(session, find_stream(session, stream), "heading")


def capital_stream(session: Session, stream: str | None) -> str:
    """The stream asked for, or the one stream that has programme versions."""
    if stream is not None:
        find_stream(session, stream)
        has_versions = session.execute(
            select(ProgrammeVersion.id)
            .join(Stream, Stream.id == ProgrammeVersion.stream_id)
            .where(Stream.code == stream)
        ).first()
        if has_versions is None:
            raise NotFound(
                f"{stream} has no programme versions: a capital programme needs `programme` "
                "and `profile` entries in the books (see ledger/README.md)"
            )
        return stream
    codes = list(
        session.scalars(
            select(Stream.code)
            .join(ProgrammeVersion, ProgrammeVersion.stream_id == Stream.id)
            .distinct()
            .order_by(Stream.code)
        )
    )
    if len(codes) != 1:
        found = ", ".join(codes) or "none"
        raise NotFound(
            f"name the capital stream with --stream (streams with programme versions: {found})"
        )
    return codes[0]


def versions_to_compare(
    session: Session, stream: str, compare: str | None, as_of: date | None = None
) -> tuple[str | None, str | None]:
    """(base, other) from ``current:proposed``, or from the version that names its compared
    version in the books; (None, only) when the stream has a single version. ``as_of``: of
    the versions adopted (dated) by the end of that day."""
    known = {
        v.code: v.compare_code
        for v in session.scalars(
            select(ProgrammeVersion)
            .join(Stream, Stream.id == ProgrammeVersion.stream_id)
            .where(Stream.code == stream, through(ProgrammeVersion.day, as_of))
            .order_by(ProgrammeVersion.id)
        )
    }
    if compare is not None:
        base, sep, other = compare.partition(":")
        if not sep or not base or not other:
            raise GrantsError(f"--compare {compare!r}: write BASE:OTHER, e.g. current:proposed")
        for code in (base, other):
            if code not in known:
                names = ", ".join(known) or "none"
                when = "" if as_of is None else f" adopted by {formatting.day(as_of)}"
                raise NotFound(
                    f"{stream} has no programme version {code!r}{when} (versions: {names})"
                )
        if base == other:
            raise GrantsError(f"--compare {compare}: compare two different versions")
        return base, other
    for code, compared in known.items():
        if compared in known:
            return compared, code
    if known:
        return None, list(known)[-1]
    return None, None


def capital_programme(
    session: Session,
    stream: str,
    years: Period,
    base: str | None,
    other: str | None,
    summary_table: str,
    resources_table: str,
    funding_table: str,
    allocations_table: str,
    as_of: date | None = None,
) -> CapitalProgramme:
    """The capital programme over ``years``: the resources of every award period that falls
    in them (a period that straddles an end of the span is counted whole, and the sheets say
    which periods they cover), and the programme tables' columns for those years. ``as_of``:
    as the ledger stood at the end of that day (entries dated and statements made by then;
    ``base`` and ``other`` chosen among the versions adopted by then)."""
    access.require(session, "report")
    stream_id = find_stream(session, stream)
    first_year, last_year = years.first.start, years.last.start
    periods = [
        Period(FinancialYear(first), FinancialYear(last))
        for first, last in sorted(
            set(
                session.execute(
                    select(Entry.first_year, Entry.last_year).where(
                        Entry.stream_id == stream_id,
                        Entry.kind == "award",
                        Entry.first_year <= last_year,
                        Entry.last_year >= first_year,
                        through(Entry.day, as_of),
                    )
                ).all()
            )
        )
    ]
    period = (
        Period(periods[0].first, FinancialYear(max(p.last.start for p in periods)))
        if periods
        else years
    )
    if as_of is not None and not periods and base is None and other is None:
        raise GrantsError(
            f"{stream} had no awards and no programme versions at the end of "
            f"{formatting.day(as_of)}: no programme to write"
        )
    balances = as_it_stood(session, stream, as_of, top_level_only=True)

    def summed(metric: str, target: str | None) -> int:
        return sum(balances.value(stream, p, metric, target) or 0 for p in periods)

    statements = session.execute(
        select(
            Statement.kind, Statement.metric, Statement.target, Statement.table_name,
            Statement.row_label, Statement.amount, Statement.scale, Statement.printed,
            Statement.origin, Statement.note, Statement.rounding,
        )
        .where(Statement.stream_id == stream_id, through(Statement.day, as_of))
        .order_by(Statement.id)
    ).all()  # fmt: skip
    labels: dict[tuple[str, str | None], str] = {}
    published: dict[tuple[str, str | None], Published] = {}
    resource_labels: dict[str, tuple[str, str | None]] = {}
    funding_rows: list[tuple[str, str, str | None]] = []
    subtotals: dict[str, str] = {}
    portfolio_notes: dict[str, str] = {}
    for (
        kind,
        metric,
        target,
        table,
        row,
        amount,
        scale,
        printed,
        origin,
        note,
        rounding,
    ) in statements:
        if kind == "printed" and (not summary_table or table == summary_table):
            figure = Published(amount, scale, printed, origin, rounding)
            published.setdefault((metric, target), figure)
            if row:
                labels.setdefault((metric, target), row)
        if metric == "awarded" and target and "+" not in target and row:
            if table == resources_table:
                resource_labels.setdefault(target, (row, note))
            elif table == funding_table:
                funding_rows.append((target, row, note))
        if metric == "allocated" and target and table == allocations_table and row:
            subtotals.setdefault(target, row)
        if metric == "allocated" and target and table == resources_table and row and note:
            portfolio_notes.setdefault(target, note)

    names = standing(session, stream_id, "tranche")
    award_sources: dict[str | None, list[tuple[int, str, str | None]]] = {}
    for entry_id, kind, origin, tranche in session.execute(
        select(Entry.id, Entry.kind, Entry.origin, Entry.tranche)
        .where(
            Entry.stream_id == stream_id,
            Entry.kind == "award",
            in_periods(Entry.first_year, Entry.last_year, periods),
            through(Entry.day, as_of),
        )
        .order_by(Entry.id)
    ):
        award_sources.setdefault(tranche, []).append((entry_id, kind, origin))
    tranches = []
    for code in award_sources:
        named = names.get(code or "", (code or "Award", None))[0]
        label, note = resource_labels.get(code or "", (named, None))
        tranches.append(
            Tranche(code or "", label, summed("awarded", code), note, _sources(award_sources[code]))
        )
    by_code = {t.code: t for t in tranches}
    funding_annex = [
        Tranche(code, row, by_code[code].pence, note, by_code[code].sources)
        for code, row, note in funding_rows
        if code in by_code
    ]
    portfolios = _portfolios(session, stream, stream_id, periods, summed, as_of)
    for portfolio in portfolios.values():
        portfolio.printed_note = portfolio_notes.get(portfolio.code)
    tables, version_tables = _tables(session, stream_id, base, other)
    books_last = programme_years(session, stream).last.start
    return CapitalProgramme(
        stream,
        period,
        periods,
        tranches,
        funding_annex,
        list(portfolios.values()),
        base,
        other,
        tables,
        [fy.start for fy in years.years],
        published,
        labels,
        subtotals,
        standing(session, stream_id, "heading"),
        later_tables=_later_tables(session, stream_id) if last_year >= books_last else set(),
        version_tables=version_tables,
        as_of=as_of,
    )


def _portfolios(
    session: Session,
    stream: str,
    stream_id: int,
    periods: list[Period],
    summed: Callable[[str, str | None], int],
    as_of: date | None,
) -> dict[int, Portfolio]:
    """The top-level lines with what was allocated to each in ``periods`` and the entries
    behind it (``summed(metric, target)`` sums a balance over the periods)."""
    line_sources: dict[int, list[tuple[int, str, str | None]]] = {}
    for entry_id, kind, origin, line_id in session.execute(
        select(Entry.id, Entry.kind, Entry.origin, Entry.line_id)
        .join(Line, Line.id == Entry.line_id)
        .where(
            Line.parent_id.is_(None),
            Entry.stream_id == stream_id,
            Entry.kind.in_(("allocate", "clawback", "virement")),
            in_periods(Entry.first_year, Entry.last_year, periods),
            through(Entry.day, as_of),
        )
        .order_by(Entry.id)
    ):
        line_sources.setdefault(line_id, []).append((entry_id, kind, origin))
    portfolios: dict[int, Portfolio] = {}
    for line in session.execute(
        select(
            Line.id, Line.code, Line.name, Line.total_cost_pence, Line.specific_funding_pence,
            Line.note, Line.origin,
        )
        .where(Line.stream_id == stream_id, Line.parent_id.is_(None))
        .order_by(Line.id)
    ):  # fmt: skip
        sources = [f"line {line.code} ({line.origin})", *_sources(line_sources.get(line.id, []))]
        portfolios[line.id] = Portfolio(
            line.code, line.name, line.total_cost_pence, line.specific_funding_pence,
            summed("allocated", line.code), line.note, sources,
        )  # fmt: skip
    for parent_id, count in session.execute(
        select(Line.parent_id, func.count())
        .where(Line.stream_id == stream_id, Line.parent_id.in_(list(portfolios)))
        .group_by(Line.parent_id)
    ):
        portfolios[parent_id].schemes = count
    return portfolios


def _tables(
    session: Session, stream_id: int, base: str | None, other: str | None
) -> tuple[list[str], set[tuple[str, str]]]:
    """The programme tables of the two versions in the books' order, and which version has
    which table."""
    tables: list[str] = []
    version_tables: set[tuple[str, str]] = set()
    for version in (base, other):
        if version is None:
            continue
        for (name,) in session.execute(
            select(Profile.table_name)
            .join(ProgrammeVersion, ProgrammeVersion.id == Profile.version_id)
            .where(ProgrammeVersion.stream_id == stream_id, ProgrammeVersion.code == version)
            .group_by(Profile.table_name)
            .order_by(func.min(Profile.id))
        ):
            version_tables.add((version, name))
            if name not in tables:
                tables.append(name)
    return tables, version_tables


def _later_tables(session: Session, stream_id: int) -> set[str]:
    """The programme tables that have a later-years amount in any version."""
    return set(
        session.scalars(
            select(Profile.table_name)
            .join(ProgrammeVersion, ProgrammeVersion.id == Profile.version_id)
            .join(ProfileAmount, ProfileAmount.profile_id == Profile.id)
            .where(ProgrammeVersion.stream_id == stream_id, ProfileAmount.year.is_(None))
            .distinct()
        )
    )


def programme_years(session: Session, stream: str) -> Period:
    """Every year the books hold for the stream: the years of its programme profiles and the
    periods of its entries, first to last."""
    stream_id = find_stream(session, stream)
    first, last = session.execute(
        select(func.min(ProfileAmount.year), func.max(ProfileAmount.year))
        .join(Profile, Profile.id == ProfileAmount.profile_id)
        .join(ProgrammeVersion, ProgrammeVersion.id == Profile.version_id)
        .where(ProgrammeVersion.stream_id == stream_id)
    ).one()
    entry_first, entry_last = session.execute(
        select(func.min(Entry.first_year), func.max(Entry.last_year)).where(
            Entry.stream_id == stream_id
        )
    ).one()
    firsts = [y for y in (first, entry_first) if y is not None]
    lasts = [y for y in (last, entry_last) if y is not None]
    if not firsts:
        raise NotFound(f"{stream} has no programme profiles and no entries")
    return Period(FinancialYear(min(firsts)), FinancialYear(max(lasts)))


__all__ = [
    "CapitalProgramme",
    "Portfolio",
    "ProgrammeRow",
    "Published",
    "Scheme",
    "Tranche",
    "capital_programme",
    "capital_stream",
    "programme_rows",
    "programme_years",
    "schemes",
    "stream_headings",
    "versions_to_compare",
]
