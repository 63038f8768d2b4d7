"""Validate the directives of money in: ``claim`` (the council claims from a funder) and
``receipt`` (cash received from the funder, against a claim or the award). Both are journal
entries; a claim's details (grants.services.money_in.ClaimDetails) are kept beside it for
the writer."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from grants.errors import GrantsError
from grants.formatting import gbp
from grants.ledger.parser import Directive
from grants.money import from_pence
from grants.services.money_in import ClaimDetails, check_details, quarter_days
from grants.services.rules import Operation

if TYPE_CHECKING:
    from grants.ledger.validate import Books

CLAIM_META = {"from", "to", "quarter", "eligible", "evidence"}


def _amount(b: Books, d: Directive, text: str, kind: str) -> int | None:
    pence = b.amount(d, text)
    if pence is not None and pence <= 0:
        b.error(d, f"{kind} amounts must be more than zero, not {gbp(from_pence(pence))}; "
                   "to undo an entry, reverse it")  # fmt: skip
        return None
    return pence


def claim(b: Books, d: Directive) -> None:
    """``DATE claim STREAM PERIOD NAME AMOUNT`` with ``from:``/``to:`` or ``quarter:``,
    ``eligible:`` and ``evidence:``."""
    period = b.period(d, d.args[1])
    name = b.code(d, d.args[2], "claim")
    amount = _amount(b, d, d.args[3], "claim")
    missing = [k for k in ("eligible", "evidence") if k not in d.meta]
    dated = "quarter" in d.meta or ("from" in d.meta and "to" in d.meta)
    if not dated:
        missing.append("from and to, or quarter")
    if missing:
        b.error(d, f"a claim needs {', '.join(missing)}: the expenditure claimed for, how much "
                   "of it is eligible and the evidence (see ledger/README.md)")  # fmt: skip
        return
    if "quarter" in d.meta and ("from" in d.meta or "to" in d.meta):
        b.error(d, "give the claim's expenditure either as quarter: or as from: and to:, not "
                   "both", "quarter")  # fmt: skip
        return
    eligible = b.amount(d, d.meta["eligible"], "eligible")
    if period is None or name is None or amount is None or eligible is None:
        return
    if "quarter" in d.meta:
        try:
            starts, ends = quarter_days(period, d.meta["quarter"], "quarter")
        except GrantsError as exc:
            b.error(d, str(exc), "quarter")
            return
    else:
        first, last = b.date(d, d.meta["from"], "from"), b.date(d, d.meta["to"], "to")
        if first is None or last is None:
            return
        starts, ends = first, last
    details = ClaimDetails(starts, ends, eligible, d.meta["evidence"])
    problem = check_details(period, amount, details)
    if problem is not None:
        b.error(d, problem)
        return
    op = Operation("claim", sys.intern(d.args[0]), period, amount, tranche=name)
    b._entry(d, op)
    b.claims[id(b.entries[-1][1])] = details


def receipt(b: Books, d: Directive) -> None:
    """``DATE receipt STREAM PERIOD AMOUNT`` with ``claim: NAME`` when it pays a claim."""
    period = b.period(d, d.args[1])
    amount = _amount(b, d, d.args[2], "receipt")
    name = d.meta.get("claim")
    if name is not None and b.code(d, name, "claim") is None:
        return
    if period is None or amount is None:
        return
    b._entry(d, Operation("receipt", sys.intern(d.args[0]), period, amount, tranche=name))
