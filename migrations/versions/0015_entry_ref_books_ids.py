"""the journal's uniqueness as indexes a load can build after its rows: an entry's key and its
books id (``ref``) are unique through named indexes (uq_entry_key, uq_entry_ref) instead of
table constraints, and uq_entry_ref holds only the refs that are books ids: an entry with no
``id:`` keeps the ref its key gives ("e" and the key's first 12 digits, the same text as
before, so every sealed row reads as it did), which the key's own index already finds

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from grants.db import guards

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GIVEN_REF = "ref <> 'e' || substr(key, 1, 12)"


def upgrade() -> None:
    bind = op.get_bind()
    # SQLite rebuilds the table to drop a constraint: its guards come off meanwhile.
    guards.remove(bind, ["entry"])
    with op.batch_alter_table("entry") as batch:
        batch.drop_constraint(op.f("uq_entry_key"), type_="unique")
        batch.drop_constraint(op.f("uq_entry_ref"), type_="unique")
    guards.install(bind, ["entry"])
    op.create_index("uq_entry_key", "entry", ["key"], unique=True)
    where = {"sqlite_where": sa.text(GIVEN_REF), "postgresql_where": sa.text(GIVEN_REF)}
    op.create_index("uq_entry_ref", "entry", ["ref"], unique=True, **where)


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index("uq_entry_ref", table_name="entry")
    op.drop_index("uq_entry_key", table_name="entry")
    guards.remove(bind, ["entry"])
    with op.batch_alter_table("entry") as batch:
        batch.create_unique_constraint(op.f("uq_entry_key"), ["key"])
        batch.create_unique_constraint(op.f("uq_entry_ref"), ["ref"])
    guards.install(bind, ["entry"])
