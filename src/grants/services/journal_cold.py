"""Lines a load has done with for now, kept packed until its entries name them again.

A load checks each entry against the balances of the accounts it posts to, their lines'
BRANCH figures and the accounts' ids, kept in dictionaries by their four-part keys (about
600 bytes a line with two accounts). A national funder's books give every grant a line of
its own, named by a few entries and then never again: held as they are, the balances of
half a million grants would outgrow the load. :class:`ColdLines` takes the lines the
entries of a batch did not name out of those dictionaries once they hold many, each line's
keys, balances and ids packed (16 bytes a key) in one buffer, and puts a line back,
exactly as it was, before the entries of a batch that names it are checked.

Only a line with no parent and no child is packed: the rules check an entry against its own
line, the lines above it and the stream (grants.services.rules), so such a line's figures
are read only by the entries that name it, or by a reversal of one of them (which names an
entry, not a line: the journal puts back the lines of the postings it undoes before it is
checked). A line of a branch stays as it is.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Collection, Mapping, MutableMapping

from grants.periods import Period
from grants.services.rules import AccountKey

# A load packs lines once its dictionaries hold this many keys (of accounts and figures),
# and again only once they hold twice what the last packing left in them (a ledger whose
# many lines are all of branches, never packed, is not searched again and again).
HOLD = 40_000

# A key of a line packed: its period and role (as numbers in this load's own lists), whether
# it has an id (an account) and a balance (an account or a figure), the id and the balance:
# 16 bytes, or 23 for a line one of whose numbers does not fit (_WIDE set in its count). A
# balance is a signed 64-bit number in either: no balance passes the journal's turnover,
# below 2^62 (grants.money.MAX_TURNOVER_PENCE).
_KEY = struct.Struct("<HBBIq")
_WIDE_KEY = struct.Struct("<IHBqq")
_COUNT = struct.Struct("<I")  # how many keys a line has, before them
_WIDE = 1 << 31
_HAS_ID, _HAS_BALANCE = 1, 2
# Bytes of lines put back that the buffer may hold before it is compacted (and no more than
# the packed lines hold).
_SPARE = 1 << 20


class ColdLines:
    """The accounts and figures of the lines packed: each line's keys one after another in
    one buffer, where each begins found by the line's id (8 bytes for every id up to the
    greatest packed)."""

    def __init__(
        self, lines: Mapping[tuple[str, str], int], parents: Mapping[tuple[str, str], str]
    ) -> None:
        """``lines``: every line's id by (stream, code); ``parents``: each line's parent's
        code by (stream, code), for the lines that have one (the journal's catalogue)."""
        self._lines = lines
        # Lines of a branch: with a parent, or the parent of another. Never packed.
        self._branch = set(parents) | {(stream, parent) for (stream, _), parent in parents.items()}
        self._data = bytearray()  # each line packed: how many keys (_COUNT), then its keys
        self._at = array("q")  # by line id: where its keys begin in _data, or -1
        self._count = 0  # lines packed
        self._live = 0  # bytes of _data that a packed line holds (a line put back frees some)
        self._periods: list[Period] = []
        self._period_at: dict[Period, int] = {}
        self._roles: list[str] = []
        self._role_at: dict[str, int] = {}
        self._next = HOLD

    def __len__(self) -> int:
        return self._count

    def warm(
        self,
        named: Collection[tuple[str, str]],
        balances: dict[AccountKey, int],
        account_ids: MutableMapping[AccountKey, int],
    ) -> None:
        """Put back each of the lines ``named`` (stream, code) that is packed, its keys,
        balances and ids as they were packed."""
        if not self._count:
            return
        lines, at, data = self._lines, self._at, self._data
        periods, roles, size = self._periods, self._roles, len(self._at)
        for line in named:
            line_id = lines.get(line)
            if line_id is None or line_id >= size or at[line_id] < 0:
                continue
            stream, code = line
            start = at[line_id]
            form, end = _block(data, start)
            at[line_id] = -1
            self._count -= 1
            self._live -= end - start
            for period, role, has, account_id, amount in form.iter_unpack(
                data[start + _COUNT.size : end]
            ):
                key = (stream, periods[period], code, roles[role])
                if has & _HAS_ID:
                    account_ids[key] = account_id
                if has & _HAS_BALANCE:
                    balances[key] = amount

    def cool(
        self,
        keep: Collection[tuple[str, str]],
        balances: dict[AccountKey, int],
        account_ids: MutableMapping[AccountKey, int],
    ) -> None:
        """Once ``balances`` and ``account_ids`` hold HOLD keys or more (twice as many as
        were left the last time), pack every line out of them that is not one of ``keep``
        (stream, code: those the batch just checked named) nor of a branch."""
        if len(balances) + len(account_ids) < self._next:
            return
        taken: dict[tuple[str, str | None], list[tuple[int, int, int, int, int]]] = {}
        branch = self._branch
        # A figure has a balance and no id, an account not posted to yet an id alone.
        for key in [k for k in (*balances, *account_ids) if k[2] is not None]:
            at = (key[0], key[2])
            if at in keep or at in branch:
                continue
            account_id, amount = account_ids.pop(key, None), balances.pop(key, None)
            if account_id is None and amount is None:  # both, taken when first seen
                continue
            has = (_HAS_ID if account_id is not None else 0) | (
                _HAS_BALANCE if amount is not None else 0
            )
            fields = self._fields(key, has, account_id or 0, amount or 0)
            taken.setdefault(at, []).append(fields)
        lines, at, data = self._lines, self._at, self._data
        for (stream, code), keys in taken.items():
            assert code is not None
            line_id = lines[(stream, code)]
            if line_id >= len(at):
                at.extend(array("q", [-1]) * (line_id + 1 - len(at)))
            start = at[line_id] = len(data)
            narrow = all(p < 1 << 16 and r < 1 << 8 and 0 <= i < 1 << 32 for p, r, _, i, _ in keys)
            form = _KEY if narrow else _WIDE_KEY
            data += _COUNT.pack(len(keys) | (0 if narrow else _WIDE))
            for fields in keys:
                data += form.pack(*fields)
            self._live += len(data) - start
        self._count += len(taken)
        if len(data) > 2 * self._live + _SPARE:
            self._compact()
        self._next = max(HOLD, 2 * (len(balances) + len(account_ids)))

    def _compact(self) -> None:
        """The packed lines' keys moved together, leaving out what lines put back held."""
        data, kept, at = self._data, bytearray(), self._at
        for line_id, start in enumerate(at):
            if start >= 0:
                at[line_id] = len(kept)
                kept += data[start : _block(data, start)[1]]
        self._data = kept

    def _fields(
        self, key: AccountKey, has: int, account_id: int, amount: int
    ) -> tuple[int, int, int, int, int]:
        _, period, _, role = key
        at = self._period_at.get(period)
        if at is None:
            at = self._period_at[period] = len(self._periods)
            self._periods.append(period)
        kind = self._role_at.get(role)
        if kind is None:
            kind = self._role_at[role] = len(self._roles)
            self._roles.append(role)
        return at, kind, has, account_id, amount

    def clear(self) -> None:
        self._data, self._at = bytearray(), array("q")
        self._count = self._live = 0


def _block(data: bytearray, start: int) -> tuple[struct.Struct, int]:
    """How the line packed at ``start`` is packed, and where its keys end."""
    (count,) = _COUNT.unpack_from(data, start)
    form = _WIDE_KEY if count & _WIDE else _KEY
    return form, start + _COUNT.size + (count & ~_WIDE) * form.size
