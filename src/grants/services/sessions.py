"""Web sessions the server can end, and the sign-in rate limit every server process shares.

A session's id is 32 random bytes (as URL-safe text) that only the person's cookie holds;
the ledger keeps its SHA-256 (``web_session.digest``), so that neither the database nor a
copy of it holds an id that signs anyone in. Each request looks its session up: a session
ends when the person signs out, after IDLE without use, LONGEST after signing in, when the
person is disabled or given a new password (grants.services.people), or when an officer or
admin ends it (`grants users sessions --end`). Its last use is written at most once every
SEEN_EVERY, so that most requests only read.

Failed web sign-ins are counted in ``sign_in_failure`` (the audit log keeps each one as
well): FAILURES for one login, or from one client address, within WINDOW make the next
sign-in wait, in every server process on the ledger. A change to more than one count first
locks those it changes, in the order of their ids (``_locked``), so that sign-ins changing
the same counts at once wait for one another rather than deadlock.

Neither table is a table of record: their rows change, they are not sealed or guarded, and
no export carries them.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from grants.db.models import Person, SignInFailure, WebSession
from grants.errors import GrantsError
from grants.services.access import require
from grants.services.sign_in import login_key as person_key
from grants.services.sign_in import shown_login

IDLE = timedelta(minutes=30)  # a session unused this long has ended
LONGEST = timedelta(hours=8)  # and every session ends this long after signing in
SEEN_EVERY = timedelta(minutes=1)  # a session's last use is written at most this often
FAILURES = 5  # failed sign-ins, per login and per client address, within
WINDOW = timedelta(minutes=15)  # this long, make the next wait until the oldest is this old

MAX_KEY = 110  # characters of a login (folded) or client address kept for the limit
MAX_CLIENT = 100
PENDING = ""  # the client of a sign-in counted before its password is checked (no address)

# Why a session ended, in the words a person reads (web_session.ended_why).
ENDED = {
    "signed_out": "signed out",
    "idle": f"{int(IDLE.total_seconds()) // 60} minutes without use",
    "expired": f"{int(LONGEST.total_seconds()) // 3600} hours after signing in",
    "disabled": "the person was disabled",
    "password": "the person was given a new password",
    "ended": "ended by an officer or admin",
}

clock: Callable[[], float] = time.time  # tests move it


def now() -> datetime:
    return datetime.fromtimestamp(clock())


def digest(token: str) -> str:
    """The SHA-256 of a session's id, as the ledger keeps it."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start(session: Session, person_id: int) -> str:
    """Start a session for the person ``person_id`` (their password checked); its id, for
    the cookie only."""
    token = secrets.token_urlsafe(32)
    moment = now()
    session.add(WebSession(digest=digest(token), person_id=person_id, created_at=moment,
                           seen_at=moment))  # fmt: skip
    session.flush()
    return token


@dataclass(frozen=True)
class Found:
    """A session as a request finds it: whose it is, and whether it has ended (``ended``:
    why, a key of ENDED), is to be ended now (``end``: why) or its last use written
    (``touch``)."""

    person_id: int
    login: str
    ended: str | None = None
    end: str | None = None
    touch: bool = False


def look_up(session: Session, token: str) -> Found | None:
    """The session whose id is ``token``; None if there is none. Read-only: the caller ends
    it (`end`) or writes its use (`touch`) as the answer says."""
    if not token or len(token) > 100:
        return None
    row = session.execute(
        select(WebSession, Person.login)
        .join(Person, Person.id == WebSession.person_id)
        .where(WebSession.digest == digest(token))
    ).first()
    if row is None:
        return None
    found, login = row
    if found.ended_why is not None:
        return Found(found.person_id, login, ended=found.ended_why)
    moment = now()
    if moment - found.created_at > LONGEST:
        return Found(found.person_id, login, end="expired")
    if moment - found.seen_at > IDLE:
        return Found(found.person_id, login, end="idle")
    return Found(found.person_id, login, touch=moment - found.seen_at >= SEEN_EVERY)


def touch(session: Session, token: str) -> None:
    """Write that the session ``token`` was used now."""
    session.execute(
        update(WebSession)
        .where(WebSession.digest == digest(token), WebSession.ended_at.is_(None))
        .values(seen_at=now())
    )


def end(session: Session, token: str, why: str) -> None:
    """End the session ``token`` (``why``: a key of ENDED), if it has not ended."""
    assert why in ENDED, why
    session.execute(
        update(WebSession)
        .where(WebSession.digest == digest(token), WebSession.ended_at.is_(None))
        .values(ended_at=now(), ended_why=why)
    )


