"""The values the journal binds for SQLite (grants.services.journal_rows.sqlite_value) are
stored exactly as sqlite3's own adapters store the values they stand for."""

from __future__ import annotations

import sqlite3
import warnings
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from grants.services.journal_rows import sqlite_value

VALUES: list[object] = [
    date(2017, 4, 1),
    date(1, 1, 1),
    datetime(2018, 3, 31, 12, 0, 0),
    datetime(2018, 3, 31, 12, 0, 0, 1),
    datetime(2018, 3, 31, 23, 59, 59, 999999),
    datetime(2018, 3, 31, 12, 0, tzinfo=UTC),
    datetime(2018, 3, 31, 12, 0, 5, 250, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    True,
    False,
    None,
    0,
    -(2**62),
    1.5,
    "2017-04-01",
    "£ \x1f ✓",
    b"\x00raw",
]


def _stored(value: object) -> tuple[object, str]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (day DATE, at DATETIME, flag BOOLEAN, other)")
    with warnings.catch_warnings():  # sqlite3's date adapters are deprecated from 3.12
        warnings.simplefilter("ignore", DeprecationWarning)
        conn.execute("INSERT INTO t VALUES (?, ?, ?, ?)", (value,) * 4)
    row = conn.execute(
        "SELECT day, typeof(day), at, typeof(at), flag, typeof(flag), other, typeof(other) FROM t"
    ).fetchone()
    conn.close()
    return row


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_value_is_stored_as_sqlite3_would_store_it(value: object) -> None:
    assert _stored(sqlite_value(value)) == _stored(value)


def test_dates_times_and_booleans_are_bound_as_text_and_numbers() -> None:
    assert sqlite_value(date(2017, 4, 1)) == "2017-04-01"
    assert sqlite_value(datetime(2018, 3, 31, 12, 0)) == "2018-03-31 12:00:00"
    assert type(sqlite_value(True)) is int and type(sqlite_value(False)) is int
    # Anything else is bound as it is, and left to the driver.
    share = Decimal("12.5")
    assert sqlite_value(share) is share
