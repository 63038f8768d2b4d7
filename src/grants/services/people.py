"""People: who may use the ledger, their roles, passwords and the audit log.

A person's standing roles and whether they are disabled are derived from their
``person_event`` records in order; their password is the latest ``credential`` (an Argon2id
hash made by argon2-cffi, never the password). All of it is append-only and sealed.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import ROLES, AuditEvent, Credential, Organisation, Person, PersonEvent
from grants.db.roles import NAME
from grants.errors import GrantsError, LoginFailed, NotFound
from grants.services import sign_in
from grants.services.access import Actor, require
from grants.services.sign_in import MAX_LOGIN, login_key, login_text, shown_login

# The web service's sessions (grants.services.sessions) are imported by the functions here
# that end or lift them: a command that only signs in and audits needs none of it.
if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD = 12
MAX_DETAIL = 2000  # what the audit log keeps of a message: however long the input was
# A sign-in with a password within this long of the person's last one written, with no
# failed sign-in under their login since, continues that one: it is not written again.
SIGN_IN_SESSION = timedelta(hours=1)


def now() -> datetime:
    return datetime.now().replace(microsecond=0)


# A login an admin gives a new person: ASCII letters and digits, and . _ - @ within, so that
# no login can look like another (a Cyrillic "с" in "cherwell", a ligature, a "|").
NEW_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._@-]{0,62}[A-Za-z0-9])?")
# What a failed sign-in with a password says, whatever failed (the audit log keeps which).
WRONG = "the login or password is wrong, or the person may not sign in: check them, or ask an admin"


@dataclass
class Standing:
    """A person as their records leave them."""

    person: Person
    roles: set[str] = field(default_factory=set)
    organisations: dict[int, str] = field(default_factory=dict)  # id -> code (recipient)
    disabled: bool = False
    has_password: bool = False

    def actor(self) -> Actor:
        return sign_in.actor(self.person.id, self.person.login, self.roles, self.organisations)


def standing(session: Session, person: Person) -> Standing:
    """The person as their records leave them (`grants.services.sign_in.fold`)."""
    events = session.execute(
        select(PersonEvent.kind, PersonEvent.role, PersonEvent.organisation_id)
        .where(PersonEvent.person_id == person.id)
        .order_by(PersonEvent.id)
    ).all()
    roles = sign_in.fold(events, sign_in.named_codes(session.connection(), events))
    return Standing(person, roles.roles, roles.organisations, roles.disabled, roles.has_password)


# An Argon2id hash, with argon2-cffi's parameters (those `hasher` gives every password set
# here), of a random password no one was given: checked in place of a person's where a login
# has no password to check (no such person, none set, or a stored hash that is not one), so
# that a wrong guess at a login that does not exist takes as long as one at a login that
# does, and the time a sign-in takes does not tell who has a login here.
_DECOY = "$argon2id$v=19$m=65536,t=3,p=4$4/At4aSk+P/Fftv0ut1doA$gm741xCRMZ9iaq3uX55kt2mI24go+DTO777OAs7evcY"  # noqa: E501


@cache
def _decoy() -> str:
    """``_DECOY``, or one made once with the hasher's own parameters if they are not its."""
    if hasher().check_needs_rehash(_DECOY):
        return hasher().hash(secrets.token_urlsafe(32))
    return _DECOY


def _check_nothing(password: str) -> None:
    """Spend on ``password`` as long as checking a person's password takes; no answer."""
    from argon2.exceptions import VerificationError

    try:
        hasher().verify(_decoy(), password)
    except VerificationError:
        pass


@dataclass(frozen=True)
class Claim:
    """What signing in as ``login`` with a password is checked against, as one transaction
    read it (`claim`); checked by `settle` once that transaction has ended, so that a wait
    for a place to check a password (the web's) holds no database connection."""

    login: str
    actor: Actor | None  # the person as their records leave them; None: no such person
    disabled: bool
    stored: str | None = field(repr=False)  # their newest password hash, if they have one
    credential: int | None = None  # that hash's row


def claim(session: Session, login: str) -> Claim:
    """What a sign-in as ``login`` with a password is to be checked against (`settle`)."""
    person = _found(session, login)
    if person is None:
        return Claim(login, None, False, None)
    state = standing(session, person)
    newest = session.execute(
        select(Credential.id, Credential.hash).where(Credential.person_id == person.id)
        .order_by(Credential.id.desc()).limit(1)
    ).first()  # fmt: skip
    if newest is None:
        return Claim(login, state.actor(), state.disabled, None)
    return Claim(login, state.actor(), state.disabled, newest.hash, newest.id)


