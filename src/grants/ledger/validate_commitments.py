"""Validate ``commit`` (a signed grant agreement committing part of a line's allocation, a
journal entry with the agreement's details, grants.services.commitments.Agreement, kept
beside it for the writer) and ``carry-forward`` (a line's underspend carried into the next
year, with the funder's approval)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from grants.formatting import gbp
from grants.ledger.parser import Directive
from grants.money import from_pence
from grants.services.commitments import Agreement, check_agreement
from grants.services.rules import Operation

if TYPE_CHECKING:
    from grants.ledger.validate import Books


def commit(b: Books, d: Directive) -> None:
    """``DATE commit STREAM PERIOD LINE AMOUNT`` with ``agreement:``, ``from:`` and ``to:``
    and, if it has any, ``conditions:``."""
    period = b.period(d, d.args[1])
    amount = b.amount(d, d.args[3])
    missing = [k for k in ("agreement", "from", "to") if k not in d.meta]
    if missing:
        b.error(d, f"a commitment needs {', '.join(missing)}: the signed agreement's reference "
                   "and the days it runs (see ledger/README.md)")  # fmt: skip
        return
    if amount is not None and amount <= 0:
        b.error(d, f"commit amounts must be more than zero, not {gbp(from_pence(amount))}; "
                   "to undo an entry, reverse it")  # fmt: skip
        return
    starts, ends = b.date(d, d.meta["from"], "from"), b.date(d, d.meta["to"], "to")
    if period is None or amount is None or starts is None or ends is None:
        return
    agreement = Agreement(d.meta["agreement"], d.meta.get("conditions"), starts, ends)
    problem = check_agreement(agreement)
    if problem is not None:
        b.error(d, problem)
        return
    # Codes interned as every entry's are (grants.ledger.validate_entries.money_op).
    op = Operation("commit", sys.intern(d.args[0]), period, amount, line=sys.intern(d.args[2]))
    b._entry(d, op)
    b.commitments[id(b.entries[-1][1])] = agreement


def carry_forward(b: Books, d: Directive) -> None:
    """``DATE carry-forward STREAM FROM-YEAR TO-YEAR LINE AMOUNT`` with ``approval:`` (the
    funder's approval reference, kept as the entry's tranche)."""
    period, to_period = b.period(d, d.args[1]), b.period(d, d.args[2])
    amount = b.amount(d, d.args[4])
    approval = d.meta.get("approval")
    if approval is None or not approval.strip():
        b.error(d, "a carry-forward needs the funder's approval: add `approval: REFERENCE`")
        return
    if len(approval) > 40:
        b.error(d, f"approval {approval!r} is longer than 40 characters", "approval")
        return
    if amount is not None and amount <= 0:
        b.error(d, f"carry-forward amounts must be more than zero, not "
                   f"{gbp(from_pence(amount))}; to undo an entry, reverse it")  # fmt: skip
        return
    if period is None or to_period is None or amount is None:
        return
    op = Operation("carry-forward", sys.intern(d.args[0]), period, amount,
                   line=sys.intern(d.args[3]), to_period=to_period, tranche=approval)  # fmt: skip
    b._entry(d, op)
