"""Check the books' assertions once everything is written: a `balance` must hold (an error
at its line), a `printed` figure that does not is a discrepancy, reported, never an error."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from grants.formatting import SCALE_LABELS
from grants.ledger.parser import Problem
from grants.services.balances import Balances, compare

if TYPE_CHECKING:
    from grants.ledger.write import Writer


def check_assertions(w: Writer) -> None:
    """A `balance` holds at the start of its date (against the entries dated before it);
    a `printed` figure describes its period, so it is compared with everything recorded."""
    as_of: dict[date | None, Balances] = {}
    for d, rec in w.books.statements:
        if rec["kind"] == "stated":
            continue
        when = d.day if rec["kind"] == "balance" else None
        if when not in as_of:
            as_of[when] = Balances(w.s, as_of=when)
        balances = as_of[when]
        target = rec["target"]
        problem = _target_problem(rec, balances)
        if problem:
            w.error(d, problem)
            continue
        if target is not None and rec["metric"] != "awarded":
            missing = [t for t in target.split("+") if (rec["stream"], t) not in w.lines]
            if missing:
                w.error(d, f"there is no line {missing[0]!r} in stream {rec['stream']}")
                continue
        # A printed figure over a range of years is the sum of the years in it.
        measure = balances.within if rec["kind"] == "printed" else balances.value
        actual = measure(rec["stream"], rec["period"], rec["metric"], target)
        ok, mine = compare(actual, rec["amount"], rec["scale"], rec.get("rounding"))
        if ok:
            continue
        unit = SCALE_LABELS[rec["scale"]]
        what = rec["metric"] + (f":{target}" if target else "")
        shown = "nothing" if mine is None else f"{mine:,} ({unit})"
        verb = "asserted" if rec["kind"] == "balance" else "printed"
        message = (
            f"{rec['stream']} {rec['period']} {what} is {shown}, "
            f"not {Decimal(rec['amount']):,} as {verb}"
        )
        if mine is not None:
            message += f" (difference {Decimal(rec['amount']) - mine:+,})"
        if rec["kind"] == "balance" and not (w.restoring or rec.get("recorded_before")):
            w.error(d, message)
        elif rec["kind"] == "balance":
            # Checked when it was recorded: an entry recorded since, dated before it, no
            # longer bears it out. Reported, not refused: loading the same books again, or
            # restoring an export, gives back the ledger as it is.
            message += " (an entry recorded since is dated before it)"
            w.report.warnings.append(Problem(d.file, d.line, message, "warning"))
        else:
            w.report.discrepancies.append(Problem(d.file, d.line, message, "discrepancy"))


def _target_problem(rec: dict[str, Any], balances: Balances) -> str | None:
    target, metric = rec["target"], rec["metric"]
    if target is None:
        return None
    parts = target.split("+")
    if len(set(parts)) != len(parts):
        return f"{target!r} names the same target twice"
    if metric == "stated":
        return "stated takes no target"
    if metric == "awarded":
        known = balances.tranches(rec["stream"], rec["period"])
        for part in parts:
            if part not in known:
                names = ", ".join(sorted(known)) or "none"
                where = f"{rec['stream']} {rec['period']}"
                return f"{where} has no award tranche {part!r} (tranches: {names})"
    return None
