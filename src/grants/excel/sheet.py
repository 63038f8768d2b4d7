"""The worksheet every workbook here writes (grants.excel.book adds its sheets as this
class): cells fitted to their text as they are written (grants.excel.fitting), a streamed
sheet's cells stored and its rows written out with less work a cell (grants.excel.rows), and
formulas without XlsxWriter's substitutions where none applies."""

from __future__ import annotations

import re
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.worksheet import (
    CellFormulaTuple,
    CellNumberTuple,
    CellStringTuple,
    Worksheet,
)

from grants.excel.fitting import Fitting
from grants.excel.rows import write_single_row

# A string this short cannot pass XlsxWriter's limit of 32,767 UTF-16 units a cell.
_SHORT_STRING = 16_383
KEEP_ROWS = 1000  # rows of a streamed sheet whose heights are kept to the end


# The functions XlsxWriter rewrites with an _xlfn. prefix even when future functions are off
# (worksheet.Worksheet._prepare_formula): it tries 29 substitutions on every formula.
_DYNAMIC = re.compile(
    r"\b(?:ANCHORARRAY|BYCOL|BYROW|CHOOSECOLS|CHOOSEROWS|DROP|EXPAND|FILTER|HSTACK|LAMBDA"
    r"|MAKEARRAY|MAP|RANDARRAY|REDUCE|SCAN|SEQUENCE|SORT|SORTBY|SWITCH|TAKE|TEXTSPLIT|TOCOL"
    r"|TOROW|UNIQUE|VSTACK|WRAPCOLS|WRAPROWS|XLOOKUP)\(|SINGLE\("
)


