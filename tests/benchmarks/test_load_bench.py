"""Benchmarks: loading the journal on SQLite, into an empty ledger and a non-empty one, and
the peak memory of `grants ledger load`.

The product is ``Journal.record`` of the synthetic entries in one writing transaction, the
chain sealed as it commits (what `grants ledger load` does after reading the books). Floors
and baselines are raw sqlite3 ``executemany`` of the same final rows (accounts, entries,
postings and the entries' links of the chain), read from a ledger loaded once:

* into an empty ledger: the floor inserts the rows into the tables with their secondary
  indexes dropped and builds the indexes after them, in one transaction (the same final
  schema); the baseline inserts them into the indexed tables, as the journal did before.
  Target: at most 1.5x the floor.
* into a non-empty ledger (holding a different set of as many entries): the floor inserts
  the rows into the indexed, non-empty tables. Target: at most 2x the floor.
* `grants ledger load` of the synthetic books (reference data and entries, as a file) into
  an empty ledger, in its own process: its peak resident memory (VmHWM), under 400 MB.

Every variant runs with synchronous=FULL and foreign keys on; the floors have the page cache
`Journal.record` gives a load (grants.db.bulk.BIG_CACHE_KIB; `grants ledger load` into an
empty ledger takes APPEND_CACHE_KIB), and bind None through the adapter
the product registers for it (grants.db.engine.bind_none_directly: without it, a floor took
12 to 21 % longer, sqlite3 searching for an adapter for each NULL).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grants.db.engine import make_engine, make_session_factory
from grants.db.migrate import upgrade
from grants.ledger.loader import load
from grants.services.journal import Journal, NewEntry
from tests.benchmarks import measure, raw_sqlite
from tests.benchmarks.synthetic import books_text, synthetic_books

SIZES = measure.sizes(10_000, 100_000, 1_000_000)
TABLES = ("account", "entry", "posting")


class Workspace:
    """For one size: an empty ledger with the reference data (the template), the same with a
    different set of as many entries (the base), the entries to load, the rows each load
    adds, and the books as a file."""

    def __init__(self, root: Path, n: int) -> None:
        self.root = root
        reference, both = synthetic_books(2 * n)
        self.entries, other = both[:n], both[n:]
        self.books = root / "books.grants"
        self.books.write_text(books_text(reference, self.entries), encoding="utf-8")
        self.empty = root / "empty.db"  # migrated, nothing in it: for `grants ledger load`
        _migrated(self.empty)
        self.template = root / "template.db"
        measure.copy_sqlite(self.empty, self.template)
        (root / "reference.grants").write_text(reference, encoding="utf-8")
        with _session(self.template) as session:
            load(session, root / "reference.grants", "benchmark")
        self.base = root / "base.db"
        measure.copy_sqlite(self.template, self.base)
        with _session(self.base) as session:
            Journal(session).record(other)
        self.into_empty = _rows_added(self.template, self.entries, root / "a.db")
        self.into_base = _rows_added(self.base, self.entries, root / "b.db")


def _migrated(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    measure.checkpoint(path)


class _session:
    """A writing session on a ledger file, committed (and sealed) as the block ends."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Any:
        self.engine = make_engine(f"sqlite:///{self.path}")
        self.session = make_session_factory(self.engine)()
        self.session.begin()
        return self.session

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self.session.commit()
        self.session.close()
        self.engine.dispose()
        measure.checkpoint(self.path)


