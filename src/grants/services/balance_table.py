"""`grants balance`'s rows made from :class:`~grants.services.balances.Balances`: a row for
each stream and period, then one for each of its lines, each figure as the recipes of
:mod:`grants.services.figures` make it, written out (a call reads every line)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grants.periods import Period
from grants.services.figures import _CENT, _ZERO, NAMED, STREAM_FIGURES, BalanceRow
from grants.services.figures import pounds as _d

if TYPE_CHECKING:
    from grants.services.balances import Balances


def table_rows(balances: Balances, period_filter: Period | None) -> list[BalanceRow]:
    """Rows for `grants balance`: each stream and period, then each of its lines."""
    out: list[BalanceRow] = []
    append = out.append
    new, cent, zero, names = tuple.__new__, _CENT, _ZERO, balances.names
    nested = any(parent is not None for _, _, parent in names.values())
    for stream, period in sorted(balances.periods, key=_in_order):
        if period_filter is not None and not period.overlaps(period_filter):
            continue
        key = (stream, period)
        stated = balances.stated.get(key)
        figures = [0] * len(_STREAM_ROW)  # each as STREAM_FIGURES makes it
        for role, total in _folded(balances.periods[key]).items():
            for at, sign in _COUNTS_IN.get(role, ()):
                figures[at] += sign * total
        awarded, *rest = figures
        append(
            new(BalanceRow, (
                stream, period, None, "", None, _d(awarded),
                None if stated is None else _d(stated), *map(_d, rest), None, None,
            ))
        )  # fmt: skip
        lines = balances.of_lines[key]
        rolled = None
        if nested and any(names[i][2] is not None for i in lines):
            rolled = balances.rolled(stream, period)  # a line beneath another: paid adds up
        # Each figure as LINE_FIGURES makes it, written out: a call reads every line.
        for i in sorted(lines):  # in the order the lines were declared
            code, name, parent = names[i]
            roles = lines[i]
            if rolled is None and len(roles) == 1 and "allocated" in roles:
                # Allocated to and nothing more (most lines): every other figure nought.
                allocated = roles["allocated"]
                append(
                    new(BalanceRow, (
                        stream, period, code, name, parent, None, None,
                        cent * allocated if allocated else zero, None, zero, zero,
                        None, None, zero, zero, zero,
                    ))
                )  # fmt: skip
                continue
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


def _folded(totals: dict[str, int]) -> dict[str, int]:
    """A stream's balances by role with each named part ("funder:T") added to its role as
    well ("funder"): what :func:`figure_of` counts for a role, read with one lookup."""
    if not any(":" in role for role in totals):
        return totals
    out = dict(totals)
    for role, total in totals.items():
        named, colon, _ = role.partition(":")
        if colon and named in NAMED:
            out[named] = out.get(named, 0) + total
    return out


# A stream row's figures, in BalanceRow's order: awarded (before stated), then the rest.
_STREAM_ROW = tuple(
    STREAM_FIGURES[m]
    for m in ("awarded", "allocated", "unallocated", "paid", "reported", "claimed", "received",
              "committed")
)  # fmt: skip
# For each role, the stream row's figures it counts in and how (from the recipes).
_COUNTS_IN: dict[str, list[tuple[int, int]]] = {}
for _at, _recipe in enumerate(_STREAM_ROW):
    for _role, _sign in _recipe:
        _COUNTS_IN.setdefault(_role, []).append((_at, _sign))
