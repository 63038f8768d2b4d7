"""What every command shares: the database session, JSON output and error handling."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from grants.config import database_url, default_actor
from grants.db.engine import make_engine, make_session_factory
from grants.errors import ConfigError, GrantsError


@dataclass
class AppContext:
    database: str | None
    actor: str
    _engine: Engine | None = field(default=None, repr=False)
    _schema_ok: bool = field(default=False, repr=False)  # checked once per command

    @property
    def url(self) -> str:
        return database_url(self.database)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed if the block succeeds, else rolled back."""
        self.require_schema()
        with make_session_factory(self.engine)() as session, session.begin():
            yield session

    def require_schema(self) -> None:
        if self._schema_ok:
            return
        self._check_schema()
        self._schema_ok = True

    def _check_schema(self) -> None:
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        from grants.db.migrate import alembic_config

        database = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and database and database != ":memory:":
            if not Path(database).exists():
                raise ConfigError(
                    f"there is no database at {database}: check --database, or run "
                    "`grants db upgrade` to create it"
                )
        try:
            with self.engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
                has_tables = inspect(conn).has_table("entry")
        except OperationalError as exc:
            raise ConfigError(
                f"cannot open the database {self.shown_url}: {exc.orig}; check --database or "
                "GRANTS_DATABASE_URL"
            ) from exc
        head = ScriptDirectory.from_config(alembic_config(self.engine)).get_current_head()
        if not has_tables or current is None:
            raise ConfigError(
                f"the database {self.shown_url} has no ledger yet: run `grants db upgrade` first"
            )
        if current != head:
            raise ConfigError(
                f"the database {self.shown_url} is at schema {current}, this program needs "
                f"{head}: run `grants db upgrade`"
            )

    @property
    def shown_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)


pass_app = click.make_pass_decorator(AppContext)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


class GrantsGroup(click.Group):
    """Turns a user's mistake (GrantsError) into `Error: message` and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GrantsError as exc:
            raise click.ClickException(str(exc)) from exc
        except SQLAlchemyError as exc:
            message = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise click.ClickException(f"database error: {message}") from exc


def make_folder(directory: Path) -> None:
    """Create an output folder (and its parents); a clear error if that is impossible."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GrantsError(f"cannot create {directory}: {exc.strerror or exc}") from exc


def is_terminal() -> bool:
    return sys.stderr.isatty()


__all__ = [
    "AppContext",
    "GrantsGroup",
    "default_actor",
    "emit_json",
    "is_terminal",
    "make_folder",
    "pass_app",
]
