"""Which report workbooks the books support: what `grants report all` writes, and what the
web service offers to download."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Entry, ProgrammeVersion, Stream
from grants.periods import FinancialYear, Period
from grants.services import access
from grants.services.balances import through
from grants.services.growth import project_rows
from grants.services.reports import STAGES


@dataclass(frozen=True)
class Workbook:
    """One workbook: a PCC fund's resourcing table over ``span``, its reporting template
    for ``year`` at ``stage``, or a capital stream's programme."""

    # "resourcing", "pcc-template", "capital-programme", "growth-monitoring", "esif-claims"
    kind: str
    stream: str
    span: Period | None = None
    year: FinancialYear | None = None
    stage: str | None = None


def workbooks(session: Session, as_of: date | None = None) -> list[Workbook]:
    """Every workbook the books support, in order: for each PCC Community Safety Fund stream
    its resourcing table over the years it allocated in and, for each of those years, the
    reporting template at each stage; for each stream with programme versions, the capital
    programme. Theirs who may run reports. ``as_of``: those the ledger supported at the end
    of that day (allocations dated and programme versions adopted by then)."""
    access.require(session, "report")
    out: list[Workbook] = []
    pcc = session.scalars(
        select(Stream.code).where(Stream.kind == "pcc-csf").order_by(Stream.code)
    ).all()
    for code in pcc:
        years = sorted(
            set(
                session.scalars(
                    select(Entry.first_year)
                    .join(Stream, Stream.id == Entry.stream_id)
                    .where(Stream.code == code, Entry.kind == "allocate",
                           Entry.first_year == Entry.last_year, through(Entry.day, as_of))
                )
            )
        )  # fmt: skip
        if not years:
            continue
        out.append(
            Workbook("resourcing", code, Period(FinancialYear(years[0]), FinancialYear(years[-1])))
        )
        out += [
            Workbook("pcc-template", code, year=FinancialYear(start), stage=stage)
            for start in years
            for stage in STAGES
        ]
    capital = session.scalars(
        select(Stream.code)
        .join(ProgrammeVersion, ProgrammeVersion.stream_id == Stream.id)
        .where(through(ProgrammeVersion.day, as_of))
        .distinct()
        .order_by(Stream.code)
    ).all()
    out += [Workbook("capital-programme", code) for code in capital]
    projects = project_rows(session, None, as_of)
    if projects:
        out.append(Workbook("growth-monitoring", "growth"))
    if any(p.stream_kind in ("esif", "erdf", "esf", "eafrd") for p in projects):
        out.append(Workbook("esif-claims", "esif"))
    return out


__all__ = ["Workbook", "workbooks"]
