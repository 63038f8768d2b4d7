"""The capital programme made from plain rows (grants.services.capital_core_rows) on one
connection: through a session for anyone (grants.services.capital checks the person and
the stream first), or through SQLAlchemy Core alone for someone who sees every line, which
spares `grants report capital-programme` the ORM's start-up (see :func:`core_programme`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import Connection

from grants import formatting
from grants.errors import GrantsError, NotFound
from grants.periods import FinancialYear, Period, parse_year
from grants.services import capital_core_rows as rows
from grants.services.capital_types import (
    CapitalProgramme,
    Portfolio,
    ProgrammeRow,
    Published,
    Scheme,
    Tranche,
)
from grants.services.settings import DEFAULT_NAME

if TYPE_CHECKING:
    from grants.services.balances import Balances


class Reads(Protocol):
    """How the sheets read the programme's long tables, a row at a time."""

    def schemes(self, p: CapitalProgramme) -> Iterator[tuple[str, Scheme]]: ...

    def programme_rows(
        self, p: CapitalProgramme, version: str, table: str, compared: str | None, later: bool
    ) -> Iterator[ProgrammeRow]: ...


class ConnectionReads:
    """The long tables read on one connection (a session's, or Core's alone)."""

    def __init__(self, connection: Connection, stream_id: int) -> None:
        self.connection = connection
        self.stream_id = stream_id

    def schemes(self, p: CapitalProgramme) -> Iterator[tuple[str, Scheme]]:
        return rows.schemes(self.connection, self.stream_id, p)

    def programme_rows(
        self, p: CapitalProgramme, version: str, table: str, compared: str | None, later: bool
    ) -> Iterator[ProgrammeRow]:
        return rows.programme_rows(
            self.connection, self.stream_id, version, table, compared, p.years, later
        )


def _sources(found: list[tuple[int, str, str | None]]) -> list[str]:
    return [f"entry {entry_id} {kind} ({origin})" for entry_id, kind, origin in found]


def span_of(connection: Connection, stream_id: int, stream: str) -> Period:
    """Every year the books hold for the stream: the years of its programme profiles and the
    periods of its entries, first to last."""
    firsts, lasts = rows.year_span(connection, stream_id)
    if not firsts:
        raise NotFound(f"{stream} has no programme profiles and no entries")
    return Period(FinancialYear(min(firsts)), FinancialYear(max(lasts)))


def compared_versions(
    connection: Connection, stream_id: int, stream: str, compare: str | None, as_of: date | None
) -> tuple[str | None, str | None]:
    """(base, other) from ``current:proposed``, or from the version that names its compared
    version in the books; (None, only) when the stream has a single version. ``as_of``: of
    the versions adopted (dated) by the end of that day."""
    known = rows.versions(connection, stream_id, as_of)
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


