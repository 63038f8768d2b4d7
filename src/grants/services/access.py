"""Who is acting, and what each role may do: the one table of permissions.

Every service the command line (or any other face) calls checks the acting person here,
with `require`, before it reads or records anything. The acting person travels with the
session (`bind`): a face authenticates someone once, opens its sessions for them, and every
service called in those sessions checks the same person. A session bound to no one may do
nothing (`require` refuses it).

A refusal raises `Refused` with a message that says who the person is, what their role
allows and whom to ask, and is written to the audit log in a transaction of its own, so that
it is kept although the work it refused is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from grants.errors import Refused

if TYPE_CHECKING:  # the ORM is not imported to say who may do what (grants.services.sign_in)
    from sqlalchemy.orm import Session

# What each role may do. A permission names a kind of work, not a command: the command line
# and the web service ask for the same ones.
PERMISSIONS: dict[str, frozenset[str]] = {
    "officer": frozenset(
        {"record", "load", "issue", "import", "report", "read", "verify", "audit", "export"}
    ),
    # Only for lines whose recipient is one of the person's organisations.
    "recipient": frozenset({"read", "import"}),
    "viewer": frozenset({"report", "read", "verify"}),
    "admin": frozenset({"users", "audit", "read", "verify", "export"}),
}

# What each permission is, as a refusal says it.
WORK = {
    "record": "record payments, awards and other entries",
    "load": "load books into the ledger",
    "issue": "issue spending plan and return forms",
    "import": "import returns and spending plans",
    "report": "run reports and reconciliation",
    "read": "read balances and listings",
    "verify": "verify the ledger's record",
    "users": "add or change people",
    "audit": "read the audit log",
    "export": "export the whole ledger",
}

# What each role may do, as a refusal says it.
ALLOWS = {
    "officer": "record and correct, issue forms, import returns and run reports",
    "recipient": "see and file returns and plans for their own organisation's lines",
    "viewer": "read reports, balances and reconciliation",
    "admin": "add and change people",
}

WHO_TO_ASK = {
    "record": "an officer",
    "load": "an officer",
    "issue": "an officer",
    "import": "an officer",
    "report": "an officer",
    "read": "an officer",
    "verify": "an officer",
    "users": "an admin",
    "audit": "an admin",
    "export": "an officer",
}


@dataclass(frozen=True)
class Actor:
    """A person acting on the ledger: their id, login, standing roles and (as a recipient)
    the ids and codes of their organisations."""

    person_id: int
    login: str
    roles: frozenset[str]
    organisations: frozenset[int] = field(default_factory=frozenset)
    organisation_codes: frozenset[str] = field(default_factory=frozenset)

    def may(self, permission: str) -> bool:
        return any(permission in PERMISSIONS[role] for role in self.roles)

    @property
    def sees_everything(self) -> bool:
        """Whether the person sees every line (anyone but a recipient and nothing more)."""
        return bool(self.roles - {"recipient"})

    def sees_organisation(self, organisation_id: int | None) -> bool:
        return self.sees_everything or organisation_id in self.organisations


# Writes an audit record in its own transaction: set by the face that opens sessions
# (grants.cli.common), since a service's own session is rolled back with the refused work.
Auditor = Callable[["Actor | None", str, str, str | None], None]
_KEY = "grants_actor"
AUDITOR = _AUDIT = "grants_auditor"


def bind(session: Session, actor: Actor, auditor: Auditor | None = None) -> None:
    """Make ``actor`` the person acting in ``session`` (and ``auditor`` how refusals are
    recorded)."""
    session.info[_KEY] = actor
    if auditor is not None:
        session.info[_AUDIT] = auditor


def actor_of(session: Session) -> Actor | None:
    return session.info.get(_KEY)  # type: ignore[no-any-return]


def describe(actor: Actor) -> str:
    roles = sorted(actor.roles)
    if not roles:
        return f"{actor.login} has no role"
    articles = [("an " if r[0] in "aeiou" else "a ") + r for r in roles]
    text = articles[0] if len(articles) == 1 else ", ".join(articles[:-1]) + " and " + articles[-1]
    return f"{actor.login} is {text}"


def refusal(actor: Actor | None, permission: str, organisation: str | None = None) -> str:
    if actor is None:
        return (
            f"nobody is signed in, and only a person of the ledger may {WORK[permission]}: "
            "sign in with --user LOGIN"
        )
    if organisation is not None and actor.may(permission):
        return (
            f"{describe(actor)} for {', '.join(sorted(actor.organisation_codes)) or 'no one'}: "
            f"not for {organisation}, whose lines are not theirs; ask an officer, or "
            f"{organisation}'s own recipient"
        )
    if not actor.roles:
        return (
            f"{actor.login} has no role, so may not {WORK[permission]}: ask an admin to "
            "give them one (`grants users grant`)"
        )
    allowed = "; ".join(f"{r}s may {ALLOWS[r]}" for r in sorted(actor.roles))
    return (
        f"{describe(actor)}"
        + (f": {allowed}" if allowed else "")
        + f" but not {WORK[permission]}; ask {WHO_TO_ASK[permission]}"
    )


def require(
    session: Session,
    permission: str,
    organisation_id: int | None = None,
    organisation: str | None = None,
    about: str | None = None,
) -> Actor:
    """The acting person, if they may do ``permission`` (for the lines of the organisation
    ``organisation_id``, named ``organisation``, when given); else `Refused`, audited (with
    ``about``, what was refused: a file received, say, before the message)."""
    actor = actor_of(session)
    allowed = actor is not None and actor.may(permission)
    named = None
    if allowed and organisation_id is not None and actor is not None:
        if not actor.sees_organisation(organisation_id) and not _allowed_elsewhere(
            actor, permission
        ):
            allowed = False
            named = organisation or f"organisation {organisation_id}"
    if allowed and actor is not None:
        return actor
    message = refusal(actor, permission, named)
    auditor = session.info.get(_AUDIT)
    if auditor is not None:
        auditor(actor, "refused", permission, f"{about}: {message}" if about else message)
    raise Refused(message)


def note_refusal(session: Session, permission: str, detail: str) -> None:
    """Write to the audit log (once the transaction has ended) that work the acting person
    asked for was refused for what they sent rather than who they are: a form not issued by
    this ledger, or with its display cells changed."""
    auditor = session.info.get(_AUDIT)
    if auditor is not None:
        auditor(actor_of(session), "refused", permission, detail)


@cache
def _line_recipient() -> Any:
    """A line's recipient and its code, built once (a command that imports many returns
    asks it of each); the ORM's models are imported when it is first asked."""
    from grants.db.models import Line, Organisation

    return (
        select(Line.recipient_id, Organisation.code)
        .outerjoin(Organisation, Organisation.id == Line.recipient_id)
        .where(Line.id == bindparam("line_id"))
    )


