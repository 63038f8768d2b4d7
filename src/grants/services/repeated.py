"""The same payment recorded twice: warned about, never refused.

Two payments to the same line of the same amount on the same day are most often one payment
keyed twice (once by command and once in the books, or twice in the books). They can also be
two real payments, so the second is recorded and the officer is told, with the entry to
reverse if it was a mistake. A payment that has been reversed no longer counts.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session, aliased

from grants.db.models import Entry, Line, Stream
from grants.formatting import day, gbp
from grants.money import from_pence

_CHUNK = 500  # ids per query: an IN list any database takes


def repeated_payments(session: Session, entry_ids: Sequence[int]) -> dict[int, str]:
    """For each payment among ``entry_ids`` that repeats an earlier standing payment (same
    line, same amount, same day), the warning to give, by entry id."""
    if len(entry_ids) > _CHUNK:
        return _described(session, _repeats_of_many(session, entry_ids))
    other, reversal = aliased(Entry), aliased(Entry)
    out: dict[int, str] = {}
    for start in range(0, len(entry_ids), _CHUNK):
        chunk = list(entry_ids[start : start + _CHUNK])
        rows = session.execute(
            select(Entry.id, other.id, Entry.amount_pence, Entry.day, Stream.code, Line.code)
            .join(
                other,
                (other.kind == "pay")
                & (other.line_id == Entry.line_id)
                & (other.amount_pence == Entry.amount_pence)
                & (other.day == Entry.day)
                & (other.reverses_id.is_(None))
                & (other.id < Entry.id),
            )
            .outerjoin(reversal, reversal.reverses_id == other.id)
            .join(Stream, Stream.id == Entry.stream_id)
            .join(Line, Line.id == Entry.line_id)
            .where(
                Entry.id.in_(chunk),
                Entry.kind == "pay",
                Entry.reverses_id.is_(None),
                reversal.id.is_(None),
            )
            .order_by(Entry.id, other.id)
        ).all()
        for entry_id, earlier, pence, paid_on, stream, line in rows:
            if entry_id in out:
                continue  # the first earlier payment is enough to name
            out[entry_id] = _warning(entry_id, earlier, pence, paid_on, stream, line)
    return out


def _warning(entry_id: int, earlier: int, pence: int, paid_on: date, stream: str, line: str) -> str:
    return (
        f"a payment of {gbp(from_pence(pence))} to {stream} {line} on {day(paid_on)} "
        f"is already recorded (entry {earlier}): if this is the same payment, reverse "
        f"one with `grants reverse {entry_id}`"
    )


# The first standing payment of each line, amount and day, beside every payment made from
# ``lo`` on: one pass over the payments, sorted once by the engine. Looking each new payment's
# earlier ones up (the query above) reads every earlier payment again for each, as no index
# holds payments by line, amount and day: at 30,000 payments a load spent 28 s there.
_FIRST_STANDING = """
SELECT id, first FROM (
    SELECT e.id AS id, e.reverses_id AS reverses_id, MIN(CASE WHEN e.reverses_id IS NULL
        AND r.id IS NULL THEN e.id END) OVER (PARTITION BY e.line_id, e.amount_pence, e.day)
        AS first
    FROM entry e LEFT JOIN entry r ON r.reverses_id = e.id
    WHERE e.kind = 'pay' AND e.line_id IS NOT NULL
) payments
WHERE id >= :lo AND reverses_id IS NULL AND first < id
"""


def _repeats_of_many(session: Session, entry_ids: Sequence[int]) -> dict[int, int]:
    """Each of many payments that repeats an earlier standing one -> the first such. The
    ids are looked up by bisection (a load's are in order already: no copy, no set)."""
    ordered = entry_ids
    if any(a > b for a, b in itertools.pairwise(entry_ids)):
        ordered = sorted(entry_ids)
    rows = session.execute(text(_FIRST_STANDING), {"lo": ordered[0]})
    out: dict[int, int] = {}
    for i, first in rows:
        at = bisect.bisect_left(ordered, i)
        if at < len(ordered) and ordered[at] == i:
            out[int(i)] = int(first)
    return out


def _described(session: Session, repeats: dict[int, int]) -> dict[int, str]:
    out: dict[int, str] = {}
    ids = sorted(repeats)
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(Entry.id, Entry.amount_pence, Entry.day, Stream.code, Line.code)
            .join(Stream, Stream.id == Entry.stream_id)
            .join(Line, Line.id == Entry.line_id)
            .where(Entry.id.in_(ids[start : start + _CHUNK]))
        )
        for entry_id, pence, paid_on, stream, line in rows:
            out[entry_id] = _warning(entry_id, repeats[entry_id], pence, paid_on, stream, line)
    return dict(sorted(out.items()))


__all__ = ["repeated_payments"]
