"""The reader's copies of openpyxl's rules (grants.excel.xlsx_rules) give what openpyxl's own
give, and an ordinary return form is read without importing openpyxl at all."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import numbers
from openpyxl.utils import cell as openpyxl_cells
from openpyxl.utils import datetime as openpyxl_dates

from grants.excel import xlsx_rules
from tests.test_returns import fill, issued  # noqa: F401  (issued: a fixture)


def test_every_column_to_zzz_has_openpyxl_letters_and_number() -> None:
    for index in range(1, 18279):  # XFD, Excel's last, is 16,384
        letters = openpyxl_cells.get_column_letter(index)
        assert xlsx_rules.column_letter(index) == letters
        assert xlsx_rules.column_index(letters) == index
        assert openpyxl_cells.column_index_from_string(letters) == index


@pytest.mark.parametrize("index", [0, -1, 18279])
def test_a_column_openpyxl_has_no_letters_for_is_refused_alike(index: int) -> None:
    with pytest.raises(ValueError):
        openpyxl_cells.get_column_letter(index)
    with pytest.raises(ValueError):
        xlsx_rules.column_letter(index)


def test_the_built_in_formats_are_openpyxls() -> None:
    assert xlsx_rules.BUILTIN_FORMATS == numbers.BUILTIN_FORMATS


CUSTOM = [
    None, "", "General", "0", "@", "dd/mm/yyyy", "d mmmm yyyy", "[$-809]dd mmmm yyyy",
    "[Red]0.00", "[h]:mm:ss", "[hh]:mm", "[mm]:ss.00", "[ss].0", "[s]", "mm:ss", "h:mm AM/PM",
    '"day" 0', '0 "months"', r"\d0", "_d0", "0_m", '#,##0;[Red]"-"#,##0;"nil"',
    '[$£-809]#,##0.00', "yyyy-mm-dd;@", "0;dd", "[Blue]yy", "[>100]0;mm", "ss;", "E+00",
    "[HH]:MM", "[H]", "[M]:SS", '"[h]"0', "[$-F800]dddd, mmmm dd, yyyy", "[DBNum1]0",
]  # fmt: skip


@pytest.mark.parametrize("fmt", [*CUSTOM, *numbers.BUILTIN_FORMATS.values()])
def test_date_and_duration_formats_are_found_as_openpyxl_finds_them(fmt: str | None) -> None:
    assert xlsx_rules.is_date_format(fmt) is numbers.is_date_format(fmt)
    assert xlsx_rules.is_timedelta_format(fmt) is numbers.is_timedelta_format(fmt)


def test_formats_made_of_any_format_characters_are_judged_as_openpyxl_judges_them() -> None:
    pieces = [*'dmhysDMHYS0#.,;:_\\"[]$-@ ', "[h]", "[mm]", "[Red]", '"d"', "[$-809]"]
    chosen = random.Random(14)
    for _ in range(5000):
        fmt = "".join(chosen.choice(pieces) for _ in range(chosen.randint(1, 9)))
        assert xlsx_rules.is_date_format(fmt) is numbers.is_date_format(fmt), fmt
        assert xlsx_rules.is_timedelta_format(fmt) is numbers.is_timedelta_format(fmt), fmt


DAYS = [
    0, 0.5, 0.999999999, 0.9999999999, 1, 1.25, 59, 59.99, 60, 60.5, 61, 43000, 43000.123456,
    2958465, 2958465.99999, -0.5, -1, -700, 1e-9, 36526.0000001, 25569,
]  # fmt: skip


@pytest.mark.parametrize("epoch", [openpyxl_dates.WINDOWS_EPOCH, openpyxl_dates.CALENDAR_MAC_1904])
@pytest.mark.parametrize("timedelta", [False, True])
def test_day_numbers_become_what_openpyxl_makes_of_them(epoch: datetime, timedelta: bool) -> None:
    chosen = random.Random(1904)
    spread = [chosen.uniform(-1000, 80000) for _ in range(2000)]
    spread += [chosen.randint(0, 80000) for _ in range(200)]
    for value in [*DAYS, *spread]:
        try:
            expected = openpyxl_dates.from_excel(value, epoch, timedelta=timedelta)
        except (OverflowError, ValueError) as exc:
            with pytest.raises(type(exc)):
                xlsx_rules.from_excel(value, epoch, timedelta=timedelta)
            continue
        got = xlsx_rules.from_excel(value, epoch, timedelta=timedelta)
        assert (type(got), got) == (type(expected), expected), value


def test_the_epochs_are_openpyxls() -> None:
    assert xlsx_rules.WINDOWS_EPOCH == openpyxl_dates.WINDOWS_EPOCH
    assert xlsx_rules.CALENDAR_MAC_1904 == openpyxl_dates.CALENDAR_MAC_1904


READS_A_FORM = """
import sys
from pathlib import Path
from grants.excel.return_reader import read_return
rows, problems = read_return(Path(sys.argv[1]))
assert rows is not None and not problems, problems
assert rows.completed_on.value is not None
print(sorted(m for m in sys.modules if m == "openpyxl" or m.startswith("openpyxl.")))
"""


def test_an_ordinary_return_form_is_read_without_importing_openpyxl(
    issued: Path,  # noqa: F811  (the fixture of tests/test_returns.py)
    tmp_path: Path,
) -> None:
    path = fill(issued, tmp_path / "filled.xlsx")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", READS_A_FORM, str(path)],
        capture_output=True, text=True, cwd=root,
        env={"PYTHONPATH": f"{root / 'src'}:{root}", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert openpyxl.DEFUSEDXML  # where a sheet does need openpyxl, it parses nothing unguarded
