"""Signing in, as far as it needs no ORM: logins as the ledger compares them, a person's
standing roles folded from their ``person_event`` records, and (for a command that reads
through SQLAlchemy Core alone, `grants balance --summary`) the person of the
operating-system login read with plain SQL.

`grants.services.people` signs everyone in (passwords, PostgreSQL's own roles, refusals
written to the audit log) with the same logins and the same fold: `os_login_actor` answers
only the one case that needs none of that, and leaves every other to it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from grants.errors import GrantsError
from grants.services.access import Actor

MAX_LOGIN = 64

# On PostgreSQL, whether the connection is a ledger person's own login: the role it
# authenticated as (``session_user``), neither a superuser nor the owner of the ledger's
# tables (who act as the person they sign in as). One row, (session_user, acts as someone
# else), when the ledger has a person table in the current schema.
#
# ``session_user``, not ``current_user``: row-level security (grants.db.row_security) knows
# the connection by the login it authenticated as, which ``SET ROLE`` (or ``-c role=`` in
# the connection's options) does not change, and the ledger must know it by the same one. A
# recipient whose role is set to the recipients' group is still that recipient, refused and
# audited as them, not left to the operating-system login; and a login set to the owner's
# role (or a superuser's) is still its own person, since whether someone "acts as someone
# else" is asked of that same login. A superuser who sets their role to a person's login, to
# try what that person sees, is still the superuser's session and acts as the
# operating-system login's person, as without it (row security, knowing the session by the
# same login, shows them none of that person's rows: to see those, connect as the person).
DATABASE_ROLE = (
    "SELECT session_user, r.rolsuper OR pg_get_userbyid(c.relowner) = session_user "
    "FROM pg_roles r, pg_class c WHERE r.rolname = session_user AND c.relname = 'person' "
    "AND c.relnamespace = to_regnamespace(current_schema())::oid"
)


def login_text(login: str) -> str:
    """A login as given, NFC: 1 to 64 printable characters, no spaces; else GrantsError."""
    text = unicodedata.normalize("NFC", login.strip())
    if not 1 <= len(text) <= MAX_LOGIN or not text.isprintable() or " " in text:
        raise GrantsError(
            f"{login!r} is not a login: give 1 to {MAX_LOGIN} printable characters, no spaces"
        )
    return text


def login_key(login: str) -> str:
    """A login folded to one case: two logins that differ only in case are one person."""
    return unicodedata.normalize("NFC", login_text(login).casefold())


def shown_login(login: str) -> str:
    """A login as typed, for a message or the audit log: at most MAX_LOGIN characters."""
    return repr(login if len(login) <= MAX_LOGIN else login[:MAX_LOGIN] + "…")


@dataclass
class Roles:
    """What a person's records leave them: standing roles, a recipient's organisations (id
    to code), whether they are disabled and whether they have a password."""

    roles: set[str] = field(default_factory=set)
    organisations: dict[int, str] = field(default_factory=dict)
    disabled: bool = False
    has_password: bool = False


def named_codes(
    connection: Connection, events: Iterable[tuple[str, str | None, int | None]]
) -> dict[int, str]:
    """The code of each organisation a person's events (kind, role, organisation id) name,
    by id: what ``fold`` needs, not every organisation's (a national funder's ledger holds
    one a grant)."""
    ids = {organisation_id for _, _, organisation_id in events if organisation_id is not None}
    if not ids:
        return {}
    listed = ", ".join(str(int(i)) for i in sorted(ids))
    rows = connection.execute(text(f"SELECT id, code FROM organisation WHERE id IN ({listed})"))
    return {int(organisation_id): code for organisation_id, code in rows}


def fold(events: Iterable[tuple[str, str | None, int | None]], codes: Mapping[int, str]) -> Roles:
    """A person's standing from their events (kind, role, organisation id), in the order
    they were recorded; ``codes``: the code of each organisation they name, by id."""
    out = Roles()
    for kind, role, organisation_id in events:
        if kind == "grant" and role:
            out.roles.add(role)
            if organisation_id is not None:
                out.organisations[organisation_id] = codes[organisation_id]
        elif kind == "revoke" and role:
            if organisation_id is not None:
                out.organisations.pop(organisation_id, None)
                if role == "recipient" and out.organisations:
                    continue
            out.roles.discard(role)
            if role == "recipient":
                out.organisations.clear()
        elif kind in ("disable", "enable"):
            out.disabled = kind == "disable"
        elif kind == "password":
            out.has_password = True
    return out


def actor(
    person_id: int, login: str, roles: Iterable[str], organisations: Mapping[int, str]
) -> Actor:
    """The person as the services see them: their roles, and a recipient's organisations."""
    return Actor(person_id, login, frozenset(roles), frozenset(organisations),
                 frozenset(organisations.values()))  # fmt: skip


_EVENTS = "SELECT kind, role, organisation_id FROM person_event WHERE person_id = :id ORDER BY id"


def os_login_actor(connection: Connection, login: str) -> Actor | None:
    """The person of the operating-system login ``login``, as `people.actor_for` signs them
    in without a password, when that is all signing in takes: they exist and are not
    disabled, and (on PostgreSQL) the login the connection authenticated as (whatever role
    it has set since) is not a person's own role. None in every other case, which the caller
    leaves to `people` (it says why, and audits a failure)."""
    if connection.dialect.name == "postgresql":
        row = connection.exec_driver_sql(DATABASE_ROLE).first()
        if row is not None and not row[1]:
            return None  # perhaps a person's own role: PostgreSQL signed them in
    try:
        key = login_key(login)
    except GrantsError:
        return None
    person = connection.execute(
        text("SELECT id, login FROM person WHERE key = :key"), {"key": key}
    ).first()
    if person is None:
        return None
    events = connection.execute(text(_EVENTS), {"id": person[0]}).all()
    roles = fold(events, named_codes(connection, events))
    if roles.disabled:
        return None
    return actor(person[0], person[1], roles.roles, roles.organisations)


__all__ = [
    "DATABASE_ROLE",
    "MAX_LOGIN",
    "Roles",
    "actor",
    "fold",
    "login_key",
    "login_text",
    "named_codes",
    "os_login_actor",
    "shown_login",
]
