"""Benchmarks: loading journal entries and aggregating balances, against raw sqlite3.

Run with `make bench`. Each benchmark times the product's path with pytest-benchmark and,
in the same run and on the same rows and database schema, a hand-written baseline; the
medians and their ratio are reported in the benchmark's extra_info and checked against the
target (loading: at most 2x raw executemany; balances: at most 1.5x a hand-written GROUP BY).

GRANTS_BENCH_ENTRIES sets the number of journal entries (default 1,000,000).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from grants.db.engine import make_engine, make_session_factory
from grants.db.migrate import upgrade
from grants.ledger.loader import load
from grants.services.balances import Balances
from grants.services.journal import Journal
from tests.benchmarks.synthetic import synthetic_books

ENTRIES = int(os.environ.get("GRANTS_BENCH_ENTRIES", "1000000"))
ROUNDS = int(os.environ.get("GRANTS_BENCH_ROUNDS", "3"))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A migrated database with the reference data (the template), the synthetic entries,
    and the same database loaded once, from which the raw rows are read."""
    root = tmp_path_factory.mktemp("bench")
    reference, entries = synthetic_books(ENTRIES)
    books = root / "reference.grants"
    books.write_text(reference, encoding="utf-8")
    template = root / "template.db"
    engine = make_engine(f"sqlite:///{template}")
    upgrade(engine)
    with make_session_factory(engine)() as session, session.begin():
        load(session, books, "benchmark")
    engine.dispose()
    _checkpoint(template)
    loaded = root / "loaded.db"
    _copy(template, loaded)
    engine = make_engine(f"sqlite:///{loaded}")
    with make_session_factory(engine)() as session, session.begin():
        Journal(session).record(entries)
    engine.dispose()
    _checkpoint(loaded)
    with sqlite3.connect(loaded) as conn:
        rows = {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in ("account", "entry", "posting")
        }
        columns = {
            table: [r[1] for r in conn.execute(f"PRAGMA table_info({table})")] for table in rows
        }
    return {
        "root": root,
        "template": template,
        "loaded": loaded,
        "entries": entries,
        "rows": rows,
        "columns": columns,
    }


def _checkpoint(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _copy(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)


def _median_seconds(run: Callable[[], None], setup: Callable[[], None], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        setup()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_load_entries_vs_raw_sqlite3(benchmark, workspace: dict) -> None:
    root: Path = workspace["root"]  # type: ignore[assignment]
    target = root / "run.db"
    entries = workspace["entries"]
    rows, columns = workspace["rows"], workspace["columns"]

    def fresh() -> None:
        _copy(workspace["template"], target)  # type: ignore[arg-type]

    def raw() -> None:
        conn = sqlite3.connect(target, isolation_level=None)
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        for table in ("account", "entry", "posting"):
            cols = columns[table]  # type: ignore[index]
            marks = ", ".join("?" * len(cols))
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows[table]
            )  # type: ignore[index]
        conn.execute("COMMIT")
        conn.close()

    def grants() -> None:
        engine = make_engine(f"sqlite:///{target}")
        with make_session_factory(engine)() as session, session.begin():
            Journal(session).record(entries)  # type: ignore[arg-type]
        engine.dispose()

    baseline = _median_seconds(raw, fresh, ROUNDS)
    benchmark.pedantic(grants, setup=fresh, rounds=ROUNDS, iterations=1)
    ours = benchmark.stats.stats.median
    ratio = ours / baseline
    benchmark.extra_info.update(
        {
            "entries": ENTRIES,
            "raw_sqlite3_median_s": round(baseline, 3),
            "grants_median_s": round(ours, 3),
            "ratio": round(ratio, 2),
            "target": 2.0,
        }
    )
    print(
        f"\nload {ENTRIES:,} entries: grants {ours:.2f} s, raw sqlite3 {baseline:.2f} s, ratio {ratio:.2f} (target <= 2)"
    )
    assert ratio <= 2.0


def test_balances_vs_hand_written_group_by(benchmark, workspace: dict) -> None:
    loaded: Path = workspace["loaded"]  # type: ignore[assignment]

    def hand_written() -> None:
        # What `grants balance` needs, as one hand-written query: the balance of every account
        # (GROUP BY over the covering index) with its stream, years, role and line.
        conn = sqlite3.connect(loaded)
        conn.execute(
            "SELECT a.stream_id, a.first_year, a.last_year, a.role, a.line_id, l.code, l.name, "
            "pl.code, b.total FROM (SELECT account_id, SUM(amount_pence) AS total FROM posting "
            "GROUP BY account_id) b JOIN account a ON a.id = b.account_id "
            "LEFT JOIN line l ON l.id = a.line_id LEFT JOIN line pl ON pl.id = l.parent_id"
        ).fetchall()
        conn.close()

    def bare_group_by() -> None:
        conn = sqlite3.connect(loaded)
        conn.execute(
            "SELECT account_id, SUM(amount_pence) FROM posting GROUP BY account_id"
        ).fetchall()
        conn.close()

    engine = make_engine(f"sqlite:///{loaded}")
    factory = make_session_factory(engine)

    def grants() -> None:
        with factory() as session, session.begin():
            Balances(session).rows()

    grants()  # warm the connection pool and the page cache for both
    hand_written()
    bare = _median_seconds(bare_group_by, lambda: None, ROUNDS + 2)
    base_times: list[float] = []

    def baseline_first() -> None:
        # Interleaved: each round times the hand-written query just before grants, so that
        # the shared machine's noise falls on both alike.
        start = time.perf_counter()
        hand_written()
        base_times.append(time.perf_counter() - start)

    benchmark.pedantic(grants, setup=baseline_first, rounds=ROUNDS + 2, iterations=1)
    baseline = statistics.median(base_times)
    ours = benchmark.stats.stats.median
    engine.dispose()
    ratio = ours / baseline
    benchmark.extra_info.update(
        {
            "entries": ENTRIES,
            "group_by_median_s": round(baseline, 3),
            "bare_group_by_account_median_s": round(bare, 3),
            "grants_median_s": round(ours, 3),
            "ratio": round(ratio, 2),
            "ratio_to_bare_group_by": round(ours / bare, 2),
            "target": 1.5,
        }
    )
    print(
        f"\nbalances over {ENTRIES:,} entries: grants {ours:.3f} s, hand-written GROUP BY "
        f"{baseline:.3f} s, ratio {ratio:.2f} (target <= 1.5); bare GROUP BY account_id "
        f"{bare:.3f} s, ratio {ours / bare:.2f}"
    )
    assert ratio <= 1.5
