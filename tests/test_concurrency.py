"""Officers allocating from the same award at the same moment cannot overspend it."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine

from grants.db.engine import make_engine, make_session_factory
from grants.errors import RuleError
from grants.periods import parse_period
from grants.services.balances import Balances
from grants.services.journal import Journal
from tests.helpers import FUND, entry, load_text, record

OFFICERS = 6
ATTEMPTS = 15


def test_concurrent_allocations_never_overspend(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        load_text(session, tmp_path, FUND)
        record(session, entry("award", 50))
    accepted: list[int] = []
    refused: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(OFFICERS)

    def officer(number: int) -> None:
        own = make_engine(db_url)
        own_factory = make_session_factory(own)
        try:
            start.wait()
            for _ in range(ATTEMPTS):
                try:
                    with own_factory() as session, session.begin():
                        Journal(session).record([entry("allocate", 1, "A" if number % 2 else "B")])
                    accepted.append(number)
                except RuleError:
                    refused.append(number)
        except BaseException as exc:  # report any failure in the main thread
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=officer, args=(n,)) for n in range(OFFICERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(accepted) == 50
    assert len(refused) == OFFICERS * ATTEMPTS - 50
    with factory() as session:
        balances = Balances(session)
        year = parse_period("2017-18")
        assert balances.value("FUND", year, "allocated", None) == 5000
        assert balances.value("FUND", year, "unallocated", None) == 0
