"""`grants ledger`: check, load and export the plain-text books."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import click
from sqlalchemy import Connection

from grants.cli import progress, terminal
from grants.cli.common import AppContext, GrantsGroup, emit_json, pass_app
from grants.cli.evidence import differences
from grants.config import default_actor
from grants.db.seal import Head
from grants.errors import BooksError, GrantsError
from grants.formatting import count
from grants.ledger import loader, printer
from grants.ledger.parser import Problem
from grants.ledger.printer import Exported
from grants.services import form_identity, settings
from grants.services.verify import verify_ledger
from grants.text import Kind, clean


@click.group(cls=GrantsGroup)
def ledger() -> None:
    """The plain-text books (format: ledger/README.md)."""


def _problem_json(p: Problem) -> dict[str, object]:
    return {"file": p.file, "line": p.line, "severity": p.severity, "message": p.message}


# What the books record, as counted in a summary, where "1 X, 2 Xs" would not read.
_NOUNS = {
    "printed": ("printed figure",),
    "stated": ("stated figure",),
    "match funding": ("match funding record",),
}


def _summary(report: loader.LoadReport) -> str:
    parts = [
        count(n, *_NOUNS.get(kind, (kind,))) for kind, n in sorted(report.created.items()) if n
    ]
    unchanged = sum(report.skipped.values())
    text = ", ".join(parts) if parts else "nothing new"
    return f"{text}; {unchanged:,} already recorded" if unchanged else text


@ledger.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def check(app: AppContext, path: Path, as_json: bool) -> None:
    """Check the books at PATH without recording anything.

    Prints each problem as `file:line: message`; published figures that do not add up are
    listed as discrepancies. Exits 1 if there is any error.
    """
    with _progress(as_json) as tick:
        problems, report = loader.check(path, app.claimed or default_actor(), progress=tick)
    notes = report.warnings + report.discrepancies
    if as_json:
        emit_json(
            {
                "ok": not problems,
                "errors": [_problem_json(p) for p in problems],
                "warnings": [_problem_json(p) for p in notes],
            }
        )
    else:
        for p in problems + notes:
            terminal.echo(str(p))
        if problems:
            terminal.echo(f"{count(len(problems), 'error')} in {path}", err=True)
        else:
            terminal.echo(
                f"{path}: ok ({_summary(report)}; "
                f"{count(len(notes), 'discrepancy or warning', 'discrepancies or warnings')})"
            )
    if problems:
        raise SystemExit(1)


@contextmanager
def _progress(as_json: bool) -> Iterator[Callable[[int, int], None] | None]:
    """On a terminal, a bar of the journal entries checked (long books take a while)."""
    if not progress.showing(as_json):
        yield None
        return
    bars: list[progress.Bar] = []

    def tick(done: int, total: int) -> None:
        if not bars:  # the total is known once the books are read
            bars.append(progress.Bar(total, "checking journal entries", show=True))
        bars[0].to(done)

    try:
        yield tick
    finally:
        for shown in bars:
            shown.close()


@ledger.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def load(app: AppContext, path: Path, as_json: bool) -> None:
    """Record the books at PATH in the database, all in one transaction.

    A file with any error records nothing. Loading the same books twice changes nothing:
    entries already recorded are recognised and skipped.
    """
    try:
        with app.session() as session, _progress(as_json) as tick:
            report = loader.load(session, path, app.recorder, progress=tick)
    except BooksError as exc:
        for p in exc.problems:
            terminal.echo(str(p), err=True)
        raise click.ClickException(
            f"{count(len(exc.problems), 'error')} in {path}: nothing was recorded"
        ) from exc
    if as_json:
        emit_json(report.as_dict())
        return
    for p in report.warnings + report.discrepancies:
        terminal.echo(str(p))
    terminal.echo(f"loaded {path}: {_summary(report)}")


@ledger.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write main.grants, the record files and attachments/ into this folder, which must "
    "be new, empty or an earlier export (default: print the books).",
)
@click.option(
    "--without-form-key",
    "without_key",
    is_flag=True,
    help="Leave out the form key (for an export given to others): a ledger restored from it "
    "refuses the forms issued before.",
)
@pass_app
def export(app: AppContext, output: Path | None, without_key: bool) -> None:
    """Write everything the ledger holds as canonical books text: a complete backup.

    Every record in the order it was recorded, the returns and plan forms received with
    their workbooks (attachments/), and the chain's head; with -o, also the form key, in a
    file of its own (form-key, readable by its owner only), so that a ledger restored from
    the export accepts the forms issued before. Loading the export into an empty database
    restores the ledger, chain and all; loading it into the database it came from changes
    nothing. Refused while `grants verify` finds the record broken.
    """
    today = date.today()
    with app.reading() as session:
        connection = session.connection()
        result = verify_ledger(session, "export", differences)
        if not result.ok:
            raise GrantsError(
                f"the record is broken (the first broken record is {result.first}): an export "
                "must restore what was recorded, so none was written. Run `grants verify`; "
                "`grants db backup` copies the database as it is"
            )
        if output is None:
            _print(connection, result.head, today)
            return
        key = None if without_key else form_identity.key_text(session)
        exported = _export_into(connection, output, result.head, today, key)
    terminal.echo(
        f"wrote the ledger's {exported.head.count:,} records to {output}: "
        f"{count(len(exported.files), 'books file')} and "
        f"{count(exported.attachments, 'received workbook')}; head {exported.head}"
    )


def _print(connection: Connection, head: Head, today: date) -> None:
    workbooks = 0

    def count(_sha: str, _content: bytes) -> None:
        nonlocal workbooks
        workbooks += 1

    lines = list(printer.directives(connection, count))
    if workbooks:
        raise GrantsError(
            f"the ledger holds {count(workbooks, 'received workbook')}, which cannot be printed: "
            "give a folder with -o for a complete export"
        )
    terminal.echo(f"{printer.HEADER} on {today.isoformat()}: every record, in the order recorded.")
    for directive in lines:
        terminal.echo("")
        for line in directive:  # each line of the books made visible, never split
            terminal.echo(line)
    terminal.echo("")
    terminal.echo(f"{today.isoformat()} head {head}")


def _export_into(
    connection: Connection, output: Path, head: Head, today: date, key: str | None
) -> Exported:
    """Write the export beside ``output`` and put it in place whole: a failure leaves the
    folder as it was. ``key``: the form key, written to its own file, mode 0600."""
    try:
        if output.exists() and (not output.is_dir() or any(output.iterdir())):
            if not _is_export(output):
                raise GrantsError(
                    f"{output} holds files that are not an export of the ledger: give a new "
                    "or empty folder"
                )
        output.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    except OSError as exc:
        raise GrantsError(
            f"cannot write the books to {output}: {exc.strerror or exc}; choose another folder "
            "with -o"
        ) from exc
    try:
        exported = printer.write(connection, staging, head, today)
        if key is not None:
            made = os.open(staging / form_identity.KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                           0o600)  # fmt: skip
            with os.fdopen(made, "w", encoding="ascii") as f:
                f.write(key + "\n")
        if output.exists():
            old = output.with_name(f".{output.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            output.rename(old)
            staging.rename(output)
            shutil.rmtree(old)
        else:
            staging.rename(output)
        return exported
    except OSError as exc:
        raise GrantsError(
            f"cannot write the books to {output}: {exc.strerror or exc}; choose another folder "
            "with -o"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _is_export(folder: Path) -> bool:
    main = folder / "main.grants"
    try:
        with main.open(encoding="utf-8") as f:
            return f.readline().startswith(printer.HEADER)
    except (OSError, UnicodeDecodeError):
        return False


@ledger.command()
@click.argument("name", required=False)
@pass_app
def title(app: AppContext, name: str | None) -> None:
    """Show the ledger's title, or give it NAME.

    The title is the ledger's name on everything it prints: the footer of every workbook
    and of the forms sent to recipients (never the database's address). The books set it
    with a `title` directive; this command changes it, keeping the earlier ones.
    """
    if name is None:
        with app.reading() as session:
            terminal.echo(settings.title(session))
        return
    name = clean(name, "NAME", Kind.NAME)
    with app.session() as session:
        try:
            changed = settings.set_ledger_name(
                session, name, app.actor, date.today(), "command: grants ledger title"
            )
        except ValueError as exc:
            raise GrantsError(str(exc)) from None
    terminal.echo(f"the ledger's title is {' '.join(name.split())!r}" + ("" if changed else
                  " (unchanged)"))  # fmt: skip
