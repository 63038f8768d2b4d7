"""A load into an empty journal builds its indexes after its rows, and keeps every check,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from grants.db import bulk
from grants.db.engine import make_session_factory
from grants.periods import parse_period
from grants.services.journal import BIG_BATCH, Journal, NewEntry
from grants.services.rules import Operation
from grants.services.verify import verify
from tests.helpers import FUND, NOW, load_text

Y = parse_period("2017-18")


def indexes(engine: Engine) -> dict[str, list[tuple[str, bool, object]]]:
    found = inspect(engine)
    n = engine.dialect.name
    return {
        t: sorted(
            (i["name"], bool(i["unique"]), str(i.get("dialect_options", {}).get(f"{n}_where")))
            for i in found.get_indexes(t)
        )
        for t in ("account", "entry", "posting")
    }


def many(n: int) -> list[NewEntry]:
    items = [NewEntry(Operation("award", "FUND", Y, 10**12), date(2017, 4, 1), "t", NOW)]
    for i in range(n - 1):
        op = Operation("allocate", "FUND", Y, 100 + i, line="AB"[i % 2])
        items.append(NewEntry(op, date(2017, 4, 1), "t", NOW))
    return items


def test_a_big_load_into_an_empty_journal_ends_with_every_index(
    engine: Engine, tmp_path: Path
) -> None:
    before = indexes(engine)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        load_text(session, tmp_path, FUND)
        result = Journal(session).record(many(BIG_BATCH))
    assert len(result.entry_ids) == BIG_BATCH
    assert indexes(engine) == before
    with make_session_factory(engine, read_only=True)() as session, session.begin():
        assert verify(session.connection()).ok
        # The load's rows are found through the indexes made again.
        key = session.execute(text("SELECT key FROM entry WHERE id = 77")).scalar()
        plan = session.execute(text("SELECT id FROM entry WHERE key = :k"), {"k": key}).all()
        assert plan == [(77,)]


def test_an_index_built_after_the_rows_refuses_two_alike(empty_url: str) -> None:
    from grants.db import migrate
    from grants.db.engine import make_engine

    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine)
        before = indexes(engine)
        with engine.connect() as connection:
            connection.begin()
            connection.execute(
                text(
                    "INSERT INTO organisation (id, code, name, role, day) VALUES "
                    "(1, 'F', 'F', 'funder', '2017-04-01')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO stream (id, code, name, kind, funder_id, day) VALUES "
                    "(1, 'S', 'S', 'other', 1, '2017-04-01')"
                )
            )
            row = "'2017-04-01', 1, 2017, 2017, 100, false, 'x', '2017-04-01 09:00:00', 'award'"
            with pytest.raises((bulk.NotUnique, IntegrityError), match="uq_entry_key"):
                with bulk.indexes_after(connection, ("entry",)):
                    for i in (1, 2):
                        connection.execute(
                            text(
                                "INSERT INTO entry (id, key, ref, day, stream_id, first_year, "
                                "last_year, amount_pence, over_allocation, actor, recorded_at, "
                                f"kind) VALUES ({i}, 'same', 'r{i}', {row})"
                            )
                        )
            connection.rollback()
        assert indexes(engine) == before
        with engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM entry")).scalar() == 0
    finally:
        engine.dispose()
