"""Every account's balance as the entries up to a verified head leave it, which a walk from
that head (grants.services.walk_start) starts from: each account's sum through the covering
index on (account, amount), less the postings of the entries after the head (few; the walk
adds them back as it checks them). A sum with ``entry_id <=`` would read every posting row
instead. An account posted to only after the head is left out: the walk says whether it is.

Where every id, sum and count is a whole number within 64 bits (what every ledger the
commands wrote holds), the balances are kept in two arrays, 16 bytes an account against some
115 in a dictionary (a national funder's ledger has two accounts a grant). Otherwise (only
behind the ledger's back) they are read again as a dictionary, each id as ``int`` gives it,
in the order and with the failures the walk's start has always had: ids that ``int`` makes
one are one account, the last read its balance."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import Connection

from grants.db.seal import stream_rows

_SUMS = "SELECT account_id, SUM(amount_pence), COUNT(*) FROM posting GROUP BY account_id"
_AFTER = "SELECT account_id, amount_pence FROM posting WHERE entry_id > %(e)s"


class Before:
    """Each account's balance up to the head, in the order the sums were read: two arrays of
    64-bit numbers, or the dictionary they stand for (``held``). Read once, by the walk's
    checks."""

    __slots__ = ("_held", "_ids", "_pence")

    def __init__(self, held: dict[int, int] | None = None) -> None:
        self._ids, self._pence = array("q"), array("q")
        self._held = held

    def items(self) -> Iterator[tuple[int, int]]:
        if self._held is not None:
            return iter(self._held.items())
        return zip(self._ids, self._pence, strict=True)

    def __len__(self) -> int:
        return len(self._ids) if self._held is None else len(self._held)


def read(connection: Connection, entry: int) -> Before:
    """The balances up to ``entry``, the last entry sealed up to the head."""
    found = _packed(connection, entry)
    return found if found is not None else Before(_held(connection, entry))


def _packed(connection: Connection, entry: int) -> Before | None:
    """The balances in arrays; None if anything read is not a whole number within 64 bits,
    or a posting after the head is of no account summed (neither is in a ledger the
    commands wrote)."""
    later: dict[int, tuple[int, int]] = {}  # by account: the pence and postings after it
    for account, pence in stream_rows(connection, _AFTER, {"e": entry}):
        if type(account) is not int or type(pence) is not int:
            return None
        was, count = later.get(account, (0, 0))
        later[account] = (was + pence, count + 1)
    found = Before()
    ids, balances = found._ids, found._pence
    for account, pence, count in stream_rows(connection, _SUMS):
        if type(pence) is not int:  # PostgreSQL's sum of integers is a Decimal
            if type(pence) is not Decimal or not pence.is_finite():
                return None
            pence = int(pence)
        if type(account) is not int or type(count) is not int:
            return None
        taken = later.pop(account, None)
        if taken is not None:
            pence, count = pence - taken[0], count - taken[1]
        if count:  # else posted to only after the head
            try:
                balances.append(pence)
                ids.append(account)
            except OverflowError:
                return None
    return None if later else found


def _held(connection: Connection, entry: int) -> dict[int, int]:
    """The balances in a dictionary, each id as ``int`` gives it."""
    balances: dict[int, int] = {}
    postings: dict[int, int] = {}
    for account, pence, count in stream_rows(connection, _SUMS):
        balances[int(account)], postings[int(account)] = int(pence), int(count)
    for account, pence in stream_rows(connection, _AFTER, {"e": entry}):
        balances[int(account)] -= int(pence)
        postings[int(account)] -= 1
    for account, count in postings.items():
        if not count:
            del balances[account]
    return balances


__all__ = ["Before", "read"]
