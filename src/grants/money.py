"""Money: one constructor for every amount, and penny-exact splits.

Every amount in the product is a ``Decimal`` with exactly two decimal places, built by
:func:`money`. Floats are refused: ``0.1`` cannot be represented exactly, and an accounting
system must not guess. Storage is integer pence (:func:`to_pence` / :func:`from_pence`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from grants.errors import MoneyError, MoneyLimitError

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")
# The largest amount one entry may hold: under a trillion pounds. It keeps every sum of a
# realistic journal inside a 64-bit integer of pence.
LIMIT = Decimal("999999999999.99")
# The most the journal's turnover may reach: every posting's amount, made positive, added up
# over the whole journal. Under 2**62 pence, so that no sum of postings, in any order and on
# either engine, can overflow a 64-bit integer (SQLite's SUM stops with "integer overflow").
MAX_TURNOVER_PENCE = 4 * 10**18

# Optional minus, optional £, then digits: either plain (1234) or grouped in threes with
# commas in the right places (1,234,567), then optionally a point and one or two decimals.
_NUMBER = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2})?"
_PLAIN = re.compile(rf"^(?P<neg>-)?£?(?P<num>{_NUMBER})$")
_PARENS = re.compile(rf"^\(£?(?P<num>{_NUMBER})\)$")
_LOOKS_SUBPENNY = re.compile(r"^[-(]?£?[0-9,]*\.[0-9]{3,}\)?$")

_HINT = "write it like 1234.50, £1,234.50 or (1,234.50) for a negative amount"


def money(value: object) -> Decimal:
    """Return ``value`` as an exact amount of money (a Decimal with two places).

    Accepts ``Decimal``, ``int`` and text in the money grammar: ``£1,234.50``, ``1,234``,
    ``(1,234)`` (negative), ``-1234.5``. Refuses floats, booleans, NaN and infinities,
    sub-penny values, misplaced thousands separators, and anything else, with a message that
    names the value.
    """
    if isinstance(value, bool):
        raise MoneyError(f"{value!r} is not an amount of money")
    if isinstance(value, float):
        raise MoneyError(
            f"{value!r} is a floating-point number, which cannot hold pence exactly; "
            "pass the amount as text or Decimal (for example '0.10')"
        )
    if isinstance(value, int):
        return _from_decimal(Decimal(value), repr(value))
    if isinstance(value, Decimal):
        return _from_decimal(value, repr(value))
    if isinstance(value, str):
        return _from_text(value)
    raise MoneyError(f"{value!r} ({type(value).__name__}) is not an amount of money")


def total(value: object) -> Decimal:
    """An exact sum of amounts (a balance, a report's total), as ``money`` makes one amount
    but without its bound: a total may be larger than any one entry. Decimals and whole
    numbers only; floats refused."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise MoneyError(f"{value!r} is not an exact sum of money")
    value = Decimal(value)
    if not value.is_finite() or value != value.quantize(PENNY, rounding=ROUND_HALF_UP):
        raise MoneyError(f"{value!r} is not an exact sum of money in pounds and pence")
    result = value.quantize(PENNY)
    return result + ZERO if result == 0 else result


def _from_decimal(value: Decimal, shown: str) -> Decimal:
    if not value.is_finite():
        raise MoneyError(f"{shown} is not a finite amount of money")
    within_limit(value, shown)
    if value != value.quantize(PENNY, rounding=ROUND_HALF_UP):
        raise MoneyError(f"{shown} has fractions of a penny; amounts have at most 2 decimal places")
    result = value.quantize(PENNY)
    return result + ZERO if result == 0 else result  # no negative zero


def within_limit(value: Decimal, shown: str) -> Decimal:
    """``value`` (pounds) if its size is within what one entry may hold, else MoneyError.
    For figures that are not themselves amounts, such as a printed figure in £m."""
    if abs(value) > LIMIT:
        raise MoneyLimitError(
            f"{shown} is larger than one entry may hold (at most £999,999,999,999.99); "
            "check the amount, or split it into several entries"
        )
    return value


def _from_text(text: str) -> Decimal:
    stripped = text.strip()
    match = _PLAIN.match(stripped)
    negative = False
    if match:
        negative = match.group("neg") is not None
    else:
        match = _PARENS.match(stripped)
        negative = True
    if not match:
        if _LOOKS_SUBPENNY.match(stripped):
            hint = ""
            if re.fullmatch(r"[-(]?£?[0-9]{1,3}\.[0-9]{3}\)?", stripped):
                hint = f" (if the point separates thousands, write {stripped.replace('.', ',')})"
            raise MoneyError(
                f"{text!r} has fractions of a penny; amounts have at most 2 decimal places{hint}"
            )
        raise MoneyError(f"{text!r} is not an amount of money: {_HINT}")
    try:
        number = Decimal(match.group("num").replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only digits
        raise MoneyError(f"{text!r} is not an amount of money: {_HINT}") from exc
    return _from_decimal(-number if negative else number, repr(text))


# A plain amount (digits, grouped by commas or not, then optionally a point and one or two
# decimals): the form nearly every amount of the books takes, read to pence without Decimal.
_PLAIN_PENCE = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]{1,2}))?")
_LIMIT_PENCE = int(LIMIT * 100)
_PLAIN_MOST = 24  # characters: longer (leading zeros) is read the general way


