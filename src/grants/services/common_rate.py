"""A common rate: when the lines of a table change from one year to the next by one rate (a
cut or a raise applied to every recipient, say all -5%), the lines whose change is out of
line with the rest, each with the figure the common rate would give.

The common rate is the one most lines share: the largest group of lines whose rates of
change lie within ``tolerance`` of each other (a whole or tenth of a per cent when that
reproduces them, else their median). It is only a common rate when at least three lines and
at least two thirds of them share it, and it is a change (not 0%). Only suggestions: nothing
here changes a figure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

TOLERANCE = Decimal("0.005")  # half a percentage point
QUORUM = Decimal(2) / 3
MINIMUM = 3


@dataclass(frozen=True)
class OutOfLine:
    label: str
    before: Decimal
    after: Decimal
    rate: Decimal  # the line's own change, as a fraction
    common: Decimal  # the common rate
    expected: Decimal  # before x (1 + common), to the pound
    sharing: int  # how many lines share the common rate
    lines: int  # how many lines were compared


def common_rate(
    lines: Sequence[tuple[str, Decimal, Decimal]], tolerance: Decimal = TOLERANCE
) -> tuple[Decimal | None, list[OutOfLine]]:
    """``lines``: (label, the earlier year's figure, the later year's). Returns the common
    rate (None when there is none) and the lines out of line with it, in the given order."""
    usable = [(label, a, b) for label, a, b in lines if a > 0 and b >= 0]
    if len(usable) < MINIMUM:
        return None, []
    rates = {label: b / a - 1 for label, a, b in usable}
    best: list[str] = []
    for rate in rates.values():
        group = [label for label, r in rates.items() if abs(r - rate) <= tolerance]
        if len(group) > len(best):
            best = group
    if len(best) < MINIMUM or len(best) < QUORUM * len(usable):
        return None, []
    common = _tidy([rates[label] for label in best], tolerance)
    if abs(common) <= tolerance:
        return None, []  # the lines did not change: no cut or raise to compare with
    out = [
        OutOfLine(label, a, b, rates[label], common,
                  (a * (1 + common)).quantize(Decimal(1), ROUND_HALF_UP), len(best), len(usable))
        for label, a, b in usable
        if label not in best
    ]  # fmt: skip
    return common, out


def _tidy(rates: list[Decimal], tolerance: Decimal) -> Decimal:
    """The rate the group shares: a whole per cent, else a tenth of one, when every rate
    of the group lies within the tolerance of it; else their median."""
    middle = Decimal(median(rates))
    for step in (Decimal("0.01"), Decimal("0.001")):
        tidy = middle.quantize(step, ROUND_HALF_UP)
        if all(abs(r - tidy) <= tolerance for r in rates):
            return tidy
    return middle


def percent(rate: Decimal) -> str:
    """-0.05 as ``-5%``, -0.10899 as ``-10.9%``."""
    value = (rate * 100).quantize(Decimal("0.1"), ROUND_HALF_UP).normalize()
    return f"{value:+f}%"


__all__ = ["MINIMUM", "QUORUM", "TOLERANCE", "OutOfLine", "common_rate", "percent"]
