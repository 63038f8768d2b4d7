"""`grants returns`: return forms out to recipients (and, later, back in)."""

from __future__ import annotations

from pathlib import Path

import click

from grants.cli.common import AppContext, GrantsGroup, pass_app
from grants.errors import GrantsError
from grants.excel import return_form
from grants.periods import parse_year
from grants.services.returns import forms


@click.group(cls=GrantsGroup)
def returns() -> None:
    """Return forms: issue them to recipients."""


@returns.command()
@click.option("--stream", required=True, metavar="CODE", help="Stream, e.g. PCC-CSF.")
@click.option("--year", required=True, metavar="YEAR", help="Financial year, e.g. 2017-18.")
@click.option("--stage", required=True, metavar="STAGE", help="A stage of the stream's "
              "reporting calendar (`due` in the books), e.g. mid-year.")  # fmt: skip
@click.option("--line", metavar="CODE", help="Only this allocation line's form.")
@click.option(
    "-o",
    "--output",
    "directory",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The folder to write the forms in (created if missing).",
)
@pass_app
def issue(
    app: AppContext, stream: str, year: str, stage: str, line: str | None, directory: Path
) -> None:
    """Write a return form for each recipient: its agreed plan's expenditure lines (or its
    allocation, until a plan is recorded), locked, with cells for spend to date, progress and
    outcomes, and outputs (target and actual), validated, and an instructions sheet."""
    with app.session() as session:
        issued = forms(session, stream, parse_year(year), stage, line)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GrantsError(f"cannot create {directory}: {exc.strerror or exc}") from exc
    for form in issued:
        path = directory / return_form.filename(form)
        return_form.write(form, path, app.shown_url)
        plan = "its agreed plan" if form.agreed else "its plan" if form.planned else "no plan yet"
        click.echo(f"wrote {path} ({form.line_name}: {len(form.lines)} line(s), {plan})")
    click.echo(f"{len(issued)} return form(s) in {directory}")


__all__ = ["returns"]
