"""return filings and their figures, append-only like the journal

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


RETURN_TABLES = ("return_filing", "return_figure")


def upgrade() -> None:
    op.create_table(
        "return_filing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("fingerprint", sa.String(length=12), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("completed_by", sa.Text(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column(
            "stated_total_pence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "stated_total_pence IS NULL OR stated_total_pence >= 0",
            name=op.f("ck_return_filing_stated_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["line.id"], name=op.f("fk_return_filing_line_id_line")
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"], ["stream.id"], name=op.f("fk_return_filing_stream_id_stream")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["return_filing.id"],
            name=op.f("fk_return_filing_supersedes_id_return_filing"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_filing")),
        sa.UniqueConstraint("key", name=op.f("uq_return_filing_key")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_return_filing_supersedes_id")),
    )
    op.create_table(
        "return_figure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("cell", sa.String(length=20), nullable=False),
        sa.Column(
            "spend_pence", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("progress", sa.Text(), nullable=True),
        sa.Column("measure", sa.Text(), nullable=True),
        sa.Column("target", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("actual", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint(
            "spend_pence IS NULL OR spend_pence >= 0",
            name=op.f("ck_return_figure_spend_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["filing_id"],
            ["return_filing.id"],
            name=op.f("fk_return_figure_filing_id_return_filing"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_figure")),
        sa.UniqueConstraint("filing_id", "position", name=op.f("uq_return_figure_filing_id")),
    )
    _install_append_only_guards()


def downgrade() -> None:
    _remove_append_only_guards()
    op.drop_table("return_figure")
    op.drop_table("return_filing")


def _install_append_only_guards() -> None:
    """Filed returns are kept as filed: refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL);
    a correction is a new filing that supersedes the earlier one."""
    if op.get_bind().dialect.name == "sqlite":
        for table in RETURN_TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'filed returns are append-only: "
                    f"{action} on {table} refused; import a corrected return instead'); END"
                )
        return
    for table in RETURN_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION grants_journal_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION grants_journal_append_only()"
        )


def _remove_append_only_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in RETURN_TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
        return
    for table in RETURN_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
