"""Writing many rows at once: the one place that knows how each engine takes them fastest.

``insert_rows`` writes rows of plain values into a table (``executemany`` through the DBAPI
cursor; binary COPY on PostgreSQL). ``indexes_after`` lets a load into empty tables build
their secondary indexes once, after the rows, instead of keeping them up to date row by row
(on PostgreSQL, their unique keys and references too: grants.db.bulk_postgres).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from sqlalchemy import Connection

# A load of at least this many rows into empty tables is worth taking their keys off for
# (below it, dropping and building them again costs more than checking row by row).
MANY = 2000


def insert_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Insert ``rows`` (each a sequence of plain values in the order of ``columns``)."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        from grants.db import bulk_postgres  # psycopg, imported only where it is used

        bulk_postgres.copy_rows(connection, table, columns, rows)
        return
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})",
        rows,  # type: ignore[arg-type]
    )


@contextlib.contextmanager
def indexes_after(connection: Connection, tables: Sequence[str]) -> Iterator[None]:
    """Within the block, rows inserted into ``tables`` may go in before the tables'
    secondary indexes are built. (Not yet on SQLite: the indexes are kept up to date row by
    row.)"""
    if connection.dialect.name == "postgresql":
        from grants.db import bulk_postgres

        with bulk_postgres.keys_after(connection, tables):
            yield
        return
    yield
