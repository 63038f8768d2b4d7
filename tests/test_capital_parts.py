"""The £'000 figure a capital programme cell shows, worked out in whole numbers, is the
figure rounded half away from zero, as the rounding note counts it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from grants.excel.capital_parts import THOUSAND, shown


@pytest.mark.parametrize(
    ("pence", "thousands"),
    [(0, 0), (49_999, 0), (50_000, 1), (-50_000, -1), (-49_999, 0), (149_999, 1),
     (150_000, 2), (-150_000, -2), (10**15 + 50_000, 10**10 + 1), (-(10**15) - 49_999, -(10**10))],
)  # fmt: skip
def test_a_figure_is_shown_to_the_nearest_thousand_halves_away_from_zero(
    pence: int, thousands: int
) -> None:
    assert shown(pence) == thousands


def test_shown_agrees_with_decimal_rounding_around_every_half() -> None:
    for k in range(-30, 30):
        for d in (-50_001, -50_000, -49_999, -1, 0, 1, 49_999, 50_000, 50_001):
            pence = k * THOUSAND + d
            exact = (Decimal(pence) / THOUSAND).quantize(Decimal(1), rounding=ROUND_HALF_UP)
            assert shown(pence) == int(exact), pence
