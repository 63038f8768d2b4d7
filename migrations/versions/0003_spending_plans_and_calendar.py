"""spending plans (plan lines, agreements) and the reporting calendar of each stream

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "return_stage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("covers_to", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("due >= covers_to", name=op.f("ck_return_stage_due_after_period")),
        sa.ForeignKeyConstraint(
            ["stream_id"], ["stream.id"], name=op.f("fk_return_stage_stream_id_stream")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_stage")),
        sa.UniqueConstraint("key", name=op.f("uq_return_stage_key")),
        sa.UniqueConstraint("stream_id", "year", "stage", name=op.f("uq_return_stage_stream_id")),
    )
    op.create_table(
        "plan_agreement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["line_id"], ["line.id"], name=op.f("fk_plan_agreement_line_id_line")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_agreement")),
        sa.UniqueConstraint("key", name=op.f("uq_plan_agreement_key")),
        sa.UniqueConstraint("line_id", "year", name=op.f("uq_plan_agreement_line_id")),
    )
    op.create_table(
        "plan_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("objectives", sa.Text(), nullable=True),
        sa.Column(
            "cost_pence", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("other_funding", sa.Text(), nullable=True),
        sa.Column("pcc_objective", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("cost_pence >= 0", name=op.f("ck_plan_line_cost_not_negative")),
        sa.CheckConstraint(
            "pcc_objective IS NULL OR pcc_objective BETWEEN 1 AND 5",
            name=op.f("ck_plan_line_pcc_objective_1_5"),
        ),
        sa.ForeignKeyConstraint(["line_id"], ["line.id"], name=op.f("fk_plan_line_line_id_line")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_line")),
        sa.UniqueConstraint("key", name=op.f("uq_plan_line_key")),
        sa.UniqueConstraint("line_id", "year", "title", name=op.f("uq_plan_line_line_id")),
    )


def downgrade() -> None:
    op.drop_table("plan_line")
    op.drop_table("plan_agreement")
    op.drop_table("return_stage")
