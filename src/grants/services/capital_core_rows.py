"""The capital programme's reads as plain SQL on one connection (SQLAlchemy Core: no ORM,
no models), so that `grants report capital-programme` can write a programme without
importing the ORM and mapping every table, which cost more than a 2,000-scheme workbook.
A session's reads go through the same queries (on ``session.connection()``).

The rows of the annex and programme tables are read as streams: a programme of a hundred
thousand schemes is written without holding it in memory. Every value written into the SQL
is an integer (periods, years); every text and date is a bound parameter."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, Date, TextClause, bindparam, text

from grants.periods import FinancialYear, Period, parse_year
from grants.services.capital_types import CapitalProgramme, ProgrammeRow, Scheme

# Where an entry's kind moves a portfolio's or scheme's allocation.
_ALLOCATING = "('allocate', 'clawback', 'virement')"


def _through(column: str, as_of: date | None) -> str:
    return "" if as_of is None else f" AND {column} <= :on"


def _bound(sql: str, as_of: date | None, **values: Any) -> TextClause:
    query = text(sql)
    if values:
        query = query.bindparams(**values)
    if as_of is not None:
        query = query.bindparams(bindparam("on", as_of, Date()))
    return query


def in_periods(first: str, last: str, periods: Sequence[Period]) -> str:
    """A condition: the (first, last) columns name one of ``periods``."""
    if not periods:
        return "1 = 0"
    each = (f"({first} = {int(p.first.start)} AND {last} = {int(p.last.start)})" for p in periods)
    return "(" + " OR ".join(each) + ")"


def stream_of(connection: Connection, code: str) -> int | None:
    """The id of the stream ``code`` (None: there is none)."""
    found = connection.execute(_bound("SELECT id FROM stream WHERE code = :c", None, c=code))
    return found.scalar()


def capital_streams(connection: Connection) -> list[str]:
    """The codes of the streams with programme versions, in order."""
    sql = (
        "SELECT DISTINCT s.code FROM stream s JOIN programme_version v ON v.stream_id = s.id "
        "ORDER BY s.code"
    )
    return list(connection.execute(text(sql)).scalars())


def standing(
    connection: Connection, stream_id: int, kind: str
) -> dict[str, tuple[str, str | None]]:
    """The names (``tranche``) or headings (``heading``) of a stream that stand:
    code -> (text, origin of the books line that gave it)."""
    sql = (
        "SELECT code, text, origin FROM stream_text WHERE stream_id = :s AND kind = :k ORDER BY id"
    )
    rows = connection.execute(_bound(sql, None, s=stream_id, k=kind))
    return {code: (words, origin) for code, words, origin in rows}


def year_span(connection: Connection, stream_id: int) -> tuple[list[int], list[int]]:
    """The first and last years of the stream's programme profiles and of its entries
    (each list holds those that are known)."""
    first, last = connection.execute(
        _bound(
            "SELECT min(a.year), max(a.year) FROM profile_amount a "
            "JOIN profile p ON p.id = a.profile_id "
            "JOIN programme_version v ON v.id = p.version_id WHERE v.stream_id = :s",
            None, s=stream_id,
        )
    ).one()  # fmt: skip
    entry_first, entry_last = connection.execute(
        _bound(
            "SELECT min(first_year), max(last_year) FROM entry WHERE stream_id = :s",
            None, s=stream_id,
        )
    ).one()  # fmt: skip
    firsts = [y for y in (first, entry_first) if y is not None]
    lasts = [y for y in (last, entry_last) if y is not None]
    return firsts, lasts


def versions(connection: Connection, stream_id: int, as_of: date | None) -> dict[str, str | None]:
    """The stream's programme versions adopted by the end of ``as_of`` (every one, when
    None), in the order recorded: code -> the code of the version it compares with."""
    sql = "SELECT code, compare_code FROM programme_version WHERE stream_id = :s{} ORDER BY id"
    rows = connection.execute(_bound(sql.format(_through("day", as_of)), as_of, s=stream_id))
    return {code: compared for code, compared in rows}


def award_periods(
    connection: Connection, stream_id: int, first_year: int, last_year: int, as_of: date | None
) -> list[Period]:
    """The periods of the stream's awards that overlap the years, first to last."""
    sql = (
        "SELECT first_year, last_year FROM entry WHERE stream_id = :s AND kind = 'award' "
        "AND first_year <= :last AND last_year >= :first{}"
    ).format(_through("day", as_of))
    rows = connection.execute(_bound(sql, as_of, s=stream_id, first=first_year, last=last_year))
    found = sorted({(int(first), int(last)) for first, last in rows})
    return [Period(FinancialYear(first), FinancialYear(last)) for first, last in found]


