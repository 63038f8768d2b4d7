"""What reading a received sheet by openpyxl's rules needs, without importing openpyxl.

Importing any part of openpyxl imports the whole package (its workbook, writer, charts and
images: about a fifth of a second), yet an ordinary return form needs only these few rules:
the column letters, the built-in number formats and which formats show dates or durations,
and Excel's day numbers as dates. They are openpyxl's own (3.1), copied, and
tests/test_xlsx_rules.py holds each to openpyxl's: every column to ZZZ, every built-in
format, a spread of custom formats and day numbers. openpyxl itself is imported only for a
sheet that is not an ordinary one (grants.excel.sheet_xml) or a cell Excel rarely writes.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

WINDOWS_EPOCH = datetime.datetime(1899, 12, 30)
CALENDAR_MAC_1904 = datetime.datetime(1904, 1, 1)
_SECS_PER_DAY = 86400
_LAST_COLUMN = 18278  # ZZZ

BUILTIN_FORMATS = {
    0: "General",
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    5: '"$"#,##0_);("$"#,##0)',
    6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)',
    8: '"$"#,##0.00_);[Red]("$"#,##0.00)',
    9: "0%",
    10: "0.00%",
    11: "0.00E+00",
    12: "# ?/?",
    13: "# ??/??",
    14: "mm-dd-yy",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "m/d/yy h:mm",
    37: "#,##0_);(#,##0)",
    38: "#,##0_);[Red](#,##0)",
    39: "#,##0.00_);(#,##0.00)",
    40: "#,##0.00_);[Red](#,##0.00)",
    41: r'_(* #,##0_);_(* \(#,##0\);_(* "-"_);_(@_)',
    42: r'_("$"* #,##0_);_("$"* \(#,##0\);_("$"* "-"_);_(@_)',
    43: r'_(* #,##0.00_);_(* \(#,##0.00\);_(* "-"??_);_(@_)',
    44: r'_("$"* #,##0.00_)_("$"* \(#,##0.00\)_("$"* "-"??_)_(@_)',
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mmss.0",
    48: "##0.0E+0",
    49: "@",
}

# Text in quotes, and anything in square brackets but hours, minutes or seconds, is not a
# date part; a duration is hours, minutes or seconds in square brackets.
_STRIP = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_PART = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_TIMEDELTA = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)


def is_date_format(fmt: str | None) -> bool:
    """Whether a number format shows a date or a time (openpyxl's is_date_format)."""
    if fmt is None:
        return False
    return _DATE_PART.search(_STRIP.sub("", fmt.split(";")[0])) is not None


def is_timedelta_format(fmt: str | None) -> bool:
    """Whether a number format shows a duration (openpyxl's is_timedelta_format)."""
    if fmt is None:
        return False
    return _TIMEDELTA.search(fmt.split(";")[0]) is not None


def column_index(letters: str) -> int:
    """A column's 1-based number from its letters, ``A`` to ``ZZZ`` in capitals (the caller
    has matched them); as openpyxl's column_index_from_string gives it."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index


def column_letter(index: int) -> str:
    """A column's letters from its 1-based number (openpyxl's get_column_letter)."""
    if not 1 <= index <= _LAST_COLUMN:
        raise ValueError(f"Invalid column index {index}")
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def from_excel(
    value: float, epoch: datetime.datetime = WINDOWS_EPOCH, timedelta: bool = False
) -> Any:
    """An Excel day number as a datetime, a time or (``timedelta``) a duration, as openpyxl's
    from_excel gives it (its 1900 leap-year bug included)."""
    if timedelta:
        td = datetime.timedelta(days=value)
        if td.microseconds:  # to the millisecond
            td = datetime.timedelta(
                seconds=td.total_seconds() // 1, microseconds=round(td.microseconds, -3)
            )
        return td
    day, fraction = divmod(value, 1)
    diff = datetime.timedelta(milliseconds=round(fraction * _SECS_PER_DAY * 1000))
    if 0 <= value < 1 and diff.days == 0:
        minutes, seconds = divmod(diff.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return datetime.time(hours, minutes, seconds, diff.microseconds)
    if 0 < value < 60 and epoch == WINDOWS_EPOCH:
        day += 1
    return epoch + datetime.timedelta(days=day) + diff


__all__ = [
    "BUILTIN_FORMATS", "CALENDAR_MAC_1904", "WINDOWS_EPOCH", "column_index", "column_letter",
    "from_excel", "is_date_format", "is_timedelta_format",
]  # fmt: skip
