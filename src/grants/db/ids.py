"""Ids given in order, before the rows are written (a child line needs its parent's id).

Writers hold the ledger's write lock (grants.db.engine), so the next ids are simply the
ones after the greatest recorded; on PostgreSQL they are taken from the table's sequence,
which a writing transaction sets to follow the greatest recorded id.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def next_ids(session: Session, table: str, count: int) -> list[int]:
    """``count`` new ids for ``table``, in increasing order."""
    if count <= 0:
        return []
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.execute(
                text(
                    f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": count},
            ).scalars()
        )
    top = session.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + count))


__all__ = ["next_ids"]
