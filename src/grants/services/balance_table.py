"""`grants balance`'s rows made from :class:`~grants.services.balances.Balances`: a row for
each stream and period, then one for each of its lines, each figure as the recipes of
:mod:`grants.services.figures` make it, written out (a call reads every line)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grants.periods import Period
from grants.services.figures import _CENT, _ZERO, NAMED, STREAM_FIGURES, BalanceRow
from grants.services.figures import pounds as _d
from grants.services.line_balances import roles_of

if TYPE_CHECKING:
    from grants.services.balances import Balances


def table_rows(balances: Balances, period_filter: Period | None) -> list[BalanceRow]:
    """Rows for `grants balance`: each stream and period, then each of its lines."""
    out: list[BalanceRow] = []
    append = out.append
    new, cent, zero, names = tuple.__new__, _CENT, _ZERO, balances.names
    own_of, lines_of, stated_of = balances.periods, balances.line_totals, balances.stated
    nested = balances.nested
    for key in sorted(own_of, key=_in_order):
        stream, period = key
        if period_filter is not None and not period.overlaps(period_filter):
            continue
        # Each figure as STREAM_FIGURES makes it: every role's total added where it counts.
        figures = [0] * len(_STREAM_ROW)
        for role, total in own_of[key].items():
            counts = _COUNTS_IN.get(role)
            if counts is None:
                counts = _counts_in(role)
            for at, sign in counts:
                figures[at] += sign * total
        awarded, allocated, unallocated, paid, reported, claimed, received, committed = figures
        stated = stated_of.get(key)
        append(
            new(BalanceRow, (
                stream, period, None, "", None,
                cent * awarded if awarded else zero,
                None if stated is None else cent * stated if stated else zero,
                cent * allocated if allocated else zero,
                cent * unallocated if unallocated else zero,
                cent * paid if paid else zero,
                cent * reported if reported else zero,
                cent * claimed if claimed else zero,
                cent * received if received else zero,
                cent * committed if committed else zero,
                None, None,
            ))
        )  # fmt: skip
        lines = lines_of[key]
        rolled = None
        if nested and any(names[i][2] is not None for i in lines):
            rolled = balances.rolled(stream, period)  # a line beneath another: paid adds up
        # Each figure as LINE_FIGURES makes it, written out: a call reads every line.
        for i in sorted(lines):  # in the order the lines were declared
            code, name, parent = names[i]
            roles = lines[i]
            if roles.__class__ is int:  # allocated to and nothing more (most lines)
                if rolled is None:  # every other figure nought
                    append(
                        new(BalanceRow, (
                            stream, period, code, name, parent, None, None,
                            cent * roles if roles else zero, None, zero, zero,
                            None, None, zero, zero, zero,
                        ))
                    )  # fmt: skip
                    continue
            if roles.__class__ is not dict:
                roles = roles_of(roles)
            allocated = paid = spent = committed = carried = brought = 0
            split = None
            for role, total in roles.items():  # a line has few roles: each read once
                if role == "allocated":
                    allocated = total
                elif role == "paid" or role == "passed":
                    paid += total
                elif role == "spent":
                    spent = total
                elif role == "split":
                    split = total
                elif role == "committed":
                    committed = total
                elif role == "carried":
                    carried = total
                elif role == "carried-in":
                    brought = total
            if rolled is not None:  # its branch's: its own and every line's beneath it
                below = rolled[code]
                paid = below.get("paid", 0) + below.get("passed", 0)
                spent = below.get("spent", 0)
            append(
                new(BalanceRow, (
                    stream, period, code, name, parent, None, None,
                    cent * allocated if allocated else zero,
                    None if split is None else _d(allocated + split),
                    cent * paid if paid else zero,
                    cent * spent if spent else zero,
                    None, None,
                    cent * committed if committed else zero,
                    cent * -carried if carried else zero,
                    cent * brought if brought else zero,
                ))
            )  # fmt: skip
    return out


def _in_order(key: tuple[str, Period]) -> tuple[str, int, int]:
    """A stream and period's place among the rows: Period's own order, compared as integers."""
    return key[0], key[1].first.start, key[1].last.start


def _counts_in(role: str) -> tuple[tuple[int, int], ...]:
    """Where a role no recipe names counts: a named part ("funder:T") where its role
    ("funder") counts, as :func:`figure_of` counts it; any other role nowhere."""
    named, colon, _ = role.partition(":")
    if colon and named in NAMED:
        return _COUNTS_IN.get(named, ())
    return ()


# A stream row's figures, in BalanceRow's order: awarded (before stated), then the rest.
_STREAM_ROW = tuple(
    STREAM_FIGURES[m]
    for m in ("awarded", "allocated", "unallocated", "paid", "reported", "claimed", "received",
              "committed")
)  # fmt: skip
# For each role, the stream row's figures it counts in and how (from the recipes).
_COUNTS_IN: dict[str, tuple[tuple[int, int], ...]] = {}
for _at, _recipe in enumerate(_STREAM_ROW):
    for _role, _sign in _recipe:
        _COUNTS_IN[_role] = (*_COUNTS_IN.get(_role, ()), (_at, _sign))
