"""an index of the accounts by their line, ix_account_line: a load into a ledger of many lines
(a national funder's, two accounts a grant) reads the accounts of the lines its new entries
post to, not every account; and a command's rule checks find a line's accounts without
reading the whole table.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_account_line", "account", ["line_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_account_line", table_name="account")
