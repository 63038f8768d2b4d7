"""What a received form holds, as plain rows: the boundary between reading a workbook and
the rules that judge it.

``grants.excel.return_reader`` and ``grants.excel.plan_reader`` turn a received workbook
(a path, or a file name and its bytes as a web upload gives them) into these values, or
refuse it as unsafe or not a form; the services (``grants.services.returns_import``,
``grants.services.plan_forms``) take them, with the session whose bound person is acting,
and apply the ledger's rules. Every cell carries its reference (``Return!D13``) so that a
rule can name the cell it refuses; a cell's own parsing (an error value, text where an
amount should be, a date typed as text) is done by the reader and travels with the cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Problem:
    """A problem with a received file, located at its cell when it has one."""

    file: str
    where: str | None  # Sheet!C14
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.where}: {self.message}"
            if self.where
            else (f"{self.file}: {self.message}")
        )


@dataclass(frozen=True)
class Received:
    """A file as it arrived: its name (only ever shown, never opened) and its bytes. A web
    upload gives these; ``Received.of(path)`` reads them from a file on disk."""

    name: str
    content: bytes

    @classmethod
    def of(cls, path: Path) -> Received:
        return cls(path.name, path.read_bytes())


@dataclass(frozen=True)
class Typed(Generic[T]):
    """One cell read as a kind of value: ``value`` when it reads as one (None when empty or
    refused), ``problem`` when it does not (the message, without the cell), ``note`` when it
    was accepted but is worth a word (an amount typed as text). ``raw`` is the cell as
    saved; ``blank`` whether it holds nothing but spaces."""

    ref: str  # Sheet!C14
    raw: object = None
    value: T | None = None
    problem: str | None = None
    note: str | None = None

    @property
    def blank(self) -> bool:
        return self.raw is None or (isinstance(self.raw, str) and not self.raw.strip())


@dataclass(frozen=True)
class ReturnRow:
    """A row of a return form from the first expenditure line down: the locked cells as
    saved, the recipient's cells read by kind (a row below the lines is read the same way;
    the rules decide which rows are lines)."""

    row: int  # 0-based
    number: object
    title: Typed[str]  # raw: the title as saved
    cost: Typed[int]  # raw: the locked planned cost as saved
    spend: Typed[int]  # pence
    progress: Typed[str]
    measure: Typed[str]
    target: Typed[int]
    actual: Typed[int]
    total_label: bool  # the title cell reads as the form's Total row label
    first_filled: tuple[str, object] | None  # the first filled cell of the row (ref, value)


@dataclass(frozen=True)
class PlanRow:
    """A row of a plan form's lines (the form has room for a fixed number)."""

    row: int  # 0-based
    position: int  # the line's number shown on the form (1-based)
    title: Typed[str]  # raw: the title as saved
    objectives: Typed[str]
    objective: Typed[int]  # the PCC strategic objective
    objective_not_pcc: bool  # the cell shows the form's "not for this fund" text
    cost: Typed[int]  # raw: the cost as saved
    other: Typed[str]


@dataclass
class FormRows:
    """What every received form has: its file, the identity cell, the locked display cells
    as saved (reference -> value), and who completed it and when. A workbook with other
    sheets or hidden parts is refused before it becomes rows (grants.excel.form_shape)."""

    file: str
    sha256: str
    content: bytes
    identity: Typed[str]  # raw: the identity cell as saved
    display: dict[str, object]
    completed_by: Typed[str]
    completed_on: Typed[date]  # the range of dates allowed is the rules'


@dataclass
class ReturnRows(FormRows):
    rows: list[ReturnRow] = field(default_factory=list)  # from the first line to the last row
    sheet: str = "Return"
    first_row: int = 0  # the 0-based row of the first line
    columns: dict[str, str] = field(default_factory=dict)  # ReturnRow's field -> column letter

    def cell(self, ref: str) -> str:
        """Where a value was read, as a filing's figure records it: the cell (``D13``)."""
        return ref.split("!", 1)[-1]

    def line(self, i: int) -> ReturnRow:
        """The ``i``-th row from the first line (0-based): as saved, or empty when the sheet
        ends before it."""
        if i < len(self.rows):
            return self.rows[i]
        row = self.first_row + i
        at = {k: f"{self.sheet}!{letter}{row + 1}" for k, letter in self.columns.items()}
        return ReturnRow(
            row, None, Typed(at["title"]), Typed(at["cost"]), Typed(at["spend"]),
            Typed(at["progress"]), Typed(at["measure"]), Typed(at["target"]),
            Typed(at["actual"]), False, None,
        )  # fmt: skip


@dataclass
class PlanRows(FormRows):
    rows: list[PlanRow] = field(default_factory=list)  # every line row of the form
    total_ref: str = ""  # the Total row's title cell
    total_label: bool = True  # the Total row's title reads as the form's Total label
    total_cost_ref: str = ""  # the Total row's cost cell
    below: list[tuple[str, object]] = field(default_factory=list)  # filled cells below


__all__ = [
    "FormRows", "PlanRow", "PlanRows", "Problem", "Received", "ReturnRow", "ReturnRows",
    "Typed",
]  # fmt: skip
