"""Commitments: a signed grant agreement commits part of a line's allocation, between
allocating it and paying it. The one set of rules behind the `commit` books directive and
`grants commit`.

A commitment is a journal entry of kind ``commit`` posting to the line's ``committed``
account (grants.services.rules: never beyond the line's allocation), with a ``commitment``
row beside it: the agreement's reference, its conditions and the days it runs. Reconcile
reports a line paid beyond what is committed to it, where it has commitments
(grants.services.reconcile_money_out).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from grants.db.ids import next_ids
from grants.db.models import Commitment
from grants.errors import GrantsError
from grants.services import access
from grants.services.journal import NewEntry
from grants.services.streams import line_code, stream_code


@dataclass(frozen=True, slots=True)
class Agreement:
    """What a signed grant agreement says beyond its amount: its reference, its conditions
    (free text, or None) and the first and last days it runs (inclusive)."""

    reference: str
    conditions: str | None
    starts: date
    ends: date


def check_agreement(agreement: Agreement) -> str | None:
    """What is wrong with an agreement's details, or None."""
    if not agreement.reference.strip():
        return "a commitment needs its agreement's reference"
    if agreement.starts > agreement.ends:
        return f"the agreement starts ({agreement.starts}) after it ends ({agreement.ends})"
    return None


def write_commitments(session: Session, rows: list[tuple[int, Agreement]]) -> None:
    """The commitment rows of newly recorded commit entries (entry id, agreement)."""
    ids = next_ids(session, "commitment", len(rows))
    for row_id, (entry_id, agreement) in zip(ids, rows, strict=True):
        session.add(
            Commitment(
                id=row_id,
                entry_id=entry_id,
                agreement=agreement.reference,
                conditions=agreement.conditions,
                starts=agreement.starts,
                ends=agreement.ends,
            )
        )
    session.flush()


def commit(session: Session, item: NewEntry, agreement: Agreement) -> dict[str, Any]:
    """Record a signed grant agreement committing part of a line's allocation (an
    officer's work): the entry and the agreement's details."""
    # Here, not at the top: recording reads the books' codes, and the books read this.
    from grants.services.recording import record, tagged

    access.require(session, "record")
    assert item.op is not None and item.op.kind == "commit" and item.op.line is not None
    problem = check_agreement(agreement)
    if problem is not None:
        raise GrantsError(problem)
    stream = tagged("stream", stream_code, session, item.op.stream, "any", "record")
    line = tagged("line", line_code, session, stream, item.op.line, "record")
    item.op = replace(item.op, stream=stream, line=line)
    told = tagged("amount", record, session, item)
    if not told.get("again"):
        write_commitments(session, [(told["entry"], agreement)])
    return told | {"agreement": agreement.reference}


def carry_forward(session: Session, item: NewEntry) -> dict[str, Any]:
    """Record a line's underspend carried into the next year (an officer's work): never
    without an underspend nor beyond it, and with the funder's approval (the entry's
    tranche)."""
    # Here, not at the top: recording reads the books' codes, and the books read this.
    from grants.services.recording import record, tagged

    access.require(session, "record")
    assert item.op is not None and item.op.kind == "carry-forward" and item.op.line is not None
    stream = tagged("stream", stream_code, session, item.op.stream, "any", "record")
    line = tagged("line", line_code, session, stream, item.op.line, "record")
    item.op = replace(item.op, stream=stream, line=line)
    return tagged("amount", record, session, item) | {"approval": item.op.tranche}
