"""`grants db`: the database schema, its guards, and backups."""

from __future__ import annotations

import os
from pathlib import Path

import click
from sqlalchemy import Connection, inspect

from grants.cli import terminal
from grants.cli.common import AppContext, GrantsGroup, pass_app
from grants.cli.evidence import differences
from grants.config import default_actor
from grants.db import guards, migrate, row_security
from grants.db import roles as roles_module
from grants.db.engine import make_session_factory
from grants.db.records import EVERY_GUARDED
from grants.errors import GrantsError
from grants.formatting import count
from grants.services import people
from grants.services.backup import backup_sqlite


@click.group(cls=GrantsGroup)
def db() -> None:
    """Create or upgrade the database schema; back it up."""


@db.command()
@click.option(
    "--for-restore",
    is_flag=True,
    help="Leave a new ledger with no people, to restore an export into it (the export "
    "brings its people).",
)
@pass_app
def upgrade(app: AppContext, for_restore: bool) -> None:
    """Build or upgrade the database schema to the latest version (Alembic migrations).

    Then checks that every guard (the triggers that make the tables of record append-only)
    is in place, and puts back any that is missing, disabled or altered, saying which (and
    so for the row-level security of `db roles --recipients`, where it is installed). A
    ledger with no people gets its first: you (your operating-system login), as its admin
    and officer.
    """
    app.connect()
    migrate.upgrade(app.engine)
    with app.engine.begin() as connection:
        restored = guards.restore(connection, EVERY_GUARDED)
        policies = row_security.restore(connection, _tables(connection))
    for policy in policies:
        terminal.echo(f"warning: {policy}: put back", err=True)
    if policies:
        terminal.echo(
            f"warning: {count(len(policies), 'part', 'parts')} of row-level security "
            "had been removed or changed, so recipients' logins could have read other "
            "organisations' rows: run `grants verify`",
            err=True,
        )
    for finding in restored:
        terminal.echo(f"warning: {finding}: put back", err=True)
    if restored:
        terminal.echo(
            f"warning: {count(len(restored), 'guard')} had been removed or changed, so the ledger "
            "could have been changed behind its back: run `grants verify`",
            err=True,
        )
    _warn_if_others_can_read(app)
    terminal.echo(f"database {app.shown_url} is up to date")
    if not for_restore:
        _first_person(app)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _first_person(app: AppContext) -> None:
    """Make the person setting up a ledger with none its first: ``--user`` (with the
    password from GRANTS_PASSWORD, or asked), else the operating-system user."""
    with make_session_factory(app.engine)() as session, session.begin():
        if people.count(session):
            return
        password = app.password() if app.user else None
        made = people.bootstrap(session, app.user or default_actor(os_only=True), password)
    if made is not None:
        how = "with the password given" if app.user else "as your operating-system login"
        terminal.echo(
            f"the ledger had no people: {made.login} (you) is its first, admin and officer, "
            f"signing in {how}; add others with `grants users add`"
        )


def _warn_if_others_can_read(app: AppContext) -> None:
    """A SQLite ledger made before new files were private keeps its permissions: say so."""
    database = app.engine.url.database
    if app.engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return
    try:
        mode = os.stat(database).st_mode & 0o777
    except OSError:
        return
    if mode & 0o077:
        terminal.echo(
            f"warning: {database} can be read or written by others (permissions "
            f"{mode:o}): make it private with `chmod 600 {database}`",
            err=True,
        )


@db.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@pass_app
def backup(app: AppContext, file: Path) -> None:
    """Copy a live SQLite ledger into FILE, whole and consistent, while others use it.

    Uses SQLite's online backup, so the copy is the ledger as it stood at one moment, even
    during a load. FILE must not exist; it is created readable by you only. The copy is
    then verified and its chain's head printed. (A PostgreSQL ledger is backed up with
    pg_dump: see the README.)
    """
    with app.reading() as session:
        result = backup_sqlite(session, file, differences)
    terminal.echo(
        f"backed up the ledger to {file}: {result.head.count:,} records, head {result.head}"
    )


