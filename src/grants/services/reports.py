"""Report rows: the ledger turned into the plain rows of the council's tables.

The same rows render to a terminal table or JSON now (and to workbooks through templates/).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from grants import formatting
from grants.db.models import (
    Account,
    Entry,
    Line,
    MatchFunding,
    Organisation,
    PlanLine,
    Posting,
    ReturnFigure,
    ReturnFiling,
    Stream,
)
from grants.errors import GrantsError, NotFound
from grants.periods import FinancialYear, Period
from grants.services import access, balance_reads
from grants.services.balances import Balances, as_it_stood, day_after, through
from grants.services.balances import read as read_balances
from grants.services.report_stages import STAGES as STAGES
from grants.services.stream_texts import StreamWords, words
from grants.services.streams import stream_id


@dataclass
class ResourcingRow:
    """One row of a resourcing table: a line and its allocation per year."""

    code: str
    name: str
    parent: str | None
    amounts: dict[int, Decimal] = field(default_factory=dict)  # year -> allocated; absent: n/a
    shares: dict[int, str] = field(default_factory=dict)  # year -> printed share of the parent


@dataclass
class ResourcingTable:
    """A fund's resourcing table: a column per year, a row per line with the districts
    beneath their partnership (not counted twice), the TOTAL, and the stated figure with the
    difference for every year where it is not the total allocated."""

    stream: str
    years: list[int]
    rows: list[ResourcingRow]
    total: dict[int, Decimal]
    stated: dict[int, Decimal]
    # (line code, year) -> the journal entries behind the figure, as "entry N (origin)"
    sources: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    words: StreamWords = field(default_factory=StreamWords)  # the stream's names and headings
    as_of: date | None = None  # the ledger as it stood at the end of this day (None: now)

    def difference(self, year: int) -> Decimal | None:
        if year not in self.stated or self.stated[year] == self.total.get(year):
            return None
        return self.stated[year] - self.total.get(year, Decimal("0.00"))


def resourcing(
    session: Session,
    stream: str,
    years: Period,
    balances: Balances | None = None,
    as_of: date | None = None,
) -> ResourcingTable:
    """``balances``: the stream's, if the caller has them already (read as of ``as_of``).
    ``as_of``: the table as the ledger stood at the end of that day (balances.through)."""
    access.require(session, "report")
    stream_id(session, stream)
    balances = balances or as_it_stood(session, stream, as_of)
    by_year = {fy.start: Period(fy, fy) for fy in years.years}
    lines = session.execute(
        select(Line.id, Line.code, Line.name, Line.parent_id)
        .join(Stream, Stream.id == Line.stream_id)
        .where(Stream.code == stream)
        .order_by(Line.id)
    ).all()
    codes = {line.id: line.code for line in lines}
    rows: dict[str, ResourcingRow] = {}
    for line in lines:
        row = ResourcingRow(line.code, line.name, codes.get(line.parent_id))
        for year, period in by_year.items():
            if balances.has_line(stream, period, line.code):
                pence = balances.value(stream, period, "allocated", line.code) or 0
                row.amounts[year] = Decimal(pence).scaleb(-2)
        if row.amounts:
            rows[line.code] = row
    shares, allocations = _allocation_entries(session, stream, as_of)
    for code, first, share in shares:
        if code in rows and first in by_year:
            rows[code].shares[first] = share
    ordered: list[ResourcingRow] = []

    def place(code: str | None) -> None:
        for row in rows.values():
            if row.parent == code:
                ordered.append(row)
                place(row.code)

    place(None)
    total = {
        year: Decimal(balances.value(stream, period, "allocated", None) or 0).scaleb(-2)
        for year, period in by_year.items()
    }
    stated = {}
    for year, period in by_year.items():
        pence = balances.value(stream, period, "stated", None)
        if pence is not None:
            stated[year] = Decimal(pence).scaleb(-2)
    sources: dict[tuple[str, int], list[str]] = {}
    for entry_id, kind, origin, code, first, last in allocations:
        if first == last and first in by_year:
            sources.setdefault((code, first), []).append(f"entry {entry_id} {kind} ({origin})")
    return ResourcingTable(
        stream, list(by_year), ordered, total, stated, sources, words(session, stream), as_of
    )


def _allocation_entries(
    session: Session, stream: str, as_of: date | None
) -> tuple[list[tuple[str, int, str]], list[tuple[int, str, str, str, int, int]]]:
    """The stream's allocations with a printed share, (line, year, share), and its entries
    that move allocations, (entry, kind, origin, line, first year, last year), dated by the
    end of ``as_of``: read once for every year's table within a
    :func:`grants.services.balance_reads.shared` block."""
    key = ("allocation entries", stream, as_of)
    found = balance_reads.cached(session, key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    sid = session.scalar(select(Stream.id).where(Stream.code == stream))
    moved = session.execute(
        select(Entry.id, Entry.kind, Entry.origin, Line.code, Entry.first_year, Entry.last_year,
               Entry.share, Entry.reverses_id)
        .join(Line, Line.id == Entry.line_id)
        .where(
            Entry.stream_id == sid,
            Entry.kind.in_(("allocate", "clawback", "virement")),
            through(Entry.day, as_of),
        )
        .order_by(Entry.id)
    ).all()  # fmt: skip
    # The shares of allocations not reversed (a reversal is itself an allocate entry).
    shares = [(r[3], r[4], r[6]) for r in moved
              if r[1] == "allocate" and r[6] is not None and r[7] is None]  # fmt: skip
    found = (shares, [tuple(r[:6]) for r in moved])
    balance_reads.keep(session, key, found)
    return found


@dataclass
class TemplateRow:
    code: str
    title: str
    parent: str | None
    cost: Decimal
    other_funding: list[tuple[str, Decimal | None]]  # (source, amount; None: not stated)
    spent: Decimal | None  # reported spend to the end of the stage (None at the plan stage)
    sources: list[str]
    spend_sources: list[str] = field(default_factory=list)
    progress: str | None = None  # objectives (plan) or progress (from the stage's return)
    other_text: str | None = None  # other funding as the plan writes it

    @property
    def reported(self) -> bool:
        """Whether any spend has been reported for the line (a spend of nothing counts)."""
        return bool(self.spend_sources) or bool(self.spent)


@dataclass
class PccTemplate:
    """The PCC's Community Safety Fund reporting template for one year and stage."""

    stream: str
    year: int
    stage: str
    area: str
    grant: Decimal  # the grant allocation the percentages are of
    grant_source: str
    rows: list[TemplateRow]
    to: date | None  # the last day the spend covers (mid-year and end-year)
    words: StreamWords = field(default_factory=StreamWords)  # the stream's names and headings
    as_of: date | None = None  # the ledger as it stood at the end of this day (None: now)

    @property
    def total(self) -> Decimal:
        return sum((r.cost for r in self.rows if r.parent is None), Decimal("0.00"))

    @property
    def spent(self) -> Decimal:
        return sum((r.spent or Decimal(0) for r in self.rows if r.parent is None), Decimal(0))