def assemble(
    connection: Connection,
    stream: str,
    stream_id: int,
    years: Period,
    base: str | None,
    other: str | None,
    books_tables: dict[str, str],
    balances_of: Callable[[], Balances],
    as_of: date | None = None,
) -> CapitalProgramme:
    """The capital programme over ``years`` (see grants.services.capital.capital_programme);
    ``books_tables``: the books' table of each part (summary, resources, funding,
    allocations); ``balances_of()``: the stream's top-level balances as of the day."""
    first_year, last_year = years.first.start, years.last.start
    periods = rows.award_periods(connection, stream_id, first_year, last_year, as_of)
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
    balances = balances_of()

    def summed(metric: str, target: str | None) -> int:
        return sum(balances.value(stream, p, metric, target) or 0 for p in periods)

    summary_table, resources_table = books_tables["summary"], books_tables["resources"]
    funding_table, allocations_table = books_tables["funding"], books_tables["allocations"]
    labels: dict[tuple[str, str | None], str] = {}
    published: dict[tuple[str, str | None], Published] = {}
    resource_labels: dict[str, tuple[str, str | None]] = {}
    funding_rows: list[tuple[str, str, str | None]] = []
    subtotals: dict[str, str] = {}
    portfolio_notes: dict[str, str] = {}
    for statement in rows.statements(connection, stream_id, as_of):
        kind, metric, target, table, row, amount, scale, printed, origin, note, rounding = statement
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

    names = rows.standing(connection, stream_id, "tranche")
    award_sources: dict[str | None, list[tuple[int, str, str | None]]] = {}
    for entry_id, kind, origin, tranche in rows.award_sources(
        connection, stream_id, periods, as_of
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
    portfolios = _portfolios(connection, stream_id, periods, summed, as_of)
    for portfolio in portfolios:
        portfolio.printed_note = portfolio_notes.get(portfolio.code)
    tables: list[str] = []
    version_tables: set[tuple[str, str]] = set()
    for version in (base, other):
        if version is None:
            continue
        for name in rows.version_tables(connection, stream_id, version):
            version_tables.add((version, name))
            if name not in tables:
                tables.append(name)
    books_last = span_of(connection, stream_id, stream).last.start
    later = rows.later_tables(connection, stream_id) if last_year >= books_last else set()
    return CapitalProgramme(
        stream, period, periods, tranches, funding_annex, portfolios, base, other, tables,
        [fy.start for fy in years.years], published, labels, subtotals,
        rows.standing(connection, stream_id, "heading"), later_tables=later,
        version_tables=version_tables, as_of=as_of,
    )  # fmt: skip


def _portfolios(
    connection: Connection,
    stream_id: int,
    periods: list[Period],
    summed: Callable[[str, str | None], int],
    as_of: date | None,
) -> list[Portfolio]:
    """The top-level lines with what was allocated to each in ``periods`` and the entries
    behind it (``summed(metric, target)`` sums a balance over the periods)."""
    line_sources: dict[int, list[tuple[int, str, str | None]]] = {}
    for entry_id, kind, origin, line_id in rows.portfolio_sources(
        connection, stream_id, periods, as_of
    ):
        line_sources.setdefault(line_id, []).append((entry_id, kind, origin))
    portfolios: dict[int, Portfolio] = {}
    for line_id, code, name, cost, specific, note, origin in rows.portfolio_lines(
        connection, stream_id
    ):
        sources = [f"line {code} ({origin})", *_sources(line_sources.get(line_id, []))]
        portfolios[line_id] = Portfolio(
            code, name, cost, specific, summed("allocated", code), note, sources
        )
    for parent_id, count in rows.scheme_counts(connection, stream_id).items():
        portfolios[parent_id].schemes = count
    return list(portfolios.values())


class _Connected:
    """A connection where the balances' reads ask a session for one (they read plain SQL
    on ``session.connection()`` and nothing else)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def connection(self) -> Connection:
        return self._connection


def core_programme(
    connection: Connection,
    typed: str | None,
    first: str | None,
    last: str | None,
    compare: str | None,
    layout_of: Callable[[dict[str, tuple[str, str | None]]], dict[str, Any]],
) -> tuple[CapitalProgramme, ConnectionReads, str] | None:
    """The programme as it stands, read through SQLAlchemy Core for someone who sees every
    line (the caller checks it), with its reads and the ledger's title; None, having read
    next to nothing, where a session must answer: a stream that is not one capital stream
    (the session says why), or a stream with published figures (their sheet compares them
    with the balances through the session's reads)."""
    from grants.services.balances import Balances

    codes = rows.capital_streams(connection)
    stream = typed.strip().upper() if typed is not None else None
    if stream is None and len(codes) == 1:
        stream = codes[0]
    if stream is None or stream not in codes:
        return None
    stream_id = rows.stream_of(connection, stream)
    if stream_id is None or rows.has_published(connection, stream_id):
        return None
    layout = layout_of(rows.standing(connection, stream_id, "heading"))
    span = span_of(connection, stream_id, stream)
    start = parse_year(first) if first else span.first
    end = parse_year(last) if last else span.last
    years = Period(start, end)  # refuses an end before the start
    base, other = compared_versions(connection, stream_id, stream, compare, None)
    session = cast("Any", _Connected(connection))
    programme = assemble(
        connection, stream, stream_id, years, base, other,
        {part: layout[part]["books_table"] for part in BOOKS_PARTS},
        lambda: Balances(session, stream, None, top_level_only=True), None,
    )  # fmt: skip
    ledger = rows.ledger_name(connection) or DEFAULT_NAME
    return programme, ConnectionReads(connection, stream_id), ledger


# The parts of the template whose rows the books name by table.
BOOKS_PARTS = ("summary", "resources", "funding", "allocations")


__all__ = [
    "BOOKS_PARTS",
    "ConnectionReads",
    "Reads",
    "assemble",
    "compared_versions",
    "core_programme",
    "span_of",
]
