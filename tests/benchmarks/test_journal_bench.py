"""Benchmark: verifying the chain, against raw sqlite3 (loading the journal is measured in
test_load_bench.py, balances in test_balances_bench.py).

Run with `make bench`. The product's path and, on the same rows and database schema, the
hand-written floor run in alternating rounds (tests.benchmarks.measure.alternate: every
variant once a round, in an order that turns round), so that a burst of load on a shared
machine falls on all of them alike; the medians and their ratio go into the benchmark's
extra_info and the one table, and are checked against the target (verify: at most 1.5x a
bare SELECT of the same rows with each row hashed in Python).

GRANTS_BENCH_SIZES picks the sizes: 10,000, 100,000 and 1,000,000 entries (small, medium,
large).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from grants.db.engine import make_engine, make_session_factory
from grants.db.migrate import upgrade
from grants.ledger.loader import load
from grants.services.journal import Journal
from grants.services.verify import verify
from tests.benchmarks import measure
from tests.benchmarks.synthetic import synthetic_books

SIZES = measure.sizes(10_000, 100_000, 1_000_000)


@pytest.fixture(scope="module", params=SIZES)
def workspace(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """A migrated database with the reference data (the template), the synthetic entries,
    and the same database loaded once, from which the raw rows are read."""
    size: int = request.param
    root = tmp_path_factory.mktemp(f"bench-{measure.count_text(size)}")
    reference, entries = synthetic_books(size)
    books = root / "reference.grants"
    books.write_text(reference, encoding="utf-8")
    template = root / "template.db"
    engine = make_engine(f"sqlite:///{template}")
    upgrade(engine)
    with make_session_factory(engine)() as session, session.begin():
        load(session, books, "benchmark")
    engine.dispose()
    measure.checkpoint(template)
    loaded = root / "loaded.db"
    measure.copy_sqlite(template, loaded)
    engine = make_engine(f"sqlite:///{loaded}")
    with make_session_factory(engine)() as session, session.begin():
        Journal(session).record(entries)
    engine.dispose()
    measure.checkpoint(loaded)
    with sqlite3.connect(loaded) as conn:
        rows = {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in ("account", "entry", "posting")
        }
        # The links of the chain the load adds (the template's reference data has its own).
        rows["seal"] = conn.execute(
            "SELECT * FROM seal WHERE tbl = 'entry' ORDER BY seq"
        ).fetchall()
        columns = {
            table: [r[1] for r in conn.execute(f"PRAGMA table_info({table})")] for table in rows
        }
    return {
        "size": size,
        "root": root,
        "template": template,
        "loaded": loaded,
        "entries": entries,
        "rows": rows,
        "columns": columns,
    }


def command_peak_mb(root: Path, loaded: Path) -> float:
    """The peak resident memory of `grants verify` run once (untimed) as an officer runs it,
    in its own process, on a copy of the ledger (the command records what it verified)."""
    copy = root / "verify-command.db"
    measure.copy_sqlite(loaded, copy)
    peak = root / "verify.peak"
    command = measure.grants_command(peak, "--database", f"sqlite:///{copy}", "verify")
    measure.run(command, measure.signed_in_as_os_login())
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return measure.peak_kb_of(peak) / 1024


def test_verify_vs_select_and_hash(benchmark, workspace: dict) -> None:
    """`grants verify` over the whole ledger against a bare SELECT of the same rows (every
    table of record with the rows that belong to its records, the accounts and the chain),
    each row hashed with SHA-256 in Python: as JSON (the target's baseline, the engine-neutral
    text a chain needs) and, reported beside it, as Python's repr. The row's peak memory is
    the command's, in a process of its own (verify holds every account, balance and shape
    of entry until it ends)."""
    import hashlib
    import json
    import sqlite3

    from grants.db.records import RECORDS

    loaded: Path = workspace["loaded"]  # type: ignore[assignment]
    queries = []
    for r in RECORDS:
        queries.append(f"SELECT * FROM {r.table} ORDER BY id")
        if r.child is not None:
            queries.append(f"SELECT * FROM {r.child.table} ORDER BY {r.child.parent}, id")
    queries += ["SELECT * FROM account ORDER BY id", "SELECT * FROM seal ORDER BY seq"]
    encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), default=str).encode

    def bare(serialise: Callable[[tuple[object, ...]], bytes]) -> Callable[[], int]:
        def run() -> int:
            conn = sqlite3.connect(loaded)
            sha = hashlib.sha256
            count = 0
            for query in queries:
                for row in conn.execute(query):
                    sha(serialise(row)).digest()
                    count += 1
            conn.close()
            return count

        return run

    as_json = bare(lambda row: encode(row).encode())
    as_repr = bare(lambda row: repr(row).encode())
    engine = make_engine(f"sqlite:///{loaded}")
    factory = make_session_factory(engine, read_only=True)
    checked: list[int] = []

    def grants() -> None:
        with factory() as session, session.begin():
            result = verify(session.connection())
        assert result.ok, [str(p) for p in result.problems[:5]]
        checked.append(result.head.count)

    grants()  # warm the page cache for all three
    rows = as_json()
    medians = measure.alternate_timed(
        benchmark,
        {"grants": measure.timing(grants), "floor": measure.timing(as_json),
         "repr": measure.timing(as_repr)},
    )  # fmt: skip
    engine.dispose()
    peak_mb = command_peak_mb(workspace["root"], loaded)  # type: ignore[arg-type]
    size: int = workspace["size"]  # type: ignore[assignment]
    ours, baseline, by_repr = medians["grants"], medians["floor"], medians["repr"]
    ratio = ours / baseline
    benchmark.extra_info.update(
        {
            "entries": size,
            "records_in_chain": checked[-1],
            "rows_read": rows,
            "select_and_hash_json_median_s": round(baseline, 3),
            "select_and_hash_repr_median_s": round(by_repr, 3),
            "grants_median_s": round(ours, 3),
            "ratio": round(ratio, 2),
            "ratio_to_repr": round(ours / by_repr, 2),
            "target": 1.5,
            "command_peak_mb": round(peak_mb, 1),
        }
    )
    measure.record(
        measure.Row(
            "`grants verify` (every link, entry and posting)", f"{size:,} entries", ours,
            "bare SELECT and SHA-256 of each row's JSON", baseline, 1.5,
            baseline="the same, of each row's repr", baseline_s=by_repr, peak_mb=peak_mb,
            notes=[f"load average {os.getloadavg()[0]:.1f}"],
        )
    )  # fmt: skip
    print(
        f"\nverify {checked[-1]:,} records ({size:,} entries, {rows:,} rows): grants "
        f"{ours:.2f} s, SELECT + SHA-256 of each row's JSON {baseline:.2f} s, ratio "
        f"{ratio:.2f} (target <= 1.5); of each row's repr {by_repr:.2f} s, ratio "
        f"{ours / by_repr:.2f}"
    )
    assert ratio <= 1.5
