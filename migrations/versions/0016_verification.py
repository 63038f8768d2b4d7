"""the heads `grants verify` found whole: verification (the chain's head it proved, count and
digest, when in UTC, who ran it, if the ledger has people, and the greatest id then of every
table of record and every table of rows that belong to a record, as compact JSON), guarded
append-only and not sealed. `grants reconcile` relies on the latest: it checks that its link still has its digest
and walks only the links after it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from grants.db import guards

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("marks", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_verification_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification")),
    )
    guards.install(op.get_bind(), ["verification"])


def downgrade() -> None:
    guards.remove(op.get_bind(), ["verification"])
    op.drop_table("verification")
