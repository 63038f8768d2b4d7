"""`grants export`: the ledger in the open formats others publish in (360Giving)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import click

from grants.cli import progress, terminal
from grants.cli.common import AppContext, GrantsGroup, emit_json, pass_app
from grants.errors import GrantsError
from grants.excel import giving_flat
from grants.formatting import count, gbp
from grants.periods import parse_period
from grants.services import giving_schema
from grants.services.giving import DEFAULT_PREFIX, GivingExport, giving_package

# Writes a file's text to the file it is given.
Writer = Callable[[TextIO], None]


@click.group(cls=GrantsGroup)
def export() -> None:
    """Export the ledger in an open standard (see also `grants ledger export`, the backup)."""


@export.command("360giving")
@click.option("--stream", metavar="CODE", help="Only this stream (default: every stream).")
@click.option("--year", metavar="FY", help="Only this financial year or range, e.g. 2017-18.")
@click.option(
    "--prefix",
    metavar="360G-...",
    help="The publisher's 360Giving prefix for the grant ids (default: the books' "
    f"`setting 360giving-prefix`, else {DEFAULT_PREFIX}).",
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(),
    help="Where to write: a file (JSON, or a workbook named .xlsx with --format xlsx), or a "
    "new folder of CSV files with --format csv.",
)
@click.option(
    "--format",
    "form",
    type=click.Choice(["json", "xlsx", "csv"]),
    default="json",
    show_default=True,
    help="json: the data package; xlsx or csv: its flat spreadsheet form (flattentool).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@pass_app
def giving(
    app: AppContext,
    stream: str | None,
    year: str | None,
    prefix: str | None,
    output: str,
    form: str,
    as_json: bool,
) -> None:
    """Write every allocation as a grant in the 360Giving Data Standard.

    One grant for each line's allocation for a year: its recipient and the organisation that
    made it, the amount allocated, the payments, and the regranting (a line whose allocation
    passes on to lines beneath it). Each grant is checked against the standard's schema as it
    is written, and the file put in place only when every grant passes. docs/360giving.md
    says where each field comes from.
    """
    period = parse_period(year) if year else None
    target = _target(output, form)
    with app.reading() as session:
        result = giving_package(session, stream, period, prefix)
        show = progress.showing(as_json)
        with progress.bar(len(result.streams), "streams", show) as shown:
            if form == "json":
                write_atomically(target, lambda f: _write_package(f, result, False, shown))
            else:
                csv = form == "csv"
                write_flat(target, lambda f: _write_package(f, result, csv, shown), form)
    summary = {
        "file": str(target),
        "format": form,
        "grants": result.count,
        "top_level_amount": str(result.top_level),
        "prefix": result.prefix,
        "prefix_from": result.prefix_from,
        "unidentified": result.unidentified,
        "left_out": result.left_out,
    }
    if as_json:
        emit_json(summary)
        return
    terminal.echo(
        f"wrote {count(result.count, 'grant')} to {target}: {gbp(result.top_level)} from the "
        f"streams, regrants inside it; ids {result.prefix}-… from {result.prefix_from}"
    )
    if result.prefix == DEFAULT_PREFIX and prefix is None:
        terminal.echo(
            "warning: no 360Giving prefix: give the one 360Giving registered for the "
            "publisher with `setting 360giving-prefix` in the books, or --prefix",
            err=True,
        )
    if result.unidentified:
        terminal.echo(
            "warning: the books give no org-id for "
            + _named(result.unidentified)
            + f": each is identified as {result.prefix}-ORG-CODE; give its identifier with "
            "`org-id CODE IDENTIFIER` (org-id.guide)",
            err=True,
        )
    for line in result.left_out:
        terminal.echo(f"left out: {line}", err=True)


def _target(output: str, form: str) -> Path:
    """The file (or, for CSV, the folder) ``-o`` names, refused when its name says otherwise:
    a name ending with a slash is a folder's, and a workbook's name ends .xlsx."""
    if form != "csv" and output.endswith(("/", os.sep)):
        raise GrantsError(
            f"-o: {output} names a folder: give the name of the file to write (e.g. "
            f"{output}grants.{form})"
        )
    target = Path(output)
    if form == "xlsx" and target.suffix.lower() != ".xlsx":
        raise GrantsError(
            f"-o: {output} is not the name of a workbook: end it .xlsx, as a spreadsheet "
            "program opens a workbook by its name"
        )
    return target


# A warning names this many organisations at most; `--json` names every one.
NAMED = 10


def _named(names: list[str]) -> str:
    if len(names) <= NAMED:
        return ", ".join(names)
    more = len(names) - NAMED
    return ", ".join(names[:NAMED]) + f" and {more:,} more (`--json` lists every one)"


def dumps(value: Any, indent: int = 0) -> str:
    """JSON with each amount (a Decimal) written as a number exactly, to two places, as the
    standard asks: never through a float."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + dumps(v, indent + 1) for v in value) + f"\n{pad}]"
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if isinstance(value, float):
        raise TypeError("an amount must be a Decimal, never a float")
    return json.dumps(value, ensure_ascii=False)


