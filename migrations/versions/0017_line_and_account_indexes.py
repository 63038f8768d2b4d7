"""an index of the accounts by their line, ix_account_line, and of the lines by their parent,
ix_line_parent: a load into a ledger of many lines (a national funder's, a line and two
accounts a grant) reads the accounts of the lines its new entries post to, not every
account, and an officer's command reads the lines of the branches it posts to and their
accounts, not every line and account.

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
    op.create_index("ix_line_parent", "line", ["parent_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_line_parent", table_name="line")
    op.drop_index("ix_account_line", table_name="account")