def require_line(
    session: Session, permission: str, line_id: int, about: str | None = None
) -> Actor:
    """`require` for the line ``line_id``: a recipient only for its own organisations'
    lines (a refusal names the organisation whose line it is; ``about`` as for `require`)."""
    found = session.execute(_line_recipient(), {"line_id": line_id}).first()
    recipient_id, code = found if found is not None else (None, None)
    return require(session, permission, recipient_id if recipient_id else -1,
                   code or "an organisation", about)  # fmt: skip


def visible_lines(session: Session) -> set[int] | None:
    """The ids of the lines the acting person sees (their organisations' lines, and the
    lines beneath those); None for every line."""
    from grants.db.models import Line

    orgs = organisations(session)
    if orgs is None:
        return None
    rows = session.execute(select(Line.id, Line.parent_id, Line.recipient_id)).all()
    seen = {i for i, _, r in rows if r in orgs}
    grew = True
    while grew:
        more = {i for i, parent, _ in rows if parent in seen and i not in seen}
        seen |= more
        grew = bool(more)
    return seen


def _allowed_elsewhere(actor: Actor, permission: str) -> bool:
    """Whether a role other than recipient gives the permission for every line."""
    return any(permission in PERMISSIONS[r] for r in actor.roles if r != "recipient")


def organisations(session: Session) -> frozenset[int] | None:
    """The organisations whose lines the acting person sees: None for every line."""
    actor = actor_of(session)
    if actor is None or actor.sees_everything:
        return None
    return actor.organisations


__all__ = [
    "ALLOWS",
    "PERMISSIONS",
    "Actor",
    "Auditor",
    "actor_of",
    "bind",
    "describe",
    "note_refusal",
    "organisations",
    "refusal",
    "require",
    "require_line",
    "visible_lines",
]
