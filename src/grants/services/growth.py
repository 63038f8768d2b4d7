"""Growth-fund projects as rows: each project's award, spend profile, claims, payments,
slippage, match and outputs, and its quarters; the output indicator catalogue.

A quarter is one of four of a financial year: q1 April to June, q2 July to September, q3
October to December, q4 January to March. A later `spend-profile` of the same quarter stands
(reprofiling); a later `indicator` of the same code stands (a new definition), earlier
records being kept. Slippage is the forecast (profile) of the quarters that have been claimed
less the eligible spend claimed for them: positive when spend runs behind the profile.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from grants.db.models import (
    Entry,
    Indicator,
    Line,
    MatchFunding,
    Organisation,
    OutputActual,
    OutputTarget,
    ProjectClaim,
    SpendProfile,
    Stream,
)
from grants.money import from_pence
from grants.periods import FinancialYear
from grants.services import access
from grants.services.arrears import GROWTH_KINDS
from grants.services.balances import through


def quarter_end(year: int, quarter: int) -> date:
    """The last day of quarter 1-4 of the financial year starting in April of ``year``."""
    return {1: date(year, 6, 30), 2: date(year, 9, 30), 3: date(year, 12, 31),
            4: date(year + 1, 3, 31)}[quarter]  # fmt: skip


def quarter_label(year: int, quarter: int) -> str:
    return f"{FinancialYear(year)} q{quarter}"


def grant_cap(eligible_pence: int, rate_bp: int) -> int:
    """The most grant an intervention rate allows on eligible expenditure, in pence:
    eligible x rate, rounded down to the penny (the grant never exceeds the rate).
    ``rate_bp`` is the rate in hundredths of a percent (50% is 5000)."""
    exact = Decimal(eligible_pence) * Decimal(rate_bp) / Decimal(10_000)
    return int(exact.to_integral_value(rounding=ROUND_FLOOR))


@dataclass
class QuarterRow:
    """One project's quarter: forecast, claim and payments (amounts in pounds)."""

    stream: str
    project: str
    year: str
    quarter: int
    ends: date
    profile: Decimal | None
    eligible: Decimal | None
    grant: Decimal | None
    match: Decimal | None
    match_form: str | None
    claimed_on: date | None
    evidence: str | None
    outputs: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class OutputRow:
    indicator: str
    name: str
    unit: str
    target: Decimal | None
    actual: Decimal


@dataclass
class ProjectRow:
    """One growth project, with its totals to date (amounts in pounds)."""

    stream: str
    stream_kind: str
    rate: Decimal | None  # the stream's intervention rate, percent
    parent: str | None
    project: str
    name: str
    recipient: str | None
    awarded: Decimal
    profiled: Decimal
    eligible: Decimal
    claimed: Decimal
    paid: Decimal
    slippage: Decimal
    match_pledged: Decimal
    match_spent: Decimal
    match_cash: Decimal
    match_in_kind: Decimal
    quarters: list[QuarterRow]
    outputs: list[OutputRow]
    source: str | None


@dataclass
class IndicatorRow:
    code: str
    name: str
    fund: str
    unit: str
    definition: str
    day: date
    source: str | None
    versions: int


def _d(pence: int) -> Decimal:
    return from_pence(pence)


