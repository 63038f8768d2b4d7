"""Signing in and out, the session on the server, CSRF tokens, and the sign-in rate limit.

The cookie is Starlette's signed cookie (itsdangerous, with the ledger's secret for it:
grants.services.form_identity.derived_secret). It holds only the session's random id and a CSRF
token (and a filing's warnings until its receipt is shown); never a login, a password or a
role. The session itself is on the ledger (grants.services.sessions: the id's SHA-256, whose it
is, its last use, when and why it ended): each request looks it up, and looks the person up
again (grants.services.people.actor_for), so a session ended on the server (signed out, idle, 8
hours old, the person disabled or given a new password, or ended by an officer) is ended in
every copy of the cookie, and a person whose roles changed is treated as the ledger now says.
Failed sign-ins are counted on the ledger too, so that every server process shares the limit.
"""

from __future__ import annotations

import hmac
import os
import secrets

from anyio import CapacityLimiter
from anyio.lowlevel import RunVar
from starlette.requests import Request

from grants.errors import Busy, LoginFailed
from grants.services import people, sessions
from grants.services.access import Actor
from grants.web import password_slots
from grants.web.ledger import Ledger

IDLE_SECONDS = int(sessions.IDLE.total_seconds())
MAX_SECONDS = int(sessions.LONGEST.total_seconds())
FAILURES = sessions.FAILURES
WINDOW_SECONDS = int(sessions.WINDOW.total_seconds())

MAX_PASSWORD = 1024  # characters of a password that are checked (Argon2 takes any length)
# Passwords checked at once by a server process. Each Argon2id check takes 64 MiB and most of
# a core for a fifth of a second, by design: more at once would not sign anyone in sooner,
# but would hold the threads the pages need and, under a burst of sign-ins, the memory. One
# core is left to the pages: under 60 sign-ins at once (the load benchmark) the pages' p95
# fell from 863 to 718 ms on SQLite and from 1,743 to 1,167 ms on PostgreSQL.
PASSWORD_CHECKS = max(1, (os.cpu_count() or 1) - 1)


def now() -> float:
    return sessions.clock()


class SignInRequired(Exception):
    """No one is signed in, or their session has ended (``ended``: why, a key of
    grants.services.sessions.ENDED, or "ended" when the session is not known): the page
    sends them to sign in, and the sign-in page says why."""

    def __init__(self, ended: str | None = None) -> None:
        super().__init__("sign in")
        self.ended = ended


class CsrfRefused(Exception):
    """A POST without the session's CSRF token."""


def client_key(request: Request) -> str:
    return request.client.host if request.client else "?"


# One per event loop: a limiter belongs to the loop it was first used in, and a test client
# that sends from several threads runs a loop in each.
_PASSWORD_CHECKS: RunVar[CapacityLimiter] = RunVar("password_checks")