class _Sheet(Worksheet):
    """A worksheet that skips XlsxWriter's 29 substitutions for formulas that use none of
    those functions (ours use SUM, SUBTOTAL, ROUND and IF): the same XML, a third of the time
    for a sheet of a hundred thousand totals. Any other formula takes XlsxWriter's path.

    It also fits every cell to its text as it is written (grants.excel.fitting), through
    XlsxWriter's private _write_string, _write_number and _write_formula (which every public
    write method ends in), and forgets a streamed row's height once the row is written
    (_write_single_row, row_info, row_sizes); tests/test_layout.py fails if they change. A
    streamed row is written out by grants.excel.rows: the same XML, less work a cell.

    _prepare_formula is private to XlsxWriter: its signature dates from 3.1.7 and its list of
    functions is the same up to 3.3.1, so pyproject.toml caps XlsxWriter below 3.4;
    tests/test_packaging.py checks the list against the installed XlsxWriter."""

    fitting: Fitting | None = None  # set by Book.sheet

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
        if self.use_future_functions or expand_future_functions or _DYNAMIC.search(formula):
            return str(super()._prepare_formula(formula, expand_future_functions))
        if formula.startswith("{"):
            formula = formula[1:]
        if formula.startswith("="):
            formula = formula[1:]
        if formula.endswith("}"):
            formula = formula[:-1]
        return formula

    # A cell given by row and column numbers, as every workbook here gives them, skips
    # XlsxWriter's decorator that tries each call's first argument as an A1 name (a tenth of
    # the time of writing a cell); a cell given by name still goes that way.
    def write_string(  # type: ignore[override]
        self, row: Any, col: Any, *args: Any, **kwargs: Any
    ) -> Any:
        if row.__class__ is int and col.__class__ is int:
            return self._write_string(row, col, *args, **kwargs)
        return super().write_string(row, col, *args, **kwargs)

    def write_number(  # type: ignore[override]
        self, row: Any, col: Any, *args: Any, **kwargs: Any
    ) -> Any:
        if row.__class__ is int and col.__class__ is int:
            return self._write_number(row, col, *args, **kwargs)
        return super().write_number(row, col, *args, **kwargs)

    def write_formula(  # type: ignore[override]
        self, row: Any, col: Any, *args: Any, **kwargs: Any
    ) -> Any:
        if row.__class__ is int and col.__class__ is int:
            return self._write_formula(row, col, *args, **kwargs)
        return super().write_formula(row, col, *args, **kwargs)

    # Every cell goes through these (write, write_row, write_string... alike), so a writer
    # cannot leave text crossing into its neighbour or a figure showing as ####.
    def _write_string(
        self, row: int, col: int, string: str, cell_format: Format | None = None
    ) -> Any:
        if self.fitting is not None:
            cell_format = self.fitting.string(row, col, string, cell_format)
        if string.__class__ is str and len(string) <= _SHORT_STRING and self._streamed(row, col):
            self.table[row][col] = CellStringTuple(string, cell_format)
            return 0
        return super()._write_string(row, col, string, cell_format)

    def _write_number(
        self, row: int, col: int, number: Any, cell_format: Format | None = None
    ) -> Any:
        if self.fitting is not None:
            self.fitting.number(col, number, cell_format)
        if number.__class__ is float and number - number == 0.0 and self._streamed(row, col):
            self.table[row][col] = CellNumberTuple(number, cell_format)
            return 0
        return super()._write_number(row, col, number, cell_format)

    def _write_formula(
        self, row: int, col: int, formula: str, cell_format: Format | None = None, value: Any = 0
    ) -> Any:
        if self.fitting is not None:
            self.fitting.number(col, value, cell_format)
        if (
            formula.__class__ is str
            and formula[:1] == "="
            and not formula.endswith("}")
            and not self.use_future_functions
            and _DYNAMIC.search(formula) is None
            and self._streamed(row, col)
        ):
            self.table[row][col] = CellFormulaTuple(formula[1:], cell_format, value)
            return 0
        return super()._write_formula(row, col, formula, cell_format, value)

    def _streamed(self, row: int, col: int) -> bool:
        """For a cell of a streamed sheet at or after the row being written, what XlsxWriter
        does before it stores the cell (the sheet's dimensions, the previous row written out),
        done here without its checks for other sheets and cells: True once done, False (and
        nothing done) for any other cell, which XlsxWriter's own path then takes."""
        if (
            not self.constant_memory
            or row < self.previous_row
            or not (0 <= row < self.xls_rowmax and 0 <= col < self.xls_colmax)
        ):
            return False
        if self.dim_rowmin is None:
            self.dim_rowmin = self.dim_rowmax = row
        elif row < self.dim_rowmin:
            self.dim_rowmin = row
        elif row > self.dim_rowmax:
            self.dim_rowmax = row
        if self.dim_colmin is None:
            self.dim_colmin = self.dim_colmax = col
        elif col < self.dim_colmin:
            self.dim_colmin = col
        elif col > self.dim_colmax:
            self.dim_colmax = col
        if row > self.previous_row:
            self._write_single_row(row)
        return True

    def set_column(  # type: ignore[override]
        self, first_col: int, last_col: int, width: float | None = None, *args: Any
    ) -> Any:
        if self.fitting is not None and width is not None:
            self.fitting.columns(first_col, last_col, width)
        return super().set_column(first_col, last_col, width, *args)

    def _write_single_row(self, current_row_num: int = 0) -> None:
        # A streamed sheet has written its earlier rows for good: forget their heights (a
        # sheet of 300,000 wrapped rows would otherwise hold them all), but those of the
        # first rows, which place a chart drawn over them.
        done = self.previous_row
        write_single_row(self, current_row_num)
        if self.fitting is not None and done > KEEP_ROWS:
            self.row_info.pop(done, None)
            self.row_sizes.pop(done, None)

    def set_row(  # type: ignore[override]
        self, row: int, height: float | None = None, *args: Any
    ) -> Any:
        if self.fitting is not None and height is not None:
            height = self.fitting.row(row, height)
        return super().set_row(row, height, *args)


__all__ = ["KEEP_ROWS"]