def end_person(session: Session, person_id: int, why: str) -> int:
    """End every session of the person ``person_id`` (in the caller's transaction: with the
    change that ends them); how many were live."""
    assert why in ENDED, why
    result = session.execute(
        update(WebSession)
        .where(WebSession.person_id == person_id, WebSession.ended_at.is_(None))
        .values(ended_at=now(), ended_why=why)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Live:
    """A session that has not ended: whose, when it started, when it was last used."""

    id: int
    login: str
    started: datetime
    seen: datetime


def live(session: Session) -> list[Live]:
    """Every session not ended, idle or too old, oldest first (officers and admins: those
    who may read the audit log)."""
    require(session, "audit", about="the web's sessions")
    moment = now()
    rows = session.execute(
        select(WebSession.id, Person.login, WebSession.created_at, WebSession.seen_at)
        .join(Person, Person.id == WebSession.person_id)
        .where(
            WebSession.ended_at.is_(None),
            WebSession.created_at >= moment - LONGEST,
            WebSession.seen_at >= moment - IDLE,
        )
        .order_by(WebSession.id)
    )
    return [Live(r.id, r.login, r.created_at, r.seen_at) for r in rows]


# -- the sign-in rate limit ------------------------------------------------------------


def login_key(login: str) -> str:
    """A login as the limit counts it: as the person's key (folded to one case), so that it
    is held however it is typed and freed by ``lift`` of the person's login as written; one
    no person could have (control characters, too long), as it is shown, marked."""
    try:
        key = person_key(login)
    except GrantsError:
        key = "?" + shown_login(login[:100])  # control characters escaped
    return key[:MAX_KEY]


def wait(session: Session, login: str, client: str, allowed: int = FAILURES) -> int:
    """Seconds until a sign-in as ``login`` (folded to one case) from ``client`` may be tried
    again: 0 unless ``allowed`` have failed for the login, or FAILURES from the client, within
    WINDOW, else until the oldest of them is WINDOW old."""
    moment = now()
    since = moment - WINDOW
    longest = 0
    for column, key, most in ((SignInFailure.login, login_key(login), allowed),
                              (SignInFailure.client, client[:MAX_CLIENT], FAILURES)):  # fmt: skip
        times = session.scalars(
            select(SignInFailure.at)
            .where(column == key, SignInFailure.at > since)
            .order_by(SignInFailure.at.desc())
            .limit(most)
        ).all()
        if len(times) >= most:
            oldest = times[-1]
            longest = max(longest, int((oldest + WINDOW - moment).total_seconds()) + 1)
    return longest


def failed(session: Session, login: str, client: str = PENDING) -> int:
    """Count a failed sign-in as ``login`` from ``client`` (its id); forget those older than
    WINDOW. A sign-in counted before its password is checked is PENDING: it counts against
    its login only, until ``blame`` gives it its client (its password was wrong), so that
    people signing in at the same moment from one address (an office behind one proxy) do not
    hold each other up."""
    moment = now()
    expired = SignInFailure.at <= moment - WINDOW
    if _locked(session, expired):  # counted at least WINDOW ago: none can be added
        session.execute(delete(SignInFailure).where(expired))
    row = SignInFailure(login=login_key(login), client=client[:MAX_CLIENT], at=moment)
    session.add(row)
    session.flush()
    return row.id


def blame(session: Session, failure: int, client: str) -> None:
    """A sign-in counted as PENDING (``failed``'s id) did fail: count it against ``client``
    too."""
    session.execute(
        update(SignInFailure).where(SignInFailure.id == failure).values(client=client[:MAX_CLIENT])
    )


def forget(session: Session, failure: int) -> None:
    """Forget one counted sign-in (``failed``'s id): one the limit held, never tried."""
    session.execute(delete(SignInFailure).where(SignInFailure.id == failure))


def succeeded(session: Session, attempted: int) -> None:
    """The sign-in counted as ``attempted`` (``failed``'s id) succeeded: it is forgotten, and
    so are its login's other failures, as the login's (each still counts against its
    client's address, and one still being checked is counted there if it fails)."""
    login = session.scalar(select(SignInFailure.login).where(SignInFailure.id == attempted))
    mine = SignInFailure.id == attempted
    locked = _locked(session, or_(mine, SignInFailure.login == login) if login else mine)
    session.execute(delete(SignInFailure).where(mine))
    _forget_login(session, [n for n in locked if n != attempted])


def lift(session: Session, login: str) -> None:
    """An admin gave ``login`` a new password: the failed sign-ins at it no longer hold it up
    (each still counts against its client's address, as after the owner's own sign-in)."""
    _forget_login(session, _locked(session, SignInFailure.login == login_key(login)))


def _locked(session: Session, which: ColumnElement[bool]) -> list[int]:
    """The ids of the counted sign-ins ``which`` picks, each locked in the order of their ids
    (PostgreSQL: ``FOR UPDATE``; SQLite has one writer at a time). Changing them row by row
    as a statement meets them let two sign-ins of one login that succeeded together each hold
    a row the other wanted next, and PostgreSQL failed one of them as a deadlock."""
    found = select(SignInFailure.id).where(which).order_by(SignInFailure.id).with_for_update()
    return list(session.scalars(found))


def _forget_login(session: Session, ids: list[int]) -> None:
    """The counts ``ids`` (locked: ``_locked``) no longer count against their login; only
    those, so that a count added since, which another sign-in may hold, is not waited for."""
    if ids:
        session.execute(
            update(SignInFailure).where(SignInFailure.id.in_(ids)).values(login=PENDING)
        )


def failures(session: Session) -> int:
    """How many failed sign-ins the limit counts now (for tests and `users sessions`)."""
    since = now() - WINDOW
    return int(
        session.scalar(
            select(func.count()).select_from(SignInFailure).where(SignInFailure.at > since)
        )
        or 0
    )


__all__ = [
    "ENDED",
    "FAILURES",
    "IDLE",
    "LONGEST",
    "PENDING",
    "SEEN_EVERY",
    "WINDOW",
    "Found",
    "Live",
    "blame",
    "digest",
    "end",
    "end_person",
    "failed",
    "failures",
    "forget",
    "live",
    "login_key",
    "look_up",
    "start",
    "succeeded",
    "touch",
    "wait",
]