def statements(connection: Connection, stream_id: int, as_of: date | None) -> list[Any]:
    """The stream's statements made by the end of ``as_of``, in the order recorded."""
    sql = (
        "SELECT kind, metric, target, table_name, row_label, amount, scale, printed, origin, "
        "note, rounding FROM statement WHERE stream_id = :s{} ORDER BY id"
    ).format(_through("day", as_of))
    return list(connection.execute(_bound(sql, as_of, s=stream_id)).all())


def award_sources(
    connection: Connection, stream_id: int, periods: Sequence[Period], as_of: date | None
) -> Iterable[Any]:
    """(entry id, kind, origin, tranche) of the stream's awards in ``periods``."""
    sql = (
        "SELECT id, kind, origin, tranche FROM entry WHERE stream_id = :s AND kind = 'award' "
        f"AND {in_periods('first_year', 'last_year', periods)}{_through('day', as_of)} "
        "ORDER BY id"
    )
    return connection.execute(_bound(sql, as_of, s=stream_id))


def portfolio_sources(
    connection: Connection, stream_id: int, periods: Sequence[Period], as_of: date | None
) -> Iterable[Any]:
    """(entry id, kind, origin, line id) of what moved the top-level lines' allocations."""
    sql = (
        "SELECT e.id, e.kind, e.origin, e.line_id FROM entry e JOIN line l ON l.id = e.line_id "
        f"WHERE l.parent_id IS NULL AND e.stream_id = :s AND e.kind IN {_ALLOCATING} "
        f"AND {in_periods('e.first_year', 'e.last_year', periods)}{_through('e.day', as_of)} "
        "ORDER BY e.id"
    )
    return connection.execute(_bound(sql, as_of, s=stream_id))


def portfolio_lines(connection: Connection, stream_id: int) -> Iterable[Any]:
    """The stream's top-level lines, in the order declared."""
    sql = (
        "SELECT id, code, name, total_cost_pence, specific_funding_pence, note, origin "
        "FROM line WHERE stream_id = :s AND parent_id IS NULL ORDER BY id"
    )
    return connection.execute(_bound(sql, None, s=stream_id))


def scheme_counts(connection: Connection, stream_id: int) -> dict[int, int]:
    """How many lines each top-level line of the stream has beneath it."""
    sql = (
        "SELECT l.parent_id, count(*) FROM line l JOIN line p ON p.id = l.parent_id "
        "WHERE l.stream_id = :s AND p.parent_id IS NULL GROUP BY l.parent_id"
    )
    return {int(i): int(n) for i, n in connection.execute(_bound(sql, None, s=stream_id))}


def version_tables(connection: Connection, stream_id: int, version: str) -> list[str]:
    """A version's programme tables in the books' order."""
    sql = (
        "SELECT p.table_name FROM profile p JOIN programme_version v ON v.id = p.version_id "
        "WHERE v.stream_id = :s AND v.code = :v GROUP BY p.table_name ORDER BY min(p.id)"
    )
    return list(connection.execute(_bound(sql, None, s=stream_id, v=version)).scalars())


