"""a capital programme of any council: a profile's later years without an invented year
(profile_amount.year may be NULL), and the names and headings a stream's books give
(stream_text), sealed and guarded like every table of record

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from grants.db import guards

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "stream_text",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('tranche', 'heading')", name=op.f("ck_stream_text_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"], ["stream.id"], name=op.f("fk_stream_text_stream_id_stream")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stream_text")),
    )
    op.create_index("ix_stream_text_stream", "stream_text", ["stream_id", "kind", "code"])
    # SQLite rebuilds the table to change a column: its guards go with the old table and are
    # put back on the new one.
    guards.remove(bind, ["profile_amount"])
    with op.batch_alter_table("profile_amount") as batch:
        batch.alter_column("year", existing_type=sa.Integer(), nullable=True)
    guards.install(bind, ["profile_amount", "stream_text"])


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM profile_amount WHERE year IS NULL")).first():
        raise RuntimeError(
            "the ledger holds later-years amounts (profile_amount.year NULL), which revision "
            "0005 cannot hold: export the ledger first"
        )
    if bind.execute(sa.text("SELECT 1 FROM stream_text")).first():
        raise RuntimeError(
            "the ledger holds tranche names or headings (stream_text), which revision 0005 "
            "cannot hold: export the ledger first"
        )
    guards.remove(bind, ["profile_amount", "stream_text"])
    with op.batch_alter_table("profile_amount") as batch:
        batch.alter_column("year", existing_type=sa.Integer(), nullable=False)
    guards.install(bind, ["profile_amount"])
    op.drop_index("ix_stream_text_stream", table_name="stream_text")
    op.drop_table("stream_text")
