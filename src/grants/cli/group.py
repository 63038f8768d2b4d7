"""The command groups' error handling: what leaves a command is one line, with no secret of
the database URL. Kept apart from the database session (grants.cli.common) so that a group's
help and its usage errors need neither the models nor a database."""

from __future__ import annotations

import os
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from grants.cli import terminal
from grants.errors import GrantsError


def driver_message(exc: SQLAlchemyError) -> str:
    """The database driver's own text of an error, on one line (psycopg's runs over two)."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


def _secrets(ctx: click.Context) -> list[str]:
    from grants.cli.common import AppContext  # imported already once a command has run

    app = ctx.find_object(AppContext)
    return app.secrets if app is not None else []


class GrantsGroup(click.Group):
    """Turns a user's mistake (GrantsError) into `Error: message` and exit code 1. Every
    error message leaves here on one line, made visible, with no secret of the database URL
    (`grants.cli.terminal.error_text`): messages quote what was typed and what files hold."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:  # a mistake on the command line itself
            terminal.make_safe(exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GrantsError as exc:
            raise click.ClickException(terminal.error_text(str(exc), _secrets(ctx))) from exc
        except SQLAlchemyError as exc:
            if getattr(getattr(exc, "orig", None), "sqlstate", None) == "55P03":
                message = (  # lock_not_available: a lock held past GRANTS_WAIT_SECONDS
                    "another transaction on the database held a lock for longer than the "
                    "ledger waits; nothing was recorded: try again"
                )
            else:
                message = f"database error: {driver_message(exc)}"
            raise click.ClickException(terminal.error_text(message, _secrets(ctx))) from exc
        except click.ClickException as exc:
            terminal.make_safe(exc, _secrets(ctx))
            raise
        except (click.exceptions.Exit, click.exceptions.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # the reader stopped reading (`| head`): click ends quietly
            raise
        except Exception as exc:
            if os.environ.get("GRANTS_DEBUG"):
                raise
            # Never a traceback for a user: what failed, escaped, and where to report it.
            message = (
                f"unexpected failure ({type(exc).__name__}: {exc}); nothing was recorded. "
                "Run `grants verify`; set GRANTS_DEBUG=1 to see the traceback when reporting it"
            )
            raise click.ClickException(terminal.error_text(message, _secrets(ctx))) from exc
