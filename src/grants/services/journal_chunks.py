"""A big batch of ``Journal.record`` checked and written chunk by chunk: each chunk's rows are
written on a second thread (grants.db.bulk.Writer) while the next chunk is checked, so that
SQLite's steps (or PostgreSQL's server) and the rule checks run on two cores.

The batch is one, as before: the same ids, rows, order and seal, and it is still all or
nothing. The chunks are written inside a savepoint, rolled back when any entry is refused
(or anything else fails), so a refused batch writes nothing; the refusal is the one the
sequential path gives (the first entry refused, or every one with ``keep_going``).

What a chunk's checks read of the ledger is what the journal held before the batch, as when
the batch was checked whole: the keys it holds are looked up once, for the whole batch, the
arrears rule's payments are read before the first chunk is written, and a reversal or a
books id is looked for only among entries before the batch (journal_reversal,
journal_checks). Any statement the checks send waits until the chunks before are written.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from grants.db import bulk
from grants.errors import GrantsError
from grants.services.journal_entry import NewEntry
from grants.services.journal_rows import insert_rows

if TYPE_CHECKING:
    from grants.services.journal import Journal, Recorded, _Run

# Entries checked between two writes. It divides 10,000, so that ``progress`` is told at the
# same entries as when the batch is checked whole.
CHUNK = 2_500
_SAVEPOINT = "grants_journal_chunks"


@contextlib.contextmanager
def savepoint(connection: Connection) -> Iterator[None]:
    """Within the block, the caller's transaction as it stood when it began is kept: when the
    block fails, whatever it wrote is rolled back, and the exception goes on."""
    connection.exec_driver_sql(f"SAVEPOINT {_SAVEPOINT}")
    try:
        yield
    except BaseException:
        # A failure that ended the transaction itself (SQLite rolls back on a full disk)
        # leaves no savepoint: the caller's rollback then does it all.
        with contextlib.suppress(DBAPIError):
            connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            connection.exec_driver_sql(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        raise
    connection.exec_driver_sql(f"RELEASE SAVEPOINT {_SAVEPOINT}")


def record_in_chunks(
    journal: Journal,
    run: _Run,
    batch: list[NewEntry],
    result: Recorded,
    progress: Callable[[int], None] | None,
    keep_going: bool,
    refuse: Callable[[list[GrantsError]], Exception],
) -> None:
    """Check ``batch`` chunk by chunk and write each chunk's rows while the next is checked;
    raises RuleError (``refuse`` of every error, with ``keep_going``) and writes nothing if
    any entry breaks a rule."""
    connection = journal.session.connection()
    keys = [e.idempotency_key() for e in batch]  # once each: a key is a SHA-256
    existing = set() if run.was_empty else journal._existing_keys(keys)
    if any(e.op is not None and e.op.kind == "pay" for e in batch):
        run.arrears.read()  # the payments recorded before the batch, not its own chunks
    run.given.before = run.first_entry
    bulk.big_write(connection)
    written: list[list[tuple[object, ...]]] = []
    refused: list[GrantsError] = []
    with (
        savepoint(connection),
        # Into an empty journal, the indexes (and on PostgreSQL the keys) are built once,
        # after the rows (and after the writer's last chunk).
        bulk.indexes_after(connection, ("account", "entry", "posting")),
        bulk.Writer(connection) as writer,
    ):
        for start in range(0, len(batch), CHUNK):
            end = start + CHUNK
            refused += journal._check(
                run, batch[start:end], result, progress, keep_going, keys[start:end], existing,
                start,
            )  # fmt: skip
            if not refused:  # from the first refusal on, nothing more is written
                rows = (run.new_accounts, run.entry_rows, run.posting_rows)
                written.append(run.entry_rows)
                writer.submit(functools.partial(insert_rows, connection, *rows))
            run.new_accounts, run.entry_rows, run.posting_rows = [], [], []
        if refused:
            raise refuse(refused)
        run.given.check_new_keys(itertools.chain.from_iterable(written))
