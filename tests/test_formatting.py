from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

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
