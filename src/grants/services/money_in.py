"""Money in: the council's claims to a funder and the cash it receives, the one set of rules
behind the `claim` and `receipt` books directives and the `grants claim` and `grants receipt`
commands.

A claim is a journal entry of kind ``claim`` (its name in the entry's ``tranche``) with a
``claim`` row beside it: the days its expenditure was incurred, the eligible expenditure and
the evidence. A receipt is an entry of kind ``receipt``, against a named claim or against the
award. The limits (a claim within what is awarded and not yet claimed, a receipt within what
is owed on its claim, or within the award) are the journal's (grants.services.rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from grants.db.ids import next_ids
from grants.db.models import Claim
from grants.errors import GrantsError, NotFound
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services import access
from grants.services.journal import NewEntry
from grants.services.streams import stream_code

QUARTER = re.compile(r"^[Qq]([1-4])$")


@dataclass(frozen=True, slots=True)
class ClaimDetails:
    """What a claim says beyond its amount: the first and last days of the expenditure it
    claims for (inclusive), the eligible expenditure in pence, and the evidence reference."""

    starts: date
    ends: date
    eligible: int
    evidence: str


def quarter_days(period: Period, quarter: str, what: str = "--quarter") -> tuple[date, date]:
    """The first and last days of quarter Q1-Q4 of the period's financial year (Q1 is April
    to June)."""
    found = QUARTER.match(quarter.strip())
    if found is None:
        raise GrantsError(f"{what} {quarter!r} is not a quarter: write Q1, Q2, Q3 or Q4")
    if not period.is_single_year:
        raise GrantsError(f"{what}: a quarter is of one financial year, and {period} is several")
    year: FinancialYear = period.first
    n = int(found.group(1))
    start_month = (4 + 3 * (n - 1) - 1) % 12 + 1
    start_year = year.start + (1 if n == 4 else 0)
    end_month = start_month + 2
    starts = date(start_year, start_month, 1)
    after = date(start_year + (end_month // 12), end_month % 12 + 1, 1)
    return starts, date.fromordinal(after.toordinal() - 1)


def check_details(period: Period, amount: int, details: ClaimDetails) -> str | None:
    """What is wrong with a claim's details, or None: its days run forward and lie in the
    period, and it claims no more than the eligible expenditure."""
    if details.starts > details.ends:
        return f"the claim's expenditure starts ({details.starts}) after it ends ({details.ends})"
    for day in (details.starts, details.ends):
        if not period.contains(day):
            return f"the claim's expenditure runs to {day}, outside {period}"
    if not details.evidence.strip():
        return "a claim needs its evidence reference (the claim form or return it rests on)"
    if amount > details.eligible:
        return (
            f"the amount claimed ({from_pence(amount):,.2f}) is more than the eligible "
            f"expenditure ({from_pence(details.eligible):,.2f})"
        )
    return None


def write_claims(session: Session, claims: list[tuple[int, ClaimDetails]]) -> None:
    """The claim rows of newly recorded claim entries (entry id, details), in that order."""
    ids = next_ids(session, "claim", len(claims))
    for claim_id, (entry_id, details) in zip(ids, claims, strict=True):
        session.add(
            Claim(
                id=claim_id,
                entry_id=entry_id,
                starts=details.starts,
                ends=details.ends,
                eligible_pence=details.eligible,
                evidence=details.evidence,
            )
        )
    session.flush()


def claim(session: Session, item: NewEntry, details: ClaimDetails) -> dict[str, Any]:
    """Record a claim to the funder (an officer's work): the entry and its details."""
    # Here, not at the top: recording reads the books' codes, and the books read this.
    from grants.services.recording import record, tagged

    access.require(session, "record")
    assert item.op is not None and item.op.kind == "claim"
    problem = check_details(item.op.period, item.op.amount, details)
    if problem is not None:
        raise GrantsError(problem)
    stream = tagged("stream", stream_code, session, item.op.stream, "any", "record")
    item.op = replace(item.op, stream=stream)
    told = tagged("amount", record, session, item)
    if not told.get("again"):
        write_claims(session, [(told["entry"], details)])
    return told | {"claim": item.op.tranche}


def receipt(session: Session, item: NewEntry, claim_field: str = "--claim") -> dict[str, Any]:
    """Record cash received from the funder, against a named claim or the award. A claim
    that is not recorded is refused naming ``claim_field`` (how the face names it)."""
    # Here, not at the top: recording reads the books' codes, and the books read this.
    from grants.services.recording import record, tagged

    access.require(session, "record")
    assert item.op is not None and item.op.kind == "receipt"
    stream = tagged("stream", stream_code, session, item.op.stream, "any", "record")
    item.op = replace(item.op, stream=stream)
    try:
        told = record(session, item)
    except NotFound as exc:
        refused = NotFound(f"{claim_field} {item.op.tranche}: {exc}")
        refused.field = "claim"
        raise refused from None
    except GrantsError as exc:
        exc.field = "amount"
        raise
    return told | {"claim": item.op.tranche}