def later_tables(connection: Connection, stream_id: int) -> set[str]:
    """The programme tables that have a later-years amount in any version."""
    sql = (
        "SELECT DISTINCT p.table_name FROM profile p "
        "JOIN programme_version v ON v.id = p.version_id "
        "JOIN profile_amount a ON a.profile_id = p.id WHERE v.stream_id = :s AND a.year IS NULL"
    )
    return set(connection.execute(_bound(sql, None, s=stream_id)).scalars())


def ledger_name(connection: Connection) -> str | None:
    """The ledger's title as last set (None: never set)."""
    sql = "SELECT value FROM setting WHERE name = 'title' ORDER BY id DESC LIMIT 1"
    value: str | None = connection.execute(text(sql)).scalar()
    return value


def has_published(connection: Connection, stream_id: int) -> bool:
    """Whether the stream has a published figure (its own sheet, read through a session)."""
    sql = (
        "SELECT 1 FROM statement WHERE stream_id = :s AND (kind = 'printed' "
        "OR (kind = 'balance' AND table_name IS NOT NULL)) LIMIT 1"
    )
    return connection.execute(_bound(sql, None, s=stream_id)).first() is not None


def _stream(connection: Connection, query: TextClause, plain: bool) -> Iterable[Sequence[Any]]:
    """The rows of a query a batch at a time, so that a table of any size streams through:
    on SQLite straight from the DBAPI cursor (plain tuples, the fastest path) when every
    parameter is plain (``plain``: no date), elsewhere from a server-side cursor."""
    if connection.dialect.name != "sqlite" or not plain:
        return connection.execution_options(yield_per=5000).execute(query)
    compiled = query.compile(connection)
    params = compiled.construct_params()
    bound = tuple(params[k] for k in compiled.positiontup or ())
    cursor = connection.exec_driver_sql(compiled.string, bound).cursor
    assert cursor is not None
    return (row for batch in iter(lambda: cursor.fetchmany(5000), []) for row in batch)


def _description(note: str | None) -> str | None:
    """What the council printed in a scheme's Description/Notes column: a line's note that
    begins ``Description/Notes:`` (other notes are the books' own remarks)."""
    if note and note.startswith("Description/Notes:"):
        return note.removeprefix("Description/Notes:").strip() or None
    return None


def schemes(
    connection: Connection, stream_id: int, p: CapitalProgramme
) -> Iterator[tuple[str, Scheme]]:
    """The schemes beneath the portfolio lines, with what was allocated to each in the
    programme's award periods (the balance of its allocated accounts) and the entries behind
    it, one at a time, in the order the portfolios and their schemes were declared."""
    as_of = p.as_of
    # Joined to the entries only as of a day: the join costs the 100,000-scheme programme time.
    dated = "" if as_of is None else " JOIN entry de ON de.id = po.entry_id AND de.day <= :on"
    allocated = (
        "SELECT a.line_id, sum(po.amount_pence) AS pence FROM account a "
        f"JOIN posting po ON po.account_id = a.id{dated} "
        "WHERE a.stream_id = :s AND a.role = 'allocated' "
        f"AND {in_periods('a.first_year', 'a.last_year', p.periods)} GROUP BY a.line_id"
    )
    sql = (
        "SELECT l.id, pl.code, l.code, l.name, l.ref, l.total_cost_pence, "
        "l.specific_funding_pence, l.note, l.origin, al.pence, e.id, e.kind, e.origin "
        "FROM line l JOIN line pl ON pl.id = l.parent_id "
        f"LEFT OUTER JOIN ({allocated}) al ON al.line_id = l.id "
        f"LEFT OUTER JOIN entry e ON e.line_id = l.id AND e.kind IN {_ALLOCATING} "
        f"AND {in_periods('e.first_year', 'e.last_year', p.periods)}{_through('e.day', as_of)} "
        "WHERE l.stream_id = :s AND pl.parent_id IS NULL ORDER BY pl.id, l.id, e.id"
    )
    current: tuple[str, Scheme] | None = None
    current_id = None
    for row in _stream(connection, _bound(sql, as_of, s=stream_id), as_of is None):
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


