"""The capital programme tables, derived from the journal and the programme profiles.

* the flexible resources: the award tranches, then the portfolio lines (cost, specific funding,
  net allocation) with the running balance and the surplus or shortfall;
* the funding annex: the tranches the books place in that table;
* the portfolio allocations annex: portfolio lines that have schemes, with their schemes;
* the programmes by year, one table per version, each cell marked as an estimate (from the
  profile's ``estimate`` years) or as changed from the compared version (from the figures);
* the summary in £m, derived from the same figures.

Programme rows are read as a stream (``programme_rows``) so that a programme of a hundred
thousand schemes is written without holding it in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from grants.db.models import (
    Account,
    Entry,
    Line,
    Posting,
    Profile,
    ProfileAmount,
    ProgrammeVersion,
    Statement,
    Stream,
)
from grants.errors import GrantsError, NotFound
from grants.periods import FinancialYear, Period, parse_year
from grants.services.balances import Balances
from grants.services.streams import stream_id as find_stream


@dataclass
class Tranche:
    code: str
    label: str
    pence: int
    note: str | None
    sources: list[str]


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
class Portfolio:
    code: str
    name: str
    cost: int | None
    specific: int | None
    net: int
    note: str | None
    sources: list[str]
    schemes: int = 0  # how many schemes it has (read them with ``schemes``)


@dataclass
class Published:
    """A figure the council printed in a table, as recorded in the books (``printed``)."""

    amount: str
    scale: str
    printed: str | None
    origin: str | None


@dataclass
class CapitalProgramme:
    stream: str
    period: Period
    tranches: list[Tranche]
    funding_annex: list[Tranche]
    portfolios: list[Portfolio]
    base: str | None
    other: str | None
    tables: list[str]
    years: list[int]
    # (metric, target) -> the figure printed in the summary table of the books
    published: dict[tuple[str, str | None], Published]
    labels: dict[tuple[str, str | None], str]  # summary row labels as printed
    subtotals: dict[str, str] = field(default_factory=dict)  # portfolio -> its annex total row

    @property
    def funding(self) -> int:
        return sum(t.pence for t in self.tranches)

    @property
    def allocated(self) -> int:
        return sum(p.net for p in self.portfolios)


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


def _sources(rows: list[tuple[int, str, str | None]]) -> list[str]:
    return [f"entry {entry_id} {kind} ({origin})" for entry_id, kind, origin in rows]


def _description(note: str | None) -> str | None:
    """What the council printed in a scheme's Description/Notes column: a line's note that
    begins ``Description/Notes:`` (other notes are the books' own remarks)."""
    if note and note.startswith("Description/Notes:"):
        return note.removeprefix("Description/Notes:").strip() or None
    return None


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
    session: Session, stream: str, compare: str | None
) -> tuple[str | None, str | None]:
    """(base, other) from ``current:proposed``, or from the version that names its compared
    version in the books; (None, only) when the stream has a single version."""
    known = {
        v.code: v.compare_code
        for v in session.scalars(
            select(ProgrammeVersion)
            .join(Stream, Stream.id == ProgrammeVersion.stream_id)
            .where(Stream.code == stream)
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
                raise NotFound(f"{stream} has no programme version {code!r} (versions: {names})")
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
) -> CapitalProgramme:
    stream_id = find_stream(session, stream)
    periods = sorted(
        set(
            session.execute(
                select(Entry.first_year, Entry.last_year).where(
                    Entry.stream_id == stream_id, Entry.kind == "award"
                )
            ).all()
        )
    )
    if not periods:
        raise NotFound(f"{stream} has no award: there are no flexible resources to report")
    first, last = periods[-1]
    period = Period(FinancialYear(first), FinancialYear(last))
    balances = Balances(session, stream, top_level_only=True)

    statements = session.execute(
        select(
            Statement.kind, Statement.metric, Statement.target, Statement.table_name,
            Statement.row_label, Statement.amount, Statement.scale, Statement.printed,
            Statement.origin, Statement.note,
        )
        .where(Statement.stream_id == stream_id)
        .order_by(Statement.id)
    ).all()  # fmt: skip
    labels: dict[tuple[str, str | None], str] = {}
    published: dict[tuple[str, str | None], Published] = {}
    resource_labels: dict[str, tuple[str, str | None]] = {}
    funding_rows: list[tuple[str, str, str | None]] = []
    subtotals: dict[str, str] = {}
    for kind, metric, target, table, row, amount, scale, printed, origin, note in statements:
        if table == summary_table and kind == "printed":
            published.setdefault((metric, target), Published(amount, scale, printed, origin))
            if row:
                labels.setdefault((metric, target), row)
        if metric == "awarded" and target and "+" not in target and row:
            if table == resources_table:
                resource_labels.setdefault(target, (row, note))
            elif table == funding_table:
                funding_rows.append((target, row, note))
        if metric == "allocated" and target and table == allocations_table and row:
            subtotals.setdefault(target, row)

    award_sources: dict[str | None, list[tuple[int, str, str | None]]] = {}
    for entry_id, kind, origin, tranche in session.execute(
        select(Entry.id, Entry.kind, Entry.origin, Entry.tranche)
        .where(Entry.stream_id == stream_id, Entry.kind == "award")
        .order_by(Entry.id)
    ):
        award_sources.setdefault(tranche, []).append((entry_id, kind, origin))
    tranche_order = list(award_sources)
    tranches = []
    for code in tranche_order:
        pence = balances.value(stream, period, "awarded", code) or 0
        label, note = resource_labels.get(code or "", (code or "Award", None))
        tranches.append(Tranche(code or "", label, pence, note, _sources(award_sources[code])))
    by_code = {t.code: t for t in tranches}
    funding_annex = [
        Tranche(code, row, by_code[code].pence, note, by_code[code].sources)
        for code, row, note in funding_rows
        if code in by_code
    ]

    line_sources: dict[int, list[tuple[int, str, str | None]]] = {}
    for entry_id, kind, origin, line_id in session.execute(
        select(Entry.id, Entry.kind, Entry.origin, Entry.line_id)
        .join(Line, Line.id == Entry.line_id)
        .where(
            Line.parent_id.is_(None),
            Entry.stream_id == stream_id,
            Entry.kind.in_(("allocate", "clawback", "virement")),
            Entry.first_year == first,
            Entry.last_year == last,
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
        allocated = balances.value(stream, period, "allocated", line.code) or 0
        sources = [f"line {line.code} ({line.origin})", *_sources(line_sources.get(line.id, []))]
        portfolios[line.id] = Portfolio(
            line.code, line.name, line.total_cost_pence, line.specific_funding_pence,
            allocated, line.note, sources,
        )  # fmt: skip
    for parent_id, count in session.execute(
        select(Line.parent_id, func.count())
        .where(Line.stream_id == stream_id, Line.parent_id.in_(list(portfolios)))
        .group_by(Line.parent_id)
    ):
        portfolios[parent_id].schemes = count

    tables: list[str] = []
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
            if name not in tables:
                tables.append(name)
    return CapitalProgramme(
        stream,
        period,
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
    )


def programme_years(session: Session, stream: str) -> Period:
    """The years the programme profiles cover (else the years of the award)."""
    stream_id = find_stream(session, stream)
    first, last = session.execute(
        select(func.min(ProfileAmount.year), func.max(ProfileAmount.year))
        .join(Profile, Profile.id == ProfileAmount.profile_id)
        .join(ProgrammeVersion, ProgrammeVersion.id == Profile.version_id)
        .where(ProgrammeVersion.stream_id == stream_id)
    ).one()
    if first is None:
        first, last = session.execute(
            select(func.min(Entry.first_year), func.max(Entry.last_year)).where(
                Entry.stream_id == stream_id, Entry.kind == "award"
            )
        ).one()
    if first is None:
        raise NotFound(f"{stream} has no programme profiles and no award")
    return Period(FinancialYear(first), FinancialYear(last))


def _stream(session: Session, query: Select[Any]) -> Iterable[Sequence[Any]]:
    """The rows of a query a batch at a time, so that a table of any size streams through:
    on SQLite straight from the DBAPI cursor (plain tuples, the fastest path), elsewhere
    from a server-side cursor."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return connection.execution_options(yield_per=5000).execute(query)
    compiled = query.compile(connection, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    bound = tuple(params[k] for k in compiled.positiontup or ())
    cursor = connection.exec_driver_sql(compiled.string, bound).cursor
    assert cursor is not None
    return (row for batch in iter(lambda: cursor.fetchmany(5000), []) for row in batch)


def schemes(session: Session, p: CapitalProgramme) -> Iterator[tuple[str, Scheme]]:
    """The schemes beneath the portfolio lines, with what was allocated to each in the
    programme's period (the balance of its allocated account) and the entries behind it,
    one at a time, in the order the portfolios and their schemes were declared."""
    stream_id = find_stream(session, p.stream)
    first, last = p.period.first.start, p.period.last.start
    allocated = (
        select(Account.line_id, func.sum(Posting.amount_pence).label("pence"))
        .join(Posting, Posting.account_id == Account.id)
        .where(
            Account.stream_id == stream_id, Account.role == "allocated",
            Account.first_year == first, Account.last_year == last,
        )
        .group_by(Account.line_id)
        .subquery()
    )  # fmt: skip
    parent = aliased(Line)
    query = (
        select(
            Line.id, parent.code, Line.code, Line.name, Line.ref, Line.total_cost_pence,
            Line.specific_funding_pence, Line.note, Line.origin, allocated.c.pence, Entry.id,
            Entry.kind, Entry.origin,
        )
        .join(parent, parent.id == Line.parent_id)
        .outerjoin(allocated, allocated.c.line_id == Line.id)
        .outerjoin(
            Entry,
            (Entry.line_id == Line.id)
            & Entry.kind.in_(("allocate", "clawback", "virement"))
            & (Entry.first_year == first)
            & (Entry.last_year == last),
        )
        .where(Line.stream_id == stream_id, parent.parent_id.is_(None))
        .order_by(parent.id, Line.id, Entry.id)
    )  # fmt: skip
    current: tuple[str, Scheme] | None = None
    current_id = None
    for row in _stream(session, query):
        line_id, portfolio, code, name, ref, cost, specific, note, origin, pence = row[:10]
        entry_id, kind, entry_origin = row[10:]
        if line_id != current_id:
            if current is not None:
                yield current
            current_id = line_id
            scheme = Scheme(
                code, name, ref, cost, specific, int(pence or 0), _description(note),
                [f"line {code} ({origin})"],
            )  # fmt: skip
            current = (portfolio, scheme)
        if entry_id is not None and current is not None:
            current[1].sources.append(f"entry {entry_id} {kind} ({entry_origin})")
    if current is not None:
        yield current


def programme_rows(
    session: Session,
    stream: str,
    version: str,
    table: str,
    compared: str | None,
    years: list[int],
) -> Iterator[ProgrammeRow]:
    """The lines of one programme table in one version, in printed order, one at a time,
    with their amounts in ``years`` (and the compared version's line totals over them)."""
    stream_id = find_stream(session, stream)
    version_ids = dict(
        session.execute(
            select(ProgrammeVersion.code, ProgrammeVersion.id).where(
                ProgrammeVersion.stream_id == stream_id
            )
        ).all()
    )
    this = version_ids[version]
    that = version_ids.get(compared) if compared else None
    other = aliased(Profile)
    other_amount = aliased(ProfileAmount)
    query = (
        select(
            Profile.id, Profile.code, Profile.label, Profile.section, Profile.estimate_years,
            Profile.origin, ProfileAmount.year, ProfileAmount.amount_pence, other.id,
            other_amount.amount_pence,
        )
        .outerjoin(ProfileAmount, ProfileAmount.profile_id == Profile.id)
        .outerjoin(
            other,
            (other.version_id == (that if that is not None else -1))
            & (other.table_name == Profile.table_name)
            & (other.code == Profile.code),
        )
        .outerjoin(
            other_amount,
            (other_amount.profile_id == other.id) & (other_amount.year == ProfileAmount.year),
        )
        .where(Profile.version_id == this, Profile.table_name == table)
        .order_by(Profile.position, Profile.id, ProfileAmount.year)
    )  # fmt: skip
    totals: dict[str, int] = {}
    if that is not None:
        for code, total in session.execute(
            select(Profile.code, func.coalesce(func.sum(ProfileAmount.amount_pence), 0))
            .outerjoin(ProfileAmount, ProfileAmount.profile_id == Profile.id)
            .where(
                Profile.version_id == that,
                Profile.table_name == table,
                ProfileAmount.year.in_(years),
            )
            .group_by(Profile.code)
        ):
            totals[code] = int(total)
    current: ProgrammeRow | None = None
    current_id = None
    wanted = set(years)
    rows = _stream(session, query)
    for pid, code, label, section, estimate, origin, year, pence, other_id, other_pence in rows:
        if pid != current_id:
            if current is not None:
                yield current
            current_id = pid
            current = ProgrammeRow(
                code,
                label,
                section,
                {},
                {parse_year(y).start for y in estimate.split()} if estimate else set(),
                set(),
                totals.get(code),
                origin,
            )
        if year is None or current is None or year not in wanted:
            continue
        current.amounts[year] = pence
        if that is not None and (other_id is None or other_pence != pence):
            current.changed.add(year)
    if current is not None:
        yield current


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
    "versions_to_compare",
]
