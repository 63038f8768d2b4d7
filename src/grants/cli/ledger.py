"""`grants ledger`: check, load and export the plain-text books."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from grants.cli.common import AppContext, GrantsGroup, emit_json, is_terminal, pass_app
from grants.errors import BooksError, GrantsError
from grants.ledger import loader, printer
from grants.ledger.parser import Problem


@click.group(cls=GrantsGroup)
def ledger() -> None:
    """The plain-text books (format: ledger/README.md)."""


def _problem_json(p: Problem) -> dict[str, object]:
    return {"file": p.file, "line": p.line, "severity": p.severity, "message": p.message}


def _summary(report: loader.LoadReport) -> str:
    parts = [f"{n} {kind}" for kind, n in sorted(report.created.items()) if n]
    unchanged = sum(report.skipped.values())
    text = ", ".join(parts) if parts else "nothing new"
    return f"{text}; {unchanged} already recorded" if unchanged else text


@ledger.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def check(app: AppContext, path: Path, as_json: bool) -> None:
    """Check the books at PATH without recording anything.

    Prints each problem as `file:line: message`; published figures that do not add up are
    listed as discrepancies. Exits 1 if there is any error.
    """
    problems, report = loader.check(path, app.actor)
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
            click.echo(str(p))
        if problems:
            click.echo(f"{len(problems)} error(s) in {path}", err=True)
        else:
            click.echo(f"{path}: ok ({_summary(report)}; {len(notes)} discrepancies or warnings)")
    if problems:
        raise SystemExit(1)


@contextmanager
def _progress() -> Iterator[Callable[[int], None] | None]:
    """On a terminal, count journal entries as they are checked (long books take a while)."""
    if not is_terminal():
        yield None
        return
    counted = 0

    def tick(n: int) -> None:
        nonlocal counted
        counted += n
        click.echo(f"\rchecked {counted:,} journal entries", nl=False, err=True)

    try:
        yield tick
    finally:
        if counted:
            click.echo("", err=True)


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
        with app.session() as session, _progress() as progress:
            report = loader.load(session, path, app.actor, progress=progress)
    except BooksError as exc:
        for p in exc.problems:
            click.echo(str(p), err=True)
        raise click.ClickException(
            f"{len(exc.problems)} error(s) in {path}: nothing was recorded"
        ) from exc
    if as_json:
        emit_json(report.as_dict())
        return
    for p in report.warnings + report.discrepancies:
        click.echo(str(p))
    click.echo(f"loaded {path}: {_summary(report)}")


@ledger.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write main.grants and one file per stream into this folder (default: print).",
)
@pass_app
def export(app: AppContext, output: Path | None) -> None:
    """Write the database out as canonical books text."""
    with app.reading() as session:
        files = printer.export(session)
    if output is None:
        names = ["main.grants", *sorted(n for n in files if n != "main.grants")]
        for name in names:
            click.echo(f";; ---- {name}")
            click.echo(files[name], nl=False)
        return
    written: list[Path] = []
    try:
        output.mkdir(parents=True, exist_ok=True)
        # Write every file beside its target first, then put them all in place.
        for name, text in files.items():
            temporary = output / f".{name}.tmp"
            written.append(temporary)
            temporary.write_text(text, encoding="utf-8")
        for name in files:
            (output / f".{name}.tmp").replace(output / name)
    except OSError as exc:
        for temporary in written:
            temporary.unlink(missing_ok=True)
        raise GrantsError(
            f"cannot write the books to {output}: {exc.strerror or exc}; choose another folder "
            "with -o"
        ) from exc
    click.echo(f"wrote {len(files)} file(s) to {output}")
