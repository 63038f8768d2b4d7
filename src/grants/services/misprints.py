"""Plausible misprints: when a printed table does not foot, the single printed figures that,
changed by the difference, would make it foot, and that differ from that figure as a slip of
the hand would: one digit wrong, or two adjacent digits swapped.

Only suggestions: nothing here changes a figure. Ranked most likely first: fewest digits
changed, then the smallest change of a digit, then the order of the table (rows, then the
total)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

ONE_DIGIT = "one digit wrong"
SWAPPED = "two adjacent digits swapped"


@dataclass(frozen=True)
class Misprint:
    label: str  # the row, or the total
    printed: Decimal
    intended: Decimal  # the figure with which the table foots
    slip: str  # ONE_DIGIT or SWAPPED
    digits: int  # how many digits differ
    distance: int  # how far the changed digit(s) are apart (1 for 3 -> 4)
    position: int  # the figure's place in the table

    @property
    def reason(self) -> str:
        printed, intended = _plain(self.printed), _plain(self.intended)
        return f"{self.label} printed {printed} may be {intended} ({self.slip})"


def slip(printed: Decimal, intended: Decimal) -> tuple[str, int, int] | None:
    """How ``intended`` could have been misprinted as ``printed`` (written to the same
    places): (the kind of slip, digits changed, how far apart the digits are), or None when
    no single slip of the hand gives it."""
    if printed == intended or (printed < 0) != (intended < 0):
        return None
    places = max(0, -printed.as_tuple().exponent)  # type: ignore[operator]
    quantum = Decimal(1).scaleb(-places)
    if intended.quantize(quantum) != intended:
        return None  # the intended figure has more places than the printed one shows
    a = f"{abs(printed):.{places}f}".replace(".", "")
    b = f"{abs(intended.quantize(quantum)):.{places}f}".replace(".", "")
    if len(a) != len(b):
        return None
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(differ) == 1:
        i = differ[0]
        if i == 0 and b[0] == "0":
            return None
        return ONE_DIGIT, 1, abs(int(a[i]) - int(b[i]))
    if len(differ) == 2 and differ[1] == differ[0] + 1:
        i, j = differ
        if a[i] == b[j] and a[j] == b[i]:
            return SWAPPED, 2, abs(int(a[i]) - int(a[j]))
    return None


def misprints(rows: Sequence[tuple[str, Decimal]], total: tuple[str, Decimal]) -> list[Misprint]:
    """The single figures of a table (its rows and its total, all as printed) whose
    misprint would explain why it does not foot, most likely first; [] when it foots."""
    difference = total[1] - sum((amount for _, amount in rows), Decimal(0))
    if not difference:
        return []
    candidates = [(label, amount, amount + difference) for label, amount in rows]
    candidates.append((total[0], total[1], total[1] - difference))
    found = []
    for position, (label, printed, intended) in enumerate(candidates):
        how = slip(printed, intended)
        if how is not None:
            found.append(Misprint(label, printed, intended, how[0], how[1], how[2], position))
    return sorted(found, key=lambda m: (m.digits, m.distance, m.position))


def _plain(value: Decimal) -> str:
    places = max(0, -value.as_tuple().exponent)  # type: ignore[operator]
    return f"{value:,.{places}f}"


__all__ = ["ONE_DIGIT", "SWAPPED", "Misprint", "misprints", "slip"]
