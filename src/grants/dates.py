"""Dates as a UK officer types them: ``31/03/2018`` or ``2018-03-31``.

Day first with slashes (or dots), or ISO order with dashes; nothing else. A date that cannot
exist says why ("31/02/2018 is not a date: February 2018 has 28 days"), and a date in US order
(``03/31/2018``) is refused rather than guessed. The books keep ISO dates only.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from grants.errors import GrantsError

_ISO = re.compile(r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})$")
_UK = re.compile(r"^(?P<d>[0-9]{1,2})(?P<sep>[/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<y>[0-9]{4})$")
_HINT = "write a date as 31/03/2018 or 2018-03-31"
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


class DateError(GrantsError):
    """A date that was typed wrongly or cannot exist."""


def parse_date(text: str) -> date:
    """The date ``text`` names (``31/03/2018``, ``31.03.2018`` or ``2018-03-31``)."""
    typed = text.strip()
    match = _ISO.match(typed) or _UK.match(typed)
    if match is None:
        raise DateError(f"{text!r} is not a date: {_HINT}")
    year, month, day = (int(match.group(k)) for k in ("y", "m", "d"))
    if match.re is _UK and month > 12 and day <= 12:
        raise DateError(
            f"{typed} reads as month/day (US order): write the day first, "
            f"{month:02d}/{day:02d}/{year}, or {year}-{day:02d}-{month:02d}"
        )
    if not 1 <= month <= 12:
        raise DateError(f"{typed} is not a date: there is no month {month}; {_HINT}")
    if year < 1900:
        raise DateError(f"{typed} is not a date this ledger handles: its year is before 1900")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise DateError(f"{typed} is not a date: {_MONTHS[month - 1]} {year} has {last} days")
    return date(year, month, day)


def date_from_parts(day: str, month: str, year: str) -> date:
    """The date a form's three boxes (day, month, year) name; DateError saying which box is
    empty or wrong."""
    parts = {"day": day.strip(), "month": month.strip(), "year": year.strip()}
    missing = [name for name, value in parts.items() if not value]
    if len(missing) == 3:
        raise DateError("enter a date: its day, month and year")
    if missing:
        raise DateError(f"the date must include a {' and a '.join(missing)}")
    for name, value in parts.items():
        if not value.isascii() or not value.isdigit() or len(value) > (4 if name == "year" else 2):
            raise DateError(f"the {name} must be a number, as in 31 3 2018")
    if len(parts["year"]) != 4:
        raise DateError("the year must have 4 digits, as in 2018")
    return parse_date(f"{parts['year']}-{parts['month']}-{parts['day']}")


__all__ = ["DateError", "date_from_parts", "parse_date"]
