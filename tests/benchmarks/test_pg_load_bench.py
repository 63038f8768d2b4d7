"""Benchmark: loading the journal into an empty ledger on PostgreSQL, against COPY.

A PostgreSQL database of the benchmark's own holds a template: migrated, with the synthetic
books' reference data (organisation, streams, lines) loaded. Each round copies it
(``CREATE DATABASE ... TEMPLATE``) once for each variant, untimed, and times:

* **grants**: ``Journal.record`` of the synthetic entries and the commit, which seals them
  in the hash chain: every rule checked, every row written, the chain extended;
* **floor**: the same final rows (accounts, entries, postings and the links of the chain,
  read once from a ledger grants loaded) written with binary COPY into the four tables with
  their indexes and constraints dropped (check constraints apart), which are then created
  again, in one transaction: what PostgreSQL itself needs to hold the same ledger;
* **baseline**: the same COPY into the tables as they are, every key and reference checked
  row by row (today's way for a bulk load, before grants took its keys off).

Sizes 10k, 100k and 1M entries (GRANTS_BENCH_SIZES). Target: grants at most 1.5 times the
floor. Every database the benchmark makes is dropped.

A second row a size: `grants ledger load` of the same books (reference data and entries, as a
file) into an empty PostgreSQL ledger, in its own process, beside the same floor: its peak
resident memory (VmHWM), held under 400 MB as on SQLite (measure.LEDGER_LOAD_PEAK_MB).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, text

from grants.db.engine import make_engine, make_session_factory
from grants.db.migrate import upgrade
from grants.ledger.loader import load
from grants.services.journal import Journal, NewEntry
from tests.benchmarks import measure
from tests.benchmarks.synthetic import books_text, synthetic_books
from tests.conftest import PG_ADMIN

TABLES = ("account", "entry", "posting", "seal")
TARGET = 1.5
BUILD_MEMORY = "256MB"  # as grants builds its keys (grants.db.bulk_postgres)


class Server:
    """Databases made on the test server, each dropped by :meth:`drop` or at the end."""

    def __init__(self, admin: Engine) -> None:
        self.admin = admin
        self.base = PG_ADMIN.rsplit("/", 1)[0] + "/"
        self.made: list[str] = []

    def create(self, template: str | None = None) -> str:
        name = f"grants_bench_{uuid.uuid4().hex[:12]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        self.made.append(name)
        return name

    def url(self, name: str) -> str:
        return self.base + name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.made.remove(name)


@pytest.fixture(scope="module")
def server(postgres_database: str) -> Iterator[Server]:
    """The test server, reached as the tests' own database is (tests/conftest.py: skipped
    where PostgreSQL is not reachable, a failure under CI=true)."""
    admin = create_engine(
        PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    found = Server(admin)
    try:
        yield found
    finally:
        for name in list(found.made):
            found.drop(name)
        admin.dispose()


@dataclass
class Workload:
    template: str
    reference: str  # the synthetic books' reference data, as books text
    entries: list[NewEntry]
    rows: dict[str, list[tuple[Any, ...]]]  # the final rows the load adds, by table
    types: dict[str, list[str]]  # each table's columns' type names, for binary COPY
    columns: dict[str, list[str]]


def prepare(server: Server, size: int, folder: Path) -> Workload:
    """The template (migrated, reference data loaded) and the rows a load of ``size``
    entries adds, read from a copy of it that grants loaded."""
    reference, entries = synthetic_books(size)
    books = folder / "reference.grants"
    books.write_text(reference, encoding="utf-8")
    template = server.create()
    engine = make_engine(server.url(template))
    upgrade(engine)
    with make_session_factory(engine)() as session, session.begin():
        load(session, books, "benchmark")
    engine.dispose()
    loaded = server.create(template)
    record(server.url(loaded), entries)
    rows: dict[str, list[tuple[Any, ...]]] = {}
    types: dict[str, list[str]] = {}
    columns: dict[str, list[str]] = {}
    with psycopg.connect(server.url(template)) as conn:
        before = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]
    assert before["account"] == before["entry"] == 0, "the template holds journal rows"
    with psycopg.connect(server.url(loaded)) as conn:
        for table in TABLES:
            found = conn.execute(
                "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute WHERE "
                "attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                (table,),
            ).fetchall()
            columns[table] = [name for name, _ in found]
            types[table] = [kind for _, kind in found]
            key = "seq" if table == "seal" else "id"
            rows[table] = conn.execute(
                f"SELECT * FROM {table} ORDER BY {key} OFFSET %s", (before[table],)
            ).fetchall()
    server.drop(loaded)
    assert len(rows["entry"]) == size and len(rows["seal"]) == size
    return Workload(template, reference, entries, rows, types, columns)


@pytest.fixture(scope="module", params=measure.sizes(10_000, 100_000, 1_000_000))
def work(
    request: pytest.FixtureRequest, server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workload]:
    """The workload of one size, prepared once for both tests of that size (pytest runs the
    tests of a module-scoped parameter together), its template dropped after them."""
    size: int = request.param
    found = prepare(server, size, tmp_path_factory.mktemp(f"pg-{measure.count_text(size)}"))
    try:
        yield found
    finally:
        server.drop(found.template)


def record(url: str, entries: list[NewEntry]) -> None:
    engine = make_engine(url)
    with make_session_factory(engine)() as session, session.begin():
        Journal(session).record(entries)
    engine.dispose()


# Every index and constraint of the four tables (check constraints apart, which a load
# checks row by row anyway) and the foreign keys of other tables that lean on them.
_KEYS = """
SELECT con.conrelid::regclass::text, con.conname, con.contype::text,
       pg_get_constraintdef(con.oid)
