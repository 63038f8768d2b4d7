"""Reconcile's checks of commitments (signed grant agreements committing a line's
allocation):

* ``paid beyond committed``: a line with commitments paid more than is committed to it
  (warning: a payment the agreements do not cover);
* ``committed beyond allocation``: a line whose commitments exceed what is now allocated to
  it, after a virement or clawback took allocation away (error: the agreements promise money
  the line does not hold).

Both read the ledger as it stood at the end of the reconcile date.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grants.services.reconcile import Context, Finding


def _finding(*args: object) -> Finding:
    from grants.services.reconcile import Finding  # reconcile lists these checks

    return Finding(*args)  # type: ignore[arg-type]


def commitments(ctx: Context) -> Iterator[Finding]:
    for stream, period in ctx.periods():
        for _, code, name, _, roles in ctx.balances.lines_having(stream, period, "committed"):
            committed = roles["committed"]
            if not committed:
                continue
            paid, allocated = roles.get("paid", 0), roles.get("allocated", 0)
            if paid > committed:
                yield _finding(
                    "warning", "paid beyond committed", stream, str(period), code, name,
                    f"{code} was paid {ctx.money(paid)}, {ctx.money(paid - committed)} more "
                    f"than its signed agreements commit ({ctx.money(committed)})",
                    paid - committed,
                )  # fmt: skip
            if committed > allocated:
                yield _finding(
                    "error", "committed beyond allocation", stream, str(period), code, name,
                    f"{code}'s signed agreements commit {ctx.money(committed)}, "
                    f"{ctx.money(committed - allocated)} more than is allocated to it "
                    f"({ctx.money(allocated)}): vary an agreement or restore the allocation",
                    committed - allocated,
                )  # fmt: skip


CHECKS = [("commitments", commitments)]
