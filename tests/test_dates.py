"""Dates as a UK officer types them, on every command that takes one."""

from __future__ import annotations

import json
from datetime import date

import pytest

from grants.dates import DateError, parse_date
from tests.conftest import Grants


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("31/03/2018", date(2018, 3, 31)),
        ("2018-03-31", date(2018, 3, 31)),
        ("1/4/2017", date(2017, 4, 1)),
        ("01.04.2017", date(2017, 4, 1)),
        (" 29/02/2020 ", date(2020, 2, 29)),
        ("12/03/2018", date(2018, 3, 12)),  # day first: 12 March, never 3 December
    ],
)
def test_both_spellings_name_the_same_day(typed: str, day: date) -> None:
    assert parse_date(typed) == day


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("31/02/2018", "31/02/2018 is not a date: February 2018 has 28 days"),
        ("29/02/2019", "29/02/2019 is not a date: February 2019 has 28 days"),
        ("2018-04-31", "2018-04-31 is not a date: April 2018 has 30 days"),
        ("03/31/2018", "03/31/2018 reads as month/day (US order): write the day first, "
                       "31/03/2018, or 2018-03-31"),
        ("13/13/2018", "13/13/2018 is not a date: there is no month 13"),
        ("31 March 2018", "'31 March 2018' is not a date: write a date as 31/03/2018 or 2018-03-31"),
        ("2018/03/31", "'2018/03/31' is not a date"),
        ("31/03/18", "'31/03/18' is not a date"),
    ],
)  # fmt: skip
def test_a_date_that_cannot_be_says_why(typed: str, message: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_date(typed)
    assert str(caught.value).startswith(message)


def test_us_order_message_names_the_day_first_spelling() -> None:
    with pytest.raises(DateError) as caught:
        parse_date("03/31/2018")
    assert "31/03/2018" in str(caught.value)
    assert parse_date("31/03/2018") == date(2018, 3, 31)


def test_pay_takes_a_uk_date(oxfordshire: Grants) -> None:
    uk = oxfordshire("pay", "PCC-CSF", "2017-18", "PH", "100", "--date", "30/06/2017", "--json")
    assert uk.exit_code == 0, uk.output
    iso = oxfordshire("pay", "PCC-CSF", "2017-18", "PH", "200", "--date", "2017-06-30", "--json")
    assert iso.exit_code == 0, iso.output
    entries = json.loads(oxfordshire("journal", "--limit", "2", "--json").output)
    assert [e["date"] for e in entries] == ["2017-06-30", "2017-06-30"]


@pytest.mark.parametrize(
    "command",
    [
        ["pay", "PCC-CSF", "2017-18", "PH", "100", "--date"],
        ["reverse", "1", "--reason", "wrong", "--date"],
        ["reconcile", "--as-of"],
        ["returns", "import", "x.xlsx", "--received"],
        ["plan", "import", "x.xlsx", "--received"],
        ["plan", "agree", "PCC-CSF", "2017-18", "PH", "--date"],
    ],
)
def test_every_date_option_refuses_an_impossible_date(grants: Grants, command: list[str]) -> None:
    result = grants(*command, "31/02/2018")
    assert result.exit_code == 2
    assert "31/02/2018 is not a date: February 2018 has 28 days" in result.output
