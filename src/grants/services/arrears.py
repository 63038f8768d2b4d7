"""Growth projects are paid in arrears: no payment to a project for a quarter before that
quarter's spend is claimed.

The rule, as the journal applies it to every `pay` (from the books or a command): the money
paid to a growth project (a line of kind `project` in a stream of kind lgf, city-deal,
growth-deal, erdf, esf, eafrd or esif) up to and including any day from the payment's day
on, net of reversed payments and clawbacks, may not exceed the grant its project claims
dated on or before that day claim. A project claim is itself dated after its quarter ends
(grants.ledger.growth), so a payment can only follow the spend it pays for.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from grants.db.models import Entry, Line, ProjectClaim, Stream
from grants.errors import RuleError
from grants.formatting import gbp
from grants.money import from_pence

GROWTH_KINDS = frozenset({"lgf", "city-deal", "growth-deal", "erdf", "esf", "eafrd", "esif"})


class Arrears:
    """The arrears rule for one batch of journal entries (read lazily, once)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._projects: set[int] | None = None
        self._claims: dict[int, list[tuple[date, int]]] = {}
        self._paid: dict[int, list[tuple[date, int]]] = defaultdict(list)

    def _load(self) -> set[int]:
        if self._projects is not None:
            return self._projects
        s = self.session
        self._projects = set(
            s.scalars(
                select(Line.id)
                .join(Stream, Stream.id == Line.stream_id)
                .where(Line.kind == "project", Stream.kind.in_(sorted(GROWTH_KINDS)))
            )
        )
        claims: dict[int, list[tuple[date, int]]] = defaultdict(list)
        for line_id, day, grant in s.execute(
            select(ProjectClaim.line_id, ProjectClaim.day, ProjectClaim.grant_pence)
        ):
            claims[line_id].append((day, grant))
        self._claims = dict(claims)
        if not self._projects:
            return self._projects
        reversal = aliased(Entry)
        reversed_ids = select(reversal.reverses_id).where(reversal.reverses_id.is_not(None))
        for line_id, kind, day, amount in s.execute(
            select(Entry.line_id, Entry.kind, Entry.day, Entry.amount_pence).where(
                Entry.kind.in_(("pay", "clawback")),
                Entry.reverses_id.is_(None),
                Entry.id.not_in(reversed_ids),
                Entry.line_id.in_(sorted(self._projects)),
            )
        ):
            self._paid[line_id].append((day, amount if kind == "pay" else -amount))
        return self._projects

    def check_pay(self, stream: str, line: str, line_id: int, day: date, amount: int) -> None:
        """Refuse a payment beyond what the project has claimed by ``day``; else note it."""
        if line_id not in self._load():
            return
        # Paid stays within claimed on the payment's day and on every later day a payment
        # was made: a payment dated back, before payments already made, counts in all of them.
        later = sorted({d for d, _ in self._paid[line_id] if d > day})
        for on in (day, *later):
            claimed = sum(g for d, g in self._claims.get(line_id, []) if d <= on)
            paid = sum(a for d, a in self._paid[line_id] if d <= on)
            if paid + amount > claimed:
                raise RuleError(
                    f"paying {gbp(from_pence(amount))} to {stream} {line} on {day} would pay "
                    f"the project ahead of its claims: by {on} its claims claim "
                    f"{gbp(from_pence(claimed))} of grant and {gbp(from_pence(paid))} is paid. "
                    "A growth project is paid in arrears: record its `project-claim` for the "
                    "quarter first, then pay at most the grant claimed"
                )
        self._paid[line_id].append((day, amount))


__all__ = ["GROWTH_KINDS", "Arrears"]
