"""The streams, lines and stated awards a balance read needs are read once while the ledger
stands as it was (grants.services.balance_catalogue): a reading transaction uses what an
earlier one read on the same connection until a stream, line, statement or person's event is
recorded, and a writing transaction reads them afresh. On both engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from grants.db.engine import make_session_factory
from grants.periods import parse_period
from grants.services import balance_catalogue, name_table
from grants.services.balances import Balances
from grants.services.journal import NewEntry
from tests.helpers import FUND, entry, load_text, record

Y = parse_period("2017-18")
MORE = """\
2017-04-01 line FUND C "Line C"
2017-04-01 stated FUND 2017-18 1,100
"""
OTHER = """\
2017-04-01 line FUND D "Line D"
"""


@pytest.fixture(autouse=True, params=["dictionary", "packed"])
def lines_held(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The lines' names held as read, or packed as for a ledger of many
    (grants.services.name_table): kept and read again alike."""
    if request.param == "packed":
        monkeypatch.setattr(name_table, "COMPACT", 0)
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The catalogue's queries run, in order (the sums' too: every one but the mark)."""
    run: list[str] = []
    rows = balance_catalogue.Catalogue.rows

    def counted(self: balance_catalogue.Catalogue, sql: str) -> list:
        run.append(sql)
        return rows(self, sql)

    monkeypatch.setattr(balance_catalogue.Catalogue, "rows", counted)
    yield run


def _write(engine: Engine, tmp_path: Path, books: str, *entries: NewEntry) -> None:
    with make_session_factory(engine)() as session, session.begin():
        load_text(session, tmp_path, books)
        if entries:
            record(session, *entries)


def _read(engine: Engine) -> Balances:
    with make_session_factory(engine, read_only=True)() as session, session.begin():
        return Balances(session, "FUND")


def _catalogue_queries(run: list[str]) -> list[str]:
    return [sql for sql in run if "posting" not in sql]


def test_a_reader_reads_the_catalogue_again_only_when_something_new_is_recorded(
    engine: Engine, tmp_path: Path, queries: list[str], lines_held: str
) -> None:
    _write(engine, tmp_path, FUND, entry("award", 1000), entry("allocate", 600, "A"))
    first = _read(engine)
    assert first.names and _catalogue_queries(queries)  # streams, lines, statements
    assert isinstance(first.names, name_table.PackedNames) == (lines_held == "packed")
    queries.clear()
    again = _read(engine)
    assert _catalogue_queries(queries) == []  # the same mark: nothing read but the sums
    assert again.rows() == first.rows() and again.stated == first.stated == {}
    # Another writer adds a line and a statement: the next read sees them.
    _write(engine, tmp_path, FUND + MORE, entry("allocate", 100, "C"))
    queries.clear()
    after = _read(engine)
    assert _catalogue_queries(queries)
    assert [(r.line, r.name) for r in after.rows()] == [
        (None, ""),
        ("A", "Line A"),
        ("C", "Line C"),
    ]
    assert after.value("FUND", Y, "stated", None) == 110_000
    assert after.value("FUND", Y, "allocated", "C") == 10_000


def test_a_writer_reads_the_catalogue_afresh_and_what_it_rolls_back_is_never_kept(
    engine: Engine, tmp_path: Path, queries: list[str]
) -> None:
    _write(engine, tmp_path, FUND, entry("award", 1000), entry("allocate", 600, "A"))
    _read(engine)
    # A line added and rolled back: seen by the writer that added it, by no reader after.
    with make_session_factory(engine)() as session, session.begin():
        load_text(session, tmp_path, FUND + MORE)
        record(session, entry("allocate", 100, "C"))
        queries.clear()
        inside = Balances(session, "FUND")
        assert _catalogue_queries(queries)  # a writer keeps nothing and uses nothing kept
        assert inside.value("FUND", Y, "allocated", "C") == 10_000
        session.rollback()
    assert not _read(engine).has_line("FUND", Y, "C")
    # Another line then takes the ids the rolled-back one had: its own name is read.
    _write(engine, tmp_path, FUND + OTHER, entry("allocate", 100, "D"))
    rows = _read(engine).rows()
    assert [(r.line, r.name) for r in rows] == [(None, ""), ("A", "Line A"), ("D", "Line D")]


def test_what_a_writer_reads_is_what_a_reader_reads(engine: Engine, tmp_path: Path) -> None:
    """The same figures through a writing session (nothing kept) as through reading ones
    (kept by the first, used by the second)."""
    _write(engine, tmp_path, FUND + MORE, entry("award", 1000), entry("allocate", 600, "A"),
           entry("pay", 50, "A"), entry("allocate", 100, "C"))  # fmt: skip
    with make_session_factory(engine)() as writing, writing.begin():
        expected = Balances(writing).rows(), Balances(writing, "FUND", period=Y).rows(Y)
    for _ in range(2):
        with make_session_factory(engine, read_only=True)() as reading, reading.begin():
            got = Balances(reading).rows(), Balances(reading, "FUND", period=Y).rows(Y)
        assert got == expected


def test_a_reader_does_not_wait_for_a_load_holding_the_chain(
    engine: Engine, tmp_path: Path
) -> None:
    """A big PostgreSQL load holds the hash chain's ``seal`` table exclusively until it
    commits; the catalogue's mark does not read it, so a balance answers meanwhile."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's readers never wait for a writer's locks")
    _write(engine, tmp_path, FUND, entry("award", 1000), entry("allocate", 600, "A"))
    with engine.connect() as load:
        load.exec_driver_sql("LOCK TABLE seal IN ACCESS EXCLUSIVE MODE")
        with make_session_factory(engine, read_only=True)() as session, session.begin():
            session.connection().exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            assert Balances(session, "FUND").value("FUND", Y, "allocated", "A") == 60_000
        load.rollback()
