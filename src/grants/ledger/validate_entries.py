"""Validate the directives that make journal entries (award, allocate, pay, spent, clawback,
virement, reprofile, reverse; claim, receipt, commit and carry-forward through their own
modules): each into a NewEntry with the key its content gives, counting the identical
entries before it by a digest of the content, not the content itself."""

from __future__ import annotations

import hashlib
import sys
from typing import TYPE_CHECKING, Any

from grants.formatting import gbp
from grants.ledger.parser import Directive
from grants.money import from_pence
from grants.services.journal import NewEntry, derived_key
from grants.services.keys import entry_key_problem
from grants.services.rules import Operation

if TYPE_CHECKING:
    from grants.ledger.validate import Books


def entry(b: Books, d: Directive, op: Operation | None, **extra: Any) -> None:
    meta = d.meta
    if not meta:  # most entries of long books: nothing under them
        item = NewEntry(op, d.day, b.actor, b.now, origin=d.where, **extra)
    else:
        item = NewEntry(
            op,
            d.day,
            meta.get("actor", b.actor),
            b.recorded(d) or b.now,
            ref=meta.get("id"),
            key=meta.get("key"),
            printed=meta.get("printed"),
            reason=meta.get("reason"),
            source=meta.get("source"),
            origin=meta.get("origin", d.where),
            note=meta.get("note"),
            **extra,
        )
    prefix = item.prefix()
    seq, b.entry_seq = b.entry_seq, b.entry_seq + 1
    if b.counted is not None:  # the second read: counted by the first
        item.occurrence = b.counted.get(seq, 0)
        # The key it gives, worked out once from the content in hand (the first read needs
        # it only to check a key the books give, and works it out for that).
        item.derived = derived_key(prefix, item.occurrence)
    else:
        digest = int.from_bytes(hashlib.blake2b(prefix.encode(), digest_size=16).digest())
        if digest in b._seen:
            item.occurrence = b._again.get(digest, 1)
            b._again[digest] = item.occurrence + 1
            b.repeats[seq] = item.occurrence
        else:
            b._seen.add(digest)
    if item.key is not None:
        kind = op.kind if op is not None else None
        why = entry_key_problem(
            item.key, item.content_key(), kind, item.source, item.reverses is not None
        )
        if why is not None:
            b.error(d, f"key {item.key!r} {why}: leave `key:` out, and the books give "
                          "the entry its key", "key")  # fmt: skip
    if item.ref and (len(item.ref) > 80 or not item.ref.strip()):
        b.error(d, f"id {item.ref!r} must be 1 to 80 characters", "id")
    if item.ref:
        if item.ref in b._refs:
            b.error(d, f"id {item.ref!r} is already used at {b._refs[item.ref]}", "id")
        b._refs[item.ref] = d.where
    b.entries.append((d, item))


def money_op(b: Books, d: Directive, kind: str) -> None:
    # The codes interned: every entry of a line shares one string for it (and so does the
    # journal's catalogue for a stream, and for a line of a branch), so that the accounts
    # the journal keeps by key do not each hold a copy (a national funder's books have a
    # line for every grant).
    stream = sys.intern(d.args[0])
    period = b.period(d, d.args[1])
    if kind == "award":
        amount_text, line, to_line, to_period = d.args[2], None, None, None
    elif kind == "virement":
        line, to_line, amount_text, to_period = (
            sys.intern(d.args[2]), sys.intern(d.args[3]), d.args[4], None,
        )  # fmt: skip
    elif kind == "reprofile":
        to_period = b.period(d, d.args[2])
        line, to_line, amount_text = None, None, d.args[3]
    else:
        line, amount_text, to_line, to_period = sys.intern(d.args[2]), d.args[3], None, None
        if kind == "pay" and "from" in d.meta:  # passed on by the parent's recipient
            to_line = b.code(d, d.meta["from"], "from")
            if to_line is None:
                return
            to_line = sys.intern(to_line)
    amount = b.amount(d, amount_text)
    over, share, tranche = "no", None, None  # most entries of long books: no metadata
    if d.meta:
        over = d.meta.get("over-allocation", "no")
        if over not in ("yes", "no"):
            b.error(d, "over-allocation is yes or no", "over-allocation")
        share = b.percent(d, "share")
        tranche = d.meta.get("tranche")
        if tranche is not None and b.code(d, tranche, "tranche") is None:
            return
    if amount is not None and amount <= 0:
        b.error(
            d,
            f"{kind} amounts must be more than zero, not {gbp(from_pence(amount))}; "
            "to undo an entry, reverse it",
        )
        return
    if period is None or amount is None or (kind == "reprofile" and to_period is None):
        return
    op = Operation(
        kind,
        stream,
        period,
        amount,
        line=line,
        to_line=to_line,
        to_period=to_period,
        tranche=tranche,
        over_allocation=over == "yes",
    )
    entry(b, d, op, share=share)


def award(b: Books, d: Directive) -> None:
    money_op(b, d, "award")


def allocate(b: Books, d: Directive) -> None:
    money_op(b, d, "allocate")


def pay(b: Books, d: Directive) -> None:
    money_op(b, d, "pay")


def spent(b: Books, d: Directive) -> None:
    money_op(b, d, "spent")


def clawback(b: Books, d: Directive) -> None:
    money_op(b, d, "clawback")


def virement(b: Books, d: Directive) -> None:
    money_op(b, d, "virement")


def reprofile(b: Books, d: Directive) -> None:
    money_op(b, d, "reprofile")


def reverse(b: Books, d: Directive) -> None:
    if not d.meta.get("reason"):
        b.error(d, 'a reversal needs a reason: add `reason: "..."` under it')
        return
    b._entry(d, None, reverses=d.args[0])
