"""Benchmark: `grants ledger load` of a national funder's books, whose reference data grows
with the grants: a recipient and a project for every grant.

360Giving's largest publishers make hundreds of thousands of grants a year, most of them to
a recipient of their own, each grant a project. Here each grant is an organisation, a line
(the project, its recipient that organisation), an allocation and a payment: 10,000,
100,000 and 1,000,000 entries are 5,000, 50,000 and 500,000 grants (small, medium, large),
over ten years of one programme; one payment in a hundred is given an id and reversed three
months later (a grant withdrawn), as a funder's books do. Unlike
tests/benchmarks/test_load_bench.py (2,000 lines whatever the entries), the lines and
organisations the load must hold and check grow with the entries.

The product is the command in its own process, into an empty migrated ledger (SQLite), as an
officer runs it: its peak resident memory is held to the same bound as every
`grants ledger load` (tests.benchmarks.measure.LEDGER_LOAD_PEAK_MB). Beside it, with no
target, its time against a floor: raw sqlite3 ``executemany`` of every row the load adds
(organisations, the stream, lines, accounts, entries, postings, the chain), read from a
ledger the product loaded once, the secondary indexes dropped first and built after, in one
transaction, with a 64 MiB page cache (grants.db.bulk.BIG_CACHE_KIB; the product's load
into an empty ledger takes APPEND_CACHE_KIB, 16 MiB, and was no slower for it).
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from grants.db.engine import make_engine
from grants.db.migrate import upgrade
from tests.benchmarks import measure, raw_sqlite

SIZES = measure.sizes(10_000, 100_000, 1_000_000)  # entries: two a grant
YEARS = 10
REVERSED = 100  # one payment in REVERSED reversed: ten grants, one of each year, in every 1,000


def reversed_grant(g: int) -> bool:
    return (g // YEARS) % REVERSED == 0


# Written first, in this order (each refers only to those before it); any other table after.
ORDER = ("organisation", "stream", "line", "account", "entry", "posting", "seal")


def books_text(entries: int) -> str:
    grants = entries // 2
    per_year = grants // YEARS
    out = ['2017-04-01 org FUNDER "National funder"\n  role: funder\n',
           '2017-04-01 stream NAT "National programme"\n  funder: FUNDER\n']  # fmt: skip
    for y in range(YEARS):
        out.append(f"{2017 + y}-04-01 award NAT {2017 + y}-{(18 + y) % 100:02d} "
                   f"{per_year * 5000:,}\n")  # fmt: skip
    for g in range(grants):
        out.append(f'2017-04-01 org R{g:06d} "Recipient {g}"\n')
        out.append(f'2017-04-01 line NAT P{g:06d} "Project {g}"\n  recipient: R{g:06d}\n')
    for g in range(grants):
        y = g % YEARS
        period = f"{2017 + y}-{(18 + y) % 100:02d}"
        amount = 1000 + (g * 7919) % 4000
        out.append(f"{2017 + y}-05-01 allocate NAT {period} P{g:06d} {amount:,}\n")
        paid = f"{2017 + y}-09-01 pay NAT {period} P{g:06d} {amount // 2:,}\n"
        out.append(paid + (f"  id: pay-{g}\n" if reversed_grant(g) else ""))
    for g in filter(reversed_grant, range(grants)):
        out.append(f"{2017 + g % YEARS}-12-01 reverse pay-{g}\n  reason: withdrawn\n")
    return "\n".join(out)


class Workspace:
    """For one size: the books, an empty migrated ledger, and the rows a load adds to it."""

    def __init__(self, root: Path, entries: int) -> None:
        self.root = root
        self.books = root / "books.grants"
        self.books.write_text(books_text(entries), encoding="utf-8")
        self.empty = root / "empty.db"
        engine = make_engine(f"sqlite:///{self.empty}")
        upgrade(engine)
        engine.dispose()
        measure.checkpoint(self.empty)
        loaded = root / "loaded.db"
        measure.copy_sqlite(self.empty, loaded)
        _load(loaded, self.books, root / "peak.txt")
        with sqlite3.connect(self.empty) as conn:
            tables = [name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )]  # fmt: skip
        order = sorted(tables, key=lambda t: (ORDER.index(t) if t in ORDER else len(ORDER), t))
        self.added = raw_sqlite.rows_after(self.empty, loaded, order)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{loaded}{suffix}").unlink(missing_ok=True)


def _load(database: Path, books: Path, peak_file: Path) -> int:
    """`grants ledger load` in its own process: its peak resident memory (KB)."""
    result = subprocess.run(
        [*measure.grants_command(peak_file, "--database", f"sqlite:///{database}", "ledger",
                                 "load", str(books))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return measure.peak_kb_of(peak_file)


_WORKSPACES: dict[int, Workspace] = {}


@pytest.fixture
def workspace(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return measure.one_size_at_a_time(_WORKSPACES, request, tmp_path_factory, "national", Workspace)


# The medians go into extra_info: pytest-benchmark's own timer is not used.
@pytest.mark.filterwarnings("ignore::pytest_benchmark.logger.PytestBenchmarkWarning")
@pytest.mark.parametrize("n", SIZES)
def test_national_funder_load_peak_memory(benchmark: Any, workspace: Workspace, n: int) -> None:
    run = workspace.root / "run.db"
    peaks: list[int] = []
    fresh = lambda: measure.copy_sqlite(workspace.empty, run)  # noqa: E731
    medians = measure.alternate(
        {
            "grants": measure.timing(
                lambda: peaks.append(_load(run, workspace.books, workspace.root / "peak.txt")),
                fresh,
            ),
            "floor": measure.timing(
                lambda: raw_sqlite.write(
                    run, workspace.added, indexes_after=list(workspace.added), cache=True
                ),
                fresh,
            ),
        }
    )
    with sqlite3.connect(run) as conn:  # the floor ran last or the product did: either holds
        lines = conn.execute("SELECT COUNT(*) FROM line").fetchone()[0]
    assert lines == n // 2
    row = measure.ledger_load_row(
        "`grants ledger load` of a national funder's books, a recipient and a project a grant "
        "(its own process): peak memory",
        f"{n + n // 2 // REVERSED:,} entries ({n // 2:,} grants, {n // 2 // REVERSED:,} "
        "payments reversed)",
        medians,
        "raw executemany of every row it adds, indexes built after",
        peaks,
    )
    measure.held_to_peak(benchmark, row, medians)
