"""Options shared by commands: dates as a UK officer types them, and the stream a command
works on (named in any case, or the only one there is, or asked for on a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from grants.cli import terminal
from grants.dates import DateError, parse_date

if TYPE_CHECKING:  # imported to pick a stream: declaring an option reads no ledger
    from sqlalchemy.orm import Session

    from grants.services.streams import Need

F = TypeVar("F", bound=Callable[..., Any])


class DateType(click.ParamType):
    """A date typed as ``31/03/2018`` or ``2018-03-31`` (see `grants.dates`)."""

    name = "date"

    def get_metavar(self, param: click.Parameter, *args: Any, **kwargs: Any) -> str:
        return "DD/MM/YYYY"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return parse_date(str(value))
        except DateError as exc:
            self.fail(str(exc), param, ctx)


DATE = DateType()

_DEFAULTS = {
    "any": "the only stream, when there is one",
    "pcc": "the only PCC Community Safety Fund stream, when there is one",
    "capital": "the only stream with programme versions, when there is one",
}


def stream_option(need: Need, what: str = "Stream") -> Callable[[F], F]:
    """``--stream CODE`` (any case) for a command that needs a stream of the kind ``need``;
    see `pick_stream`."""
    return click.option(
        "--stream", metavar="CODE", help=f"{what} (default: {_DEFAULTS[need]}; else asked)."
    )


def interactive() -> bool:
    """Whether a person is at a terminal to answer a question."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def pick_stream(session: Session, typed: str | None, need: Need = "any", work: str = "read") -> str:
    """The code of the stream the command works on: the one typed (any case), else the only
    stream of the kind, else on a terminal the one the user chooses from those listed;
    otherwise a usage error (exit 2) listing them. ``work``: the permission the command
    needs, checked first (see `stream_code`)."""
    from grants.services.streams import StreamNeeded, stream_code

    try:
        return stream_code(session, typed, need, work)
    except StreamNeeded as exc:
        if not interactive():
            raise click.UsageError(terminal.visible(str(exc))) from None
        terminal.echo(f"The ledger holds {len(exc.choices)} streams: {', '.join(exc.choices)}.",
                      err=True)  # fmt: skip
        chosen: str = click.prompt(
            "Stream", type=click.Choice(exc.choices, case_sensitive=False), err=True
        )
        return chosen


__all__ = ["DATE", "DateType", "interactive", "pick_stream", "stream_option"]
