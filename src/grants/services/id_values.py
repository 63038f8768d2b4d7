"""What an id read from the ledger's tables stands for when it is not a plain integer: a
column retyped behind the ledger's back gives ``True``, ``3.0`` or ``Decimal(3)``, which a
dictionary of ids finds as 1 and 3. The packed tables that stand for such dictionaries
(grants.services.account_table, line_table, name_table) find them alike."""

from __future__ import annotations

import numbers
from decimal import Decimal
from typing import Any


def whole_id(value: Any) -> int | None:
    """The id a dictionary of ids finds for ``value`` (``True``, ``3.0`` and ``Decimal(3)``
    are 1, 3 and 3 to it); None if none. A value a dictionary cannot hash (a list, from a
    column retyped an array) raises its TypeError, as the dictionary would."""
    hash(value)
    if isinstance(value, numbers.Real | Decimal):  # bool, float, Fraction, Decimal
        try:
            whole = int(value)
        except (ArithmeticError, ValueError):  # not a number, or an infinity
            return None
        return whole if whole == value else None
    return None


__all__ = ["whole_id"]
