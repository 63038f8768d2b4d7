"""The rows of the capital programme read a batch at a time: the schemes beneath the
portfolio lines, and the lines of each programme table, so that a programme of a hundred
thousand schemes is written without holding it in memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, false, func, null, or_, select
from sqlalchemy.orm import Session, aliased

from grants.db.models import Account, Entry, Line, Posting, Profile, ProfileAmount, ProgrammeVersion
from grants.periods import Period, parse_year
from grants.services.balances import through
from grants.services.streams import stream_id as find_stream

if TYPE_CHECKING:
    from grants.services.capital import CapitalProgramme


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


def _description(note: str | None) -> str | None:
    """What the council printed in a scheme's Description/Notes column: a line's note that
    begins ``Description/Notes:`` (other notes are the books' own remarks)."""
    if note and note.startswith("Description/Notes:"):
        return note.removeprefix("Description/Notes:").strip() or None
    return None


def in_periods(first: Any, last: Any, periods: Sequence[Period]) -> ColumnElement[bool]:
    """A condition: the (first, last) columns name one of ``periods``."""
    if not periods:
        return false()
    return or_(*(and_(first == p.first.start, last == p.last.start) for p in periods))


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
    programme's award periods (the balance of its allocated accounts) and the entries behind it,
    one at a time, in the order the portfolios and their schemes were declared."""
    stream_id = find_stream(session, p.stream)
    allocated = (
        select(Account.line_id, func.sum(Posting.amount_pence).label("pence"))
        .join(Posting, Posting.account_id == Account.id)
        .where(
            Account.stream_id == stream_id, Account.role == "allocated",
            in_periods(Account.first_year, Account.last_year, p.periods),
        )
        .group_by(Account.line_id)
    )  # fmt: skip
    if p.as_of is not None:  # only then: the join costs the 100,000-scheme programme time
        allocated = allocated.join(Entry, Entry.id == Posting.entry_id).where(
            through(Entry.day, p.as_of)
        )
    allocated_rows = allocated.subquery()
    parent = aliased(Line)
    query = (
        select(
            Line.id, parent.code, Line.code, Line.name, Line.ref, Line.total_cost_pence,
            Line.specific_funding_pence, Line.note, Line.origin, allocated_rows.c.pence, Entry.id,
            Entry.kind, Entry.origin,
        )
        .join(parent, parent.id == Line.parent_id)
        .outerjoin(allocated_rows, allocated_rows.c.line_id == Line.id)
        .outerjoin(
            Entry,
            (Entry.line_id == Line.id)
            & Entry.kind.in_(("allocate", "clawback", "virement"))
            & in_periods(Entry.first_year, Entry.last_year, p.periods)
            & through(Entry.day, p.as_of),
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
    later: bool = False,
) -> Iterator[ProgrammeRow]:
    """The lines of one programme table in one version, in printed order, one at a time,
    with their amounts in ``years`` and, with ``later``, in the later years' column (and the
    compared version's line totals over the same columns).

    The lines and their amounts are read as two streams in the same order (the amounts'
    rows are narrow, so the database sorts them quickly) and put together as they come."""
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
    mine = (Profile.version_id == this) & (Profile.table_name == table)
    order = (Profile.position, Profile.id)
    if that is None:
        lines = select(*_LINE, null(), null()).where(mine).order_by(*order)
        amounts = (
            select(ProfileAmount.profile_id, ProfileAmount.year, ProfileAmount.amount_pence, null())
            .join(Profile, Profile.id == ProfileAmount.profile_id)
            .where(mine)
            .order_by(*order, ProfileAmount.year)
        )
    else:
        other = aliased(Profile)
        other_amount = aliased(ProfileAmount)
        same_line = (
            (other.version_id == that)
            & (other.table_name == Profile.table_name)
            & (other.code == Profile.code)
        )
        counted = other_amount.year.in_(years)
        if later:
            counted = or_(counted, other_amount.year.is_(None))
        # The compared line's total over the report's columns (None: not in that version,
        # or no amount in those columns).
        total = (
            select(func.sum(other_amount.amount_pence))
            .where(other_amount.profile_id == other.id, counted)
            .scalar_subquery()
        )
        lines = (
            select(*_LINE, other.id, total).outerjoin(other, same_line).where(mine).order_by(*order)
        )
        other_amount = aliased(ProfileAmount)
        amounts = (
            select(ProfileAmount.profile_id, ProfileAmount.year, ProfileAmount.amount_pence,
                   other_amount.amount_pence)
            .join(Profile, Profile.id == ProfileAmount.profile_id)
            .outerjoin(other, same_line)
            .outerjoin(
                other_amount,
                (other_amount.profile_id == other.id) & (other_amount.year == ProfileAmount.year),
            )
            .where(mine)
            .order_by(*order, ProfileAmount.year)
        )  # fmt: skip
    wanted = set(years)
    amount_rows = iter(_stream(session, amounts))
    pending = next(amount_rows, None)
    for pid, code, label, section, estimate, origin, other_id, total in _stream(session, lines):
        line = ProgrammeRow(
            code,
            label,
            section,
            {},
            {parse_year(y).start for y in estimate.split()} if estimate else set(),
            set(),
            None if total is None else int(total),
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


_LINE = (Profile.id, Profile.code, Profile.label, Profile.section, Profile.estimate_years,
         Profile.origin)  # fmt: skip


__all__ = ["ProgrammeRow", "Scheme", "in_periods", "programme_rows", "schemes"]
