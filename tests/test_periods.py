from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grants.errors import PeriodError
from grants.periods import FinancialYear, Period, parse_period, parse_year


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2017-18", 2017, 2017),
        ("2017/18", 2017, 2017),
        ("2017/8", 2017, 2017),
        ("17/18", 2017, 2017),
        ("16/17", 2016, 2016),
        ("19-20", 2019, 2019),
        ("FY2017", 2017, 2017),
        ("1999-00", 1999, 1999),
        ("2018/19 – 2027/28", 2018, 2027),
        ("2018/19 - 2027/28", 2018, 2027),
        ("2018-19:2027-28", 2018, 2027),
        ("2018-19..2027-28", 2018, 2027),
        ("2018/19 to 2027/28", 2018, 2027),
        ("2017–18", 2017, 2017),
        ("2017—18", 2017, 2017),
        ("2017 – 18", 2017, 2017),
        ("2017–2018", 2017, 2017),
        ("2017–18:2018–19", 2017, 2018),
        ("2017–18 – 2018–19", 2017, 2018),
        ("2018-19 – 2027-28", 2018, 2027),
    ],
)
def test_every_spelling_in_the_papers(text: str, first: int, last: int) -> None:
    period = parse_period(text)
    assert (period.first.start, period.last.start) == (first, last)


@pytest.mark.parametrize(
    "text",
    [
        "2017",
        "abc",
        "",
        "2018-17",
        "2017-18:2016-17",
        "2017-18:2018-19:2019-20",
        "20171-18",
        "2017-18:",
        ":2017-18",
        "2017-18 to",
        "２０１７-１８",
        "2017-99",
    ],
)
def test_refuses_what_is_not_a_year(text: str) -> None:
    with pytest.raises(PeriodError) as error:
        parse_period(text)
    assert repr(text) in str(error.value) or "before it starts" in str(error.value) or not text
    assert "Traceback" not in str(error.value)


def test_parse_year_refuses_a_range() -> None:
    with pytest.raises(PeriodError, match="range"):
        parse_year("2018-19:2027-28")


def test_rendering() -> None:
    fy = FinancialYear(2017)
    assert fy.render() == "2017-18"
    assert fy.render("/") == "2017/18"
    assert str(parse_period("2018/19 – 2027/28")) == "2018-19:2027-28"
    assert parse_period("2018/19 – 2027/28").render("/") == "2018/19:2027/28"
    assert FinancialYear(2099).render() == "2099-00"


years = st.integers(min_value=1901, max_value=2990)


@given(years, st.sampled_from(["-", "/"]))
def test_year_round_trips(start: int, sep: str) -> None:
    fy = FinancialYear(start)
    assert parse_year(fy.render(sep)) == fy


@given(years, st.integers(min_value=0, max_value=9), st.sampled_from(["-", "/"]))
def test_range_round_trips(start: int, length: int, sep: str) -> None:
    period = Period(FinancialYear(start), FinancialYear(start + length))
    assert parse_period(period.render(sep)) == period
    assert len(period.years) == length + 1


@given(st.dates(min_value=date(1901, 4, 1), max_value=date(2990, 3, 31)))
def test_a_date_maps_to_its_year_and_quarter(day: date) -> None:
    fy = FinancialYear.of(day)
    assert fy.first_day <= day <= fy.last_day
    assert fy.contains(day)
    quarter = FinancialYear.quarter(day)
    quarter_start = [
        date(fy.start, 4, 1),
        date(fy.start, 7, 1),
        date(fy.start, 10, 1),
        date(fy.start + 1, 1, 1),
    ]
    assert quarter_start[quarter - 1] <= day
    if quarter < 4:
        assert day < quarter_start[quarter]


def test_year_and_quarter_examples() -> None:
    assert FinancialYear.of(date(2017, 4, 1)) == FinancialYear(2017)
    assert FinancialYear.of(date(2018, 3, 31)) == FinancialYear(2017)
    assert FinancialYear.quarter(date(2017, 6, 30)) == 1
    assert FinancialYear.quarter(date(2017, 9, 30)) == 2
    assert FinancialYear.quarter(date(2017, 12, 31)) == 3
    assert FinancialYear.quarter(date(2018, 3, 31)) == 4


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [("2017-19", 2017, 2018), ("2017–19", 2017, 2018), ("2017-2019", 2017, 2018),
     ("2018-21", 2018, 2020), ("2017/22", 2017, 2021)],
)  # fmt: skip
def test_two_years_apart_asks_which_was_meant(text: str, first: int, last: int) -> None:
    with pytest.raises(PeriodError) as error:
        parse_period(text)
    a, b = FinancialYear(first), FinancialYear(last)
    assert str(error.value) == (
        f"{text!r} is not a financial year: did you mean {a} to {b}? write {a}:{b}"
    )
    assert parse_period(f"{a}:{b}") == Period(a, b)
