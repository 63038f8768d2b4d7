"""`grants`: the command-line entry point."""

from __future__ import annotations

import os

import click

from grants.cli import commitments, growth, money_in, query, schedules, write
from grants.cli import db as db_cli
from grants.cli import export as export_cli
from grants.cli import ledger as ledger_cli
from grants.cli.chain import chain
from grants.cli.common import AppContext, GrantsGroup
from grants.cli.plans import plan
from grants.cli.programme import programme
from grants.cli.reconcile import reconcile_command
from grants.cli.report import report
from grants.cli.returns import returns
from grants.cli.serve import serve
from grants.cli.users import users
from grants.cli.verify import verify_command
from grants.config import default_actor
from grants.errors import TextError
from grants.text import clean


@click.group("grants", cls=GrantsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database",
    metavar="URL",
    help="Database URL (default: GRANTS_DATABASE_URL, else sqlite:///grants.db). "
    "PostgreSQL: postgresql://user@host/dbname.",
)
@click.option(
    "--user",
    metavar="LOGIN",
    envvar="GRANTS_USER",
    help="Sign in as this ledger person (default: GRANTS_USER, else the ledger person of "
    "your operating-system login); the password is asked, or read from GRANTS_PASSWORD.",
)
@click.option(
    "--actor",
    metavar="NAME",
    help="Who is recording: only the person signed in (kept for scripts that name them; "
    "default: GRANTS_ACTOR).",
)
# The version pip installed (pyproject.toml's), read from the package's metadata when asked.
@click.version_option(package_name="grants", prog_name="grants")
@click.pass_context
def cli(ctx: click.Context, database: str | None, user: str | None, actor: str | None) -> None:
    """A funding allocation and grant-monitoring ledger for UK local government.

    Start with `grants db upgrade`, then `grants ledger load ledger/oxfordshire/main.grants`
    and `grants balance`.
    """
    claimed = actor or os.environ.get("GRANTS_ACTOR") or None
    actor = claimed or default_actor()
    try:
        actor = clean(actor, "--actor")
    except TextError as exc:
        raise click.BadParameter(str(exc), param_hint="--actor") from None
    if not actor.strip() or len(actor) > 100 or not actor.isprintable():
        raise click.BadParameter(
            "give a name of 1 to 100 printable characters", param_hint="--actor"
        )
    ctx.obj = AppContext(database=database, claimed=claimed and actor, user=user)


cli.add_command(db_cli.db)
cli.add_command(ledger_cli.ledger)
cli.add_command(export_cli.export)
cli.add_command(report)
cli.add_command(plan)
cli.add_command(returns)
cli.add_command(reconcile_command)
cli.add_command(verify_command)
cli.add_command(users)
cli.add_command(serve)
cli.add_command(chain)
for command in (
    *query.COMMANDS,
    programme,
    *write.COMMANDS,
    *commitments.COMMANDS,
    *schedules.COMMANDS,
    *money_in.COMMANDS,
    *growth.COMMANDS,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="grants")
