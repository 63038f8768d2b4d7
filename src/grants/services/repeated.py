"""The same payment recorded twice: warned about, never refused.

Two payments to the same line of the same amount on the same day are most often one payment
keyed twice (once by command and once in the books, or twice in the books). They can also be
two real payments, so the second is recorded and the officer is told, with the entry to
reverse if it was a mistake. A payment that has been reversed no longer counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from grants.db.models import Entry, Line, Stream
from grants.formatting import day, gbp
from grants.money import from_pence

_CHUNK = 500  # ids per query: an IN list any database takes


def repeated_payments(session: Session, entry_ids: Sequence[int]) -> dict[int, str]:
    """For each payment among ``entry_ids`` that repeats an earlier standing payment (same
    line, same amount, same day), the warning to give, by entry id."""
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
            out[entry_id] = (
                f"a payment of {gbp(from_pence(pence))} to {stream} {line} on {day(paid_on)} "
                f"is already recorded (entry {earlier}): if this is the same payment, reverse "
                f"one with `grants reverse {entry_id}`"
            )
    return out


__all__ = ["repeated_payments"]
