from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from hypothesis import given
from hypothesis import strategies as st

from grants import formatting as f
from grants.errors import MoneyError


def test_pounds_and_pence() -> None:
    assert f.gbp(Decimal("1234567.5")) == "£1,234,567.50"
    assert f.gbp(Decimal("-1234.5")) == "-£1,234.50"
    assert f.gbp_accounting(Decimal("-1234.5")) == "(£1,234.50)"
    assert f.gbp_accounting(Decimal("1234.5")) == "£1,234.50"


def test_scales_round_half_up_for_display_only() -> None:
    assert f.in_thousands(Decimal("14484000")) == "14,484"
    assert f.in_thousands(Decimal("500")) == "1"
    assert f.in_millions(Decimal("102459000")) == "102.5"
    assert f.in_millions(Decimal("-487000")) == "-0.5"
    assert f.in_millions(Decimal("153187000")) == "153.2"
    assert f.scaled(Decimal("205322000"), "m", 1) == Decimal("205.3")


def test_dates_and_json() -> None:
    assert f.day(date(2017, 4, 1)) == "1 April 2017"
    assert f.long_day(date(2026, 12, 2)) == "2 December 2026"
    assert f.plain(Decimal("693923")) == "693923.00"
    assert f.plain(None) is None


def test_display_refuses_floats() -> None:
    with pytest.raises(MoneyError):
        f.gbp(1.5)  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**17), max_value=10**17))
def test_pounds_and_pence_are_babels(pence: int) -> None:
    """gbp, written without Babel's locale data, is Babel's en_GB currency format."""
    amount = Decimal(pence).scaleb(-2)
    for same in (amount, amount.quantize(Decimal("0.0001")), Decimal(pence) / 100):
        assert f.gbp(same) == format_currency(same, "GBP", locale=f.LOCALE)


def test_pounds_and_pence_at_the_edges() -> None:
    for text in ("0", "-0", "-0.00", "0.01", "-0.01", "999.99", "1000", "-1000", "1E+3",
                 "123456789012345.67", "5E+2"):  # fmt: skip
        amount = Decimal(text)
        assert f.gbp(amount) == format_currency(f.total(amount), "GBP", locale=f.LOCALE)
    assert f.gbp(Decimal("-0")) == "£0.00"
    assert f.gbp(7) == "£7.00"  # type: ignore[arg-type]
