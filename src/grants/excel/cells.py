"""A received form's cells read by kind: an amount, a whole number, text, a date.

Each reader takes a cell as saved (grants.excel.safe_read.Cell) and its reference and gives a
grants.services.form_rows.Typed: the value, or the problem with it (a formula, an Excel error
value, text that is no amount...), or a note when it was accepted but is worth a word. Which
cells must be filled, and what a value must agree with, are the services' rules.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal

from grants.errors import MoneyError, MoneyLimitError, TextError
from grants.excel.form_grid import cell
from grants.excel.safe_read import Cell
from grants.formatting import gbp
from grants.money import money, to_pence
from grants.services.form_rows import Typed
from grants.text import Kind, clean, refused

_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_COUNT = re.compile(r"^[0-9]{1,3}(?:,[0-9]{3})*$|^[0-9]+$")
_UK_DATE = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def ref(sheet: str, row: int, col: int) -> str:
    """``Sheet!C14`` for a 0-based row and column."""
    return f"{sheet}!{cell(row, col)}"


def _shown_by_excel(escape: str, code: str) -> str:
    ch = chr(int(code, 16))
    return ch if refused(ch) or ch in "\t\n\r" else escape


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def amount(c: Cell, where: str, what: str) -> Typed[int]:
    """An amount in pence, not negative."""
    value, kind = c.value, c.data_type
    if _blank(value):
        return Typed(where, value)
    if kind == "f" or (isinstance(value, str) and value.lstrip().startswith("=")):
        return Typed(where, value, problem=f"{what} is a formula ({value}): type the amount itself")
    if kind == "e":
        return Typed(where, value, problem=f"{what} is an error value ({value}): type the amount")
    if isinstance(value, bool) or isinstance(value, datetime | date):
        return Typed(
            where, value, problem=f"{what} is not an amount ({value}): type pounds and pence"
        )
    try:
        if isinstance(value, float):
            if not math.isfinite(value):
                raise MoneyError(f"{value} is not an amount")
            # As Excel shows it (15 significant digits), written out in full: a huge
            # number is then refused as too large, not as "1e+15" being no amount.
            shown = Decimal(format(value, ".15g"))
            found = money(int(shown) if shown == shown.to_integral() else f"{shown:f}")
        elif isinstance(value, int):
            found = money(value)
        else:
            found = money(str(value).strip())
    except MoneyLimitError as exc:
        return Typed(
            where, value, problem=f"{what}: {str(exc).split('; ', 1)[0]}; check the amount"
        )
    except MoneyError as exc:
        # The books' hint speaks of negative amounts, which no cell of a form takes.
        reason = str(exc).split(": write it like", 1)[0]
        return Typed(where, value, problem=f"{what}: {reason}: type pounds and pence, such as "
                     "12,345.67 or £12,345.67")  # fmt: skip
    pence = to_pence(found)
    if pence < 0:
        return Typed(where, value, problem=f"{what} cannot be negative ({gbp(found)})")
    note = None
    if isinstance(value, str):
        note = f"{what} was typed as text ({value.strip()!r}); read as {gbp(found)}"
    return Typed(where, value, pence, note=note)


def count(c: Cell, where: str, what: str) -> Typed[int]:
    """A whole number, 0 or more."""
    value, kind = c.value, c.data_type
    if _blank(value):
        return Typed(where, value)
    if kind in ("f", "e") or isinstance(value, bool | datetime | date):
        return Typed(where, value, problem=f"{what} must be a whole number typed in, not {value!r}")
    found: object = value
    if isinstance(found, float) and math.isfinite(found) and found.is_integer():
        found = int(found)
    if isinstance(found, str) and _COUNT.match(found.strip()):
        found = int(found.strip().replace(",", ""))
    if not isinstance(found, int) or found < 0 or found > 10**12:
        return Typed(
            where, value, problem=f"{what} must be a whole number, 0 or more (not {found!r})"
        )
    return Typed(where, value, found)


def text(
    c: Cell, where: str, what: str, field: Kind = Kind.VALUE, limit: int | None = None
) -> Typed[str]:
    """A cell's text, checked as a field of kind ``field`` (grants.text): a control,
    bidirectional or invisible character is refused with the cell, never removed."""
    value, kind = c.value, c.data_type
    if value is None:
        return Typed(where, value)
    if kind == "f":
        return Typed(where, value, problem=f"{what} is a formula: type the text itself")
    if kind == "e":
        return Typed(where, value, problem=f"{what} is an error value ({value}): type the text")
    raw = value if isinstance(value, str) else str(value)
    # Excel shows _x001B_ in a file's text as the character U+001B (openpyxl keeps the
    # six characters): read it as Excel shows it when it is a character refused anyway.
    raw = _EXCEL_ESCAPE.sub(lambda m: _shown_by_excel(m.group(0), m.group(1)), raw)
    try:
        found = clean(raw, what, field, limit)
    except TextError as exc:
        return Typed(where, value, problem=str(exc))
    return Typed(where, value, found.strip() or None)


def day(c: Cell, where: str, what: str) -> Typed[date]:
    """A date: as a date, or typed as UK ``dd/mm/yyyy`` or ISO text."""
    value, kind = c.value, c.data_type
    if _blank(value):
        return Typed(where, value)
    found: date | None = None
    if isinstance(value, datetime):
        found = value.date()
    elif isinstance(value, date):
        found = value
    elif isinstance(value, str) and kind != "f":
        typed = value.strip()
        match = _UK_DATE.match(typed)
        try:
            if match:
                found = date(int(match[3]), int(match[2]), int(match[1]))
            elif _ISO_DATE.match(typed):
                found = date.fromisoformat(typed)
        except ValueError:
            found = None
    if found is None:
        return Typed(where, value, problem=f"{what} is not a date ({value!r}): type it as "
                     "31/10/2017")  # fmt: skip
    return Typed(where, value, found)


__all__ = ["amount", "count", "day", "ref", "text"]
