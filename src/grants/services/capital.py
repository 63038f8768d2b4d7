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

Every read is plain SQL on the session's connection (grants.services.capital_core_rows), the
same as `grants report capital-programme` reads through SQLAlchemy Core alone
(grants.services.capital_core); the rows of the annex and programme tables are streams.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import ProgrammeVersion, Stream
from grants.errors import NotFound
from grants.periods import Period
from grants.services import access
from grants.services import capital_core_rows as rows
from grants.services.balances import as_it_stood
from grants.services.capital_core import ConnectionReads, assemble, compared_versions, span_of
from grants.services.capital_types import (
    CapitalProgramme,
    Portfolio,
    ProgrammeRow,
    Published,
    Scheme,
    Tranche,
)
from grants.services.streams import stream_id as find_stream


def stream_headings(session: Session, stream: str) -> dict[str, tuple[str, str | None]]:
    """The headings the stream's books give (``heading``): template key -> (text, origin)."""
    return rows.standing(session.connection(), find_stream(session, stream), "heading")


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
    stream_id = find_stream(session, stream)
    return compared_versions(session.connection(), stream_id, stream, compare, as_of)


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
    books_tables = {
        "summary": summary_table,
        "resources": resources_table,
        "funding": funding_table,
        "allocations": allocations_table,
    }
    return assemble(
        session.connection(), stream, stream_id, years, base, other, books_tables,
        lambda: as_it_stood(session, stream, as_of, top_level_only=True), as_of,
    )  # fmt: skip


def programme_years(session: Session, stream: str) -> Period:
    """Every year the books hold for the stream: the years of its programme profiles and the
    periods of its entries, first to last."""
    return span_of(session.connection(), find_stream(session, stream), stream)


def reads(session: Session, p: CapitalProgramme) -> ConnectionReads:
    """The programme's long tables read on the session's connection."""
    return ConnectionReads(session.connection(), find_stream(session, p.stream))


def schemes(session: Session, p: CapitalProgramme) -> Iterator[tuple[str, Scheme]]:
    """The schemes beneath the portfolio lines, one at a time (capital_core_rows.schemes)."""
    return reads(session, p).schemes(p)


def programme_rows(
    session: Session,
    stream: str,
    version: str,
    table: str,
    compared: str | None,
    years: list[int],
    later: bool = False,
) -> Iterator[ProgrammeRow]:
    """The lines of one programme table in one version (capital_core_rows.programme_rows)."""
    stream_id = find_stream(session, stream)
    return rows.programme_rows(
        session.connection(), stream_id, version, table, compared, years, later
    )


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
    "reads",
    "schemes",
    "stream_headings",
    "versions_to_compare",
]
