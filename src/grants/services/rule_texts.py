"""What the rules say in words: an operation as a refusal names it, a limit as a refusal or a
breach names it, and a share as an entry stores it (grants.services.rules checks; this module
only writes)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from grants.formatting import gbp
from grants.money import from_pence

if TYPE_CHECKING:
    from grants.services.rules import AccountKey, Operation


def describe(op: Operation) -> str:
    if op.kind in ("claim", "receipt"):
        named = f" {op.tranche}" if op.kind == "claim" else ""
        against = f" on claim {op.tranche}" if op.kind == "receipt" and op.tranche else ""
        return (
            f"{op.kind}{named} of {gbp(from_pence(op.amount))} from {op.stream} {op.period}"
            f"{against}"
        )
    where = f"{op.stream} {op.period}"
    if op.line:
        where += f" {op.line}"
    return f"{op.kind} of {gbp(from_pence(op.amount))} to {where}"


def limit_name(kind: str, key: AccountKey) -> str:
    s, p, line = key[0], key[1], key[2]
    if kind == "unallocated":
        return f"the unallocated award of {s} {p}"
    if kind == "available":
        return f"what is left of the allocation to {line} ({s} {p})"
    if kind == "unpaid":
        return f"what is left to pay of the allocation to {line} ({s} {p})"
    if kind == "held":
        return f"what {line}'s recipient was paid and has not passed on ({s} {p})"
    if kind == "committable":
        return f"what is allocated to {line} and not yet committed ({s} {p})"
    if kind == "claimable":
        return f"what is awarded and not yet claimed for {s} {p}"
    if kind == "receivable":
        return f"what is awarded and not yet received for {s} {p}"
    if kind == "owed":
        return f"what is still owed on claim {key[3].removeprefix('claim:')} ({s} {p})"
    return f"the amount {'paid to' if kind == 'paid' else 'reported by'} {line} ({s} {p})"


def share_text(share: Decimal | None) -> str | None:
    return None if share is None else f"{share.normalize():f}%"
