"""The web service's sessions on the ledger: each opened for the person signed in and bound
to them (grants.services.access.bind), as the command line opens its own; refusals and
failed sign-ins are written to the audit log once the work they refused is rolled back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from grants.config import wait_seconds
from grants.db.engine import ACCESS, make_engine, make_session_factory
from grants.services import access, people
from grants.services.access import Actor

Audit = tuple[Actor | None, str, str, str | None, str | None]


class Ledger:
    """The ledger's database, shared by every request of one server process."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url, wait=wait_seconds())
        self._reading = make_session_factory(self.engine, read_only=True)
        self._writing = make_session_factory(self.engine, read_only=False)
        # Web sessions and failed sign-ins (grants.services.sessions): rows that change and
        # are no record, so written without sealing (nothing sealed is added).
        self._changing = sessionmaker(
            self.engine.execution_options(**{ACCESS: "change"}), expire_on_commit=False
        )
        self._local = threading.local()

    def _pending(self) -> list[Audit]:
        if not hasattr(self._local, "audits"):
            self._local.audits = []
        return self._local.audits  # type: ignore[no-any-return]

    def _audit(self, actor: Actor | None, kind: str, action: str, detail: str | None) -> None:
        self._pending().append((actor, kind, action, detail, None))

    def note(self, actor: Actor | None, kind: str, action: str, detail: str | None,
             login: str | None = None) -> None:  # fmt: skip
        """Note an audit record to write when the current session ends (or now)."""
        self._pending().append((actor, kind, action, detail, login))

    @contextmanager
    def reading(self, actor: Actor | None) -> Iterator[Session]:
        """A read-only session for ``actor`` (None: bound to no one, for signing in)."""
        try:
            with self._reading() as session, session.begin():
                self._bind(session, actor)
                yield session
        finally:
            self.write_audits()

    @contextmanager
    def writing(self, actor: Actor) -> Iterator[Session]:
        """A session that records, in one transaction, for ``actor``: committed (and what it
        added sealed) if the block succeeds, else rolled back."""
        try:
            with self._writing() as session, session.begin():
                self._bind(session, actor)
                yield session
        finally:
            self.write_audits()

    @contextmanager
    def changing(self) -> Iterator[Session]:
        """A short transaction on the web's sessions and failed sign-ins only (no table of
        record: what it writes is not sealed), committed if the block succeeds."""
        with self._changing() as session, session.begin():
            yield session

    def _bind(self, session: Session, actor: Actor | None) -> None:
        if actor is not None:
            access.bind(session, actor, self._audit)
        else:
            session.info[access.AUDITOR] = self._audit

    def write_audits(self) -> None:
        """Write the refusals, sign-ins and failed sign-ins noted, in a transaction of their
        own."""
        pending = self._pending()
        if not pending:
            return
        self._local.audits = []
        with self._writing() as session, session.begin():
            session.connection()  # the transaction begins: it notes where the chain stood
            for actor, kind, action, detail, login in pending:
                people.audit(session, actor, kind, action, detail, login)

    def dispose(self) -> None:
        self.engine.dispose()


__all__ = ["Ledger"]
