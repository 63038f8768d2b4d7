"""The flat spreadsheet form of a 360Giving package: a workbook (or a folder of CSV files)
with a `grants` sheet and one sheet for each list a grant holds (recipients, funders, dates,
payments...), made by flattentool, the standard's own flattening tool, from the package's
JSON and the grant schema kept with the code (no network). Headings are the schema's paths
(`recipientOrganization/0/id`): with the schema's titles, flattentool would drop the
payments, whose list has no title in the schema. Each list stays on its own sheet, keyed by
the grant's id, rather than rolled up into the grants sheet as well: a list without ids of
its own (the planned dates, the programme) would then be read back twice. So flattentool
reads the file back into the same grants (`flatten-tool unflatten`), as 360Giving's tools do.

Text from the ledger is never a formula in the workbook: flattentool writes with openpyxl,
which takes text beginning `=` for one, so each such cell is set back to text. The CSV form
has no cell types, so text that a spreadsheet program would run (beginning `=`, `+`, `-`,
`@`) is refused there, with the field, and the workbook offered instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import openpyxl

from grants.errors import GrantsError

_RUNS = ("=", "+", "-", "@", "\t", "\r")


def _texts(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(v, f"{where}/{k}")
    elif isinstance(value, list):
        for n, v in enumerate(value):
            yield from _texts(v, f"{where}/{n}")
    elif isinstance(value, str):
        yield where, value


def check_csv(grant: dict[str, Any], n: int) -> None:
    """Refuse the CSV form for a package whose grant ``n`` holds text a spreadsheet program
    would run."""
    for where, text in _texts(grant, f"grants/{n}"):
        if text.startswith(_RUNS):
            raise GrantsError(
                f"--format csv: {where} begins {text[:1]!r}, which a spreadsheet program "
                "opening the file would run as a formula: use --format xlsx (its cells are "
                "text) or json"
            )


def flatten(package_json: Path, target: Path, form: str) -> None:
    """Write the flat form (``xlsx``: a workbook at ``target``; ``csv``: a folder of CSV
    files at ``target``) of the 360Giving package in the file ``package_json``."""
    try:
        from flattentool import flatten as flatten_tool
    except ImportError:
        raise GrantsError(
            f"--format {form} needs flattentool, the 360Giving flattening tool: install it "
            "with `pip install 'grants[flat]'`, or write --format json"
        ) from None
    schema = files("grants") / "standards" / "360giving" / "360-giving-schema.json"
    with as_file(schema) as schema_path, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flatten_tool(
            str(package_json),
            schema=str(schema_path),
            output_name=str(target),
            output_format=form,
            main_sheet_name="grants",
            root_list_path="grants",
            rollup=False,
            remove_empty_schema_columns=True,
        )
    if form == "xlsx":
        _no_formulas(target)


def _no_formulas(path: Path) -> None:
    book = openpyxl.load_workbook(path)
    changed = False
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":  # flattentool writes none: text from the ledger
                    cell.data_type = "s"
                    changed = True
    if changed:
        book.save(path)


__all__ = ["check_csv", "flatten"]
