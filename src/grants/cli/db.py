"""`grants db`: the database schema, its guards, and backups."""

from __future__ import annotations

import click

from grants.cli.common import AppContext, GrantsGroup, pass_app
from grants.db import guards, migrate
from grants.db.records import GUARDED


@click.group(cls=GrantsGroup)
def db() -> None:
    """Create or upgrade the database schema; back it up."""


@db.command()
@pass_app
def upgrade(app: AppContext) -> None:
    """Build or upgrade the database schema to the latest version (Alembic migrations).

    Then checks that every guard (the triggers that make the tables of record append-only)
    is in place, and puts back any that is missing, disabled or altered, saying which.
    """
    migrate.upgrade(app.engine)
    with app.engine.begin() as connection:
        restored = guards.restore(connection, GUARDED)
    for finding in restored:
        click.echo(f"warning: {finding}: put back", err=True)
    if restored:
        click.echo(
            f"warning: {len(restored)} guard(s) had been removed or changed, so the ledger "
            "could have been changed behind its back: run `grants verify`",
            err=True,
        )
    click.echo(f"database {app.shown_url} is up to date")
