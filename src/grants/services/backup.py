"""A consistent copy of a live SQLite ledger, verified before it is kept.

SQLite's online backup copies the database as it stood at one moment, even while another
command writes; the copy is made beside its target, readable by its owner only, verified
(`grants verify`) and only then put in place, as one file with nothing beside it.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.orm import Session

from grants.db.engine import make_engine, make_session_factory
from grants.db.records import CHANGING
from grants.errors import GrantsError
from grants.services import access
from grants.services.record_checks import Evidence
from grants.services.verification import Verification
from grants.services.verify import verify


def backup_sqlite(session: Session, target: Path, evidence: Evidence | None = None) -> Verification:
    """Copy the SQLite ledger ``session`` reads into the new file ``target``; raises
    GrantsError (and keeps nothing) if ``target`` exists, cannot be written, or the record is
    broken (``evidence``: the reader of returns' workbooks verify compares them with). The
    copy is the whole ledger, its form key and password hashes among it: only for a person
    who may export it (``session``'s, an officer or admin); but not its web sessions nor
    its failed sign-ins, which are no record."""
    access.require(session, "export")
    url = session.get_bind().url
    if url.get_backend_name() != "sqlite":
        raise GrantsError(
            "this ledger is on PostgreSQL: back it up with pg_dump (see the README, Backups)"
        )
    if not url.database or url.database == ":memory:":
        raise GrantsError("an in-memory ledger cannot be backed up")
    source = Path(url.database)
    if target.exists() or target.is_symlink():
        raise GrantsError(f"{target} already exists: give the name of a new file")
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.unlink(missing_ok=True)
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        read_only = source.resolve().as_uri() + "?mode=ro"  # a path may hold ? # or %
        with (
            closing(sqlite3.connect(read_only, uri=True)) as src,
            closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst)
        copy = make_engine(f"sqlite:///{partial}")
        try:
            with make_session_factory(copy, read_only=True)() as session, session.begin():
                result = verify(session.connection(), evidence)
        finally:
            copy.dispose()
        with closing(sqlite3.connect(partial)) as dst:
            # No one is signed in to a copy: its web sessions and failed sign-ins (no record,
            # and only the SHA-256 of a session's id) are left behind.
            for table in CHANGING:
                dst.execute(f"DELETE FROM {table}")
            dst.commit()
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, nothing beside it
        if not result.ok:
            raise GrantsError(
                f"the ledger's record is broken (the first broken record is {result.first}); "
                "no backup was kept: run `grants verify`"
            )
        partial.replace(target)
        return result
    except (OSError, sqlite3.Error) as exc:
        raise GrantsError(f"cannot back up to {target}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)


__all__ = ["backup_sqlite"]
