"""`grants export`: the ledger in the open formats others publish in (360Giving)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from grants.cli import terminal
from grants.cli.common import AppContext, GrantsGroup, emit_json, pass_app
from grants.errors import GrantsError
from grants.excel import giving_flat
from grants.formatting import count, gbp
from grants.periods import parse_period
from grants.services import giving_schema
from grants.services.giving import DEFAULT_PREFIX, giving_package


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
    type=click.Path(path_type=Path),
    help="Where to write: a file (JSON, or a workbook with --format xlsx), or a new folder "
    "of CSV files with --format csv.",
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
    output: Path,
    form: str,
    as_json: bool,
) -> None:
    """Write every allocation as a grant in the 360Giving Data Standard.

    One grant for each line's allocation for a year: its recipient and the organisation that
    made it, the amount allocated, the payments, and the regranting (a line whose allocation
    passes on to lines beneath it). The file is checked against the standard's schema before
    it is written. docs/360giving.md says where each field comes from.
    """
    period = parse_period(year) if year else None
    with app.reading() as session:
        result = giving_package(session, stream, period, prefix)
    found = giving_schema.problems(result.package)
    if found:
        raise GrantsError(
            "the grants do not meet the 360Giving schema, so nothing was written: "
            + "; ".join(found[:5])
            + (f" (and {len(found) - 5} more)" if len(found) > 5 else "")
        )
    if form == "json":
        write_atomically(output, dumps(result.package) + "\n")
    else:
        if form == "csv":
            giving_flat.check_csv(result.package)
        write_flat(output, dumps(result.package) + "\n", form)
    grants = result.package["grants"]
    summary = {
        "file": str(output),
        "format": form,
        "grants": len(grants),
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
        f"wrote {count(len(grants), 'grant')} to {output}: {gbp(result.top_level)} from the "
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
            + ", ".join(result.unidentified)
            + f": each is identified as {result.prefix}-ORG-CODE; give its identifier with "
            "`org-id CODE IDENTIFIER` (org-id.guide)",
            err=True,
        )
    for line in result.left_out:
        terminal.echo(f"left out: {line}", err=True)


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


def write_flat(target: Path, package_text: str, form: str) -> None:
    """The flat form of the package, made beside ``target`` and renamed into place whole
    (a workbook over an earlier one; CSV files as a new folder, or into an empty one)."""
    _not_special(target)
    if form == "xlsx" and target.is_dir():
        raise GrantsError(f"-o: {target} is a folder: give the name of the workbook to write")
    if form == "csv" and target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise GrantsError(f"-o: {target} already exists: give a new folder for the CSV files")
    work: Path | None = None
    try:
        work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part"))
        package = work / "package.json"
        package.write_text(package_text, "utf-8")
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


def write_atomically(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` whole or not at all: into a file beside it, then renamed
    over it, so that a failure leaves no partial file (and any earlier one as it was)."""
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
            f.write(text)
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