@db.command()
@click.option(
    "--owner",
    default="grants_owner",
    show_default=True,
    metavar="ROLE",
    help="The role that owns the ledger's tables and runs `grants db upgrade`.",
)
@click.option(
    "--working",
    default="grants_app",
    show_default=True,
    metavar="ROLE",
    help="The role every other command connects as: it owns nothing.",
)
@click.option(
    "--recipients",
    metavar="ROLE",
    help="Also make ROLE, a group for recipients' own logins, with row-level security: "
    "a member sees and adds only its own organisations' rows.",
)
@click.option(
    "--recipient",
    "recipient_logins",
    multiple=True,
    metavar="LOGIN",
    help="Make a login role for the ledger's recipient LOGIN, in the --recipients group "
    "(repeat for more).",
)
@click.option(
    "--sql",
    "print_sql",
    is_flag=True,
    help="Print the SQL for a database administrator instead of running it.",
)
@pass_app
def roles(
    app: AppContext,
    owner: str,
    working: str,
    recipients: str | None,
    recipient_logins: tuple[str, ...],
    print_sql: bool,
) -> None:
    """Make the PostgreSQL roles the ledger should run as (run it as a superuser).

    The owner role owns the tables and runs migrations; the working role can read every
    table and add rows to the tables of record, and nothing more: no UPDATE, DELETE or
    TRUNCATE, no way to drop or disable the guards, no replication mode. Connect every
    command as the working role (its URL in GRANTS_DATABASE_URL), and give both roles a
    password or other authentication in PostgreSQL (see the README). Running it again
    brings the grants up to date after an upgrade.

    With --recipients ROLE, recipients may also connect as themselves: ROLE is a group
    that cannot log in, whose members see only their own organisations' lines, plans,
    returns and entries (row-level security), and --recipient LOGIN makes a login role for
    a recipient of the ledger, named after them, in that group.
    """
    if app.engine.dialect.name != "postgresql":
        raise GrantsError("roles are for a PostgreSQL ledger; a SQLite ledger is one file, "
                          "readable by its owner only")  # fmt: skip
    try:
        owner = roles_module.check_name(owner, "owner")
        working = roles_module.check_name(working, "working role")
        if recipients is not None:
            recipients = roles_module.check_name(recipients, "recipients' group")
    except ValueError as exc:
        raise GrantsError(str(exc)) from None
    if owner == working:
        raise GrantsError("the owner and the working role must be two different roles")
    if recipients in (owner, working):
        raise GrantsError("the recipients' group must be a role of its own, neither the owner "
                          "nor the working role")  # fmt: skip
    if recipient_logins and recipients is None:
        raise GrantsError("a recipient's login is made in the recipients' group: give "
                          "--recipients ROLE (grants_recipient, say) with --recipient")  # fmt: skip
    app.require_schema()
    with app.engine.begin() as connection:
        sql = roles_module.statements(connection, owner, working)
        if recipients is not None:
            logins = _recipient_logins(app, recipient_logins, {owner, working, recipients})
            try:
                sql += row_security.statements(connection, owner, recipients,
                                               _tables(connection))  # fmt: skip
                for login in logins:
                    sql += row_security.login_statements(connection, login, recipients)
            except ValueError as exc:
                raise GrantsError(str(exc)) from None
        if print_sql:
            for statement in sql:
                terminal.document(statement + ";\n")  # a statement may run over lines
            return
        for statement in sql:
            connection.exec_driver_sql(statement)
    terminal.echo(
        f"the ledger's tables belong to {owner}; {working} can read them and add records, "
        f"nothing more. Connect as {working} from now on (for example "
        f"GRANTS_DATABASE_URL=postgresql://{working}@HOST/DBNAME), and as {owner} only to "
        "run `grants db upgrade`"
    )
    if recipients is not None:
        terminal.echo(
            f"members of {recipients} see and add only their own organisations' rows"
            + (f"; made the login{'s' if len(logins) > 1 else ''} {', '.join(logins)}: give "
               f"{'each' if len(logins) > 1 else 'it'} a password in PostgreSQL "
               "(psql: \\password LOGIN)" if logins else "")
        )  # fmt: skip


def _recipient_logins(app: AppContext, logins: tuple[str, ...], taken: set[str]) -> list[str]:
    """Each LOGIN as its role's name: a recipient of the ledger (GrantsError if not)."""
    out = []
    with make_session_factory(app.engine, read_only=True)() as session, session.begin():
        for login in logins:
            name = people.database_login(session, login)
            if name in taken:
                raise GrantsError(f"{name} is the owner, working role or group: a recipient's "
                                  "login must be a role of its own")  # fmt: skip
            out.append(name)
    return out