def _write_package(f: TextIO, result: GivingExport, csv: bool, shown: progress.Bar) -> None:
    """Write the package to ``f`` grant by grant, as ``dumps`` would write it whole, checking
    each grant against the standard's schema as it goes (and, for the CSV form, for text a
    spreadsheet program would run); GrantsError once every grant is written if any broke
    the schema (else if any held such text), so that the caller keeps nothing of it.
    ``shown`` moves a stream at a time, and says how many grants are written."""
    check = giving_schema.Check()
    runs: GrantsError | None = None  # the first text a spreadsheet program would run
    f.write('{\n  "grants": [')
    at = ""
    for n, grant in enumerate(result.grants):
        if shown.shown and (n % 1000 == 0 or grant["grantProgramme"][0]["code"] != at):
            at = grant["grantProgramme"][0]["code"]
            done = result.streams.index(at)
            shown.label(f"{n:,} grants written; stream {done + 1} of {len(result.streams)}")
            shown.to(done)
        check.grant(grant)
        if csv and runs is None:
            try:
                giving_flat.check_csv(grant, n)
            except GrantsError as exc:
                runs = exc
        f.write(",\n    " if n else "\n    ")
        f.write(dumps(grant, 2))
    shown.label(f"{result.count:,} grants written; streams")
    shown.to(len(result.streams))
    f.write("\n  ]" if result.count else "]")
    for key, value in result.fields.items():
        f.write(f",\n  {json.dumps(key)}: {dumps(value, 1)}")
    f.write("\n}\n")
    found = check.problems(result.fields)
    if found:
        raise GrantsError(
            "the grants do not meet the 360Giving schema, so nothing was written: "
            + "; ".join(found[:5])
            + (f" (and {len(found) - 5} more)" if len(found) > 5 else "")
        )
    if runs is not None:
        raise runs


def _not_special(target: Path) -> None:
    """Refuse to put a file in the place of a device, a named pipe or a socket (renaming over
    it would replace /dev/null itself, as a superuser)."""
    try:
        mode = target.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise GrantsError(
            f"-o: cannot write {target}: {exc.strerror or exc}; nothing was written"
        ) from exc
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
        raise GrantsError(
            f"-o: {target} is not a regular file (a device, a pipe or a socket): give the name "
            "of a file to write"
        )


def write_flat(target: Path, write: Writer, form: str) -> None:
    """The flat form of the package ``write`` writes, made beside ``target`` and renamed into
    place whole (a workbook over an earlier one; CSV files as a new folder, or into an empty
    one)."""
    _not_special(target)
    if form == "xlsx" and target.is_dir():
        raise GrantsError(f"-o: {target} is a folder: give the name of the workbook to write")
    if form == "csv" and target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise GrantsError(f"-o: {target} already exists: give a new folder for the CSV files")
    work: Path | None = None
    try:
        work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part"))
        package = work / "package.json"
        with package.open("w", encoding="utf-8") as f:
            write(f)
        made = work / ("flat.xlsx" if form == "xlsx" else "flat")
        giving_flat.flatten(package, made, form)
        if form == "csv" and target.is_dir():
            target.rmdir()
        os.replace(made, target)
    except OSError as exc:
        raise GrantsError(
            f"-o: cannot write {target}: {exc.strerror or exc}; nothing was written"
        ) from exc
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def write_atomically(target: Path, write: Writer) -> None:
    """Write to ``target`` what ``write`` writes, whole or not at all: into a file beside it,
    then renamed over it, so that a failure (``write``'s own too) leaves no partial file and
    any earlier one as it was."""
    _not_special(target)
    if target.is_dir():
        raise GrantsError(f"-o: {target} is a folder: give the name of the file to write")
    partial: str | None = None
    try:
        handle, partial = tempfile.mkstemp(
            dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.",
            suffix=".part",
        )  # fmt: skip
        os.fchmod(handle, 0o644)  # a file to publish: readable, as a plain write would make it
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            write(f)
        os.replace(partial, target)
        partial = None
    except OSError as exc:
        raise GrantsError(
            f"-o: cannot write {target}: {exc.strerror or exc}; nothing was written"
        ) from exc
    finally:
        if partial is not None:
            Path(partial).unlink(missing_ok=True)


__all__ = ["dumps", "export", "write_atomically", "write_flat"]
