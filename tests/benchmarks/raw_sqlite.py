"""The floors of the SQLite loads: the rows a load adds, written with sqlite3 alone."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from grants.db.bulk import BIG_CACHE_KIB
from grants.db.engine import bind_none_directly

# Rows by table, in the order they are written: (the table's columns, its rows).
Rows = Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]]


def rows_after(before: Path, after: Path, tables: Sequence[str]) -> dict[str, Any]:
    """The rows of each of ``tables`` in the ledger ``after`` beyond those it holds in
    ``before`` (by rowid), in the order of ``tables``; tables with none are left out."""
    with sqlite3.connect(before) as conn:
        tops = {t: conn.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {t}").fetchone()[0]
                for t in tables}  # fmt: skip
    added: dict[str, Any] = {}
    with sqlite3.connect(after) as conn:
        for t in tables:
            rows = conn.execute(f"SELECT * FROM {t} WHERE rowid > ? ORDER BY rowid", (tops[t],))
            found = rows.fetchall()
            if found:
                added[t] = ([r[1] for r in conn.execute(f"PRAGMA table_info({t})")], found)
    return added


def write(target: Path, rows: Rows, *, indexes_after: Collection[str], cache: bool) -> None:
    """``rows`` inserted with sqlite3 alone, in one transaction, as a load writes them
    (foreign keys on, synchronous=FULL, None bound as the product binds it); the secondary
    indexes of the tables in ``indexes_after`` dropped first and built again at the end,
    and with ``cache`` the page cache the product gives a load."""
    bind_none_directly()  # as the product binds them (registered already if it has run)
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=FULL")
    if cache:
        conn.execute(f"PRAGMA cache_size=-{BIG_CACHE_KIB}")
    conn.execute("BEGIN IMMEDIATE")
    indexes: list[tuple[str, str]] = []
    if indexes_after:
        marks = ", ".join("?" * len(indexes_after))
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks})",
            tuple(indexes_after),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
    for table, (columns, table_rows) in rows.items():
        places = ", ".join("?" * len(columns))
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({places})", table_rows
        )
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.close()
