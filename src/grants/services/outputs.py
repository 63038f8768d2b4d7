"""Every output the ledger holds, against the one indicator catalogue: the outputs growth
projects achieved (`output`, with their `output-target`) and the output measures recipients
report on their returns (the PCC fund's, a target and an actual per expenditure line).

A return's measure is free text typed by the recipient. It names an indicator of the
catalogue when, less a trailing remark in brackets (such as the year, "(2016-17)"), it is the
indicator's name or its code, compared without regard to case or spacing, among the
indicators of the stream's own fund (its kind: `pcc-csf` for the PCC fund). A measure that
names none is listed as it was typed, with no indicator: the catalogue says which to add.
Only the returns that stand count (a corrected return replaces the one it supersedes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Line, ReturnFigure, ReturnFiling, Stream
from grants.periods import FinancialYear
from grants.services import access
from grants.services.growth import IndicatorRow, indicator_rows, project_rows

_REMARK = re.compile(r"\s*\([^()]*\)\s*$")


@dataclass
class OutputLine:
    """One output against the catalogue: from a growth project's records or a return."""

    origin: str  # "project" or "return"
    stream: str
    line: str
    period: str  # the quarters reported ("2017-18 q2, 2017-18 q3"), or the return's stage
    measure: str  # the indicator's name, or the return's measure as typed
    indicator: str | None  # the catalogue's code; None if the measure names none
    unit: str | None
    target: Decimal | None
    actual: Decimal | None


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def match(measure: str, fund: str, catalogue: list[IndicatorRow]) -> IndicatorRow | None:
    """The indicator of ``fund`` that a return's ``measure`` names, if any (rule above)."""
    wanted = {_folded(measure), _folded(_REMARK.sub("", measure))}
    for ind in catalogue:
        if ind.fund == fund and (_folded(ind.name) in wanted or _folded(ind.code) in wanted):
            return ind
    return None


def output_lines(session: Session, stream: str | None = None) -> list[OutputLine]:
    """Every output the acting person may see: growth projects' first, then returns'."""
    access.require(session, "read")
    catalogue = indicator_rows(session)
    out: list[OutputLine] = []
    for p in project_rows(session, stream):
        for o in p.outputs:
            quarters = ", ".join(f"{q.year} q{q.quarter}" for q in p.quarters
                                 if o.indicator in q.outputs)  # fmt: skip
            out.append(OutputLine("project", p.stream, p.project, quarters, o.name, o.indicator,
                                  o.unit, o.target, o.actual))  # fmt: skip
    visible = access.visible_lines(session)
    superseded = set(
        session.scalars(
            select(ReturnFiling.supersedes_id).where(ReturnFiling.supersedes_id.is_not(None))
        )
    )
    query = (
        select(ReturnFiling, ReturnFigure, Stream.code, Stream.kind, Line.code)
        .join(ReturnFigure, ReturnFigure.filing_id == ReturnFiling.id)
        .join(Stream, Stream.id == ReturnFiling.stream_id)
        .join(Line, Line.id == ReturnFiling.line_id)
        .where(ReturnFigure.measure.is_not(None))
        .order_by(ReturnFiling.id, ReturnFigure.position)
    )
    if stream is not None:
        query = query.where(Stream.code == stream)
    for filing, figure, code, kind, line in session.execute(query):
        if filing.id in superseded or (visible is not None and filing.line_id not in visible):
            continue
        ind = match(figure.measure or "", kind, catalogue)
        out.append(OutputLine(
            "return", code, line, f"{FinancialYear(filing.year)} {filing.stage}",
            ind.name if ind else figure.measure or "", ind.code if ind else None,
            ind.unit if ind else None,
            None if figure.target is None else Decimal(figure.target),
            None if figure.actual is None else Decimal(figure.actual),
        ))  # fmt: skip
    return out


__all__ = ["OutputLine", "match", "output_lines"]
