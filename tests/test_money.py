from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grants.errors import MoneyError
from grants.money import from_pence, money, percentages, split, text_pence, to_pence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("£1,234.50", "1234.50"),
        ("1,234", "1234.00"),
        ("(1,234)", "-1234.00"),
        ("(£1,234.50)", "-1234.50"),
        ("-1234.5", "-1234.50"),
        ("-£1,234.50", "-1234.50"),
        ("700932", "700932.00"),
        ("  700,932.00 ", "700932.00"),
        ("0", "0.00"),
        ("-0", "0.00"),
        ("1,234,567.89", "1234567.89"),
    ],
)
def test_money_grammar_accepts(text: str, expected: str) -> None:
    assert money(text) == Decimal(expected)
    assert str(money(text)) == expected


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (0.1, "floating-point"),
        (float("nan"), "floating-point"),
        (True, "not an amount"),
        ("1.234", "fractions of a penny"),
        ("58.542", "write 58,542"),
        ("1,23", "not an amount of money"),
        ("1,2345", "not an amount of money"),
        ("12,34,567", "not an amount of money"),
        (",123", "not an amount of money"),
        ("NaN", "not an amount of money"),
        ("inf", "not an amount of money"),
        ("12abc", "not an amount of money"),
        ("−1234", "not an amount of money"),  # U+2212 minus sign
        ("1\xa0234", "not an amount of money"),  # no-break space
        ("£(1)", "not an amount of money"),
        ("--1", "not an amount of money"),
        ("1k", "not an amount of money"),
        ("", "not an amount of money"),
        (Decimal("NaN"), "not a finite"),
        (Decimal("Infinity"), "not a finite"),
        (Decimal("1.005"), "fractions of a penny"),
        (None, "not an amount"),
        ("1" + "0" * 30, "larger than one entry may hold"),
        (10**20, "larger than one entry may hold"),
        ("1,000,000,000,000", "larger than one entry may hold"),
        ("١٢٣", "not an amount of money"),  # Arabic-Indic digits
        ("１２", "not an amount of money"),  # full-width digits
    ],
)
def test_money_refuses_with_the_value_named(value: object, says: str) -> None:
    with pytest.raises(MoneyError) as error:
        money(value)
    assert says in str(error.value)
    if isinstance(value, str) and value:
        assert repr(value) in str(error.value)


@given(st.decimals(min_value=-(10**11), max_value=10**11, places=2, allow_nan=False))
def test_money_round_trips_through_text_and_pence(value: Decimal) -> None:
    assert money(f"{value:,.2f}") == value
    assert money(str(value)) == value
    negative = f"({abs(value):,.2f})" if value < 0 else f"{value:,.2f}"
    assert money(negative) == value
    assert from_pence(to_pence(value)) == value


@given(st.integers(min_value=-(10**11), max_value=10**11))
def test_int_is_whole_pounds(value: int) -> None:
    assert to_pence(money(value)) == value * 100


amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False)
weights = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=10**6),
        st.decimals(min_value=0, max_value=100, places=1, allow_nan=False),
    ),
    min_size=1,
    max_size=12,
).filter(lambda ws: sum(Decimal(w) for w in ws) > 0)


@given(amounts, weights)
def test_split_always_sums_to_the_total(total: Decimal, ws: list[Decimal | int]) -> None:
    parts = split(total, ws)
    assert sum(parts) == total
    assert len(parts) == len(ws)
    weight_sum = sum(Decimal(w) for w in ws)
    for part, w in zip(parts, ws, strict=True):
        exact = total * Decimal(w) / weight_sum
        assert abs(part - exact) < Decimal("0.01")
        assert part == part.quantize(Decimal("0.01"))


def test_split_examples() -> None:
    assert split(Decimal(100), [1, 1, 1]) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    # The Community Safety Partnerships line by its printed district shares (2017-18).
    parts = split(
        Decimal(319899), [Decimal("18.3"), Decimal("34.6"), Decimal("33.4"), Decimal("13.7")]
    )
    assert parts == [
        Decimal("58541.52"),
        Decimal("110685.05"),
        Decimal("106846.27"),
        Decimal("43826.16"),
    ]
    assert sum(parts) == Decimal(319899)


def test_split_refuses_bad_weights() -> None:
    with pytest.raises(MoneyError, match="all zero"):
        split(Decimal(1), [0, 0])
    with pytest.raises(MoneyError, match="zero or more"):
        split(Decimal(1), [1, -1])
    with pytest.raises(MoneyError, match="not a float"):
        split(Decimal(1), [0.5, 0.5])  # type: ignore[list-item]


@given(st.lists(st.decimals(min_value=1, max_value=10**7, places=0), min_size=1, max_size=10))
def test_percentages_add_to_exactly_100(parts: list[Decimal]) -> None:
    assert sum(percentages(parts)) == 100


def test_percentages_of_the_csp_split() -> None:
    districts = [Decimal(64180), Decimal(121063), Decimal(117111), Decimal(47969)]
    assert [str(p) for p in percentages(districts)] == ["18.3", "34.6", "33.4", "13.7"]


def test_the_largest_amount_is_just_under_a_trillion_pounds() -> None:
    assert money("£999,999,999,999.99") == Decimal("999999999999.99")
    assert money("(999,999,999,999.99)") == Decimal("-999999999999.99")
    for value in ("1,000,000,000,000.00", "-1000000000000", Decimal("1E12"), 10**12):
        with pytest.raises(MoneyError) as error:
            money(value)
        assert str(error.value) == (
            f"{value!r} is larger than one entry may hold (at most £999,999,999,999.99); "
            "check the amount, or split it into several entries"
        )


def _outcome(read: Callable[[str], object], text: str) -> object:
    try:
        return read(text)
    except MoneyError as exc:
        return ("refused", str(exc))


@pytest.mark.parametrize("text", ["0", "0.5", "12", "1234.5", "1,234.50", "12,34.00", "1,2345",
                                  "1.234", "007", "-5", "+5", ".5", "5.", "1 234", "١٢", "1e3",
                                  "99,999,999,999.99", "9" * 30, "1,000,000,000,000,000.00"])  # fmt: skip
def test_plain_amounts_read_to_pence_as_money_reads_them(text: str) -> None:
    """The books' shortcut for plain amounts gives what the one constructor gives, refusals
    included, on the texts it takes and those it leaves to money()."""
    assert _outcome(text_pence, text) == _outcome(lambda t: to_pence(money(t)), text)


def test_random_amount_texts_read_to_pence_as_money_reads_them() -> None:
    pick = random.Random(14)
    for _ in range(5000):
        text = "".join(pick.choice("0123456789,.") for _ in range(pick.randint(1, 16)))
        assert _outcome(text_pence, text) == _outcome(lambda t: to_pence(money(t)), text), text
