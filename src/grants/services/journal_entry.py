"""An entry to record (:class:`NewEntry`) and its identity: the text its key is the SHA-256
of, as the books reader, the journal and `grants verify` all work it out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from grants.services.rule_texts import share_text
from grants.services.rules import Operation


@dataclass(slots=True)
class NewEntry:
    """An entry to record: an operation, or the reversal of an earlier entry."""

    op: Operation | None
    day: date
    actor: str
    recorded_at: datetime
    reverses: str | None = None  # ref or database number of the entry to reverse
    ref: str | None = None  # explicit name (books `id:`)
    share: Decimal | None = None
    printed: str | None = None
    reason: str | None = None
    source: str | None = None
    origin: str | None = None
    note: str | None = None
    occurrence: int = 0  # how many identical entries came before it in the same batch
    key: str | None = None  # idempotency key; derived from the content when not given
    # The key its content gives, as the books reader worked it out (it has the content in
    # hand to count identical entries): not worked out again.
    derived: str | None = field(default=None, repr=False, compare=False)

    def content(self) -> str:
        """The identity of the entry: what it does and the published source it cites, not who
        recorded it or from which file line (so that edited books load again cleanly)."""
        return f"{self.prefix()}{SEP}{self.occurrence}"

    def prefix(self) -> str:
        """Its content without the count of identical entries before it (``content_prefix``)."""
        op = self.op
        if op is not None and not self.reverses:
            # The most common entry, an operation: ``operation_prefix``, as `grants verify`
            # works it out again from the stored entry.
            share = self.share
            to_period = op.to_period
            where = where_text(
                op.kind, op.stream, str(op.period), op.line, op.to_line,
                None if to_period is None else str(to_period),
            )  # fmt: skip
            return operation_prefix(
                self.day.isoformat(), where, op.amount, op.tranche, op.over_allocation,
                None if share is None else share_text(share), self.source,
            )  # fmt: skip
        what = None
        if op is not None:
            what = operation_text(
                op.kind, op.stream, str(op.period), op.line, op.to_line,
                str(op.to_period) if op.to_period else None, op.amount, op.tranche,
                op.over_allocation,
            )  # fmt: skip
        return content_prefix(
            self.day.isoformat(), self.reverses, what, share_text(self.share), self.source
        )

    def content_key(self) -> str:
        """The key the entry's content gives (the one books give it)."""
        if self.derived is not None:
            return self.derived
        return hashlib.sha256(self.content().encode()).hexdigest()[:40]

    def idempotency_key(self) -> str:
        return self.key or self.content_key()


SEP = "\x1f"  # between the parts of an entry's identity


def content_prefix(
    day: str, reverses: str | None, what: str | None, share: str | None, source: str | None
) -> str:
    """An entry's identity without the count of identical entries before it: its day, the
    entry it reverses or what it does (``operation_text``), its share and its source, each
    separated by a unit separator. Its key is the SHA-256 of this, a separator and that count
    (`grants verify` recomputes it from the stored entry)."""
    head = f"{day}{SEP}reverse {reverses}" if reverses else f"{day}{SEP}"
    if what is not None:
        head = f"{head}{SEP}{what}"
    return f"{head}{SEP}{share or ''}{SEP}{source or ''}"


def operation_prefix(
    day: str,
    where: str,
    amount: object,
    tranche: str | None,
    over_allocation: object,
    share: str | None,
    source: str | None,
) -> str:
    """``content_prefix`` of an operation (not a reversal): its day, what it does
    (``where_text``, then ``amount_text``), its share and its source, in one go. The books
    reader and the journal make an operation's key from it, and `grants verify` makes it
    again from each stored entry (the amount and the rest as the row holds them)."""
    return (
        f"{day}{SEP}{SEP}{where}{SEP}{amount}{SEP}{tranche or ''}{SEP}"
        f"{'over' if over_allocation else ''}{SEP}{share or ''}{SEP}{source or ''}"
    )


def operation_text(
    kind: str,
    stream: str,
    period: str,
    line: str | None,
    to_line: str | None,
    to_period: str | None,
    amount: int,
    tranche: str | None,
    over_allocation: bool,
) -> str:
    """What an entry does, as its key covers it: where the money moves, then how much."""
    where = where_text(kind, stream, period, line, to_line, to_period)
    return f"{where}{SEP}{amount_text(amount, tranche, over_allocation)}"


def where_text(
    kind: str, stream: str, period: str, line: str | None, to_line: str | None,
    to_period: str | None,
) -> str:  # fmt: skip
    return SEP.join((kind, stream, period, line or "", to_line or "", to_period or ""))


def amount_text(amount: int, tranche: str | None, over_allocation: bool) -> str:
    return f"{amount}{SEP}{tranche or ''}{SEP}{'over' if over_allocation else ''}"


def derived_key(prefix: str, occurrence: int) -> str:
    return hashlib.sha256(f"{prefix}{SEP}{occurrence}".encode()).hexdigest()[:40]
