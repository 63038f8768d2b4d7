"""The workbooks' cell and range names (grants.excel.book.cell, cells) are XlsxWriter's,
with each column's letters worked out once."""

from __future__ import annotations

import random
import warnings

from xlsxwriter.utility import xl_range, xl_rowcol_to_cell

from grants.excel.book import cell, cells

EDGES = [0, 1, 9, 25, 26, 27, 51, 52, 701, 702, 703, 16_383]


def test_a_cell_is_named_as_xlsxwriter_names_it() -> None:
    pick = random.Random(14)
    for col in EDGES + [pick.randrange(16_384) for _ in range(300)]:
        for row in (0, 8, 9, 99, 1_048_575, pick.randrange(1_048_576)):
            assert cell(row, col) == xl_rowcol_to_cell(row, col)


def test_a_range_is_named_as_xlsxwriter_names_it() -> None:
    pick = random.Random(15)
    for _ in range(3_000):
        first_row, first_col = pick.randrange(2_000), pick.choice(EDGES)
        last_row = first_row + pick.choice([0, 0, 1, 57])
        last_col = first_col + pick.choice([0, 0, 1, 12])
        assert cells(first_row, first_col, last_row, last_col) == xl_range(
            first_row, first_col, last_row, last_col
        )
    assert cells(4, 2, 4, 2) == "C5"


def test_a_negative_row_or_column_goes_to_xlsxwriter() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cell(-1, 0) == xl_rowcol_to_cell(-1, 0) == ""
        assert cell(0, -1) == ""
        assert cells(0, 0, -1, 3) == xl_range(0, 0, -1, 3) == ""
