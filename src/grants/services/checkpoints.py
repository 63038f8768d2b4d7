"""The heads a walk of every link found whole, and what `grants reconcile` says of relying
on one.

`grants verify` walks every link of the chain, and so does `grants reconcile` when it has no
verification to rely on (or is told `--whole`). When either finds the record whole it records
the head it proved (table ``verification``): how many links, the last one's digest, when
(UTC), who ran it, and the greatest id then of every table of record and of rows that belong
to a record (its marks). `grants reconcile` then relies on the latest: it checks that the chain's
link at that count still has that digest (a chain rebuilt behind the ledger's back does not)
and that no row was added since to a record sealed up to it (by the marks), walks the links
after it with every check verify makes, and says so. It walks every link, and says why, when
the checks of the whole ledger (guards, policies, ids) already find a problem. A row changed
behind the ledger's back before that link, its seal left alone, is found by the next `grants
verify` (or `grants reconcile --whole`).

A row of ``verification`` that is not one a walk of every link could have written (text where a
count or a time belongs, a count of no link, a time to come, marks that do not read) is
named as a break, and every link is walked. Anyone who may add rows may add a verification
that reads as one a walk of every link wrote: relied on until the next real one is recorded.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from grants import formatting
from grants.db.models import VerifiedHead
from grants.db.seal import GENESIS, Head
from grants.services.access import Actor
from grants.services.verification import Checkpoint, Verification

# Walk every link when the links since the latest verification are more than this share of
# the chain: the walk from the link then saves next to nothing, and its own reads (every
# balance, the keys before the link) are spent for it (docs/benchmarks.md, "Seventh round:
# reconcile from the last verification": at 100,000 entries, from link 1,000 and walking
# every link cost the same).
SHARE = 0.9
# A verification's time may be this far ahead of this machine's clock (another machine's
# clock) before it is called one a walk of every link never wrote.
SKEW = timedelta(hours=1)
# SQLite's greatest rowid: once a row has it, SQLite numbers the rows added after it at
# random, and the greatest id is no longer the latest.
_LAST_ROWID = 2**63 - 1
_DIGEST = re.compile(r"[0-9a-f]{64}")
_SELECT = (
    "SELECT v.id, v.count, v.digest, v.verified_at, v.marks, p.name, p.login "
    "FROM verification v LEFT JOIN person p ON p.id = v.person_id "
)


def latest(connection: Connection) -> Checkpoint | None:
    """The last verification recorded, if any: the one with the greatest id (on PostgreSQL,
    the greatest its sequence has given: a row added by hand with an id beyond it is not
    one a walk of every link wrote, and would otherwise outlast every later verification).
    A row a walk of every link could not have written comes back with ``unfit`` saying why."""
    where = ""
    if connection.dialect.name == "postgresql":
        where = (
            "WHERE v.id <= pg_sequence_last_value("
            "pg_get_serial_sequence('verification', 'id')::regclass) "
        )
    row = connection.exec_driver_sql(_SELECT + where + "ORDER BY v.id DESC LIMIT 1").first()
    if row is None:
        return None
    row_id, count, digest, verified_at, marks, name, login = row
    by = name or login
    at = _time(verified_at)
    why = _unfit(row_id, count, digest, verified_at, at)
    read = _marks(marks)
    if why is None and isinstance(read, str):
        why = read
    if why is not None or at is None or isinstance(read, str):
        return Checkpoint(Head(0, GENESIS), datetime(1, 1, 1), by, id=row_id, unfit=why)
    return Checkpoint(Head(count, digest), at, by, marks=read, id=row_id)


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _unfit(
    row_id: Any, count: Any, digest: Any, verified_at: Any, at: datetime | None
) -> str | None:
    """Why a verification's columns are not what a walk of every link writes; None if they are."""
    if row_id == _LAST_ROWID:
        return (
            f"its id is the greatest SQLite gives ({row_id:,}), after which later rows are "
            "numbered at random"
        )
    if type(count) is not int:
        return f"its count {count!r} is not a number of links"
    if count < 1:
        return f"its count {count} is no link of the chain"
    if type(digest) is not str or not _DIGEST.fullmatch(digest):
        return f"its digest {digest!r} is not a SHA-256 digest"
    if at is None:
        return f"its time {verified_at!r} is not a time"
    if at.tzinfo is not None:
        return f"its time {verified_at!r} names a time zone (the ledger writes UTC)"
    now = datetime.now(UTC).replace(tzinfo=None)
    if at > now + SKEW:
        return f"its time {at:%Y-%m-%d %H:%M:%S} UTC is to come"
    return None


def _marks(value: Any) -> dict[str, int] | str:
    """A verification's marks, or why they do not read."""
    try:
        marks = json.loads(value) if isinstance(value, str) else None
    except (ValueError, RecursionError):  # not JSON, or nested beyond reading
        marks = None
    if not isinstance(marks, dict) or not all(
        isinstance(k, str) and type(v) is int and v >= 0 for k, v in marks.items()
    ):
        shown = value if not isinstance(value, str) or len(value) < 60 else value[:57] + "..."
        return f"its marks {shown!r} are not the greatest id of each table"
    return marks


