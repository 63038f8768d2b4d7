"""Display of money and dates for people: every Babel call in the product is here (en_GB).
Babel is imported by the first figure that needs it: a command that shows none (the capital
programme's workbook writes its figures as numbers) does not import it."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from grants.money import total

if TYPE_CHECKING:
    from babel import Locale


@lru_cache(maxsize=1)
def locale() -> Locale:
    """en_GB, parsed once: Babel given the name parses it again on every call, which was half
    the time of formatting a figure (a dashboard formats some 150)."""
    from babel import Locale

    return Locale.parse("en_GB")


def __getattr__(name: str) -> object:
    if name == "LOCALE":  # (the name the parsed locale had when it was made on import)
        return locale()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SCALES: dict[str, Decimal] = {"1": Decimal(1), "000": Decimal(1000), "m": Decimal(1_000_000)}
SCALE_LABELS = {"1": "£", "000": "£'000", "m": "£m"}


@lru_cache(maxsize=4096, typed=True)
def gbp(amount: Decimal) -> str:
    """``£1,234,567.50``; negatives with a minus sign: ``-£1,234.50``. The same figures are
    shown again and again (every view of a dashboard), so the last few thousand are kept.

    Babel's en_GB currency format (``¤#,##0.00``, groups of three), written without loading
    Babel's locale data: that load (which imports babel.dates and looks up the local time
    zone among pytz's) was a tenth of the start-up of `grants balance --summary`.
    tests/test_formatting.py holds it to Babel's ``format_currency``."""
    exact = total(amount)
    return f"-£{-exact:,.2f}" if exact < 0 else f"£{exact:,.2f}"


def gbp_accounting(amount: Decimal) -> str:
    """Accounting style: ``(£1,234.50)`` for a negative amount, ``£1,234.50`` otherwise."""
    from babel.numbers import format_currency

    return format_currency(total(amount), "GBP", locale=locale(), format_type="accounting")


def scaled(amount: Decimal, scale: str, places: int = 0) -> Decimal:
    """The amount in a display scale (``1``, ``000`` for £'000, ``m`` for £m), rounded half-up.

    Rounding for display never changes a stored value.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    quantum = Decimal(1).scaleb(-places)
    return (total(amount) / SCALES[scale]).quantize(quantum, rounding=ROUND_HALF_UP)


def number(value: Decimal, places: int = 2) -> str:
    """A plain grouped number: ``14,484`` or ``153.2``; negatives as ``-487``."""
    pattern = "#,##0" + ("." + "0" * places if places else "")
    from babel.numbers import format_decimal

    return format_decimal(value, format=pattern, locale=locale(), decimal_quantization=True)


def in_thousands(amount: Decimal) -> str:
    """An amount in £'000 as the capital tables print it: ``14,484``."""
    return number(scaled(amount, "000", 0), 0)


def in_millions(amount: Decimal, places: int = 1) -> str:
    """An amount in £m to one decimal place as the report body prints it: ``153.2``."""
    return number(scaled(amount, "m", places), places)


@lru_cache(maxsize=4096, typed=True)
def day(value: date) -> str:
    """``31 March 2018``: every date shown to people (the command line, messages, findings,
    the workbooks' text) is written so."""
    return _format_date(value)


def long_day(value: date) -> str:
    """``2 December 2026``: the date a workbook's footer says it was generated or issued."""
    return _format_date(value)


def _format_date(value: date) -> str:
    # babel.dates is imported with the first date shown: importing it looks up the local time
    # zone among pytz's, which a command that shows no date (`grants balance`) need not pay.
    from babel.dates import format_date

    return format_date(value, format="d MMMM y", locale=locale())


def plain(amount: Decimal | None) -> str | None:
    """The machine form used in JSON: ``"693923.00"`` (None stays None)."""
    return None if amount is None else f"{total(amount):.2f}"


def plural(noun: str) -> str:
    """The plural of an English noun as the product uses them: ``entry`` -> ``entries``,
    ``tranche`` -> ``tranches``, ``box`` -> ``boxes``, ``line`` -> ``lines`` (the last word of
    ``journal entry``). Irregular nouns are given to `count` in full."""
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "o", "u", ""):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def count(n: int, one: str, many: str | None = None) -> str:
    """A number and its noun, singular for one: ``1 entry``, ``2 entries``, ``0 entries``,
    ``1,234 entries``. ``many`` for a plural the rule of `plural` does not give."""
    return f"{n:,} {one if n == 1 else (many or plural(one))}"


def gbp_scaled(value: Decimal, scale: str) -> str:
    """A figure in a scale as money, with the places it has: ``£778,813``, ``£778k``,
    ``£0.778m``, ``-£102.4m`` (pence shown only when there are any)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    places = max(0, -value.as_tuple().exponent)  # type: ignore[operator]
    if scale == "1" and value == value.to_integral_value():
        places = 0
    elif scale == "1":
        places = 2
    text = number(abs(value), places) if places else number(abs(value).quantize(1), 0)
    suffix = {"1": "", "000": "k", "m": "m"}[scale]
    return f"{'-' if value < 0 else ''}£{text}{suffix}"
