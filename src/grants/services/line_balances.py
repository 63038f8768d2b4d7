"""Each line's balances as a balance read keeps them (grants.services.balances), and each
period's lines made of them when a caller asks.

A line's balances are kept as read: its allocated balance alone (an int) for a line with
nothing else, (allocated, role, total) for a line with one role more (a national funder's
lines: allocated and paid), else a dictionary by role; :func:`roles_of` makes each one a
dictionary. A dictionary a line would be some 175 bytes where the tuple is 64."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from grants.periods import Period
from grants.services.name_table import PackedNames

if TYPE_CHECKING:
    from grants.services.balance_catalogue import LineNames

# A line's balances: (line id, code, name, parent's code, balances by role).
LineBalances = tuple[int, str, str, str | None, dict[str, int]]
# A line's balances as read: see the module's docstring.
Roles = int | tuple[int, str, int] | dict[str, int]
# A period's lines' balances as read, by line id.
LineTotals = dict[int, Roles]


def roles_of(roles: Roles) -> dict[str, int]:
    """A line's balances by role, from what was read."""
    if roles.__class__ is int:
        return {"allocated": roles}  # type: ignore[dict-item]
    if roles.__class__ is tuple:
        allocated, role, total = roles  # type: ignore[misc]
        return {"allocated": allocated, role: total}
    return roles  # type: ignore[return-value]


def has_role(roles: Roles, role: str) -> bool:
    """Whether a line's balances as read have one of ``role`` (as ``roles_of(roles).get(role)
    is not None``: a balance read refuses sums of None, which only a ledger changed behind
    its back makes)."""
    if roles.__class__ is int:
        return role == "allocated"
    if roles.__class__ is tuple:
        return role == "allocated" or role == roles[1]  # type: ignore[index]
    return roles.get(role) is not None  # type: ignore[union-attr]


class LinesIn(Mapping[tuple[str, Period], list[LineBalances]]):
    """Each stream and period's lines as :attr:`Balances.lines_in` gives them, each
    period's list made when first asked for and kept; for the lines of a ledger of many
    (their names packed: grants.services.name_table), only the two periods asked for last
    are kept (the checks walk the periods one after another): every line's names made at
    once would hold as much again as the packing saves. Whether it has a period, and
    ``get``, answer from the periods read. Compared whole, or its values walked, every
    period's list is made."""

    def __init__(self, totals: Mapping[tuple[str, Period], LineTotals], names: LineNames) -> None:
        self._totals = totals
        self._names = names
        self._kept: dict[tuple[str, Period], list[LineBalances]] = {}
        self._at_most = 2 if isinstance(names, PackedNames) else None

    def __getitem__(self, key: tuple[str, Period]) -> list[LineBalances]:
        kept = self._kept
        found = kept.get(key)
        if found is not None:
            if self._at_most is not None:
                kept[key] = kept.pop(key)  # asked for last: kept longest
            return found
        lines, names = self._totals[key], self._names
        ids = sorted(lines)
        each = names.each(ids) if isinstance(names, PackedNames) else map(names.__getitem__, ids)
        found = [
            (i, code, name, parent, roles_of(lines[i]))
            for i, (code, name, parent) in zip(ids, each, strict=True)
        ]
        if self._at_most is not None and len(kept) >= self._at_most:
            del kept[next(iter(kept))]  # the one asked for longest ago
        kept[key] = found
        return found

    def get(self, key: tuple[str, Period], default: Any = None) -> Any:
        return self[key] if key in self._totals else default

    def __contains__(self, key: object) -> bool:
        return key in self._totals

    def __iter__(self) -> Iterator[tuple[str, Period]]:
        return iter(self._totals)

    def __len__(self) -> int:
        return len(self._totals)


__all__ = ["LineBalances", "LineTotals", "LinesIn", "Roles", "has_role", "roles_of"]