FROM pg_constraint con
WHERE con.contype IN ('p', 'u', 'f')
  AND (con.conrelid = ANY(%(t)s::regclass[]) OR con.confrelid = ANY(%(t)s::regclass[]))
UNION ALL
SELECT x.indrelid::regclass::text, i.relname, 'i', pg_get_indexdef(x.indexrelid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = ANY(%(t)s::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid
                  AND k.contype IN ('p', 'u', 'x'))
"""


def copy_in(conn: psycopg.Connection[Any], work: Workload) -> None:
    with conn.cursor() as cur:
        for table in TABLES:
            sql = f"COPY {table} ({', '.join(work.columns[table])}) FROM STDIN (FORMAT BINARY)"
            with cur.copy(sql) as copy:
                copy.set_types(work.types[table])
                for row in work.rows[table]:
                    copy.write_row(row)


def floor(conn: psycopg.Connection[Any], work: Workload) -> None:
    """COPY into the tables without their keys and indexes, then build them: one
    transaction."""
    keys = conn.execute(_KEYS, {"t": list(TABLES)}).fetchall()
    order = {"f": 0, "i": 1, "u": 2, "p": 3}
    for table, name, kind, _ in sorted(keys, key=lambda k: order[k[2]]):
        if kind == "i":
            conn.execute(f'DROP INDEX "{name}"')
        else:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    copy_in(conn, work)
    conn.execute(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'")
    for table, name, kind, definition in sorted(keys, key=lambda k: -order[k[2]]):
        if kind == "i":
            conn.execute(definition)
        else:
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def variant(server: Server, template: str, run: Callable[[str], None]) -> measure.Timed:
    """A round of one variant: a fresh copy of the template (untimed), ``run`` on it
    (timed), the copy dropped (untimed)."""

    def timed() -> float:
        name = server.create(template)
        try:
            start = time.perf_counter()
            run(server.url(name))
            return time.perf_counter() - start
        finally:
            server.drop(name)

    return timed


def raw(
    step: Callable[[psycopg.Connection[Any], Workload], None], work: Workload
) -> Callable[[str], None]:
    def run(url: str) -> None:
        with psycopg.connect(url) as conn:  # one transaction, committed as the block ends
            step(conn, work)

    return run


def test_pg_load_into_an_empty_ledger(benchmark: Any, server: Server, work: Workload) -> None:
    size = len(work.entries)
    medians = measure.alternate_timed(
        benchmark,
        {
            "grants": variant(server, work.template, lambda url: record(url, work.entries)),
            "floor": variant(server, work.template, raw(floor, work)),
            "baseline": variant(server, work.template, raw(copy_in, work)),
        },
    )
    benchmark.extra_info.update({f"{k}_median_s": round(v, 3) for k, v in medians.items()})
    row = measure.record(
        measure.Row.of(
            medians,
            path="PostgreSQL load into an empty ledger",
            size=f"{size:,} entries",
            floor="COPY, then keys and indexes",
            target=TARGET,
            baseline="COPY into the constrained schema",
        )
    )
    benchmark.extra_info["ratio"] = round(row.ratio, 2)
    assert row.ratio <= TARGET, (
        f"grants {row.product_s:.2f} s is {row.ratio:.2f}x the floor's {row.floor_s:.2f} s"
    )


@pytest.mark.filterwarnings("ignore::pytest_benchmark.logger.PytestBenchmarkWarning")
def test_pg_ledger_load_peak_memory(
    benchmark: Any, server: Server, work: Workload, tmp_path: Path
) -> None:
    """`grants ledger load BOOKS` into an empty, migrated PostgreSQL ledger, as an officer
    runs it in its own process: its peak resident memory, and its time beside the floor of
    the journal's rows (the books' reference data is a few hundred rows more)."""
    size = len(work.entries)
    books = tmp_path / "books.grants"
    books.write_text(books_text(work.reference, work.entries), encoding="utf-8")
    empty = server.create()
    engine = make_engine(server.url(empty))
    upgrade(engine)
    engine.dispose()
    peak_file = tmp_path / "peak"
    peaks: list[int] = []

    def command(url: str) -> None:
        measure.run(measure.grants_command(peak_file, "--database", url, "ledger", "load",
                                           str(books)))  # fmt: skip
        peaks.append(measure.peak_kb_of(peak_file))

    try:
        medians = measure.alternate(
            {
                "grants": variant(server, empty, command),
                "floor": variant(server, work.template, raw(floor, work)),
            }
        )
    finally:
        server.drop(empty)
    row = measure.ledger_load_row(
        "`grants ledger load` on PostgreSQL (its own process): peak memory",
        f"{size:,} entries",
        medians,
        "COPY of the journal's rows, then keys and indexes",
        peaks,
    )
    measure.held_to_peak(benchmark, row, medians)
