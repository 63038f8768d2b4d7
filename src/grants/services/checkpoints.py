"""The heads `grants verify` found whole, and what `grants reconcile` says of relying on one.

`grants verify` walks every link of the chain. When it finds the record whole it records the
head it proved (table ``verification``): how many links, the last one's digest, when (UTC) and
who ran it. `grants reconcile` then relies on the latest: it checks that the chain's link at
that count still has that digest (a chain rebuilt behind the ledger's back does not), walks
the links after it with every check verify makes, and says so. A row changed behind the
ledger's back before that link, its seal left alone, is found by the next `grants verify`
(or `grants reconcile --whole`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from grants import formatting
from grants.db.models import VerifiedHead
from grants.db.seal import Head
from grants.services.verification import Checkpoint, Verification


def latest(connection: Connection) -> Checkpoint | None:
    """The last head `grants verify` found whole, if any."""
    row = connection.exec_driver_sql(
        "SELECT v.count, v.digest, v.verified_at, p.name, p.login FROM verification v "
        "LEFT JOIN person p ON p.id = v.person_id ORDER BY v.id DESC LIMIT 1"
    ).first()
    if row is None:
        return None
    at = row[2] if isinstance(row[2], datetime) else datetime.fromisoformat(str(row[2]))
    return Checkpoint(Head(int(row[0]), str(row[1])), at, row[3] or row[4])


def record(session: Session, result: Verification, person_id: int | None) -> bool:
    """Record that ``result`` (a walk of every link) found the record whole; False, and
    nothing recorded, if it found a problem, relied on an earlier walk or proved no link."""
    if not result.ok or result.since is not None or result.head.count == 0:
        return False
    session.add(
        VerifiedHead(
            count=result.head.count,
            digest=result.head.digest,
            verified_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0),
            person_id=person_id,
        )
    )
    return True


def statement(result: Verification) -> str:
    """What a walk checked, for a finance officer: all of it, or the links after the head
    `grants verify` found whole, and what that leaves unchecked."""
    since = result.since
    if since is None:
        return (
            f"the record: walked whole, all {formatting.count(result.head.count, 'link')} "
            "of the chain checked now"
        )
    walked = result.walked
    return (
        f"the record: whole up to link {since.head.count:,}, as `grants verify` found it on "
        f"{since.when()}; the {formatting.count(walked, 'link')} since "
        f"{'was' if walked == 1 else 'were'} checked now. A row changed before that link since "
        "then is found by the next `grants verify` (or `grants reconcile --whole`)"
    )


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
        "statement": statement(result),
    }


__all__ = ["as_dict", "latest", "record", "statement"]