def text_pence(text: str) -> int:
    """``text`` in the money grammar as a whole number of pence: ``to_pence(money(text))``,
    with a plain positive amount (``1234.5``, ``1,234.50``) read straight to pence; every
    other form, and every refusal, goes through :func:`money`."""
    match = _PLAIN_PENCE.fullmatch(text) if len(text) <= _PLAIN_MOST else None
    if match is not None:
        fraction = match.group(1)
        whole = match.group(0) if fraction is None else match.group(0)[: -len(fraction) - 1]
        pence = int(whole.replace(",", "")) * 100 + (int(fraction.ljust(2, "0")) if fraction else 0)
        if pence <= _LIMIT_PENCE:
            return pence
    return to_pence(money(text))


def to_pence(amount: Decimal) -> int:
    """The amount as a whole number of pence (the storage form)."""
    return int(money(amount) * 100)


def from_pence(pence: int) -> Decimal:
    """An amount of money from a whole number of pence."""
    if isinstance(pence, bool) or not isinstance(pence, int):
        raise MoneyError(f"{pence!r} is not a whole number of pence")
    return (Decimal(pence) / 100).quantize(PENNY)


def split(total: Decimal, weights: Sequence[Decimal | int]) -> list[Decimal]:
    """Split ``total`` by ``weights`` to the penny, by the largest-remainder method.

    The parts always add up exactly to the total. Each part is within a penny of its exact
    share; where remainders tie, earlier weights get the extra penny. Weights may be
    percentages, shares or amounts: only their proportions matter.
    """
    total = money(total)
    if not weights:
        raise MoneyError("cannot split an amount into no parts")
    exact_weights = []
    for weight in weights:
        if isinstance(weight, float | bool):
            raise MoneyError(f"weight {weight!r} must be a Decimal or int, not a float")
        w = Decimal(weight)
        if not w.is_finite() or w < 0:
            raise MoneyError(f"weight {weight!r} must be zero or more")
        exact_weights.append(w)
    weight_sum = sum(exact_weights, Decimal(0))
    if weight_sum == 0:
        raise MoneyError("cannot split by weights that are all zero")
    sign = -1 if total < 0 else 1
    pence = abs(to_pence(total))
    quotas = [pence * w / weight_sum for w in exact_weights]
    floors = [int(q) for q in quotas]  # quotas are non-negative, so int() is floor
    left = pence - sum(floors)
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [from_pence(sign * p) for p in floors]


def percentages(parts: Sequence[Decimal], places: int = 1) -> list[Decimal]:
    """Each part as a percentage of their sum, rounded so that they add up to exactly 100."""
    unit = Decimal(1).scaleb(-places)
    steps = int(Decimal(100) / unit)
    shares = split(Decimal(steps) / 100, [abs(p) for p in parts])
    return [(s * 100 * unit).quantize(unit) for s in shares]
