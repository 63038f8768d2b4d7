"""What `grants verify` finds: each problem with its record and place in the chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from grants import formatting
from grants.db.seal import Head

LIMIT = 1000  # problems kept: enough to see the extent of any damage


@dataclass(frozen=True)
class Broken:
    """One thing found wrong: which record, where it is in the chain, and what differs."""

    # chain, missing, unsealed, postings, turnover, key, account, attachment, ids, guard,
    # verification (a head a walk of every link found whole is no longer the chain's)
    check: str
    table: str
    row_id: int | None
    message: str
    seq: int | None = None  # its place in the chain, when it has one

    @property
    def record(self) -> str:
        return self.table if self.row_id is None else f"{self.table} {self.row_id}"

    def __str__(self) -> str:
        return f"{self.record}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "table": self.table,
            "id": self.row_id,
            "seq": self.seq,
            "message": self.message,
        }


@dataclass(frozen=True)
class Checkpoint:
    """A head a walk of every link found whole (table ``verification``): the chain's first
    ``head.count`` links were proved then, when (UTC) and by whom (None: a ledger without
    people); ``marks``: the greatest id then of each table of record and of rows that belong
    to a record (None: not known, and every link is walked). ``unfit``: why the row is not
    one `grants verify` could have written (nothing is relied on; the row is named)."""

    head: Head
    at: datetime
    by: str | None = None
    marks: dict[str, int] | None = field(default=None, hash=False)
    id: int | None = None
    unfit: str | None = None

    @property
    def named(self) -> str:
        """``verification 7``, as the table holds it."""
        return "the verification" if self.id is None else f"verification {self.id}"

    def when(self) -> str:
        """``4 December 2026 at 21:10 UTC (A. Officer)``."""
        who = f" ({self.by})" if self.by else ""
        return f"{formatting.day(self.at.date())} at {self.at:%H:%M} UTC{who}"


@dataclass
class Verification:
    head: Head
    problems: list[Broken] = field(default_factory=list)
    more: int = 0  # problems beyond LIMIT, not kept
    notes: list[str] = field(default_factory=list)  # worth knowing, not a break
    # The verification relied on: the links up to its head were not walked again, only
    # those after it. None: every link was walked.
    since: Checkpoint | None = None
    # Why every link was walked although a verification is recorded (not a break).
    whole_because: str | None = None
    # The greatest id of each table of ``records.MARKED`` as the walk read them (a whole
    # walk: what a verification records).
    marks: dict[str, int] | None = None

    @property
    def walked(self) -> int:
        """How many links were walked now."""
        return self.head.count - (self.since.head.count if self.since else 0)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Broken | None:
        if not self.problems:
            return None
        return min(self.problems, key=lambda p: (p.seq is None, p.seq or 0))

    def add(self, problem: Broken) -> None:
        if len(self.problems) < LIMIT:
            self.problems.append(problem)
        else:
            self.more += 1


__all__ = ["LIMIT", "Broken", "Checkpoint", "Verification"]