_LINE = "p.id, p.code, p.label, p.section, p.estimate_years, p.origin"
_MINE = "p.version_id = :this AND p.table_name = :t"
_ORDER = "p.position, p.id"
# The compared version's line of the same table and code.
_SAME_LINE = "o.version_id = :that AND o.table_name = p.table_name AND o.code = p.code"


def programme_rows(
    connection: Connection,
    stream_id: int,
    version: str,
    table: str,
    compared: str | None,
    years: list[int],
    later: bool = False,
) -> Iterator[ProgrammeRow]:
    """The lines of one programme table in one version, in printed order, one at a time,
    with their amounts in ``years`` and, with ``later``, in the later years' column (and the
    compared version's line totals over the same columns).

    The lines and their amounts are read as two streams in the same order (the amounts'
    rows are narrow, so the database sorts them quickly) and put together as they come."""
    sql = "SELECT code, id FROM programme_version WHERE stream_id = :s"
    version_ids = dict(connection.execute(_bound(sql, None, s=stream_id)).all())
    this = version_ids[version]
    that = version_ids.get(compared) if compared else None
    if that is None:
        values: dict[str, Any] = {"this": this, "t": table}
        lines = f"SELECT {_LINE}, NULL, NULL FROM profile p WHERE {_MINE} ORDER BY {_ORDER}"
        amounts = (
            "SELECT a.profile_id, a.year, a.amount_pence, NULL FROM profile_amount a "
            f"JOIN profile p ON p.id = a.profile_id WHERE {_MINE} ORDER BY {_ORDER}, a.year"
        )
    else:
        values = {"this": this, "that": that, "t": table}
        counted = "oa.year IN ({})".format(", ".join(str(int(y)) for y in years) or "NULL")
        if later:
            counted = f"({counted} OR oa.year IS NULL)"
        # The compared line's total over the report's columns (None: not in that version,
        # or no amount in those columns).
        total = (
            "(SELECT sum(oa.amount_pence) FROM profile_amount oa "
            f"WHERE oa.profile_id = o.id AND {counted})"
        )
        lines = (
            f"SELECT {_LINE}, o.id, {total} FROM profile p LEFT OUTER JOIN profile o "
            f"ON {_SAME_LINE} WHERE {_MINE} ORDER BY {_ORDER}"
        )
        amounts = (
            "SELECT a.profile_id, a.year, a.amount_pence, oa.amount_pence FROM profile_amount a "
            f"JOIN profile p ON p.id = a.profile_id LEFT OUTER JOIN profile o ON {_SAME_LINE} "
            "LEFT OUTER JOIN profile_amount oa ON oa.profile_id = o.id AND oa.year = a.year "
            f"WHERE {_MINE} ORDER BY {_ORDER}, a.year"
        )
    wanted = set(years)
    amount_rows = iter(_stream(connection, _bound(amounts, None, **values), True))
    pending = next(amount_rows, None)
    for row in _stream(connection, _bound(lines, None, **values), True):
        pid, code, label, section, estimate, origin, other_id, total_pence = row
        line = ProgrammeRow(
            code,
            label,
            section,
            {},
            {parse_year(y).start for y in estimate.split()} if estimate else set(),
            set(),
            None if total_pence is None else int(total_pence),
            origin,
        )
        while pending is not None and pending[0] == pid:
            _, year, pence, other_pence = pending
            pending = next(amount_rows, None)
            if year is None:
                if later:
                    line.later = pence
                continue
            if year not in wanted:
                continue
            line.amounts[year] = pence
            if that is not None and (other_id is None or other_pence != pence):
                line.changed.add(year)
        yield line


__all__ = [
    "award_periods",
    "award_sources",
    "capital_streams",
    "has_published",
    "in_periods",
    "later_tables",
    "ledger_name",
    "portfolio_lines",
    "portfolio_sources",
    "programme_rows",
    "scheme_counts",
    "schemes",
    "standing",
    "statements",
    "stream_of",
    "version_tables",
    "versions",
    "year_span",
]
