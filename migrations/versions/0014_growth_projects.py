"""growth-fund projects: the output indicator catalogue (indicator), each project's quarterly
spend profile (spend_profile), its quarterly claims in arrears (project_claim), its output
targets (output_target) and the outputs it achieved (output_actual); sealed and guarded like
every table of record

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from grants.db import guards

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ["indicator", "spend_profile", "project_claim", "output_target", "output_actual"]


def _pence(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _provenance() -> list[sa.Column]:
    return [
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    ]


def _line(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["line_id"], ["line.id"], name=op.f(f"fk_{table}_line_id_line"))


def _quarter(table: str) -> sa.CheckConstraint:
    return sa.CheckConstraint("quarter BETWEEN 1 AND 4", name=op.f(f"ck_{table}_quarter_known"))


def upgrade() -> None:
    op.create_table(
        "indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("fund", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_provenance(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator")),
    )
    op.create_index("ix_indicator_code", "indicator", ["code"])
    op.create_table(
        "spend_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        _pence("amount_pence"),
        *_provenance(),
        _quarter("spend_profile"),
        sa.CheckConstraint("amount_pence >= 0", name=op.f("ck_spend_profile_amount_not_negative")),
        _line("spend_profile"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spend_profile")),
    )
    op.create_index("ix_spend_profile_line", "spend_profile", ["line_id", "year", "quarter"])
    op.create_table(
        "project_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        _pence("eligible_pence"),
        _pence("grant_pence"),
        _pence("match_pence"),
        sa.Column("match_form", sa.String(length=10), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        *_provenance(),
        _quarter("project_claim"),
        sa.CheckConstraint(
            "grant_pence <= eligible_pence", name=op.f("ck_project_claim_grant_within_eligible")
        ),
        sa.CheckConstraint("match_pence >= 0", name=op.f("ck_project_claim_match_not_negative")),
        sa.CheckConstraint(
            "match_form IS NULL OR match_form IN ('cash', 'in-kind')",
            name=op.f("ck_project_claim_form_known"),
        ),
        _line("project_claim"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_claim")),
        sa.UniqueConstraint("line_id", "year", "quarter", name=op.f("uq_project_claim_line_id")),
    )
    op.create_table(
        "output_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=40), nullable=False),
        _pence("value_x100"),
        *_provenance(),
        _line("output_target"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_output_target")),
    )
    op.create_index("ix_output_target_line", "output_target", ["line_id", "indicator"])
    op.create_table(
        "output_actual",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=40), nullable=False),
        _pence("value_x100"),
        *_provenance(),
        _quarter("output_actual"),
        _line("output_actual"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_output_actual")),
    )
    op.create_index("ix_output_actual_line", "output_actual", ["line_id", "indicator"])
    guards.install(op.get_bind(), TABLES)


def downgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        if bind.execute(sa.text(f"SELECT 1 FROM {table}")).first():
            raise RuntimeError(
                f"the ledger holds growth-project records ({table}), which revision 0013 "
                "cannot hold: export the ledger first"
            )
    guards.remove(bind, TABLES)
    for table in reversed(TABLES):
        for index in {
            "indicator": ["ix_indicator_code"],
            "spend_profile": ["ix_spend_profile_line"],
            "output_target": ["ix_output_target_line"],
            "output_actual": ["ix_output_actual_line"],
        }.get(table, []):
            op.drop_index(index, table_name=table)
        op.drop_table(table)
