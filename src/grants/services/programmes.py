"""Versions of a multi-year programme (current, proposed, later revisions) and comparing them.

A comparison gives, for each line of a programme table, the amount per year in each version,
the line totals and the change (the papers' Change column), and per year the difference of
the column totals (the papers' Difference row). All of it is derived from the profiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grants.db.models import Profile, ProfileAmount, ProgrammeVersion, Stream
from grants.errors import GrantsError, NotFound
from grants.services import access


@dataclass
class ProfileLine:
    code: str
    label: str
    section: str | None
    amounts: dict[int, int] = field(default_factory=dict)  # year -> pence (absent: blank)
    printed_total: int | None = None
    later: int | None = None  # the later years, printed as one column (None: blank)

    @property
    def total(self) -> int:
        return sum(self.amounts.values()) + (self.later or 0)


@dataclass
class Comparison:
    stream: str
    table: str
    base: str
    other: str
    years: list[int]
    lines: list[tuple[str, ProfileLine | None, ProfileLine | None]]

    def change(self, code: str) -> int:
        """The other version's line total less the base version's."""
        for c, base, other in self.lines:
            if c == code:
                return (other.total if other else 0) - (base.total if base else 0)
        raise KeyError(code)

    @property
    def has_later(self) -> bool:
        """Whether any line of either version has a later-years amount."""
        return any(x is not None and x.later is not None for _, *both in self.lines for x in both)

    def column_total(self, version: str, year: int | None) -> int:
        """The TOTAL row of one version for one year (None: the later years)."""
        chosen = [base if version == self.base else other for _, base, other in self.lines]
        if year is None:
            return sum(line.later or 0 for line in chosen if line is not None)
        return sum(line.amounts.get(year, 0) for line in chosen if line is not None)

    def difference(self, year: int | None) -> int:
        """The Difference row: other's column total less the base's (None: later years)."""
        return self.column_total(self.other, year) - self.column_total(self.base, year)


def versions(session: Session, stream: str) -> list[ProgrammeVersion]:
    access.require(session, "report")
    return list(
        session.scalars(
            select(ProgrammeVersion)
            .join(Stream, Stream.id == ProgrammeVersion.stream_id)
            .where(Stream.code == stream)
            .order_by(ProgrammeVersion.id)
        )
    )


def tables(session: Session, stream: str, version: str) -> list[str]:
    """The programme tables of one version, in the order the books first give them."""
    known = {v.code: v for v in versions(session, stream)}
    if version not in known:
        names = ", ".join(known) or "none"
        raise NotFound(f"{stream} has no programme version {version!r} (versions: {names})")
    return list(
        session.scalars(
            select(Profile.table_name)
            .where(Profile.version_id == known[version].id)
            .group_by(Profile.table_name)
            .order_by(func.min(Profile.id))
        )
    )


def the_table(session: Session, stream: str, versions_: list[str], table: str | None) -> str:
    """The table asked for, or the only table of the versions; with several, an error that
    lists them (no table is assumed by its name)."""
    if table is not None:
        return table
    found: list[str] = []
    for version in versions_:
        found += [t for t in tables(session, stream, version) if t not in found]
    if len(found) == 1:
        return found[0]
    raise GrantsError(
        f"name the programme table with --table: {stream} has "
        + (f"the tables {', '.join(found)}" if found else "no programme tables")
    )


def profile_lines(session: Session, stream: str, version: str, table: str) -> list[ProfileLine]:
    """The lines of one programme table in one version, in the order printed."""
    known = {v.code: v for v in versions(session, stream)}
    if version not in known:
        names = ", ".join(known) or "none"
        raise NotFound(f"{stream} has no programme version {version!r} (versions: {names})")
    rows = session.scalars(
        select(Profile)
        .where(Profile.version_id == known[version].id, Profile.table_name == table)
        .order_by(Profile.position)
    ).all()
    if not rows:
        tables = sorted(
            set(
                session.scalars(
                    select(Profile.table_name).where(Profile.version_id == known[version].id)
                )
            )
        )
        raise NotFound(
            f"version {version} of {stream} has no table {table!r} (tables: "
            f"{', '.join(tables) or 'none'})"
        )
    lines = {
        p.id: ProfileLine(p.code, p.label, p.section, printed_total=p.total_pence) for p in rows
    }
    for profile_id, year, pence in session.execute(
        select(ProfileAmount.profile_id, ProfileAmount.year, ProfileAmount.amount_pence).where(
            ProfileAmount.profile_id.in_(list(lines))
        )
    ):
        if year is None:
            lines[profile_id].later = pence
        else:
            lines[profile_id].amounts[year] = pence
    return list(lines.values())


def compare(session: Session, stream: str, table: str, base: str, other: str) -> Comparison:
    """Compare two versions of a programme table, line by line and year by year."""
    access.require(session, "report")
    first = profile_lines(session, stream, base, table)
    second = profile_lines(session, stream, other, table)
    by_code = {p.code: p for p in first}
    other_codes = {p.code: p for p in second}
    order = [p.code for p in second] + [p.code for p in first if p.code not in other_codes]
    years = sorted({y for p in first + second for y in p.amounts})
    return Comparison(
        stream,
        table,
        base,
        other,
        years,
        [(code, by_code.get(code), other_codes.get(code)) for code in order],
    )