def stage_end(year: FinancialYear, stage: str) -> date | None:
    """The last day a return covers: 30 September (mid-year) or 31 March (end-year)."""
    if stage == "mid-year":
        return date(year.start, 9, 30)
    if stage == "end-year":
        return year.last_day
    return None


def _progress(
    session: Session, stream: str, year: FinancialYear, stage: str, as_of: date | None
) -> dict[str, str]:
    """Progress and outcomes from the standing return of each line for the stage (of the
    returns received by the end of ``as_of``)."""
    filings = session.execute(
        select(ReturnFiling.id, ReturnFiling.supersedes_id, Line.code)
        .join(Line, Line.id == ReturnFiling.line_id)
        .join(Stream, Stream.id == ReturnFiling.stream_id)
        .where(
            Stream.code == stream,
            ReturnFiling.year == year.start,
            ReturnFiling.stage == stage,
            through(ReturnFiling.received_on, as_of),
        )
        .order_by(ReturnFiling.id)
    ).all()
    superseded = {f.supersedes_id for f in filings if f.supersedes_id}
    out: dict[str, str] = {}
    for filing_id, _, code in filings:
        if filing_id in superseded:
            continue
        given = session.execute(
            select(ReturnFigure.title, ReturnFigure.progress)
            .where(ReturnFigure.filing_id == filing_id, ReturnFigure.progress.is_not(None))
            .order_by(ReturnFigure.position)
        ).all()
        if len(given) == 1:
            out[code] = given[0].progress
        elif given:  # several expenditure lines: each progress under its title
            out[code] = "\n".join(f"{title}: {text}" for title, text in given)
    return out


