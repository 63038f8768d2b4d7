"""The entries behind a figure add up to it: for every figure `grants balance` shows of the
Oxfordshire books (each stream and period, each line), and as of a day."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from grants.errors import NotFound, Refused
from grants.services import access
from grants.services.balances import (
    LINE_FIGURES,
    STREAM_FIGURES,
    BalanceRow,
    balance_rows,
    entries_behind,
)
from tests.conftest import Grants


def _check(session: Session, rows: list[BalanceRow], on: date | None) -> int:
    checked = 0
    for row in rows:
        for figure in LINE_FIGURES if row.line else STREAM_FIGURES:
            shown = getattr(row, figure)
            if shown is None:
                continue
            found = entries_behind(session, row.stream, row.period, row.line, figure, on)
            assert found.total == shown, (row, figure)
            assert all(e.amount for e in found.entries)
            if on is not None:
                assert all(e.day <= on for e in found.entries)
            checked += 1
    return checked


def test_every_figure_is_the_sum_of_its_entries(oxfordshire: Grants, session: Session) -> None:
    assert _check(session, balance_rows(session), None) > 100
    on = date(2017, 6, 30)
    assert _check(session, balance_rows(session, on=on), on) > 10


def test_a_figure_there_is_none_of(oxfordshire: Grants, session: Session) -> None:
    row = next(r for r in balance_rows(session) if r.line is not None)
    for stream, line, figure in (
        ("NO-SUCH", None, "paid"),
        (row.stream, "NO-SUCH", "paid"),
        (row.stream, row.line, "awarded"),
        (row.stream, None, "spent"),
    ):
        with pytest.raises(NotFound):
            entries_behind(session, stream, row.period, line, figure)


def test_a_recipient_may_not_see_the_entries_behind_a_figure(
    oxfordshire: Grants, session: Session
) -> None:
    row = next(r for r in balance_rows(session) if r.line is None)
    access.bind(session, access.Actor(99, "someone", frozenset({"recipient"})))
    with pytest.raises(Refused):
        entries_behind(session, row.stream, row.period, None, "paid")
