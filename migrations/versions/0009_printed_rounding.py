"""how a printed figure was rounded: statement.rounding (half-up, down, up, any; NULL is
half-up), sealed with the statement's second form so that records sealed before it still
verify

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from grants.db import guards

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A column added with no default: no row is rewritten (nor rebuilt, on SQLite), so the
    # statement table keeps its guards and every record sealed so far reads as it was sealed.
    op.add_column("statement", sa.Column("rounding", sa.String(length=8), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM seal WHERE tbl = 'statement' AND form = 2")).first():
        raise RuntimeError(
            "the ledger holds statements sealed with how their figures were rounded (form 2), "
            "which revision 0008 cannot verify: export the ledger first"
        )
    guards.remove(bind, ["statement"])
    with op.batch_alter_table("statement") as batch:
        batch.drop_column("rounding")
    guards.install(bind, ["statement"])
