"""What every command shares: the database session, JSON output and error handling."""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from grants.cli import progress, terminal
from grants.cli.group import GrantsGroup, driver_message
from grants.config import database_url, default_actor, wait_seconds
from grants.db import version
from grants.db.engine import (
    ACCESS,
    create_private_file,
    make_engine,
    make_session_factory,
    shown_url,
    url_secrets,
)
from grants.errors import BooksError, ConfigError, GrantsError, LoginFailed
from grants.formatting import count
from grants.services import access, sign_in
from grants.services.access import Actor

# The ORM, the models and signing in with a password or a database role are imported when a
# command first opens a session: a command that reads through SQLAlchemy Core alone (`grants
# balance --summary`, see `AppContext.read_core`) needs none of them.
if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session, sessionmaker

    from grants.services.verification import Verification

T = TypeVar("T")

# How long writing a sign-in to the audit log waits for another writer (seconds).
SIGN_IN_WAIT = 0.5

NO_PEOPLE = (
    "this ledger has no people yet: run `grants db upgrade`, which makes you its first "
    "person (admin and officer), or restore an export into it with `grants ledger load`"
)


@dataclass
class AppContext:
    database: str | None
    claimed: str | None = None  # --actor (or GRANTS_ACTOR): must be who signs in
    user: str | None = None  # --user (or GRANTS_USER); else the operating-system user
    _engine: Engine | None = field(default=None, repr=False)
    _signed_in: Actor | None = field(default=None, repr=False)
    _no_people: bool = field(default=False, repr=False)
    _audits: list[tuple[Actor | None, str, str, str | None, str | None]] = field(
        default_factory=list, repr=False
    )
    _schema_ok: bool = field(default=False, repr=False)  # checked once per command
    _database_role: bool = field(default=False, repr=False)  # PostgreSQL signed them in
    _factories: dict[bool, sessionmaker[Session]] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        return database_url(self.database)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url, wait=wait_seconds())
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A writing session in one transaction, for the person signed in: committed (and
        what it added sealed) if the block succeeds, else rolled back. One writer at a
        time. A refusal is written to the audit log once the transaction has ended."""
        self.require_schema()
        actor = self.acting()
        if self._database_role and actor is not None:
            self._can_record(actor)
        try:
            with self._factory(read_only=False)() as session, session.begin():
                self._bind(session, actor)
                yield session
        finally:
            self.write_audits()

    @contextmanager
    def reading(self, any_version: bool = False) -> Iterator[Session]:
        """A read-only session for the person signed in: it never waits for a writer (on
        SQLite, WAL), and cannot write. ``any_version``: open a ledger whatever schema
        version it says it is at, as long as it has its chain (verify reports a version
        that is not this program's; nobody signs in to a ledger of another version)."""
        actor = None
        if any_version:
            current, head = self.schema_version()
            if current == head:
                actor = self.acting()
        else:
            self.require_schema()
            actor = self.acting()
        try:
            with self._factory(read_only=True)() as session, session.begin():
                self._bind(session, actor)
                yield session
        finally:
            self.write_audits()

    def _can_record(self, actor: Actor) -> None:
        """ConfigError if the connection, PostgreSQL's role for ``actor``, cannot record."""
        from grants.db import row_security  # PostgreSQL's own roles: few commands meet one

        with self.engine.connect() as connection:
            if row_security.can_record(connection):
                return
        raise ConfigError(
            f"this connection is PostgreSQL's role for {actor.login}, which reads their own "
            "organisations' rows and cannot record: every record is sealed in the ledger's "
            "one chain, which holds every organisation's. To record, connect as the ledger's "
            f"working role and sign in with --user {actor.login}"
        )

    def _bind(self, session: Session, actor: Actor | None) -> None:
        if actor is not None:
            access.bind(session, actor, self._audit)
        else:
            session.info[access.AUDITOR] = self._audit

    def _audit(self, actor: Actor | None, kind: str, action: str, detail: str | None) -> None:
        self._audits.append((actor, kind, action, detail, None))

    def write_audits(self) -> None:
        """Write the refusals and failed logins noted, in a transaction of their own (the
        work they refused was rolled back)."""
        if not self._audits or self._no_people:
            self._audits.clear()
            return
        pending, self._audits = self._audits, []
        from grants.services import people

        try:
            with self._factory(read_only=False)() as session, session.begin():
                session.connection()  # the transaction begins: it notes where the chain stood
                for actor, kind, action, detail, login in pending:
                    people.audit(session, actor, kind, action, detail, login)
        except SQLAlchemyError as exc:
            if not self._database_role:
                raise
            # A recipient's own login reads its rows and cannot write the ledger's chain.
            terminal.echo(
                "warning: not written to the audit log: this connection, the person's own "
                "PostgreSQL login, cannot write to the ledger "
                f"({terminal.error_text(driver_message(exc), self.secrets)})",
                err=True,
            )

    @property
    def actor(self) -> str:
        """The login of the person signed in: what every record they make names."""
        actor = self.acting()
        if actor is None:
            raise ConfigError(NO_PEOPLE)
        return actor.login

    def password(self) -> str:
        """The password of ``--user``: GRANTS_PASSWORD, else asked without echo."""
        password = os.environ.get("GRANTS_PASSWORD")
        if password is None:
            if not sys.stdin.isatty():
                raise ConfigError(
                    f"signing in as {self.user} needs a password: give it in "
                    "GRANTS_PASSWORD when no one is at a terminal"
                )
            password = click.prompt(f"Password for {self.user}", hide_input=True, err=True)
        return password

    @property
    def recorder(self) -> str:
        """Who a load records as: the person signed in, or (restoring an export into a
        ledger with no people yet) the operating-system user."""
        actor = self.acting()
        return actor.login if actor is not None else default_actor(os_only=True)

    def acting(self) -> Actor | None:
        """The person signed in (once per command). On PostgreSQL, a connection whose login
        (``session_user``) is a ledger person's is that person: PostgreSQL signed them in. Otherwise
        ``--user`` with their password (from GRANTS_PASSWORD, else asked without echo),
        written to the audit log when it starts a session (`people.starts_session`), else
        the operating-system user as the ledger person of the same login. None if the
        ledger has no people yet."""
        if self._signed_in is not None or self._no_people:
            return self._signed_in
        self.require_schema()
        from grants.services import people

        with self._factory(read_only=True)() as session, session.begin():
            if not people.count(session):
                self._no_people = True
                return None
            database = people.database_person(session)
        if database is not None:
            if self.user is not None and sign_in.login_key(self.user) != database.key:
                raise ConfigError(
                    f"this connection is PostgreSQL's role {database.key}, the ledger's "
                    f"{database.login}: --user {self.user} is someone else; drop --user (and "
                    f"GRANTS_USER), or connect as {self.user}"
                )
            login, password = database.login, None
            self._database_role = True
        else:
            login = self.user or default_actor(os_only=True)
            password = self.password() if self.user else None
        starts = False
        with self._factory(read_only=True)() as session, session.begin():
            try:
                actor = people.actor_for(session, login, password)
            except LoginFailed as exc:
                self._audits.append((None, "login_failed", "sign in", exc.reason, login))
                failure = exc
            else:
                failure = None
                starts = password is not None and people.starts_session(session, actor)
        if failure is not None:
            self.write_audits()
            raise failure
        if self._claims_another(actor):
            shown = sign_in.shown_login(self.claimed or "")
            message = (
                f"--actor {shown} is not who is signed in ({actor.login}): every record names "
                f"the person signed in; drop --actor (and GRANTS_ACTOR), or sign in as them "
                "with --user"
            )
            self._audits.append((actor, "refused", "actor", message, None))
            self.write_audits()
            raise ConfigError(message)
        self._signed_in = actor
        if starts:
            self._signed_in_with_password(actor)
        return actor

    def _claims_another(self, actor: Actor) -> bool:
        """Whether --actor (or GRANTS_ACTOR) names someone other than ``actor``."""
        claimed = unicodedata.normalize("NFC", (self.claimed or "").strip()).casefold()
        return self.claimed is not None and claimed != sign_in.login_key(actor.login)

    def read_core(self, permission: str, read: Callable[[Connection], T]) -> T | None:
        """``read(connection)`` in one read-only transaction through SQLAlchemy Core (no ORM,
        no models: `grants balance --summary`'s start-up), when signing in takes no more than
        the person of the operating-system login, who exists, is not disabled, sees every
        line and may do ``permission`` (and whom --actor, if given, names). None, with
        nothing read, in every other case (a password, PostgreSQL's own role for a person, a
        recipient, a refusal, a ledger with no people): the command then reads through a
        session, which signs in the full way, says why it refuses and audits a refusal."""
        if self.user is not None or self._signed_in is not None or self._no_people:
            return None
        self.require_schema()
        with self.engine.execution_options(**{ACCESS: "read"}).begin() as connection:
            actor = sign_in.os_login_actor(connection, default_actor(os_only=True))
            if (
                actor is None
                or not actor.may(permission)
                or not actor.sees_everything
                or self._claims_another(actor)
            ):
                return None
            found = read(connection)
        self._signed_in = actor
        return found

    def _signed_in_with_password(self, actor: Actor) -> None:
        """Write a sign-in with a password to the audit log, in a transaction of its own
        that waits for no writer: a command that reads must not wait for one. If the writer
        lock is held, or the ledger refuses writes, say so and go on."""
        from grants.services import people

        engine = make_engine(self.url, wait=SIGN_IN_WAIT)
        try:
            with make_session_factory(engine)() as session, session.begin():
                session.connection()  # the transaction begins: it notes where the chain stood
                people.audit(session, actor, "login", "sign in")
        except (GrantsError, SQLAlchemyError) as exc:
            reason = str(exc) if isinstance(exc, GrantsError) else driver_message(exc)
            terminal.echo(
                f"warning: {actor.login}'s sign-in is not in the audit log: "
                f"{terminal.error_text(reason, self.secrets)}",
                err=True,
            )
        finally:
            engine.dispose()

    def record_verification(
        self, result: Verification, began: datetime, what: str = "this verification"
    ) -> bool:
        """Record that a walk of every link (`grants verify`'s, or `grants reconcile`'s:
        ``what`` it is called in a warning), read in a transaction that began at ``began``
        (`checkpoints.now` before it), found the record whole (grants.services.checkpoints),
        in a transaction of its own that waits for no writer: verifying changes nothing, and
        a reader may verify. If the writer lock is held, or the ledger refuses writes, say so
        and go on: `grants reconcile` then relies on the verification before. Whether it was
        recorded."""
        from grants.services import checkpoints

        actor = self._signed_in
        engine = make_engine(self.url, wait=SIGN_IN_WAIT)
        try:
            with make_session_factory(engine)() as session, session.begin():
                session.connection()  # the transaction begins: it notes where the chain stood
                return checkpoints.record(session, result, actor, began)
        except (GrantsError, SQLAlchemyError) as exc:
            reason = str(exc) if isinstance(exc, GrantsError) else driver_message(exc)
            terminal.echo(
                f"warning: {what} is not recorded (`grants reconcile` relies on the last "
                f"one recorded, if any): {terminal.error_text(reason, self.secrets)}",
                err=True,
            )
            return False
        finally:
            engine.dispose()

    def _factory(self, read_only: bool) -> sessionmaker[Session]:
        """One session factory of each kind per command (a command may open a session for
        each of a thousand files)."""
        if read_only not in self._factories:
            self._factories[read_only] = make_session_factory(self.engine, read_only=read_only)
        return self._factories[read_only]

    def require_schema(self) -> None:
        if self._schema_ok:
            return
        current, head = self.schema_version()
        if current != head:
            raise ConfigError(
                f"the database {self.shown_url} is at schema {current}, this program needs "
                f"{head}: run `grants db upgrade`"
            )
        self._schema_ok = True

    def schema_version(self) -> tuple[str, str]:
        """(the schema version the database says it is at, this program's); ConfigError if
        there is no database or no ledger in it."""
        database = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and database and database != ":memory:":
            if not Path(database).exists():
                raise ConfigError(
                    f"there is no database at {database}: check --database, or run "
                    "`grants db upgrade` to create it"
                )
        try:
            with self.engine.execution_options(**{ACCESS: "read"}).connect() as conn:
                current = version.current(conn)
                has_tables = inspect(conn).has_table("entry") and inspect(conn).has_table("seal")
        except OperationalError as exc:
            raise self.cannot_open(exc) from exc
        head = version.head()
        if not has_tables or current is None:
            raise ConfigError(
                f"the database {self.shown_url} has no ledger yet: run `grants db upgrade` first"
            )
        return current, head

    def connect(self) -> None:
        """Check that the database can be reached (ConfigError, with the reason, if not).
        A new SQLite file is created readable by its owner only, as the upgrade would."""
        if self.engine.dialect.name == "sqlite":
            create_private_file(self.engine.url)
        try:
            with self.engine.connect():
                pass
        except OperationalError as exc:
            raise self.cannot_open(exc) from exc

    def cannot_open(self, exc: OperationalError) -> ConfigError:
        return ConfigError(
            f"cannot open the database {self.shown_url}: {driver_message(exc)}; check "
            "--database or GRANTS_DATABASE_URL"
        )

    @property
    def shown_url(self) -> str:
        """The database's address as messages show it: no password, no query string."""
        return shown_url(self.url)

    @property
    def secrets(self) -> list[str]:
        """What no message may show: the password and secret parameters of the URL."""
        return url_secrets(self.url)


pass_app = click.make_pass_decorator(AppContext)


def emit_json(data: Any) -> None:
    terminal.json(data)


def make_folder(directory: Path) -> None:
    """Create an output folder (and its parents); a clear error if that is impossible."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GrantsError(f"cannot create {directory}: {exc.strerror or exc}") from exc


class DryRun(Exception):
    """Raised inside a file's transaction to roll it back: a dry run records nothing."""


def each_file(
    app: AppContext, files: tuple[Path, ...], one: Callable[[Session, Path], bool]
) -> None:
    """Check and record the files one at a time, each in its own transaction. ``one`` says
    whether the file was taken (it prints why not); a GrantsError refuses the file, DryRun
    rolls it back. Every file is tried, with a bar of "file n of N" on a terminal; a
    summary line ends several files, and the count of those refused ends the command."""
    failed = 0
    app.require_schema()  # a database problem stops everything, not file by file
    with progress.bar(len(files), "importing", progress.showing()) as shown:
        for number, path in enumerate(files, start=1):
            shown.label(f"file {number:,} of {len(files):,}: {path.name}")
            try:
                with app.session() as session:
                    if not one(session, path):
                        failed += 1
            except DryRun:
                pass
            except BooksError as exc:  # each problem names its file and cell
                failed += 1
                echo_problems(exc.problems)
            except GrantsError as exc:
                failed += 1
                text = str(exc)
                shown_text = text if text.startswith(f"{path.name}:") else f"{path.name}: {text}"
                terminal.echo(shown_text, err=True)
            shown.advance()
    if len(files) > 1:
        terminal.echo(f"{len(files) - failed:,} of {count(len(files), 'file')} taken, "
                      f"{failed:,} refused")  # fmt: skip
    if failed:
        raise click.ClickException(
            f"{failed:,} of {count(len(files), 'file')} not recorded: correct "
            f"{'it' if failed == 1 else 'them'} and import {'it' if failed == 1 else 'them'} again"
        )


def echo_problems(problems: Iterable[object], warnings: Iterable[object] = ()) -> None:
    """A file's problems and warnings, one a line, on standard error."""
    for problem in problems:
        terminal.echo(problem, err=True)
    for warning in warnings:
        terminal.echo(f"{warning} (warning)", err=True)


def is_terminal() -> bool:
    return sys.stderr.isatty()


__all__ = [
    "AppContext",
    "DryRun",
    "GrantsGroup",
    "default_actor",
    "driver_message",
    "each_file",
    "echo_problems",
    "emit_json",
    "is_terminal",
    "make_folder",
    "pass_app",
]