def password_checks() -> CapacityLimiter:
    """The threads that may check a password at once (PASSWORD_CHECKS), apart from those
    that serve pages; made with the first sign-in in the running event loop."""
    try:
        return _PASSWORD_CHECKS.get()
    except LookupError:
        limiter = CapacityLimiter(PASSWORD_CHECKS)
        _PASSWORD_CHECKS.set(limiter)
        return limiter


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made when the session first needs one)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, given: object) -> None:
    """CsrfRefused unless ``given`` is the session's CSRF token."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not isinstance(given, str):
        raise CsrfRefused
    if not hmac.compare_digest(token.encode(), given.encode()):
        raise CsrfRefused


def attempt(ledger: Ledger, request: Request, login: str) -> tuple[int, int]:
    """Seconds before a sign-in as ``login`` from this client may be tried (0: try it now),
    and the attempt's place in the count. The attempt is counted against its login, and
    committed, before its password is checked (a sign-in that succeeds clears its login's),
    and the limit then counts it with every other committed by then: guesses at one login
    sent at once each see the others, so that no more than FAILURES are tried however many
    are sent together. It counts against the client's address once its password has failed
    (``failed``). One held is not counted."""
    client = client_key(request)
    with ledger.changing() as session:
        mine = sessions.failed(session, login)
    with ledger.changing() as session:
        seconds = sessions.wait(session, login, client, FAILURES + 1)
        if seconds:
            sessions.forget(session, mine)
    return seconds, mine


def failed(
    ledger: Ledger, request: Request, attempted: int, login: str, reason: str | None
) -> None:
    """The sign-in counted as ``attempted`` failed its password (``reason``, for the audit
    log): written to the audit log, and counted against the client's address too. Outside
    the password checks' threads, so that waiting to write holds no other check up."""
    ledger.note(None, "login_failed", "sign in", f"web: {reason}", login[:100])
    ledger.write_audits()
    with ledger.changing() as session:
        sessions.blame(session, attempted, client_key(request))


def forget(ledger: Ledger, attempted: int) -> None:
    """The sign-in counted as ``attempted`` ended without its password failing (the service
    failed): not counted."""
    with ledger.changing() as session:
        sessions.forget(session, attempted)


def check_password(ledger: Ledger, login: str, password: str) -> tuple[Actor, bool]:
    """The person ``login`` if ``password`` is theirs (LoginFailed if not: `failed` writes
    it to the audit log), and whether signing in starts a session to write to the audit log.
    Only reads the ledger: the slow part of signing in, run PASSWORD_CHECKS at a time in a
    process, and as many in all by the processes of one `grants serve` (password_slots). The
    place for the check is waited for and held between two reads, so that a sign-in waiting
    for one holds no database connection, and one holding it waits for nothing else."""
    with ledger.reading(None) as session:
        found = people.claim(session, login)
    with password_slots.place():
        people.settle(found, password)
    with ledger.reading(None) as session:
        actor = people.still(session, found)  # no new password, nor disabled, meanwhile
        starts = people.starts_session(session, actor)
    return actor, starts


def start_session(
    ledger: Ledger, request: Request, actor: Actor, starts: bool, attempted: int
) -> Actor:
    """Begin ``actor``'s session on the ledger, their password checked (check_password) in
    the sign-in counted as ``attempted``: the sign-in written to the audit log if ``starts``,
    the login's failed sign-ins forgotten (each still counts against its client's address),
    a new CSRF token, and the session the cookie held before ended."""
    if starts:
        ledger.note(actor, "login", "sign in", "web")
        ledger.write_audits()
    before = request.session.get("sid")
    assert actor.person_id is not None
    with ledger.changing() as session:
        if isinstance(before, str):
            sessions.end(session, before, "signed_out")
        token = sessions.start(session, actor.person_id)
        sessions.succeeded(session, attempted)
    request.session.clear()
    request.session.update({"sid": token, "csrf": secrets.token_urlsafe(32)})
    return actor


def held(ledger: Ledger, login: str) -> None:
    """Write to the audit log that a sign-in was not tried: too many failures."""
    ledger.note(None, "login_failed", "sign in",
                "web: not tried: too many failed sign-ins in 15 minutes", login[:100])  # fmt: skip
    ledger.write_audits()


def sign_out(ledger: Ledger, request: Request) -> None:
    """End the session on the ledger (every copy of the cookie with it) and clear it."""
    token = request.session.get("sid")
    if isinstance(token, str):
        with ledger.changing() as session:
            sessions.end(session, token, "signed_out")
    request.session.clear()


def acting(ledger: Ledger, request: Request) -> Actor:
    """The person signed in, looked up again; SignInRequired if no one is, or their session
    has ended (now or before: signed out, idle, too old, ended on the server)."""
    token = request.session.get("sid")
    if not isinstance(token, str):
        request.session.pop("login", None)  # a cookie from before sessions were kept
        raise SignInRequired("ended" if "started" in request.session else None)
    actor: Actor | None = None
    with ledger.reading(None) as session:
        found = sessions.look_up(session, token)
        if found is not None and found.ended is None and found.end is None:
            try:
                actor = people.actor_for(session, found.login, None)
            except LoginFailed:  # disabled (its sessions end with it) or no longer there
                actor = None
    if found is None:
        request.session.clear()
        raise SignInRequired("ended")
    if found.ended is not None:
        request.session.clear()
        raise SignInRequired(found.ended)
    if found.end is not None or actor is None:
        why = found.end or "disabled"
        with ledger.changing() as session:
            sessions.end(session, token, why)
        request.session.clear()
        raise SignInRequired(why)
    if found.touch:
        try:
            with ledger.changing() as session:
                sessions.touch(session, token)
        except Busy:  # another writer holds SQLite's lock: the next request writes it
            pass
    return actor


__all__ = [
    "FAILURES",
    "IDLE_SECONDS",
    "MAX_PASSWORD",
    "MAX_SECONDS",
    "PASSWORD_CHECKS",
    "WINDOW_SECONDS",
    "CsrfRefused",
    "SignInRequired",
    "acting",
    "attempt",
    "check_csrf",
    "check_password",
    "client_key",
    "csrf_token",
    "failed",
    "forget",
    "held",
    "password_checks",
    "sign_out",
    "start_session",
]
