"""The rules of the journal, as pure functions over balances.

An operation (award, allocate, pay, ...) becomes a list of postings that sum to zero. Every
figure a user sees is an account balance or a sum of them:

===================  ===========================================================
account role         balance means
===================  ===========================================================
``funder[:T]``       minus what the funder awarded (tranche T) for the period
``unallocated``      award not yet allocated to a top-level line
``allocated``        allocated to the line (from the award or its parent line)
``split``            minus what the line passed down to its child lines
``paid``             paid to the line's recipient (by the council, or passed on to it)
``passed``           minus what the line's recipient passed on to its children's
``cash``             minus everything paid out of the stream for the period
``spent``            spend the line's recipient reported
``claims``           minus everything reported for the stream and period
``claimed``          minus what the council claimed from the funder for the period
``claim:NAME``       what the funder still owes on claim NAME (claimed, not yet received)
``received``         cash the council received from the funder for the period
``on-award``         minus what was received against the award itself, not a claim
``carried``          minus the line's underspend carried forward into the next year
``carried-in``       underspend carried into this year from the line's previous year
``committed``        committed to the line by signed grant agreements
``commitments``      minus everything committed for the stream and period
===================  ===========================================================

Money in is kept apart from money out: a claim and a receipt post only to these stream-level
accounts, so they never change what is allocated, paid or reported. For a claim and a
receipt the operation's ``tranche`` is the claim's name (a receipt without one is received
against the award).

Regranting: a payment to a line is either the council's (``pay``: out of the stream's
``cash``) or money passed on by the recipient of the line's parent (``pay`` with ``to_line``
naming that parent: out of the parent's ``passed``). The limits that keep every level's
totals (and never count money twice) are, for each line:

* what is left of its allocation: allocated - passed down to its children >= 0;
* what is left to pay of its allocation: allocated - (paid - passed on), summed over the
  line and every line beneath it, >= 0 (the money that reached the line's branch from
  outside it, from the council or from the line's parent, fits its allocation: a council
  payment to a child of a line already paid in full is refused, passing it on is not); an
  underspend carried forward out of the period counts as paid there, and one brought into
  it as allocated, at the line and every line above it;
* what is allocated and carried stays within what is committed by signed agreements: a
  clawback, virement or carry-forward that would leave a commitment uncovered is refused
  (reverse the commitment first);
* what its recipient holds: paid - passed on >= 0 (no one passes on money not received).

A line that has been paid may therefore still grant on to its children: their allocation
comes out of its allocation, and their payments out of what it was paid.

The same functions serve the command-line write commands (one operation, balances read
from the database under a lock) and the books loader (many operations, balances kept in
memory), so both refuse exactly the same things.

This module makes the postings. The figures read beside the balances (what a funder awarded,
a line's BRANCH figure) are kept in grants.services.rule_figures, and the limits and the
checks against them in grants.services.rule_limits; every name of theirs that other modules
use is importable from here, the very same objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from grants.errors import RuleError
from grants.formatting import gbp
from grants.money import from_pence
from grants.periods import Period
from grants.services.rule_figures import (
    AWARDED,
    BRANCH,
    ROLLED,
    AccountKey,
    Parents,
    carried,
    reader,
    rolled,
    underspend,
    with_branches,
)
from grants.services.rule_limits import OVERRIDABLE, apply, breaches, check


@dataclass(frozen=True, slots=True)
class Operation:
    kind: str
    stream: str
    period: Period
    amount: int  # pence, > 0
    line: str | None = None
    to_line: str | None = None
    to_period: Period | None = None
    tranche: str | None = None
    over_allocation: bool = False


def postings(op: Operation, parent_of: Parents) -> list[tuple[AccountKey, int]]:
    """The postings of an operation (they sum to zero). Does not check balances."""
    s, p, a = op.stream, op.period, op.amount
    if a <= 0:
        raise RuleError(
            f"{op.kind}: the amount must be more than zero, not {gbp(from_pence(a))}; "
            "to undo an entry, reverse it"
        )

    def source_of(line: str) -> AccountKey:
        parent = parent_of(s, line)
        return (s, p, parent, "split") if parent else (s, p, None, "unallocated")

    def need_line() -> str:
        if not op.line:
            raise RuleError(f"{op.kind} needs a line")
        return op.line

    funder = "funder:" + op.tranche if op.tranche else "funder"
    if op.kind == "award":
        return [((s, p, None, funder), -a), ((s, p, None, "unallocated"), a)]
    if op.kind == "allocate":
        line = need_line()
        return [(source_of(line), -a), ((s, p, line, "allocated"), a)]
    if op.kind == "pay":
        line = need_line()
        if op.to_line:  # passed on by the recipient of the line's parent
            parent = parent_of(s, line)
            if parent != op.to_line:
                raise RuleError(
                    f"a payment passed on comes from the line's parent: {line}'s parent is "
                    f"{parent or 'none (it is a top-level line)'}, not {op.to_line}"
                )
            return [((s, p, parent, "passed"), -a), ((s, p, line, "paid"), a)]
        return [((s, p, None, "cash"), -a), ((s, p, line, "paid"), a)]
    if op.kind == "spent":
        line = need_line()
        return [((s, p, None, "claims"), -a), ((s, p, line, "spent"), a)]
    if op.kind == "clawback":
        line = need_line()
        return [
            ((s, p, line, "paid"), -a),
            ((s, p, None, "cash"), a),
            ((s, p, line, "allocated"), -a),
            (source_of(line), a),
        ]
    if op.kind == "virement":
        line = need_line()
        if not op.to_line or op.to_line == line:
            raise RuleError("a virement moves money between two different lines")
        if parent_of(s, line) != parent_of(s, op.to_line):
            raise RuleError(
                f"a virement moves money between lines with the same parent; {line} and "
                f"{op.to_line} have different parents"
            )
        return [((s, p, line, "allocated"), -a), ((s, p, op.to_line, "allocated"), a)]
    if op.kind == "reprofile":
        q = op.to_period
        if q is None or q == p:
            raise RuleError("reprofiling moves award from one period to a different one")
        return [
            ((s, p, None, "unallocated"), -a),
            ((s, p, None, funder), a),
            ((s, q, None, funder), -a),
            ((s, q, None, "unallocated"), a),
        ]
    if op.kind == "carry-forward":
        line = need_line()
        q = op.to_period
        if q is None or not p.is_single_year or q != Period(p.first + 1, p.first + 1):
            raise RuleError(
                "a carry-forward moves a line's underspend from one financial year into the next"
            )
        return [((s, p, line, "carried"), -a), ((s, q, line, "carried-in"), a)]
    if op.kind == "commit":
        line = need_line()
        return [((s, p, None, "commitments"), -a), ((s, p, line, "committed"), a)]
    if op.kind == "claim":
        if not op.tranche:
            raise RuleError("a claim needs a name")
        return [((s, p, None, "claim:" + op.tranche), a), ((s, p, None, "claimed"), -a)]
    if op.kind == "receipt":
        settles = "claim:" + op.tranche if op.tranche else "on-award"
        return [((s, p, None, settles), -a), ((s, p, None, "received"), a)]
    raise RuleError(f"unknown kind of entry {op.kind!r}")


__all__ = [
    "AWARDED",
    "BRANCH",
    "OVERRIDABLE",
    "ROLLED",
    "AccountKey",
    "Operation",
    "Parents",
    "apply",
    "breaches",
    "carried",
    "check",
    "postings",
    "reader",
    "rolled",
    "underspend",
    "with_branches",
]
