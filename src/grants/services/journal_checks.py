"""Checks of the journal that stand apart from the rules' balances: books ids that read like
the ref a key gives, a claim's name, a carry-forward's underspend."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container

from sqlalchemy.orm import Session

from grants.errors import NotFound, RuleError
from grants.formatting import gbp
from grants.money import from_pence
from grants.services import entry_refs, rules
from grants.services.journal_entry import NewEntry
from grants.services.rules import AccountKey, Operation

# Up to this many entries, a batch reads only the balances of the lines it touches.
SMALL_BATCH = 100


class GivenIds:
    """Books ids that read like a ref a key gives ("e" and 12 characters): each names one
    entry only if no other entry's key gives that ref, recorded or in the batch."""

    def __init__(self, session: Session, size: int) -> None:
        self.session = session
        # A few entries (an officer's command) look each ref up; a load reads them all once.
        self.recorded = entry_refs.keyed_looking_ids(session) if size > SMALL_BATCH else None
        self.new: set[str] = set()  # given in this batch or an earlier one of the same load
        self.fresh: set[str] = set()  # given in this batch

    def new_rows(self) -> None:
        """A batch's rows are written: what it gave is looked up as recorded from now on."""
        if self.recorded is not None:
            self.recorded |= self.fresh
        self.fresh = set()

    def add(self, ref: str) -> None:
        if entry_refs.looks_keyed(ref):
            self.new.add(ref)
            self.fresh.add(ref)

    def check_keyed(self, ref: str) -> None:
        if self.recorded is not None:
            taken = ref in self.recorded
        else:
            taken = entry_refs.is_given(self.session, ref)
        if taken or ref in self.new:
            raise RuleError(
                f"{ref}, the ref this entry's key gives it, is another entry's id: give that "
                "entry (or this one, with `id:`) another id"
            )

    def ref_of(
        self, item: NewEntry, key: str, by_ref: Container[str], only_ours: bool = False
    ) -> str:
        """The entry's ref: its books id, refused if another entry answers to it, or the one
        its key gives (which a books id of that shape must not be). ``only_ours``: the
        journal holds only this load's entries, whose ids are all in ``by_ref``."""
        own = entry_refs.key_ref(key)
        if item.ref is None or item.ref == own:
            # An id that is the ref its own key gives is stored as such a ref (outside
            # uq_entry_ref): it is refused, as a ref a key gives is, if another entry has it.
            self.check_keyed(own)
            return own
        ref = item.ref
        if ref != own:
            if ref in by_ref:
                raise RuleError(f"id {ref} is given to two entries: give each an id of its own")
            looked_up = not only_ours or entry_refs.looks_keyed(ref)
            taken = entry_refs.holders(self.session, ref) if looked_up else []
            if taken:
                raise RuleError(
                    f"id {ref} is already entry {taken[0]}'s: give the entry an id of its own"
                )
            self.add(ref)
        return ref

    def check_new_keys(self, rows: list[tuple[object, ...]]) -> None:
        """An id given after an entry whose key gives the same ref (in the same batch):
        the ref (third of each row) is then there twice."""
        if not self.fresh:
            return
        seen = Counter(row[2] for row in rows if row[2] in self.fresh)
        clash = [ref for ref, n in seen.items() if n > 1]
        if clash:
            raise RuleError(
                f"id {min(clash)} is the ref another entry's key gives it: give the entry an "
                "id of its own"
            )


def check_claim(op: Operation, balances: dict[AccountKey, int]) -> None:
    """A claim's name is new in its stream and period; a receipt names a claim that is."""
    if op.kind not in ("claim", "receipt") or not op.tranche:
        return
    known = (op.stream, op.period, None, "claim:" + op.tranche) in balances
    if op.kind == "claim" and known:
        raise RuleError(
            f"claim {op.tranche} of {op.stream} {op.period} is already recorded: give the "
            "claim a name of its own"
        )
    if op.kind == "receipt" and not known:
        raise NotFound(
            f"there is no claim {op.tranche} of {op.stream} {op.period}: record the claim "
            "first, or receive the money against the award (no claim named)"
        )


def check_carry(op: Operation, balance: Callable[[AccountKey], int]) -> None:
    """A carry-forward needs an underspend (the line's allocation not passed down to its
    lines, nor paid to it and kept), and carries no more than it."""
    if op.kind != "carry-forward" or op.line is None:
        return
    left = rules.underspend(balance, op.stream, op.period, op.line)
    where = f"{op.line} ({op.stream} {op.period})"
    if left <= 0:
        raise RuleError(
            f"{where} has no underspend to carry forward: what is allocated to it is paid or "
            "passed to its lines"
        )
    if op.amount > left:
        raise RuleError(
            f"carry-forward of {gbp(from_pence(op.amount))} is beyond {where}'s underspend of "
            f"{gbp(from_pence(left))} (allocated, less paid and passed to its lines)"
        )
