"""What a page shown again and again may reuse while the record stands as it was.

The web dashboard shows balances and reconcile's findings on every view, and reconcile's
first check walks the whole hash chain (`grants verify`). Ten people refreshing it would each
wait for the others' walks. `Recent` keeps, per process:

* the verdict of the last walk over the record (every link, or those after the last head
  a walk of every link found whole: grants.services.checkpoints), reused for at most ``fresh``
  seconds (a minute) while it relied on the same verification: a record changed, added or
  removed behind the ledger's back is reported by the next walk, so at most a minute late,
  and the page says when the record was last walked and what that walk relied on;
* results computed from the record (a year's balances and findings), reused while no record
  they could read has been added (`record_mark`) and for the same minute at most.

`grants verify`, `grants reconcile` and the reconciliation workbook never reuse anything.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from grants.db.records import RECORDS
from grants.services.record_checks import Evidence
from grants.services.verification import Checkpoint, Verification
from grants.services.verify import verify

T = TypeVar("T")

# Tables of record that no balance, finding or form reads: who signed in, who may. Adding to
# them (every sign-in writes to the audit log) leaves a year's figures as they were.
PEOPLE_TABLES = frozenset({"audit_event", "person", "person_event", "credential"})


def record_mark(connection: Connection, leave_out: frozenset[str] = frozenset()) -> tuple[Any, ...]:
    """Changes whenever a record is added to a table of record not in ``leave_out``, by the
    ledger or at the end of a table behind its back: each such table's highest id. One
    query, each part read from the table's primary key."""
    tables = [t for r in RECORDS for t in (r.table, *((r.child.table,) if r.child else ()))]
    parts = [f"(SELECT MAX(id) FROM {t})" for t in tables if t not in leave_out]
    return tuple(connection.exec_driver_sql("SELECT " + ", ".join(parts)).one())


class Recent:
    """A process's recent verdict of the whole record and results computed from it."""

    def __init__(self, fresh: float = 60.0, size: int = 64) -> None:
        self.fresh = fresh
        self.size = size
        self._lock = threading.Lock()
        self._verdict: tuple[float, datetime, Verification, Checkpoint | None] | None = None
        self._results: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def verify(
        self,
        connection: Connection,
        evidence: Evidence | None = None,
        since: Checkpoint | None = None,
    ) -> Verification:
        """The verdict of a walk over the record at most ``fresh`` seconds old, that relied
        on ``since`` (a head a walk of every link found whole; None: every link walked)."""
        with self._lock:
            last = self._verdict
        if last is not None and last[3] == since and time.monotonic() - last[0] < self.fresh:
            return last[2]
        started, at = time.monotonic(), datetime.now()
        result = verify(connection, evidence, since)
        with self._lock:
            self._verdict = (started, at, result, since)
        return result

    @property
    def walked_at(self) -> datetime | None:
        """When the verdict in use was walked (local time), if there is one."""
        with self._lock:
            return None if self._verdict is None else self._verdict[1]

    def result(self, connection: Connection, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, or what it gave for ``key`` while the record stood as it does now
        (people's tables aside) less than ``fresh`` seconds ago."""
        full = (record_mark(connection, PEOPLE_TABLES), key)
        now = time.monotonic()
        with self._lock:
            found = self._results.get(full)
            if found is not None and now - found[0] < self.fresh:
                self._results.move_to_end(full)
                return found[1]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._results[full] = (now, value)
            while len(self._results) > self.size:
                self._results.popitem(last=False)
        return value


__all__ = ["PEOPLE_TABLES", "Recent", "record_mark"]
