"""The spend to date the returns report and the journal holds, for a line and year: what
recording a return squares (grants.services.returns_import) and reconcile compares."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from grants.db.models import ReturnFigure, ReturnStage


def standing_spend(
    session: Session, stream_id: int, year: int, standing: list[tuple[str, int]]
) -> int:
    """For each expenditure line, the spend to date of the latest stage (by the last day it
    covers) among the standing returns (stage, filing id) that gives one; summed. The
    journal holds this much reported spend for the line and year."""
    covers = dict(
        session.execute(
            select(ReturnStage.stage, ReturnStage.covers_to).where(
                ReturnStage.stream_id == stream_id, ReturnStage.year == year
            )
        ).all()
    )

    def spend(filing_id: int) -> Iterable[tuple[int, int]]:
        rows = session.execute(
            select(ReturnFigure.position, ReturnFigure.spend_pence).where(
                ReturnFigure.filing_id == filing_id, ReturnFigure.spend_pence.is_not(None)
            )
        )
        return [(position, pence) for position, pence in rows]

    return latest_spend(covers, standing, spend)


def latest_spend(
    covers: Mapping[str, date],
    standing: list[tuple[str, int]],
    spend: Callable[[int], Iterable[tuple[int, int]]],
) -> int:
    """standing_spend's sum from what is read already: ``covers``, the last day each stage
    covers; ``spend``, a filing's (position, spend) for each figure that gives one."""
    order = sorted(standing, key=lambda f: (covers.get(f[0], date.min), f[1]))
    latest: dict[int, int] = {}
    for _stage, filing_id in order:
        for position, pence in spend(filing_id):
            latest[position] = pence
    return sum(latest.values())


def reported_spends(session: Session) -> dict[tuple[int, int, int], int]:
    """reported_spend of every line and year at once: (stream id, line id, year) -> pence."""
    rows = session.execute(
        text(
            "SELECT a.stream_id, a.line_id, a.first_year, COALESCE(SUM(p.amount_pence), 0) "
            "FROM posting p JOIN account a ON a.id = p.account_id "
            "WHERE a.role = 'spent' AND a.line_id IS NOT NULL AND a.first_year = a.last_year "
            "GROUP BY a.stream_id, a.line_id, a.first_year"
        )
    )
    return {(stream, line, year): int(total or 0) for stream, line, year, total in rows}


_REPORTED = text(
    "SELECT COALESCE(SUM(p.amount_pence), 0) FROM posting p "
    "JOIN account a ON a.id = p.account_id "
    "WHERE a.stream_id = :stream AND a.line_id = :line AND a.role = 'spent' "
    "AND a.first_year = :year AND a.last_year = :year"
)


def reported_spend(session: Session, stream_id: int, line_id: int, year: int) -> int:
    """The spend reported so far for a line and year: the balance of its spent account
    (grants.services.rules)."""
    total = session.execute(
        _REPORTED, {"stream": stream_id, "line": line_id, "year": year}
    ).scalar()
    return int(total or 0)  # PostgreSQL sums BIGINT as NUMERIC


__all__ = ["latest_spend", "reported_spend", "reported_spends", "standing_spend"]