def still(session: Session, found: Claim) -> Actor:
    """The person ``found`` claimed, as the ledger now stands, once their password has been
    checked (`settle`) outside the transaction that read it: LoginFailed if in the meantime
    their password was changed or they were disabled, so that a sign-in that waited to be
    checked cannot start a session with a password no longer theirs."""
    now_ = claim(session, found.login)
    if now_.actor is None or found.actor is None or now_.actor.person_id != found.actor.person_id:
        raise LoginFailed(WRONG, _no_person(found.login))
    if now_.credential != found.credential:
        raise LoginFailed(WRONG, f"the password for {now_.actor.login} was changed as it was "
                          "checked")  # fmt: skip
    if now_.disabled:
        raise LoginFailed(WRONG, f"{now_.actor.login} is disabled")
    return now_.actor


def settle(found: Claim, password: str) -> Actor:
    """The person ``found`` claims if ``password`` is theirs and they may sign in; else
    LoginFailed in the same words whatever the reason, after one Argon2id check whatever
    the reason (its detail, for the audit log, says which). Reads nothing."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    if found.actor is None:
        _check_nothing(password)
        raise LoginFailed(WRONG, _no_person(found.login))
    wrong = f"the password for {found.actor.login} is wrong"
    try:
        if found.stored is None:
            raise InvalidHashError
        hasher().verify(found.stored, password)
    except VerifyMismatchError:
        raise LoginFailed(WRONG, wrong) from None
    except (InvalidHashError, VerificationError):  # none set, or not a hash one can check:
        _check_nothing(password)  # no check made, so spend one
        raise LoginFailed(WRONG, wrong) from None
    if found.disabled:
        raise LoginFailed(WRONG, f"{found.actor.login} is disabled")
    return found.actor


def find(session: Session, login: str) -> Person | None:
    return session.scalars(select(Person).where(Person.key == login_key(login))).first()


def _found(session: Session, login: str) -> Person | None:
    """The person ``login``, or None if there is none or no one could have that login."""
    try:
        return find(session, login)
    except GrantsError:
        return None


def _no_person(login: str) -> str:
    return f"there is no person {shown_login(login)} in this ledger"


def _person(session: Session, login: str) -> Person:
    person = find(session, login)
    if person is None:
        raise NotFound(f"there is no person {login!r}: see `grants users list`")
    return person


def count(session: Session) -> int:
    return len(session.scalars(select(Person.id)).all())


def _organisation(session: Session, code: str) -> Organisation:
    org = session.scalars(select(Organisation).where(Organisation.code == code.upper())).first()
    if org is None:
        raise NotFound(f"there is no organisation {code!r}: give the code of an `org` of the books")
    return org


def _event(session: Session, person: Person, kind: str, by: str, **kw: object) -> None:
    session.add(PersonEvent(person_id=person.id, kind=kind, actor=by, recorded_at=now(), **kw))
    session.flush()


@cache
def hasher() -> PasswordHasher:
    """Argon2id with argon2-cffi's defaults (RFC 9106, low memory). Made when a password is
    set or checked: signing in as the operating-system login checks none."""
    from argon2 import PasswordHasher

    return PasswordHasher()


def new_password() -> str:
    """A password to give out once: 16 characters from a URL-safe alphabet (96 bits)."""
    return secrets.token_urlsafe(12)


def set_password(session: Session, person: Person, password: str, by: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise GrantsError(f"a password is at least {MIN_PASSWORD} characters")
    session.add(
        Credential(person_id=person.id, hash=hasher().hash(password), actor=by, recorded_at=now())
    )
    session.flush()
    _event(session, person, "password", by)
    # The old password's sessions end with it: whoever had it is signed out everywhere.
    from grants.services import sessions

    sessions.end_person(session, person.id, "password")


def create(
    session: Session,
    login: str,
    roles: list[str],
    by: str,
    *,
    name: str | None = None,
    organisations: list[str] = (),  # type: ignore[assignment]
    password: str | None = None,
    day: date | None = None,
) -> Person:
    """A new person with ``roles`` (a recipient's bound to ``organisations``); no check of
    who asks (`add` checks; `bootstrap` needs none)."""
    text = login_text(login)
    if find(session, text) is not None:
        raise GrantsError(f"there is already a person {text!r} (logins ignore case)")
    for role in roles:
        if role not in ROLES:
            raise GrantsError(f"{role!r} is not a role: give one of {', '.join(ROLES)}")
    if "recipient" in roles and not organisations:
        raise GrantsError("a recipient acts for an organisation: give --org CODE")
    if organisations and "recipient" not in roles:
        raise GrantsError("--org binds a recipient to an organisation: give --role recipient")
    orgs = [_organisation(session, code) for code in organisations]
    stamp = now()
    person = Person(key=login_key(text), login=text, name=name, day=day or stamp.date(),
                    recorded_at=stamp, actor=by)  # fmt: skip
    session.add(person)
    session.flush()
    for role in roles:
        if role == "recipient":
            for org in orgs:
                _event(session, person, "grant", by, role=role, organisation_id=org.id)
        else:
            _event(session, person, "grant", by, role=role)
    if password is not None:
        set_password(session, person, password, by)
    return person


def add(
    session: Session,
    login: str,
    roles: list[str],
    *,
    name: str | None = None,
    organisations: list[str] = (),  # type: ignore[assignment]
    password: str | None = None,
) -> str:
    """Add a person (admins only); returns their password (``password`` or a new one)."""
    actor = require(session, "users")
    if not NEW_LOGIN.fullmatch(login.strip()):
        raise GrantsError(
            f"{shown_login(login)} is not a login for a new person: give 1 to {MAX_LOGIN} "
            "letters (a to z) and digits, with . _ - or @ between them"
        )
    password = password or new_password()
    create(session, login, roles, actor.login, name=name, organisations=organisations,
           password=password)  # fmt: skip
    return password


def people(session: Session) -> list[Standing]:
    require(session, "users")
    return [standing(session, p) for p in session.scalars(select(Person).order_by(Person.id))]


def set_enabled(session: Session, login: str, enabled: bool) -> None:
    actor = require(session, "users")
    person = _person(session, login)
    state = standing(session, person)
    if state.disabled != enabled:
        raise GrantsError(f"{person.login} is already {'enabled' if enabled else 'disabled'}")
    if not enabled and person.id == actor.person_id:
        raise GrantsError("you cannot disable yourself: ask another admin")
    _event(session, person, "enable" if enabled else "disable", actor.login)
    if not enabled:
        from grants.services import sessions

        sessions.end_person(session, person.id, "disabled")


def end_sessions(session: Session, login: str) -> int:
    """End every web session of ``login`` (officers and admins); how many were live."""
    require(session, "audit", about=f"end the web sessions of {login}")
    from grants.services import sessions

    return sessions.end_person(session, _person(session, login).id, "ended")


def reset_password(session: Session, login: str, password: str | None = None) -> str:
    actor = require(session, "users")
    password = password or new_password()
    person = _person(session, login)
    set_password(session, person, password, actor.login)
    # Whoever guessed at the old password no longer keeps the owner out with the new one.
    from grants.services import sessions

    sessions.lift(session, person.login)
    return password


def grant(session: Session, login: str, role: str, organisation: str | None = None) -> None:
    actor = require(session, "users")
    person = _person(session, login)
    if role not in ROLES:
        raise GrantsError(f"{role!r} is not a role: give one of {', '.join(ROLES)}")
    if (role == "recipient") != (organisation is not None):
        raise GrantsError("a recipient's role is for an organisation: give --org CODE with "
                          "--role recipient, and only then")  # fmt: skip
    org_id = _organisation(session, organisation).id if organisation else None
    state = standing(session, person)
    if role in state.roles and (org_id is None or org_id in state.organisations):
        raise GrantsError(f"{person.login} is already {role}"
                          + (f" for {organisation.upper()}" if organisation else ""))  # fmt: skip
    _event(session, person, "grant", actor.login, role=role, organisation_id=org_id)


def revoke(session: Session, login: str, role: str, organisation: str | None = None) -> None:
    actor = require(session, "users")
    person = _person(session, login)
    state = standing(session, person)
    org_id = _organisation(session, organisation).id if organisation else None
    if role not in state.roles or (org_id is not None and org_id not in state.organisations):
        raise GrantsError(f"{person.login} is not {role}"
                          + (f" for {organisation.upper()}" if organisation else ""))  # fmt: skip
    if role == "admin" and person.id == actor.person_id:
        raise GrantsError("you cannot take your own admin role: ask another admin")
    _event(session, person, "revoke", actor.login, role=role, organisation_id=org_id)


def actor_for(session: Session, login: str, password: str | None) -> Actor:
    """The person ``login`` as an Actor: their password checked with Argon2 when
    ``password`` is given (None: the operating system vouches for them). LoginFailed if
    there is no such person, the password is wrong, or they are disabled."""
    if password is not None:
        return settle(claim(session, login), password)
    person = _found(session, login)
    if person is None:
        raise LoginFailed(f"{_no_person(login)}: ask an admin to add you (`grants users add`), "
                          "or sign in with --user LOGIN")  # fmt: skip
    state = standing(session, person)
    if state.disabled:
        disabled = f"{person.login} is disabled"
        raise LoginFailed(f"{disabled}: ask an admin", disabled)
    return state.actor()


def database_person(session: Session) -> Person | None:
    """On PostgreSQL, the ledger person the connection is, when PostgreSQL signed them in as
    themselves: the login it authenticated as (``session_user``, which ``SET ROLE`` does
    not change, as row-level security knows it) is the login of a person, and is neither a
    superuser nor the owner of the ledger's tables (who act as the person they sign in as).
    None otherwise, and always on SQLite."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    row = connection.exec_driver_sql(sign_in.DATABASE_ROLE).first()
    if row is None or row[1]:
        return None
    return _found(session, row[0])  # (None: a role's name that is no login)


def database_login(session: Session, login: str) -> str:
    """The name of the PostgreSQL login role for ``login``, an enabled recipient of the
    ledger: their login as the ledger keeps it (one case), which must be a role's name.
    GrantsError (NotFound) otherwise."""
    person = _person(session, login)
    state = standing(session, person)
    if "recipient" not in state.roles:
        raise GrantsError(f"{person.login} is not a recipient: a recipient's login role is for "
                          "a person with the recipient role (`grants users grant`)")  # fmt: skip
    if state.disabled:
        raise GrantsError(f"{person.login} is disabled: enable them first (`grants users enable`)")
    if not NAME.match(person.key):
        raise GrantsError(
            f"{person.login!r} cannot name a PostgreSQL role: a recipient who connects as "
            "themselves needs a login of lower-case letters, digits and _, starting with a "
            "letter (add them again under such a login)"
        )
    return person.key


def starts_session(session: Session, actor: Actor) -> bool:
    """Whether a sign-in of ``actor`` with a password is to be written to the audit log: it
    is their first, or their last written is an hour old or more, or a sign-in under their
    login has failed since (so that a success after failures is always seen)."""
    last = session.execute(
        select(AuditEvent.id, AuditEvent.recorded_at)
        .where(AuditEvent.person_id == actor.person_id, AuditEvent.kind == "login")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if last is None or now() - last.recorded_at >= SIGN_IN_SESSION:
        return True
    key = login_key(actor.login)
    for (tried,) in session.execute(
        select(AuditEvent.login).where(AuditEvent.kind == "login_failed", AuditEvent.id > last.id)
    ):
        try:
            if login_key(tried) == key:
                return True
        except GrantsError:  # a login no one could have
            continue
    return False


def audit(
    session: Session,
    actor: Actor | None,
    kind: str,
    action: str,
    detail: str | None = None,
    login: str | None = None,
) -> None:
    """Record a login, failed login or refusal (the caller's transaction: make it a short
    one of its own, so that it stands when the work it refused is rolled back). A login as
    typed that is no login (a NUL or another control character in it, which PostgreSQL may
    refuse to store) is kept as written in Python, its characters escaped."""
    session.add(AuditEvent(**audit_row(actor, kind, action, detail, login)))


def audit_row(
    actor: Actor | None,
    kind: str,
    action: str,
    detail: str | None = None,
    login: str | None = None,
) -> dict[str, object]:
    """The audit log's row of `audit` (recorded now), for a caller that writes its rows as
    plain statements (an import, a file at a time)."""
    who = actor.login if actor else login or "?"
    if not who.isprintable():
        who = shown_login(who)
    return dict(
        recorded_at=now(),
        person_id=actor.person_id if actor else None,
        login=who[:MAX_LOGIN],
        kind=kind,
        action=action,
        detail=_bounded(detail),
    )


def _bounded(detail: str | None) -> str | None:
    if detail is None or len(detail) <= MAX_DETAIL:
        return detail
    return detail[:MAX_DETAIL] + "…"


def audit_log(session: Session, limit: int | None = None) -> list[AuditEvent]:
    require(session, "audit")
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if limit:
        query = query.limit(limit)
    return list(reversed(session.scalars(query).all()))


def bootstrap(session: Session, login: str, password: str | None = None) -> Person | None:
    """In a ledger with no people, make ``login`` (the person setting it up) its first
    person, admin and officer, with ``password`` if given (else the operating system
    vouches for them: they sign in as their operating-system login). None if the ledger
    has people already."""
    if count(session):
        return None
    return create(session, login, ["admin", "officer"], login_text(login), password=password)


__all__ = [
    "Claim",
    "Standing",
    "actor_for",
    "add",
    "audit",
    "audit_log",
    "audit_row",
    "bootstrap",
    "claim",
    "create",
    "database_login",
    "database_person",
    "end_sessions",
    "find",
    "grant",
    "hasher",
    "login_key",
    "new_password",
    "people",
    "reset_password",
    "revoke",
    "set_enabled",
    "settle",
    "standing",
    "starts_session",
    "still",
]
