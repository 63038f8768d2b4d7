"""The error tree. Every error a user can cause is a GrantsError with a message for people."""

from __future__ import annotations

from collections.abc import Container, Iterable
from decimal import Decimal
from math import isnan


class GrantsError(Exception):
    """Base of every error the product reports to a user (never shown as a traceback)."""

    # The field of a form the error is about, when a service knows it (a face may show the
    # message beside that field); never part of the message.
    field: str | None = None


class MoneyError(GrantsError, ValueError):
    """A value is not an amount of money."""


class MoneyLimitError(MoneyError):
    """An amount larger than one entry may hold (grants.money.LIMIT)."""


class PeriodError(GrantsError, ValueError):
    """A value is not a financial year or a range of them."""


class TextError(GrantsError, ValueError):
    """A text has a character it may not hold, or is too long."""


class BooksError(GrantsError):
    """The books (plain-text ledger) have errors; each problem is located."""

    def __init__(self, problems: list[object]) -> None:
        self.problems = problems
        n = len(problems)
        super().__init__(f"{n:,} {'problem' if n == 1 else 'problems'} in the books")


class RuleError(GrantsError):
    """A journal entry would break a rule of the ledger (overspend, negative payment...)."""


class NotFound(GrantsError):
    """A stream, line, period or entry named by the user does not exist."""


class ConfigError(GrantsError):
    """The database URL or another setting is unusable."""


class Busy(GrantsError):
    """Another change to the ledger is being recorded and did not finish in time."""


class Tampered(GrantsError):
    """The ledger holds records it did not make: nothing more is recorded until it is checked."""


def behind_its_back(found: str) -> Tampered:
    """The error of a read that found what only a change behind the ledger's back makes
    (``found``: what it was), whose figures it will not show."""
    return Tampered(
        f"the ledger has been changed behind its back ({found}): its figures cannot be read. "
        "Run `grants verify` to see what changed, and restore the ledger from a backup"
    )


# What a read refuses in an account whose stream or years, or a statement whose years, are
# not whole numbers, or none (SQLite keeps what it is given; PostgreSQL's NOT NULL can be
# dropped).
ODD_ACCOUNT = "an account's stream or years are not ones the ledger writes"
ODD_STATEMENT = "a stated award's years are not ones the ledger writes"


def not_in_ledger(
    what: str, kind: str, ids: Iterable[object], known: Container[object] = ()
) -> Tampered:
    """The error of a read that found ``what`` ("an account") for a ``kind`` ("stream",
    "line") the ledger does not have (changed behind its back, its foreign key dropped),
    naming the least of ``ids`` not in ``known`` (numbers first, then the rest by repr)."""
    missing = min((i for i in ids if i not in known), key=_in_order)
    return behind_its_back(f"{what} is for {kind} {missing!r}, which the ledger does not have")


def _in_order(value: object) -> tuple[int, object, str]:
    """A key that orders any ids: numbers (not NaN) by value (equal ones by their type's
    name), then the rest by repr."""
    number = isinstance(value, int) or (
        not value.is_nan()
        if isinstance(value, Decimal)
        else isinstance(value, float) and not isnan(value)
    )
    return (0, value, type(value).__name__) if number else (1, 0, repr(value))


class Refused(GrantsError):
    """The acting person's roles do not allow what they tried (recorded in the audit log)."""


class LoginFailed(GrantsError):
    """No such person, a wrong password, or a disabled person (recorded in the audit log).

    Its message is what the person trying is told; ``reason``, what the audit log keeps:
    to someone guessing, a wrong password, an unknown login and a disabled person all read
    the same."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message
