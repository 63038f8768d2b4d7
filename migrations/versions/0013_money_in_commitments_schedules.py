"""money in, commitments, schedules and carry-forwards: the council's claims to a funder and the cash it receives (entry
kinds `claim` and `receipt`), signed grant agreements committing a line's allocation (entry
kind `commit`), a line's underspend carried into the next year (entry kind `carry-forward`),
and what each claim and agreement says beyond its amount (claim: the days
its expenditure was incurred, the eligible expenditure and the evidence; commitment: the
agreement's reference, conditions and dates), and allocations' payment schedules
(instalment: basis, amount, due date, milestone), append-only and sealed in the hash chain like
every table of record

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from grants.db import guards

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KINDS_0012 = ("award", "allocate", "pay", "spent", "clawback", "virement", "reprofile")
KINDS_0013 = (*KINDS_0012, "claim", "receipt", "commit", "carry-forward")


def _kinds(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def _entry_kinds(kinds: tuple[str, ...]) -> None:
    bind = op.get_bind()
    # SQLite rebuilds the table to change a constraint: its guards come off meanwhile.
    guards.remove(bind, ["entry"])
    with op.batch_alter_table("entry") as batch:
        batch.drop_constraint(op.f("ck_entry_kind_known"), type_="check")
        batch.create_check_constraint(op.f("ck_entry_kind_known"), _kinds(kinds))
    guards.install(bind, ["entry"])


def upgrade() -> None:
    _entry_kinds(KINDS_0013)
    op.create_table(
        "claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("ends", sa.Date(), nullable=False),
        sa.Column("eligible_pence", PENCE, nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.CheckConstraint("eligible_pence >= 0", name=op.f("ck_claim_eligible_not_negative")),
        sa.CheckConstraint("starts <= ends", name=op.f("ck_claim_starts_before_ends")),
        sa.ForeignKeyConstraint(["entry_id"], ["entry.id"], name=op.f("fk_claim_entry_id_entry")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_claim_entry_id")),
    )
    op.create_table(
        "commitment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("agreement", sa.Text(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=True),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("ends", sa.Date(), nullable=False),
        sa.CheckConstraint("starts <= ends", name=op.f("ck_commitment_starts_before_ends")),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entry.id"], name=op.f("fk_commitment_entry_id_entry")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_commitment_entry_id")),
    )
    op.create_table(
        "instalment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("first_year", sa.Integer(), nullable=False),
        sa.Column("last_year", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=12), nullable=False),
        sa.Column("amount_pence", PENCE, nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("milestone", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_instalment_amount_positive")),
        sa.CheckConstraint(
            "basis IN ('in-advance', 'in-arrears', 'quarterly', 'milestone')",
            name=op.f("ck_instalment_basis_known"),
        ),
        sa.ForeignKeyConstraint(["line_id"], ["line.id"], name=op.f("fk_instalment_line_id_line")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instalment")),
        sa.UniqueConstraint("key", name=op.f("uq_instalment_key")),
    )
    guards.install(op.get_bind(), ["claim", "commitment", "instalment"])


def downgrade() -> None:
    bind = op.get_bind()
    kinds = "('claim', 'receipt', 'commit', 'carry-forward')"
    if bind.execute(sa.text(f"SELECT 1 FROM entry WHERE kind IN {kinds}")).first():
        raise RuntimeError(
            "the journal holds claims, receipts or commitments, which revision 0012 cannot "
            "hold: export the ledger first"
        )
    if bind.execute(sa.text("SELECT 1 FROM instalment")).first():
        raise RuntimeError(
            "the ledger holds payment schedules, which revision 0012 cannot hold: export the "
            "ledger first"
        )
    guards.remove(bind, ["claim", "commitment", "instalment"])
    op.drop_table("instalment")
    op.drop_table("commitment")
    op.drop_table("claim")
    _entry_kinds(KINDS_0012)