def _rows_added(start: Path, entries: list[NewEntry], scratch: Path) -> raw_sqlite.Rows:
    """The rows the journal adds loading ``entries`` into a copy of ``start``: the floors'
    rows, the same as the product's."""
    measure.copy_sqlite(start, scratch)
    with _session(scratch) as session:
        Journal(session).record(entries)
    rows = raw_sqlite.rows_after(start, scratch, (*TABLES, "seal"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    return rows


def _raw(target: Path, added: raw_sqlite.Rows, *, indexes_after: bool, cache: bool) -> None:
    """The rows inserted with sqlite3 alone, in one transaction; with ``indexes_after``, the
    secondary indexes of the journal's tables dropped first and built again at the end."""
    raw_sqlite.write(target, added, indexes_after=TABLES if indexes_after else (), cache=cache)


def _grants(target: Path, entries: list[NewEntry]) -> None:
    engine = make_engine(f"sqlite:///{target}")
    with make_session_factory(engine)() as session, session.begin():
        Journal(session).record(entries)
    engine.dispose()


_WORKSPACES: dict[int, Workspace] = {}


@pytest.fixture
def workspace(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return measure.one_size_at_a_time(_WORKSPACES, request, tmp_path_factory, "load", Workspace)


def _size(n: int) -> str:
    return f"{n:,} entries"


def _loads(
    benchmark: Any,
    workspace: Workspace,
    start: Path,
    added: raw_sqlite.Rows,
    raw: dict[str, dict[str, bool]],
) -> dict[str, float]:
    """The medians of the alternating rounds of a load into a fresh copy of ``start``: the
    product's (``Journal.record`` of the entries), and each raw insert of the rows ``added``
    named in ``raw`` (with its options of :func:`_raw`), timed through ``benchmark``."""
    run = workspace.root / "run.db"

    def fresh() -> None:
        measure.copy_sqlite(start, run)

    variants = {"grants": measure.timing(lambda: _grants(run, workspace.entries), fresh)}
    for name, options in raw.items():
        variants[name] = measure.timing(lambda o=options: _raw(run, added, **o), fresh)
    medians = measure.alternate_timed(benchmark, variants)
    benchmark.extra_info.update({k: round(v, 3) for k, v in medians.items()})
    return medians


@pytest.mark.parametrize("n", SIZES)
def test_load_into_an_empty_ledger(benchmark: Any, workspace: Workspace, n: int) -> None:
    medians = _loads(benchmark, workspace, workspace.template, workspace.into_empty, {
        "floor": {"indexes_after": True, "cache": True},
        "baseline": {"indexes_after": False, "cache": False},
    })  # fmt: skip
    row = measure.record(
        measure.Row.of(
            medians,
            path="SQLite load into an empty ledger (Journal.record, sealed at commit)",
            size=_size(n),
            floor="raw executemany of the same rows, indexes built after",
            target=1.5,
            baseline="raw executemany into the indexed tables",
        )
    )
    assert row.met, f"{row.ratio:.2f}x the floor (target 1.5)"


@pytest.mark.parametrize("n", SIZES)
def test_load_into_a_non_empty_ledger(benchmark: Any, workspace: Workspace, n: int) -> None:
    medians = _loads(benchmark, workspace, workspace.base, workspace.into_base,
                     {"floor": {"indexes_after": False, "cache": True}})  # fmt: skip
    row = measure.record(
        measure.Row.of(
            medians,
            path="SQLite load into a non-empty ledger (as many entries already in it)",
            size=_size(n),
            floor="raw executemany of the same rows into the indexed tables",
            target=2.0,
        )
    )
    assert row.met, f"{row.ratio:.2f}x the floor (target 2)"


# The medians go into extra_info: pytest-benchmark's own timer is not used.
@pytest.mark.filterwarnings("ignore::pytest_benchmark.logger.PytestBenchmarkWarning")
@pytest.mark.parametrize("n", SIZES)
def test_ledger_load_peak_memory(benchmark: Any, workspace: Workspace, n: int) -> None:
    """`grants ledger load BOOKS` in its own process, into an empty ledger: its peak resident
    memory, and its time beside the raw floor of the journal's rows."""
    run = workspace.root / "run.db"
    peak_file = workspace.root / "peak.txt"
    peaks: list[int] = []

    def command() -> None:
        result = subprocess.run(
            [sys.executable, "-c", measure.LAUNCHER, str(peak_file), "--database",
             f"sqlite:///{run}", "ledger", "load", str(workspace.books)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        peaks.append(measure.peak_kb_of(peak_file))

    added = workspace.into_empty
    medians = measure.alternate(
        {
            "grants": measure.timing(command, lambda: measure.copy_sqlite(workspace.empty, run)),
            "floor": measure.timing(
                lambda: _raw(run, added, indexes_after=True, cache=True),
                lambda: measure.copy_sqlite(workspace.template, run),
            ),
        }
    )
    row = measure.ledger_load_row(
        "`grants ledger load` of the books (its own process): peak memory",
        _size(n),
        medians,
        "raw executemany of the journal's rows, indexes built after",
        peaks,
    )
    measure.held_to_peak(benchmark, row, medians)
