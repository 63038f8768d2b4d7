"""Financial years (1 April to 31 March) and ranges of them.

A :class:`FinancialYear` is named by the calendar year it starts in: ``FinancialYear(2017)``
runs from 1 April 2017 to 31 March 2018 and renders as ``2017-18`` (PCC papers) or
``2017/18`` (capital tables). A :class:`Period` is one year or a run of consecutive years.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date

from grants.errors import PeriodError

_SEPARATORS = ("-", "/")
_RANGE_SPLIT = re.compile(r"\s*(?::|\.\.|–|—|\bto\b|\s-\s)\s*")
_FULL = re.compile(r"^(?P<a>[0-9]{4})\s*(?P<sep>[-/])\s*(?P<b>[0-9]{1,4})$")
_SHORT = re.compile(r"^(?P<a>[0-9]{2})\s*(?P<sep>[-/])\s*(?P<b>[0-9]{2})$")
_FY_KEY = re.compile(r"^FY(?P<a>[0-9]{4})$")
# A year typed with an en or em dash, as a word processor writes it (2017–18): two bare years
# joined by the dash, neither part of a longer year, are one year, never a range.
_DASHED_YEAR = re.compile(
    r"(?<![0-9/–—-])([0-9]{4}|[0-9]{2})\s*[–—]\s*([0-9]{4}|[0-9]{2})(?![0-9/–—-])"
)

_HINT = "write a financial year like 2017-18 or 2017/18, or a range like 2018-19:2027-28"


@dataclass(frozen=True, order=True, slots=True)
class FinancialYear:
    """The financial year starting 1 April of ``start``."""

    start: int

    def __hash__(self) -> int:  # cheap: periods are dictionary keys on the journal's hot path
        return self.start

    def __post_init__(self) -> None:
        if not 1900 <= self.start <= 2999:
            raise PeriodError(f"{self.start} is outside the years this ledger handles")

    @property
    def first_day(self) -> date:
        return date(self.start, 4, 1)

    @property
    def last_day(self) -> date:
        return date(self.start + 1, 3, 31)

    def render(self, sep: str = "-") -> str:
        """``2017-18`` (``sep='-'``) or ``2017/18`` (``sep='/'``)."""
        if sep not in _SEPARATORS:
            raise PeriodError(f"separator {sep!r} must be '-' or '/'")
        return f"{self.start}{sep}{(self.start + 1) % 100:02d}"

    def __str__(self) -> str:
        return self.render()

    def __add__(self, years: int) -> FinancialYear:
        return FinancialYear(self.start + years)

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    @classmethod
    def of(cls, day: date) -> FinancialYear:
        """The financial year a date falls in."""
        return cls(day.year if day.month >= 4 else day.year - 1)

    @staticmethod
    def quarter(day: date) -> int:
        """The quarter of the financial year (1: April-June ... 4: January-March)."""
        return (day.month - 4) % 12 // 3 + 1


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """One financial year or a run of consecutive ones, ``first`` to ``last`` inclusive."""

    first: FinancialYear
    last: FinancialYear
    # Worked out once: a period is part of every account's key, hashed many times an entry.
    _hash: int = field(init=False, repr=False, compare=False)
    # Its text (``render()``), worked out the first time it is asked for: part of an entry's key.
    _text: str | None = field(default=None, init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        return self._hash

    def __post_init__(self) -> None:
        if self.last.start < self.first.start:
            raise PeriodError(f"a period cannot end ({self.last}) before it starts ({self.first})")
        object.__setattr__(self, "_hash", self.first.start * 4096 + self.last.start)

    @classmethod
    def year(cls, start: int) -> Period:
        return period_of(start, start)

    @property
    def is_single_year(self) -> bool:
        return self.first == self.last

    @property
    def years(self) -> list[FinancialYear]:
        return [FinancialYear(y) for y in range(self.first.start, self.last.start + 1)]

    def render(self, sep: str = "-") -> str:
        """``2017-18``, or ``2018-19:2027-28`` for a range (``/`` gives ``2018/19:2027/28``)."""
        if self.is_single_year:
            return self.first.render(sep)
        return f"{self.first.render(sep)}:{self.last.render(sep)}"

    def __str__(self) -> str:
        text = self._text
        if text is None:
            text = self.render()
            object.__setattr__(self, "_text", text)
        return text

    def contains(self, day: date) -> bool:
        return self.first.first_day <= day <= self.last.last_day

    def overlaps(self, other: Period) -> bool:
        return self.first <= other.last and other.first <= self.last


@functools.lru_cache(maxsize=4096)
def period_of(first: int, last: int) -> Period:
    """The period from financial year ``first`` to ``last``: one object for each (a period
    is compared in every account key an entry looks up, and the same object compares at
    once), so long as a few thousand periods are in use."""
    return Period(FinancialYear(first), FinancialYear(last))


def _expand_century(two_digits: int) -> int:
    # Two-digit years in the papers are all 20xx.
    return 2000 + two_digits


def _parse_one(text: str, original: str) -> tuple[FinancialYear, FinancialYear]:
    """Parse a single token: a year (2017-18, 2017/8, 17/18, FY2017)."""
    key = _FY_KEY.match(text)
    if key:
        fy = FinancialYear(int(key.group("a")))
        return fy, fy
    match = _FULL.match(text)
    if match:
        start = int(match.group("a"))
        second = match.group("b")
    else:
        match = _SHORT.match(text)
        if not match:
            raise PeriodError(f"{original!r} is not a financial year: {_HINT}")
        start = _expand_century(int(match.group("a")))
        second = match.group("b")
    if len(second) == 4:
        end = int(second)
    elif len(second) in (1, 2):
        # Complete the end year from the start: 2017/8 -> 2018, 2017-18 -> 2018, 2017-19 -> 2019.
        modulus = 10 ** len(second)
        end = start - start % modulus + int(second)
        if end <= start and end + modulus == start + 1:  # across a century: 1999-00
            end += modulus
    else:
        raise PeriodError(f"{original!r} is not a financial year: {_HINT}")
    if end == start + 1:
        fy = FinancialYear(start)
        return fy, fy
    if end <= start:
        raise PeriodError(f"{original!r} ends before it starts: {_HINT}")
    # 2017-19 is not a year, and as a range it cannot be told from a slip of 2017-18: ask.
    first, last = FinancialYear(start), FinancialYear(end - 1)
    raise PeriodError(
        f"{original!r} is not a financial year: did you mean {first} to {last}? "
        f"write {first}:{last}"
    )


def parse_period(text: str) -> Period:
    """Parse every spelling of a financial year or range used in the council's papers.

    ``2017-18``, ``2017/18``, ``2017/8``, ``17/18``, ``FY2017``, ``2017–18`` (an en or em
    dash, as a word processor types it); ranges ``2018/19 – 2027/28``, ``2018-19:2027-28``,
    ``2018-19..2027-28`` and ``2018/19 to 2027/28``. ``2017-19`` is refused: a range is
    written with both its years (``2017-18:2018-19``).
    """
    if not isinstance(text, str):
        raise PeriodError(f"{text!r} is not a financial year: {_HINT}")
    cleaned = _DASHED_YEAR.sub(r"\1-\2", text.strip())
    if not cleaned:
        raise PeriodError(f"an empty value is not a financial year: {_HINT}")
    parts = _RANGE_SPLIT.split(cleaned)
    if any(not p for p in parts):
        raise PeriodError(f"{text!r} is not a financial year: {_HINT}")
    if len(parts) == 1:
        first, last = _parse_one(parts[0], text)
    elif len(parts) == 2:
        first, _ = _parse_one(parts[0], text)
        _, last = _parse_one(parts[1], text)
    else:
        raise PeriodError(f"{text!r} is not a financial year: {_HINT}")
    if last.start < first.start:
        raise PeriodError(f"a period cannot end ({last}) before it starts ({first})")
    return period_of(first.start, last.start)


def parse_year(text: str) -> FinancialYear:
    """Parse a single financial year; a range is refused."""
    period = parse_period(text)
    if not period.is_single_year:
        raise PeriodError(f"{text!r} is a range of years; give one financial year such as 2017-18")
    return period.first