def pcc_template(
    session: Session,
    stream: str,
    year: FinancialYear,
    stage: str,
    area: str | None,
    as_of: date | None = None,
) -> PccTemplate:
    """The template as the ledger stood at the end of ``as_of`` (None: as it stands): the
    entries dated by then, the plans, returns and statements received or dated by then."""
    access.require(session, "report")
    if stage not in STAGES:
        raise GrantsError(f"stage {stage!r}: use one of {', '.join(STAGES)}")
    period = Period(year, year)
    balances = as_it_stood(session, stream, as_of)
    table = resourcing(session, stream, period, balances, as_of)
    kind = session.scalar(select(Stream.kind).where(Stream.code == stream))
    if kind != "pcc-csf":
        raise GrantsError(
            f"{stream} is a {kind} stream: the reporting template is the PCC Community Safety "
            "Fund's (streams of kind pcc-csf)"
        )
    if not table.rows:
        when = "" if as_of is None else f" at the end of {formatting.day(as_of)}"
        raise GrantsError(
            f"{stream} {'has' if as_of is None else 'had'} no allocations in {year}{when}: "
            "no template to write"
        )
    rows = table.rows
    if area is None:
        accountable = aliased(Organisation)
        name = session.scalar(
            select(accountable.name)
            .join(Stream, Stream.accountable_id == accountable.id)
            .where(Stream.code == stream)
        )
        area_name = name or stream
        grant_pence = balances.value(stream, period, "awarded", None) or 0
        awards = session.execute(
            select(Entry.id, Entry.kind, Entry.origin)
            .join(Stream, Stream.id == Entry.stream_id)
            .where(
                Stream.code == stream,
                Entry.kind == "award",
                Entry.first_year == year.start,
                Entry.last_year == year.start,
                through(Entry.day, as_of),
            )
            .order_by(Entry.id)
        ).all()
        grant_source = "the award for the year: " + (
            "; ".join(f"entry {i} {k} ({o})" for i, k, o in awards) or "none"
        )
    else:
        wanted = area.casefold()
        chosen = [r for r in rows if wanted in (r.code.casefold(), r.name.casefold())]
        if not chosen:
            names = ", ".join(r.name for r in rows) or "none"
            by_key = {k.casefold(): k for r in rows for k in (r.code, r.name)}
            guess = difflib.get_close_matches(wanted, list(by_key), n=1, cutoff=0.6)
            raise NotFound(
                f"{stream} has no line called {area!r} with an allocation in {year} "
                f"(lines: {names})" + (f"; did you mean {by_key[guess[0]]}?" if guess else "")
            )
        top = chosen[0]
        keep = {top.code}
        for r in rows:
            if r.parent in keep:
                keep.add(r.code)
        rows = [
            ResourcingRow(r.code, r.name, None if r.code == top.code else r.parent,
                          r.amounts, r.shares)
            for r in rows
            if r.code in keep
        ]  # fmt: skip
        area_name = top.name
        grant_pence = balances.value(stream, period, "allocated", top.code) or 0
        grant_source = f"the allocation to {top.name}: " + (
            "; ".join(table.sources.get((top.code, year.start), [])) or "none"
        )
    to = stage_end(year, stage)
    spent_by: dict[str, Decimal] = {}
    spend_sources: dict[str, list[str]] = {}
    if to is not None:
        counted = to if as_of is None else min(to, as_of)  # spend to the stage's end, as known
        # A return's spend is dated the last day it covers, which may be before the day the
        # report is as of though the return was received after it: not yet received then.
        unreceived = _received_after(session, stream, year, as_of)
        for entry_id, kind, origin, code in session.execute(
            select(Entry.id, Entry.kind, Entry.origin, Line.code)
            .join(Line, Line.id == Entry.line_id)
            .join(Stream, Stream.id == Entry.stream_id)
            .where(
                Stream.code == stream,
                Entry.kind == "spent",
                Entry.first_year == year.start,
                Entry.last_year == year.start,
                Entry.day <= counted,
                Entry.source.is_(None) | Entry.source.not_in(unreceived),
            )
            .order_by(Entry.id)
        ):
            spend_sources.setdefault(code, []).append(f"entry {entry_id} {kind} ({origin})")
        # A line's spend is its branch's (grants.services.balances.ROLLED_UP): so are its sources.
        parents = {r.code: r.parent for r in rows}
        for code, sources in [(c, list(v)) for c, v in spend_sources.items()]:
            at, seen = parents.get(code), {code}
            while at is not None and at not in seen:
                seen.add(at)
                spend_sources.setdefault(at, []).extend(sources)
                at = parents.get(at)
        dated = read_balances(session, stream, as_of=day_after(counted))
        later = _spend_of(session, stream, year, counted, unreceived) if unreceived else {}
        for r in rows:
            pence = (dated.value(stream, period, "reported", r.code) or 0) - later.get(r.code, 0)
            spent_by[r.code] = Decimal(pence).scaleb(-2)
    progress: dict[str, str] = {}
    if to is not None:
        progress = _progress(session, stream, year, stage, as_of)
    match: dict[str, list[tuple[str, Decimal | None]]] = {}
    for code, source, pence in session.execute(
        select(Line.code, MatchFunding.from_source, MatchFunding.amount_pence)
        .join(Line, Line.id == MatchFunding.line_id)
        .join(Stream, Stream.id == Line.stream_id)
        .where(Stream.code == stream, through(MatchFunding.day, as_of))
        .order_by(MatchFunding.id)
    ):
        match.setdefault(code, []).append(
            (source or "not stated", None if pence is None else Decimal(pence).scaleb(-2))
        )
    out = [
        TemplateRow(
            r.code,
            r.name,
            r.parent,
            r.amounts.get(year.start, Decimal("0.00")),
            match.get(r.code, []),
            spent_by.get(r.code) if to is not None else None,
            table.sources.get((r.code, year.start), []),
            spend_sources.get(r.code, []),
            progress.get(r.code),
        )
        for r in rows
        if year.start in r.amounts
    ]
    if area is not None and len(out) == 1:
        planned = _plan_rows(session, stream, year, stage, out[0].code, as_of)
        if planned:
            out = planned
    return PccTemplate(
        stream, year.start, stage, area_name, Decimal(grant_pence).scaleb(-2), grant_source,
        out, to, words(session, stream, area_name), as_of,
    )  # fmt: skip


