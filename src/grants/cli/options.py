"""Options shared by commands: dates as a UK officer types them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import click

from grants.dates import DateError, parse_date


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

__all__ = ["DATE", "DateType"]
