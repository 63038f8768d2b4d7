"""Check and load the books: all of them in one transaction, or nothing.

A pipeline: parse (grants.ledger.parser, a directive at a time) -> validate into records
(grants.ledger.validate: every directive checked, but journal entries only counted, not
kept) -> record them (grants.ledger.write: reference data first, then the journal entries
read again and recorded a batch at a time, grants.ledger.stream and write_journal, then the
rest, ending with the assertions). The books are held in memory a batch of entries at a
time, however many they hold; a file that changes between the two reads is refused.
Loading is idempotent: reference data already in the database must match the books, and
journal entries, statements and the rest already recorded (same content) are skipped.
``check`` runs exactly the same load into a private in-memory database and throws it away,
so `grants ledger check` and `grants ledger load` can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from grants.db.engine import ACCESS
from grants.errors import BooksError, GrantsError
from grants.ledger.grammar import CODE
from grants.ledger.parser import Problem
from grants.ledger.validate import Books, read_books
from grants.ledger.write import LoadReport, Writer
from grants.services import access, form_identity


def load(
    session: Session,
    path: Path,
    actor: str,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    permission: str = "load",
) -> LoadReport:
    """Load the books into the session's database. Raises BooksError (nothing written is
    committed by the caller) when there is any error. ``progress`` is told (journal entries
    checked, journal entries in all) as they are checked. An officer's (``permission``:
    what the caller checked instead, e.g. a recipient's plan form, already checked as theirs)."""
    _refuse_before_reading(session, permission)
    books = read_books(path, actor, now)
    if books.problems:
        raise BooksError(books.problems)
    session.connection()  # a writing session notes where the chain stood
    marks = session.info.get("grants_marks")
    empty = marks is not None and marks.head.count == 0
    if not (empty and access.actor_of(session) is None):
        # Anyone may load into an empty ledger with no people (an export being restored
        # brings its people); every other load is an officer's.
        access.require(session, permission)
    report = LoadReport()
    writer = Writer(session, books, report, progress)
    writer.write()
    if books.problems:
        raise BooksError(books.problems)
    if writer.restoring:
        _restore_form_key(session, path, report)
    return report


def _refuse_before_reading(session: Session, permission: str) -> None:
    """Refuse at once whom the check in the transaction would refuse once the books were
    read, which for large books takes a while: a person who may not ``permission``, or
    nobody signed in to a ledger that already holds records. That check stays, on what
    stands when the writing begins (the ledger may have been written to since this look)."""
    actor = access.actor_of(session)
    if actor is not None and actor.may(permission):
        return
    if actor is None and not _holds_records(session):
        return
    access.require(session, permission)


def _holds_records(session: Session) -> bool:
    """Whether the ledger holds any record, read without the writers' lock (a load takes it
    only once the books are read): the session's own marks if it has begun, else a look in
    a read-only transaction of its own."""
    marks = session.info.get("grants_marks")
    if marks is not None:
        return bool(marks.head.count)
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return False  # a session on a connection of the caller's: the check in it decides
    with bind.execution_options(**{ACCESS: "read"}).begin() as connection:
        return connection.exec_driver_sql("SELECT 1 FROM seal LIMIT 1").first() is not None


def _restore_form_key(session: Session, path: Path, report: LoadReport) -> None:
    """An export restored: take its form key (the file beside its main books, written by
    `grants ledger export` unless --without-form-key), so that the forms its ledger issued
    are accepted here; without it the ledger keeps the key it was made with, and those
    forms are refused."""
    key = path.parent / form_identity.KEY_FILE
    try:
        found = key.is_file() and not key.is_symlink() and key.stat().st_size <= 200
        text = key.read_text(encoding="ascii") if found else None
    except (OSError, UnicodeDecodeError):
        text = None
    if text is None:
        report.warnings.append(Problem(
            str(path), 0,
            f"the export has no {form_identity.KEY_FILE} (exported --without-form-key, or "
            "removed): forms issued before it was made will be refused; issue new ones",
            "warning",
        ))  # fmt: skip
        return
    form_identity.take_key(session, text)


def check(
    path: Path, actor: str, progress: Callable[[int, int], None] | None = None
) -> tuple[list[Problem], LoadReport]:
    """Everything `load` would refuse or report, without touching any real database."""
    from grants.db.engine import make_engine, make_session_factory
    from grants.db.migrate import upgrade

    books = read_books(path, actor)
    if books.problems:
        return books.problems, LoadReport()
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        with make_session_factory(engine)() as session, session.begin():
            # A throwaway ledger: whoever checks acts in it as an officer.
            access.bind(session, access.Actor(0, actor, frozenset({"officer"})))
            try:
                report = load(session, path, actor, progress=progress)
            except BooksError as exc:
                session.rollback()
                return list(exc.problems), LoadReport()  # type: ignore[arg-type]
            except GrantsError as exc:
                return [Problem(str(path), 0, str(exc))], LoadReport()
            session.rollback()
            return [], report
    finally:
        engine.dispose()


__all__ = ["CODE", "Books", "LoadReport", "check", "load", "read_books"]
