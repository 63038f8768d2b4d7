"""Record the journal entries of the books, a batch at a time (grants.ledger.stream reads
them again), through :meth:`grants.services.journal.Journal.in_batches`: the whole journal
in the caller's one transaction, but only one batch of entries held at a time. Of each
entry only what the later steps need is kept: the ids of claims, commitments and payments,
and the intended over-allocations."""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from grants.db.bulk import no_cycle_collection
from grants.formatting import gbp
from grants.ledger.parser import Problem
from grants.ledger.stream import Read, entries_again
from grants.money import from_pence
from grants.services.balances import Balances
from grants.services.commitments import Agreement, write_commitments
from grants.services.journal import Journal, NewEntry, Recorded
from grants.services.money_in import ClaimDetails, write_claims
from grants.services.repeated import repeated_payments
from grants.services.rules import Operation

if TYPE_CHECKING:
    from grants.ledger.write import Writer

# Entries checked and written at a time: enough that a batch's own queries cost little,
# few enough that a batch's objects stay a few megabytes.
BATCH = 10_000


@dataclass
class _Kept:
    """What later steps need of the entries recorded so far."""

    claims: list[tuple[int, ClaimDetails]] = field(default_factory=list)
    commitments: list[tuple[int, Agreement]] = field(default_factory=list)
    # Each payment's id, and its file (an index into ``files``) and line, in id order.
    payments: array[int] = field(default_factory=lambda: array("q"))
    payment_files: array[int] = field(default_factory=lambda: array("I"))
    payment_lines: array[int] = field(default_factory=lambda: array("q"))
    files: dict[str, int] = field(default_factory=dict)
    marked: list[tuple[str, int, Operation]] = field(default_factory=list)
    created: int = 0
    skipped: int = 0
    refused: bool = False
    done: int = 0


def write_journal(w: Writer) -> None:
    books = w.books
    unknown = books.entry_streams - set(w.streams)
    if unknown:
        # Every entry of a stream not declared, at its line; nothing is recorded.
        for d, item, _, _ in entries_again(books):
            if item.op is not None and item.op.stream in unknown:
                w.stream(d, item.op.stream)
        return
    total = books.entry_count
    if w.progress is not None:
        w.progress(0, total)
    kept = _Kept()
    streams = None if books.any_reversal else books.entry_streams
    with no_cycle_collection(total), Journal(w.s).in_batches(total, streams) as record:
        batch: list[Read] = []
        for read in entries_again(books):
            batch.append(read)
            if len(batch) == BATCH:
                _record(w, record, batch, kept)
                batch = []
        if batch:
            _record(w, record, batch, kept)
    if kept.refused or books.problems:
        return
    write_claims(w.s, kept.claims)
    write_commitments(w.s, kept.commitments)
    # Only the payments can repeat one: the others are not looked up at all.
    repeated = repeated_payments(w.s, kept.payments)
    files = list(kept.files)
    for entry_id in sorted(repeated):
        at = bisect.bisect_left(kept.payments, entry_id)
        where = (files[kept.payment_files[at]], kept.payment_lines[at])
        w.report.warnings.append(Problem(*where, repeated[entry_id], "warning"))
    _still_over_allocated(w, kept.marked)
    if kept.created:
        w.report.created["journal entry"] += kept.created
    if kept.skipped:
        w.report.skipped["journal entry"] += kept.skipped


def _record(
    w: Writer, record: Callable[[list[NewEntry]], Recorded], batch: list[Read], kept: _Kept
) -> None:
    result = record([item for _, item, _, _ in batch])
    kept.done += len(batch)
    if w.progress is not None:
        w.progress(kept.done, w.books.entry_count)
    by_item = {id(read[1]): read for read in batch}
    if result.refused:
        # Every refused entry, at its line (a refused entry changes no balance, so the
        # entries after it are checked as if it were not there).
        kept.refused = True
        for exc in result.refused:
            found = by_item.get(id(getattr(exc, "entry", None)))
            where = (found[0].file, found[0].line) if found else (batch[0][0].file, 0)
            w.books.problems.append(Problem(*where, str(exc)))
        return
    if kept.refused:
        return
    for entry_id, item in zip(result.entry_ids, result.items, strict=True):
        d, _, claim, agreement = by_item[id(item)]
        w.made_in_order(d, "entry")
        # A claim's or an agreement's details are sealed just after its entry.
        if claim is not None:
            kept.claims.append((entry_id, claim))
            w.made_in_order(d, "claim")
        if agreement is not None:
            kept.commitments.append((entry_id, agreement))
            w.made_in_order(d, "commitment")
        if item.op is not None and item.op.kind == "pay":
            kept.payments.append(entry_id)
            kept.payment_files.append(kept.files.setdefault(d.file, len(kept.files)))
            kept.payment_lines.append(d.line)
    warned: set[int] = set()
    for item, warning in result.warnings:
        d = by_item[id(item)][0]
        warned.add(id(item))
        w.report.warnings.append(Problem(d.file, d.line, warning, "warning"))
    for d, item, _, _ in batch:
        if item.op is not None and item.op.over_allocation and id(item) not in warned:
            kept.marked.append((d.file, d.line, item.op))
    kept.created += len(result.entry_ids)
    kept.skipped += result.skipped


def _still_over_allocated(w: Writer, marked: list[tuple[str, int, Operation]]) -> None:
    """Report intended over-allocations recorded by an earlier load, as long as they stand
    (a new one is reported when it is recorded)."""
    if not marked:
        return
    balances = Balances(w.s)
    journal = Journal(w.s)
    journal.load_catalog(accounts=False)  # the lines' parents: no line's accounts
    for file, line, op in marked:
        assert op.line is not None
        parent = journal.parent_of(op.stream, op.line)
        left = balances.value(op.stream, op.period, "unallocated", parent)
        if left is not None and left < 0:
            where = f"{op.stream} {op.period}" + (f" {parent}" if parent else "")
            w.report.warnings.append(
                Problem(
                    file,
                    line,
                    f"{where} is over-allocated by {gbp(from_pence(-left))} (marked as intended)",
                    "warning",
                )
            )
