"""Signing in and out, the session's expiry, CSRF tokens, and the sign-in rate limit.

The session is Starlette's signed cookie (itsdangerous, with the ledger's secret for it:
grants.services.form_identity.derived_secret). It holds the person's login, a CSRF token,
when they signed in and when they were last seen; never a password or a role. Each request
looks the person up again (grants.services.people.actor_for), so a person disabled or whose
roles changed is treated as the ledger now says.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections import deque
from collections.abc import Callable
from threading import Lock

from anyio import CapacityLimiter
from starlette.requests import Request

from grants.errors import GrantsError, LoginFailed
from grants.services import people
from grants.services.access import Actor
from grants.web.ledger import Ledger

IDLE_SECONDS = 30 * 60  # a session unused this long has ended
MAX_SECONDS = 8 * 60 * 60  # and every session ends this long after signing in
FAILURES = 5  # failed sign-ins, per login and per client, within
WINDOW_SECONDS = 15 * 60  # this long, make the next wait until the oldest is this old

MAX_PASSWORD = 1024  # characters of a password that are checked (Argon2 takes any length)
# Passwords checked at once by a server process. Each Argon2id check takes 64 MiB and most of
# a core for a fifth of a second, by design: more at once would not sign anyone in sooner,
# but would hold the threads the pages need and, under a burst of sign-ins, the memory.
PASSWORD_CHECKS = os.cpu_count() or 1

clock: Callable[[], float] = time.time  # tests move it


def now() -> float:
    return clock()


class SignInRequired(Exception):
    """No one is signed in (or their session has ended): the page sends them to sign in."""

    def __init__(self, ended: bool = False) -> None:
        super().__init__("sign in")
        self.ended = ended


class CsrfRefused(Exception):
    """A POST without the session's CSRF token."""


class Limiter:
    """Failed sign-ins per key (a login, folded to one case, or a client's address) in the
    last WINDOW_SECONDS, kept by the server process. Each failure is also written to the
    audit log by the services (`people.audit`, kind login_failed)."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._lock = Lock()

    def wait(self, *keys: str) -> int:
        """Seconds until a sign-in under ``keys`` may be tried again (0: now)."""
        moment = now()
        longest = 0
        with self._lock:
            for key in keys:
                times = self._failures.get(key)
                if times is None:
                    continue
                while times and times[0] <= moment - WINDOW_SECONDS:
                    times.popleft()
                if len(times) >= FAILURES:
                    longest = max(longest, int(times[0] + WINDOW_SECONDS - moment) + 1)
        return longest

    def failed(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, deque()).append(now())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


def login_key(login: str) -> str:
    try:
        return "login:" + people.login_key(login)
    except GrantsError:
        return "login:?" + login[:100]


def client_key(request: Request) -> str:
    return "client:" + (request.client.host if request.client else "?")


def password_checks(request: Request) -> CapacityLimiter:
    """The threads that may check a password at once (PASSWORD_CHECKS), apart from those
    that serve pages; made with the first sign-in, in the server's event loop."""
    state = request.app.state
    limiter: CapacityLimiter | None = getattr(state, "password_checks", None)
    if limiter is None:
        limiter = state.password_checks = CapacityLimiter(PASSWORD_CHECKS)
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


def sign_in(ledger: Ledger, request: Request, login: str, password: str) -> Actor:
    """The person ``login``, their password checked by the services; LoginFailed (written
    to the audit log) if not. The session starts afresh: a new CSRF token."""
    actor, starts = check_password(ledger, login, password)
    return start_session(ledger, request, actor, starts)


def check_password(ledger: Ledger, login: str, password: str) -> tuple[Actor, bool]:
    """The person ``login`` if ``password`` is theirs (LoginFailed, written to the audit
    log, if not), and whether signing in starts a session to write to the audit log. Only
    reads the ledger: the slow part of signing in, run PASSWORD_CHECKS at a time."""
    with ledger.reading(None) as session:
        try:
            actor = people.actor_for(session, login, password)
        except LoginFailed as exc:
            ledger.note(None, "login_failed", "sign in", f"web: {exc.reason}", login[:100])
            raise
        starts = people.starts_session(session, actor)
    return actor, starts


def start_session(ledger: Ledger, request: Request, actor: Actor, starts: bool) -> Actor:
    """Begin ``actor``'s session, their password checked (check_password): the sign-in
    written to the audit log if ``starts``, and a new CSRF token."""
    if starts:
        ledger.note(actor, "login", "sign in", "web")
        ledger.write_audits()
    request.session.clear()
    moment = now()
    request.session.update(
        {"login": actor.login, "started": moment, "seen": moment,
         "csrf": secrets.token_urlsafe(32)}
    )  # fmt: skip
    return actor


def held(ledger: Ledger, login: str) -> None:
    """Write to the audit log that a sign-in was not tried: too many failures."""
    ledger.note(None, "login_failed", "sign in",
                "web: not tried: too many failed sign-ins in 15 minutes", login[:100])  # fmt: skip
    ledger.write_audits()


def sign_out(request: Request) -> None:
    request.session.clear()


def acting(ledger: Ledger, request: Request) -> Actor:
    """The person signed in, looked up again; SignInRequired if no one is, or their session
    has ended (idle IDLE_SECONDS, or MAX_SECONDS since signing in)."""
    login = request.session.get("login")
    if not isinstance(login, str):
        raise SignInRequired
    moment = now()
    started, seen = request.session.get("started"), request.session.get("seen")
    if (
        not isinstance(started, (int, float))
        or not isinstance(seen, (int, float))
        or moment - seen > IDLE_SECONDS
        or moment - started > MAX_SECONDS
    ):
        request.session.clear()
        raise SignInRequired(ended=True)
    with ledger.reading(None) as session:
        try:
            actor = people.actor_for(session, login, None)
        except LoginFailed:
            request.session.clear()
            raise SignInRequired(ended=True) from None
    request.session["seen"] = moment
    return actor


__all__ = [
    "FAILURES",
    "IDLE_SECONDS",
    "MAX_PASSWORD",
    "MAX_SECONDS",
    "PASSWORD_CHECKS",
    "WINDOW_SECONDS",
    "CsrfRefused",
    "Limiter",
    "SignInRequired",
    "acting",
    "check_csrf",
    "check_password",
    "client_key",
    "csrf_token",
    "held",
    "login_key",
    "password_checks",
    "sign_in",
    "sign_out",
    "start_session",
]
