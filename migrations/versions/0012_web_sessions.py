"""web sessions the server can end, and a sign-in rate limit every server process shares:
web_session (the SHA-256 of each session's random id, whose it is, when it started, was
last used, and when and why it ended) and sign_in_failure (failed web sign-ins by login
and client address, kept for the limit's window). Neither is a table of record: their rows
change, so they are not guarded nor sealed, and no export carries them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ended_why", sa.String(length=12), nullable=True),
        sa.CheckConstraint(
            "ended_why IS NULL OR ended_why IN "
            "('signed_out', 'idle', 'expired', 'disabled', 'password', 'ended')",
            name=op.f("ck_web_session_ended_why_known"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_web_session_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
        sa.UniqueConstraint("digest", name=op.f("uq_web_session_digest")),
    )
    op.create_index(op.f("ix_web_session_person_id"), "web_session", ["person_id"], unique=False)
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=110), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failure")),
    )
    op.create_index(op.f("ix_sign_in_failure_login"), "sign_in_failure", ["login"], unique=False)
    op.create_index(op.f("ix_sign_in_failure_client"), "sign_in_failure", ["client"], unique=False)
    op.create_index(op.f("ix_sign_in_failure_at"), "sign_in_failure", ["at"], unique=False)


def downgrade() -> None:
    # Sessions and failed sign-ins are no record: going back signs everyone out.
    op.drop_index(op.f("ix_sign_in_failure_at"), table_name="sign_in_failure")
    op.drop_index(op.f("ix_sign_in_failure_client"), table_name="sign_in_failure")
    op.drop_index(op.f("ix_sign_in_failure_login"), table_name="sign_in_failure")
    op.drop_table("sign_in_failure")
    op.drop_index(op.f("ix_web_session_person_id"), table_name="web_session")
    op.drop_table("web_session")
