"""What every received form is checked for before its own rules: that this ledger issued it,
as issued (grants.services.form_identity), and the problems found, each at its cell."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from grants.services import access, form_identity
from grants.services.form_identity import Identity
from grants.services.form_rows import FormRows, Problem, Typed


class Found:
    """The problems and notes found in a received form, each with its cell."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.notes: list[Problem] = []  # accepted, but worth a word: text read as an amount

    def problem(self, where: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, where, message))

    def take(self, cell: Typed[Any]) -> Any:
        """A cell's value, its problem or note noted."""
        if cell.problem is not None:
            self.problem(cell.ref, cell.problem)
        if cell.note is not None:
            self.notes.append(Problem(self.file, cell.ref, cell.note))
        return cell.value


def verified(
    session: Session,
    kind: str,
    rows: FormRows,
    found: Found,
    key: Callable[[Session], bytes] | None = None,
) -> Identity | None:
    """The identity of a received form (``kind`` return or plan) if it is one this ledger
    issued, as issued: its MAC verifies with the ledger's key and its locked display cells
    are as written. Else each problem is noted at its cell, and the attempt is written to
    the audit log (whoever sent it). ``key``: as for `form_identity.check`."""
    verdict = form_identity.check(session, kind, rows.identity.raw, rows.display, key)
    if verdict.problem is not None:
        found.problem(rows.identity.ref, verdict.problem)
    for ref, message in verdict.changed:
        found.problem(ref, message)
    if verdict.identity is None or verdict.changed:
        shown = "; ".join(f"{p.where}: {p.message}" if p.where else p.message
                          for p in found.problems)  # fmt: skip
        access.note_refusal(session, "import", f"{rows.file} (SHA-256 {rows.sha256}): {shown}")
        return None
    return verdict.identity


def check_completed_on(rows: FormRows, found: Found, earliest: date) -> date | None:
    """The date completed: a date between ``earliest`` and today."""
    completed_on: date | None = found.take(rows.completed_on)
    if completed_on is not None and (completed_on < earliest or completed_on > date.today()):
        found.problem(rows.completed_on.ref, f"the date completed {completed_on:%d/%m/%Y} is not "
                      f"between {earliest:%d/%m/%Y} and today")  # fmt: skip
        return None
    return completed_on


__all__ = ["Found", "check_completed_on", "verified"]