def _x100(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(Decimal("0.01")).normalize()


def indicator_rows(session: Session) -> list[IndicatorRow]:
    """The catalogue: each indicator's standing definition, with how many versions it has."""
    access.require(session, "read")
    latest: dict[str, Indicator] = {}
    versions: dict[str, int] = defaultdict(int)
    for ind in session.scalars(select(Indicator).order_by(Indicator.id)):
        latest[ind.code] = ind
        versions[ind.code] += 1
    return [
        IndicatorRow(
            i.code, i.name, i.fund, i.unit, i.definition, i.day, i.source, versions[i.code]
        )
        for i in sorted(latest.values(), key=lambda i: (i.fund, i.code))
    ]


def project_rows(
    session: Session, stream: str | None = None, as_of: date | None = None
) -> list[ProjectRow]:
    """Every growth project (a `project` line of an LGF, City Deal, Growth Deal or ESIF
    stream) that the acting person may see, in the books' order; as the ledger stood at the
    end of ``as_of`` (grants.services.balances.through: what is dated by then)."""
    access.require(session, "read")
    visible = access.visible_lines(session)
    parent = aliased(Line)
    query = (
        select(Line, Stream, Organisation.code, parent.code)
        .join(Stream, Stream.id == Line.stream_id)
        .outerjoin(Organisation, Organisation.id == Line.recipient_id)
        .outerjoin(parent, parent.id == Line.parent_id)
        .where(
            Line.kind == "project", Stream.kind.in_(sorted(GROWTH_KINDS)), through(Line.day, as_of)
        )
        .order_by(Line.id)
    )
    if stream is not None:
        query = query.where(Stream.code == stream)
    found = [r for r in session.execute(query) if visible is None or r[0].id in visible]
    ids = [r[0].id for r in found]
    if not ids:
        return []
    money = _money_by_line(session, ids, as_of)
    profiles: dict[int, dict[tuple[int, int], int]] = defaultdict(dict)
    for p in session.scalars(select(SpendProfile).where(SpendProfile.line_id.in_(ids),
                                                    through(SpendProfile.day, as_of))
                             .order_by(SpendProfile.id)):  # fmt: skip
        profiles[p.line_id][(p.year, p.quarter)] = p.amount_pence  # the latest stands
    claims: dict[int, dict[tuple[int, int], ProjectClaim]] = defaultdict(dict)
    for c in session.scalars(
        select(ProjectClaim).where(ProjectClaim.line_id.in_(ids), through(ProjectClaim.day, as_of))
    ):
        claims[c.line_id][(c.year, c.quarter)] = c
    actuals: dict[int, dict[tuple[int, int], dict[str, int]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for a in session.scalars(select(OutputActual).where(OutputActual.line_id.in_(ids),
                                                    through(OutputActual.day, as_of))
                             .order_by(OutputActual.id)):  # fmt: skip
        cell = actuals[a.line_id][(a.year, a.quarter)]
        cell[a.indicator] = cell.get(a.indicator, 0) + a.value_x100
    targets: dict[int, dict[str, int]] = defaultdict(dict)
    for t in session.scalars(select(OutputTarget).where(OutputTarget.line_id.in_(ids),
                                                    through(OutputTarget.day, as_of))
                             .order_by(OutputTarget.id)):  # fmt: skip
        targets[t.line_id][t.indicator] = t.value_x100
    catalogue = {i.code: i for i in indicator_rows(session)}
    pledged: dict[int, int] = defaultdict(int)
    for line_id, amount in session.execute(
        select(MatchFunding.line_id, MatchFunding.amount_pence).where(
            MatchFunding.line_id.in_(ids), through(MatchFunding.day, as_of)
        )
    ):
        pledged[line_id] += amount
    rows = []
    for line, st, recipient, parent_code in found:
        rows.append(
            _row(
                line,
                st,
                recipient,
                parent_code,
                money.get(line.id, {}),
                profiles[line.id],
                claims[line.id],
                actuals[line.id],
                targets[line.id],
                catalogue,
                pledged[line.id],
            )
        )
    return rows


ILLUSTRATIVE = "illustrative"


def monitoring(
    session: Session, stream: str | None = None, as_of: date | None = None
) -> tuple[list[ProjectRow], bool]:
    """The growth monitoring workbook's rows (for those who may run reports) as the ledger
    stood at the end of ``as_of``, and whether any profile, claim, target or output behind
    them is marked illustrative in its note."""
    access.require(session, "report")
    rows = project_rows(session, stream, as_of)
    marked = False
    for model in (SpendProfile, ProjectClaim, OutputTarget, OutputActual):
        note = model.note  # type: ignore[attr-defined]
        day = model.day  # type: ignore[attr-defined]
        if session.scalar(select(model.id).where(note.contains(ILLUSTRATIVE), through(day, as_of))
                          .limit(1)):  # fmt: skip
            marked = True
    return rows, marked


def _money_by_line(
    session: Session, ids: list[int], as_of: date | None = None
) -> dict[int, dict[str, int]]:
    """Allocated and paid to each line, from the journal (net of reversals, clawbacks and
    virements)."""
    reversal = aliased(Entry)
    reversed_ids = select(reversal.reverses_id).where(
        reversal.reverses_id.is_not(None), through(reversal.day, as_of)
    )
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for kind, line_id, to_line_id, amount in session.execute(
        select(Entry.kind, Entry.line_id, Entry.to_line_id, Entry.amount_pence).where(
            Entry.reverses_id.is_(None), Entry.id.not_in(reversed_ids), through(Entry.day, as_of),
            Entry.kind.in_(("allocate", "pay", "clawback", "virement")),
        )
    ):  # fmt: skip
        if kind == "allocate" and line_id in ids:
            out[line_id]["awarded"] += amount
        elif kind == "pay" and line_id in ids:
            out[line_id]["paid"] += amount
        elif kind == "clawback" and line_id in ids:
            out[line_id]["paid"] -= amount
            out[line_id]["awarded"] -= amount
        elif kind == "virement":
            if line_id in ids:
                out[line_id]["awarded"] -= amount
            if to_line_id in ids:
                out[to_line_id]["awarded"] += amount
    return out


def _row(
    line: Line, st: Stream, recipient: str | None, parent_code: str | None,
    money: dict[str, int], profile: dict[tuple[int, int], int],
    claims: dict[tuple[int, int], ProjectClaim], actuals: dict[tuple[int, int], dict[str, int]],
    targets: dict[str, int], catalogue: dict[str, IndicatorRow], pledged: int,
) -> ProjectRow:  # fmt: skip
    quarters = []
    for year, quarter in sorted(set(profile) | set(claims) | set(actuals)):
        c = claims.get((year, quarter))
        quarters.append(QuarterRow(
            st.code, line.code, str(FinancialYear(year)), quarter, quarter_end(year, quarter),
            _d(profile[(year, quarter)]) if (year, quarter) in profile else None,
            _d(c.eligible_pence) if c else None, _d(c.grant_pence) if c else None,
            _d(c.match_pence) if c else None, c.match_form if c else None,
            c.day if c else None, c.evidence if c else None,
            {k: _x100(v) for k, v in actuals.get((year, quarter), {}).items()},
        ))  # fmt: skip
    claimed_quarters = [q for q in quarters if q.eligible is not None]
    slippage = sum((q.profile or Decimal(0)) - (q.eligible or Decimal(0))
                   for q in claimed_quarters)  # fmt: skip
    match = [c for c in claims.values()]
    done: dict[str, int] = defaultdict(int)
    for cell in actuals.values():
        for code, value in cell.items():
            done[code] += value
    outputs = [
        OutputRow(code, catalogue[code].name if code in catalogue else code,
                  catalogue[code].unit if code in catalogue else "",
                  _x100(targets[code]) if code in targets else None, _x100(done.get(code, 0)))
        for code in sorted(set(targets) | set(done))
    ]  # fmt: skip
    return ProjectRow(
        stream=st.code, stream_kind=st.kind,
        rate=None if st.intervention_bp is None else Decimal(st.intervention_bp) / 100,
        parent=parent_code, project=line.code, name=line.name, recipient=recipient,
        awarded=_d(money.get("awarded", 0)), profiled=_d(sum(profile.values())),
        eligible=_d(sum(c.eligible_pence for c in match)),
        claimed=_d(sum(c.grant_pence for c in match)), paid=_d(money.get("paid", 0)),
        slippage=Decimal(slippage).quantize(Decimal("0.01")), match_pledged=_d(pledged),
        match_spent=_d(sum(c.match_pence for c in match)),
        match_cash=_d(sum(c.match_pence for c in match if c.match_form == "cash")),
        match_in_kind=_d(sum(c.match_pence for c in match if c.match_form == "in-kind")),
        quarters=quarters, outputs=outputs, source=line.source,
    )  # fmt: skip


__all__ = [
    "IndicatorRow",
    "OutputRow",
    "ProjectRow",
    "QuarterRow",
    "grant_cap",
    "indicator_rows",
    "monitoring",
    "project_rows",
    "quarter_end",
    "quarter_label",
]
