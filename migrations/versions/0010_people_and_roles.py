"""people and roles: who may use the ledger (person), what they may do (person_event), their
passwords as Argon2id hashes (credential) and the audit log of logins and refusals
(audit_event), append-only and sealed in the hash chain like every table of record

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from grants.db import guards

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ["person", "person_event", "credential", "audit_event"]


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("key", name=op.f("uq_person_key")),
    )
    op.create_table(
        "person_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('grant', 'revoke', 'disable', 'enable', 'password')",
            name=op.f("ck_person_event_kind_known"),
        ),
        sa.CheckConstraint(
            "role IS NULL OR role IN ('officer', 'recipient', 'viewer', 'admin')",
            name=op.f("ck_person_event_role_known"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_person_event_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_person_event_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_event")),
    )
    op.create_index(op.f("ix_person_event_person_id"), "person_event", ["person_id"], unique=False)
    op.create_table(
        "credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_credential_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential")),
    )
    op.create_index(op.f("ix_credential_person_id"), "credential", ["person_id"], unique=False)
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('login', 'login_failed', 'refused')",
            name=op.f("ck_audit_event_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_audit_event_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    guards.install(op.get_bind(), TABLES)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM person")).first():
        raise RuntimeError(
            "the ledger holds people (person), which revision 0009 cannot hold: export the "
            "ledger first"
        )
    guards.remove(bind, TABLES)
    op.drop_table("audit_event")
    op.drop_index(op.f("ix_credential_person_id"), table_name="credential")
    op.drop_table("credential")
    op.drop_index(op.f("ix_person_event_person_id"), table_name="person_event")
    op.drop_table("person_event")
    op.drop_table("person")
