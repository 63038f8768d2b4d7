"""forms that cannot be forged: the ledger's form key (form_key: the secret every issued
form's identity is a keyed MAC with, guarded append-only, never sealed or exported in the
books), every issued form as issued (form_issue: its MAC, identity and locked display cells,
a table of record sealed in the hash chain), and the audit log's `filed` records (an import
accepted: who, which form, the file's SHA-256)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import secrets
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from grants.db import guards

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ["form_key", "form_issue"]
KINDS_0010 = "kind IN ('login', 'login_failed', 'refused')"
KINDS_0011 = "kind IN ('login', 'login_failed', 'refused', 'filed')"


def upgrade() -> None:
    op.create_table(
        "form_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_key")),
    )
    op.create_table(
        "form_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.String(length=40), nullable=True),
        sa.Column("fingerprint", sa.String(length=12), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("display", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('return', 'plan')", name=op.f("ck_form_issue_kind_known")),
        sa.ForeignKeyConstraint(["line_id"], ["line.id"], name=op.f("fk_form_issue_line_id_line")),
        sa.ForeignKeyConstraint(
            ["stream_id"], ["stream.id"], name=op.f("fk_form_issue_stream_id_stream")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_issue")),
        sa.UniqueConstraint("mac", name=op.f("uq_form_issue_mac")),
    )
    bind = op.get_bind()
    # audit_event takes `filed`: its guard comes off while SQLite rebuilds the table.
    guards.remove(bind, ["audit_event"])
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_constraint(op.f("ck_audit_event_kind_known"), type_="check")
        batch.create_check_constraint(op.f("ck_audit_event_kind_known"), KINDS_0011)
    guards.install(bind, ["audit_event", *TABLES])
    bind.execute(
        sa.text("INSERT INTO form_key (secret, recorded_at) VALUES (:secret, :at)"),
        {"secret": secrets.token_hex(32), "at": datetime.now().replace(microsecond=0)},
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM form_issue")).first():
        raise RuntimeError(
            "the ledger holds issued forms (form_issue), which revision 0010 cannot hold: "
            "export the ledger first"
        )
    if bind.execute(sa.text("SELECT 1 FROM audit_event WHERE kind = 'filed'")).first():
        raise RuntimeError(
            "the audit log holds imports accepted (filed), which revision 0010 cannot hold: "
            "export the ledger first"
        )
    guards.remove(bind, ["audit_event", *TABLES])
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_constraint(op.f("ck_audit_event_kind_known"), type_="check")
        batch.create_check_constraint(op.f("ck_audit_event_kind_known"), KINDS_0010)
    guards.install(bind, ["audit_event"])
    op.drop_table("form_issue")
    op.drop_table("form_key")
