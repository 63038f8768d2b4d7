"""`grants db`: the database schema."""

from __future__ import annotations

import click

from grants.cli.common import AppContext, GrantsGroup, pass_app
from grants.db import migrate


@click.group(cls=GrantsGroup)
def db() -> None:
    """Create or upgrade the database schema."""


@db.command()
@pass_app
def upgrade(app: AppContext) -> None:
    """Build or upgrade the database schema to the latest version (Alembic migrations)."""
    migrate.upgrade(app.engine)
    click.echo(f"database {app.shown_url} is up to date")
