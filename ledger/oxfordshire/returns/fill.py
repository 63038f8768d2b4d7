"""Fill issued return forms as their recipients would, from a TOML file of what each
reported (see 2017-18-mid-year.toml), for `make demo`.

    python fill.py FIGURES.toml ISSUED-DIR FILLED-DIR

Each form in ISSUED-DIR whose allocation line has an entry in FIGURES is filled in (with
openpyxl, standing in for Excel or LibreOffice) and saved under the same name in FILLED-DIR;
the others are left unfilled, as a recipient who has not replied would.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from grants.excel import metrics


def main(figures: Path, issued: Path, filled: Path) -> None:
    reports = tomllib.loads(figures.read_text(encoding="utf-8"))
    filled.mkdir(parents=True, exist_ok=True)
    count = 0
    for form in sorted(issued.glob("*.xlsx")):
        workbook = openpyxl.load_workbook(form)
        sheet = workbook["Return"]
        line = str(sheet["B3"].value).split("|")[3]  # the form's identity names its line
        report = reports.get(line)
        if report is None:
            continue
        sheet["B9"] = report.get("completed_by")
        sheet["B10"] = report.get("completed_on")
        sheet["E13"] = report.get("progress")
        sheet["F13"] = report.get("measure")
        sheet["G13"] = report.get("target")
        sheet["H13"] = report.get("actual")
        if "spend" in report:
            sheet["D13"] = report["spend"]
        fit_row(sheet, 13)
        workbook.save(filled / form.name)
        count += 1
    print(f"filled {count} of {len(list(issued.glob('*.xlsx')))} return forms into {filled}")


def fit_row(sheet: Worksheet, row: int) -> None:
    """Raise the row for the text typed into it, as Excel and LibreOffice do as one types
    (openpyxl does not), so that the filled form prints with every word showing."""
    count = 1
    for cell in sheet[row]:
        if isinstance(cell.value, str):
            width = sheet.column_dimensions[cell.column_letter].width or 8.43
            count = max(count, metrics.lines(cell.value, width))
    sheet.row_dimensions[row].height = metrics.row_points(count)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