def relied_on(connection: Connection, since: Checkpoint | None) -> tuple[Checkpoint | None, str]:
    """``since``, or None and why, when most of the chain is newer than it (walking every
    link then costs less than walking from it)."""
    if since is None or since.unfit is not None:
        return since, ""
    top = int(connection.exec_driver_sql("SELECT COALESCE(MAX(seq), 0) FROM seal").scalar_one())
    if top - since.head.count > SHARE * top:
        return None, (
            "most of the record is newer than the last verification (link "
            f"{since.head.count:,}, as a walk of every link found it on {since.when()})"
        )
    return since, ""


def unrelied(connection: Connection) -> int:
    """How many links a walk of the record that would rely on the latest verification walks
    now because it has none to rely on (none recorded, one not fit to rely on, one of too few
    of the links, or one made before the ledger had a table it marks: every link), else 0. A
    year page of the web walks that many once a minute in each process. (A verification
    whose link the chain no longer holds as it was is a break, which the walk reports.)"""
    from grants.services.walk_start import unmarked

    top = int(connection.exec_driver_sql("SELECT COALESCE(MAX(seq), 0) FROM seal").scalar_one())
    since, _ = relied_on(connection, latest(connection))
    whole = since is None or since.unfit is not None or bool(unmarked(since))
    return top if whole else 0


def walked_whole(result: Verification, why: str) -> Verification:
    """``result`` (every link walked), saying ``why`` although a verification is recorded."""
    return replace(result, whole_because=why) if why else result


def now() -> datetime:
    """This moment in UTC, as a verification records it (no zone, whole seconds, rounded
    down): taken before the transaction of a walk begins, it is no later than what the walk
    read, so that no change made before the time a verification gives goes unseen by it."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def recordable(result: Verification) -> bool:
    """Whether ``result`` is a walk to record: of every link (none relied on), found whole,
    proving a link, with the marks it read."""
    return result.ok and result.since is None and result.head.count > 0 and result.marks is not None


def record(session: Session, result: Verification, actor: Actor | None, began: datetime) -> bool:
    """Record that ``result`` (a walk of every link by ``actor``, None in a ledger of no
    people, in a transaction that began at ``began``, from `now` before it) found the record
    whole; False, and nothing recorded, if it found a problem, relied on an earlier walk or
    proved no link, or if ``actor`` may not verify (whoever may reconcile may, today). The
    time recorded is ``began``: a change made between the walk's reading and this record
    (another transaction's, committed meanwhile) comes after it, and is one of those the
    statement says only the next `grants verify` finds."""
    if not recordable(result) or (actor is not None and not actor.may("verify")):
        return False
    session.add(
        VerifiedHead(
            count=result.head.count,
            digest=result.head.digest,
            verified_at=began,
            person_id=actor.person_id if actor is not None else None,
            marks=json.dumps(result.marks, separators=(",", ":"), sort_keys=True),
        )
    )
    return True


def statement(result: Verification) -> str:
    """What a walk checked, for a finance officer: all of it, or the links after the head
    a walk of every link found whole, and what that leaves unchecked."""
    since = result.since
    if since is None:
        checked = f"all {formatting.count(result.head.count, 'link')} of the chain checked now"
        if result.whole_because:
            return f"the record: walked whole: {result.whole_because}; {checked}"
        return f"the record: walked whole, {checked}"
    walked = result.walked
    now = (
        "no link has been added since"
        if walked == 0
        else f"the {formatting.count(walked, 'link')} since "
        f"{'was' if walked == 1 else 'were'} checked now"
    )
    return (
        f"the record: whole up to link {since.head.count:,}, as a walk of every link found it "
        f"on {since.when()}; {now}. A row changed before that link since then is found by the "
        "next `grants verify` (or `grants reconcile --whole`)"
    )


def sentence(statement: str) -> str:
    """A statement (``statement``) as a sentence of its own, for a page or a workbook: its
    first letter a capital, a full stop at its end."""
    return statement[:1].upper() + statement[1:] + "."


def as_dict(result: Verification) -> dict[str, object]:
    """What a walk checked, for --json."""
    since = result.since
    return {
        "walked": "whole" if since is None else "since verification",
        "head": {"count": result.head.count, "digest": result.head.digest},
        "links_walked": result.walked,
        "verified": None
        if since is None
        else {
            "count": since.head.count,
            "digest": since.head.digest,
            "at": since.at.isoformat() + "Z",
            "by": since.by,
        },
        "whole_because": result.whole_because,
        "statement": statement(result),
    }


__all__ = [
    "SHARE",
    "SKEW",
    "as_dict",
    "latest",
    "now",
    "record",
    "recordable",
    "relied_on",
    "sentence",
    "statement",
    "unrelied",
    "walked_whole",
]
