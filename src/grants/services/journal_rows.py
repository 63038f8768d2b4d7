"""The rows the journal writes: their columns, and the values bound for them.

On SQLite a date, a datetime and a boolean are bound as the text and number sqlite3's own
adapters would bind for them (``sqlite_value``), made once as the row is built rather than
by the driver's adapter lookup for every value of every row: the stored values are the same.
Elsewhere the values are bound as they are (PostgreSQL's COPY takes them typed).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection

from grants.db import bulk

ENTRY_COLUMNS = (
    "id", "key", "ref", "kind", "day", "stream_id", "first_year", "last_year", "line_id",
    "to_line_id", "to_first_year", "to_last_year", "amount_pence", "tranche", "share",
    "over_allocation", "printed", "reverses_id", "actor", "reason", "recorded_at", "source",
    "origin", "note", "turnover_pence",
)  # fmt: skip
POSTING_COLUMNS = ("id", "entry_id", "account_id", "amount_pence")
ACCOUNT_COLUMNS = ("id", "key", "stream_id", "first_year", "last_year", "line_id", "role")


def sqlite_value(value: object) -> object:
    """What sqlite3's default adapters bind for ``value``: a date as its ISO text, a datetime
    as its ISO text with a space between date and time (``isoformat(" ")``), a boolean as 1
    or 0; any other value as it is. Only the exact types are turned, as sqlite3 looks its
    adapters up by exact type."""
    if type(value) is date:
        return value.isoformat()
    if type(value) is datetime:
        return value.isoformat(" ")
    if type(value) is bool:
        return 1 if value else 0
    return value


def binds_text(connection: Connection) -> bool:
    """Whether rows written through ``connection`` bind dates, times and booleans as
    ``sqlite_value`` gives them."""
    return connection.dialect.name == "sqlite"


def insert_rows(
    connection: Connection,
    accounts: list[dict[str, object]],
    entries: list[tuple[object, ...]],
    postings: list[tuple[int, int, int, int]],
) -> None:
    """Write new accounts, then entries, then their postings (each in one statement)."""
    rows = [tuple(a[c] for c in ACCOUNT_COLUMNS) for a in accounts]
    bulk.insert_rows(connection, "account", ACCOUNT_COLUMNS, rows)
    bulk.insert_rows(connection, "entry", ENTRY_COLUMNS, entries)
    bulk.insert_rows(connection, "posting", POSTING_COLUMNS, postings)