def _received_after(
    session: Session, stream: str, year: FinancialYear, as_of: date | None
) -> list[str]:
    """The journal sources (``return sha256:...``, grants.services.returns_import) of the
    stream's returns for the year received after ``as_of`` (none when None)."""
    if as_of is None:
        return []
    keys = session.scalars(
        select(ReturnFiling.key)
        .join(Stream, Stream.id == ReturnFiling.stream_id)
        .where(Stream.code == stream, ReturnFiling.year == year.start,
               ReturnFiling.received_on > as_of)
    )  # fmt: skip
    return [f"return sha256:{key}" for key in keys]


def _spend_of(
    session: Session, stream: str, year: FinancialYear, to: date, sources: list[str]
) -> dict[str, int]:
    """What the spend entries from ``sources`` dated by ``to`` added to each line's reported
    spend for the year, in pence."""
    return {
        code: int(pence or 0)
        for code, pence in session.execute(
            select(Line.code, func.sum(Posting.amount_pence))
            .join(Account, Account.id == Posting.account_id)
            .join(Line, Line.id == Account.line_id)
            .join(Entry, Entry.id == Posting.entry_id)
            .join(Stream, Stream.id == Account.stream_id)
            .where(
                Stream.code == stream, Account.role == "spent",
                Account.first_year == year.start, Account.last_year == year.start,
                Entry.day <= to, Entry.source.in_(sources),
            )
            .group_by(Line.code)
        )
    }  # fmt: skip


def _plan_rows(
    session: Session, stream: str, year: FinancialYear, stage: str, line: str,
    as_of: date | None,
) -> list[TemplateRow]:  # fmt: skip
    """A row per expenditure line of the line's spending plan, with the figures of the
    stage's standing return (spend to date, progress) where one has been filed (the plan
    lines recorded and returns received by the end of ``as_of``)."""
    line_id = session.scalar(
        select(Line.id)
        .join(Stream, Stream.id == Line.stream_id)
        .where(Stream.code == stream, Line.code == line)
    )
    plan = session.scalars(
        select(PlanLine)
        .where(
            PlanLine.line_id == line_id, PlanLine.year == year.start, through(PlanLine.day, as_of)
        )
        .order_by(PlanLine.position)
    ).all()
    if not plan:
        return []
    figures: dict[int, ReturnFigure] = {}
    filename = ""
    if stage != "plan":
        filings = session.scalars(
            select(ReturnFiling)
            .where(ReturnFiling.line_id == line_id, ReturnFiling.year == year.start,
                   ReturnFiling.stage == stage, through(ReturnFiling.received_on, as_of))
            .order_by(ReturnFiling.id)
        ).all()  # fmt: skip
        superseded = {f.supersedes_id for f in filings}
        standing = [f for f in filings if f.id not in superseded]
        if standing:
            filename = standing[-1].filename
            figures = {
                f.position: f
                for f in session.scalars(
                    select(ReturnFigure).where(ReturnFigure.filing_id == standing[-1].id)
                )
            }
    rows = []
    for p in plan:
        figure = figures.get(p.position)
        spent = None
        if stage != "plan":
            pence = figure.spend_pence if figure is not None else None
            spent = Decimal(pence or 0).scaleb(-2)
        rows.append(
            TemplateRow(
                code=line,
                title=p.title,
                parent=None,
                cost=Decimal(p.cost_pence).scaleb(-2),
                other_funding=[],
                spent=spent,
                sources=[f"plan line {p.position} of {line} ({p.origin})"],
                spend_sources=(
                    [f"{filename}:Return!{figure.cell}"]
                    if figure is not None and figure.spend_pence is not None
                    else []
                ),
                progress=p.objectives if stage == "plan" else (figure.progress if figure else None),
                other_text=p.other_funding,
            )
        )
    return rows


__all__ = [
    "STAGES",
    "PccTemplate",
    "ResourcingRow",
    "ResourcingTable",
    "TemplateRow",
    "pcc_template",
    "resourcing",
    "stage_end",
]
