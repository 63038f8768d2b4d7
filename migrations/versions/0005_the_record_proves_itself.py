"""the record proves itself: every table of record guarded and sealed in a hash chain;
received workbooks, plan filings and the ledger's title kept; the journal's turnover bounded

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from grants.db import guards, seal

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_GUARDED = ("entry", "posting", "return_filing", "return_figure")
# The tables of record at this revision, sealed in this order.
SEALED = (
    "organisation", "stream", "line", "setting", "programme_version", "profile", "statement",
    "match_funding", "entry", "plan_line", "plan_agreement", "return_stage", "attachment",
    "return_filing", "plan_filing",
)  # fmt: skip
GUARDED = (*SEALED, "profile_amount", "posting", "return_figure", "account", "seal")


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
        sa.UniqueConstraint("sha256", name=op.f("uq_attachment_sha256")),
    )
    op.create_table(
        "plan_filing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("completed_by", sa.Text(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["line.id"], name=op.f("fk_plan_filing_line_id_line")),
        sa.ForeignKeyConstraint(
            ["stream_id"], ["stream.id"], name=op.f("fk_plan_filing_stream_id_stream")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_filing")),
        sa.UniqueConstraint("key", name=op.f("uq_plan_filing_key")),
    )
    op.create_table(
        "setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setting")),
    )
    op.create_table(
        "seal",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tbl", sa.String(length=40), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_seal")),
        sa.UniqueConstraint("tbl", "row_id", name=op.f("uq_seal_tbl")),
    )
    bind = op.get_bind()
    _remove_old_guards(bind)
    op.add_column("entry", sa.Column("turnover_pence", PENCE, nullable=False, server_default="0"))
    _fill_turnover(bind)
    op.drop_index("ix_posting_entry", table_name="posting")
    op.create_index("ix_posting_entry_id", "posting", ["entry_id", "id"], unique=False)
    guards.install(bind, GUARDED)
    # The records as they were at this revision (form 1), whatever the tables hold later.
    seal.seal_all(bind, SEALED, form=1)


def _fill_turnover(bind: sa.Connection) -> None:
    rows = bind.exec_driver_sql(
        "SELECT e.id, COALESCE(SUM(ABS(p.amount_pence)), 0) FROM entry e "
        "LEFT JOIN posting p ON p.entry_id = e.id GROUP BY e.id ORDER BY e.id"
    ).all()
    running, updates = 0, []
    for entry_id, turnover in rows:
        running += int(turnover)
        updates.append({"t": running, "id": entry_id})
    if updates:
        bind.execute(sa.text("UPDATE entry SET turnover_pence = :t WHERE id = :id"), updates)


def _remove_old_guards(bind: sa.Connection) -> None:
    for table in OLD_GUARDED:
        if bind.dialect.name == "sqlite":
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS grants_journal_append_only()")


def downgrade() -> None:
    """Back to 0004: the chain, the received workbooks, plan filings and the ledger's title
    are dropped (export the ledger first to keep them)."""
    bind = op.get_bind()
    guards.remove(bind, GUARDED)
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {guards.FUNCTION}()")
    op.drop_index("ix_posting_entry_id", table_name="posting")
    op.create_index("ix_posting_entry", "posting", ["entry_id"], unique=False)
    with op.batch_alter_table("entry") as batch:
        batch.drop_column("turnover_pence")
    op.drop_table("seal")
    op.drop_table("setting")
    op.drop_table("plan_filing")
    op.drop_table("attachment")
    _restore_old_guards(bind)


def _restore_old_guards(bind: sa.Connection) -> None:
    """The guards as revisions 0001 and 0004 made them: the journal and filed returns."""
    if bind.dialect.name == "sqlite":
        for table in OLD_GUARDED:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'the journal is append-only: "
                    f"{action} on {table} refused'); END"
                )
        return
    op.execute(
        """
        CREATE FUNCTION grants_journal_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    for table in OLD_GUARDED:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION grants_journal_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION grants_journal_append_only()"
        )
