"""`grants users`: the ledger's people, their roles and passwords, and the audit log."""

from __future__ import annotations

import os
import sys

import click

from grants import formatting
from grants.cli import terminal
from grants.cli.common import AppContext, GrantsGroup, emit_json, pass_app
from grants.db.models import ROLES
from grants.errors import ConfigError
from grants.services import people
from grants.services import sessions as web_sessions

ROLE = click.Choice(ROLES, case_sensitive=False)


@click.group(cls=GrantsGroup)
def users() -> None:
    """The ledger's people and their roles (admins), and the audit log."""


def _password(ask: bool) -> str | None:
    """A password typed twice at a terminal (``ask``), or GRANTS_NEW_PASSWORD; else None
    (the ledger makes one)."""
    given = os.environ.get("GRANTS_NEW_PASSWORD")
    if given:
        return given
    if not ask:
        return None
    if not sys.stdin.isatty():
        raise ConfigError("--ask needs a terminal; give the password in GRANTS_NEW_PASSWORD")
    typed: str = click.prompt("New password", hide_input=True, confirmation_prompt=True,
                              err=True)  # fmt: skip
    return typed


def _given(login: str, password: str, made: bool) -> None:
    if made:
        terminal.echo(f"{login}'s password (shown once; give it to them and ask them to keep "
                      f"it safe): {password}")  # fmt: skip
    else:
        terminal.echo(f"{login}'s password is set")


@users.command()
@click.argument("login")
@click.option("--role", "roles", type=ROLE, multiple=True, required=True,
              help="A role (officer, recipient, viewer, admin); repeat for more.")  # fmt: skip
@click.option("--org", "orgs", metavar="CODE", multiple=True,
              help="The organisation a recipient acts for; repeat for more.")  # fmt: skip
@click.option("--name", help="Their name as people know it.")
@click.option("--ask", is_flag=True, help="Type their password rather than have one made.")
@pass_app
def add(app: AppContext, login: str, roles: tuple[str, ...], orgs: tuple[str, ...],
        name: str | None, ask: bool) -> None:  # fmt: skip
    """Add a person who signs in as LOGIN, with their roles; prints their password once."""
    chosen = _password(ask)
    with app.session() as session:
        password = people.add(session, login, [r.lower() for r in roles], name=name,
                              organisations=list(orgs), password=chosen)  # fmt: skip
    terminal.echo(f"added {login} ({', '.join(sorted({r.lower() for r in roles}))})")
    _given(login, password, chosen is None)


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the people as JSON.")
@pass_app
def list_people(app: AppContext, as_json: bool) -> None:
    """Everyone who may sign in, their roles and organisations, and who is disabled."""
    with app.reading() as session:
        rows = [
            {
                "login": s.person.login,
                "name": s.person.name,
                "roles": sorted(s.roles),
                "organisations": sorted(s.organisations.values()),
                "disabled": s.disabled,
                "password": s.has_password,
                "since": s.person.day.isoformat(),
            }
            for s in people.people(session)
        ]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        orgs = f" for {', '.join(r['organisations'])}" if r["organisations"] else ""
        state = " (disabled)" if r["disabled"] else ""
        terminal.echo(f"{r['login']}: {', '.join(r['roles']) or 'no role'}{orgs}{state}"
                      + (f" ({r['name']})" if r["name"] else ""))  # fmt: skip


@users.command()
@click.argument("login")
@pass_app
def disable(app: AppContext, login: str) -> None:
    """Stop LOGIN signing in (their records stay theirs)."""
    with app.session() as session:
        people.set_enabled(session, login, False)
    terminal.echo(f"{login} is disabled")


@users.command()
@click.argument("login")
@pass_app
def enable(app: AppContext, login: str) -> None:
    """Let a disabled LOGIN sign in again."""
    with app.session() as session:
        people.set_enabled(session, login, True)
    terminal.echo(f"{login} is enabled")


@users.command("reset-password")
@click.argument("login")
@click.option("--ask", is_flag=True, help="Type the password rather than have one made.")
@pass_app
def reset_password(app: AppContext, login: str, ask: bool) -> None:
    """Give LOGIN a new password (printed once); the old one no longer works."""
    chosen = _password(ask)
    with app.session() as session:
        password = people.reset_password(session, login, chosen)
    _given(login, password, chosen is None)


@users.command()
@click.argument("login")
@click.option("--role", type=ROLE, required=True, help="The role to give.")
@click.option("--org", metavar="CODE", help="The organisation (for a recipient).")
@pass_app
def grant(app: AppContext, login: str, role: str, org: str | None) -> None:
    """Give LOGIN a role (a recipient's for an organisation)."""
    with app.session() as session:
        people.grant(session, login, role.lower(), org)
    terminal.echo(f"{login} is now {role.lower()}" + (f" for {org.upper()}" if org else ""))


@users.command()
@click.argument("login")
@click.option("--role", type=ROLE, required=True, help="The role to take away.")
@click.option("--org", metavar="CODE", help="Only for this organisation (a recipient's).")
@pass_app
def revoke(app: AppContext, login: str, role: str, org: str | None) -> None:
    """Take a role from LOGIN (a recipient's for one organisation, or for all)."""
    with app.session() as session:
        people.revoke(session, login, role.lower(), org)
    terminal.echo(f"{login} is no longer {role.lower()}" + (f" for {org.upper()}" if org else ""))


@users.command()
@click.option("--last", type=click.IntRange(1), help="Only the last N records.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@pass_app
def audit(app: AppContext, last: int | None, as_json: bool) -> None:
    """The audit log: sign-ins, failed sign-ins, refusals and imports accepted, oldest first
    (admins and officers)."""
    with app.reading() as session:
        rows = [
            {
                "at": e.recorded_at.isoformat(sep=" "),
                "login": e.login,
                "kind": e.kind,
                "action": e.action,
                "detail": e.detail,
            }
            for e in people.audit_log(session, last)
        ]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        terminal.echo(f"{r['at']} {r['login']} {r['kind']} {r['action']}"
                      + (f": {r['detail']}" if r["detail"] else ""))  # fmt: skip


@users.command()
@click.option("--end", "end", metavar="LOGIN", help="End every web session of LOGIN.")
@click.option("--json", "as_json", is_flag=True, help="Print the sessions as JSON.")
@pass_app
def sessions(app: AppContext, end: str | None, as_json: bool) -> None:
    """Who is signed in to the web service (officers and admins); --end LOGIN signs them
    out everywhere at once."""
    if end is not None:
        with app.session() as session:
            ended = people.end_sessions(session, end)
        terminal.echo(f"ended {formatting.count(ended, 'web session')} of {end}")
        return
    with app.reading() as session:
        rows = [
            {"login": s.login, "started": s.started.isoformat(sep=" ", timespec="seconds"),
             "seen": s.seen.isoformat(sep=" ", timespec="seconds")}
            for s in web_sessions.live(session)
        ]  # fmt: skip
    if as_json:
        emit_json(rows)
        return
    if not rows:
        terminal.echo("no one is signed in to the web service")
    for r in rows:
        terminal.echo(f"{r['login']}: signed in {r['started']}, last seen {r['seen']}")


__all__ = ["users"]
