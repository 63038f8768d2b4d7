"""Benchmark: importing filled return workbooks (20, 200 and 1,000 files).

Each round, alternating (tests.benchmarks.measure):

- ``grants returns import`` of every file, in its own process as an officer runs it, on a
  fresh copy of the ledger: each file read as hostile, checked cell by cell and recorded in
  its own transaction (SQLite, synchronous=FULL);
- the baseline: bare openpyxl in read-only mode opening the same files and reading every
  cell of their Return sheets, in a process of its own as the import is (Python's start,
  openpyxl's import, then the files), so that both sides pay for starting;
- the floor: python-calamine reading the same cells, in a process of its own likewise. It
  does no checking and no writing, and cannot tell a formula from a typed figure, so it
  cannot be the reader;
- the same baseline and floor in this process (for information: the import's row before its
  baseline was made fair, and the reader's floor);
- what the import cannot do without: the process starting (``grants returns import
  --help``, which imports what the import does) and one commit per file (sqlite3 alone, a
  row of each workbook's bytes, BEGIN IMMEDIATE and COMMIT with synchronous=FULL on a copy
  of the ledger);
- grants' reader on its own (grants.excel.return_reader.read_return: every check of a
  hostile workbook, and the form's rows), in this process, each run beginning with nothing
  kept from the round before (grants.kept.forget_all), as a new process begins.

Two rows a size: the import, held to 1.5x the openpyxl process (its ratio to the calamine
process is reported, and the CPU times of the three processes beside them); and the reader,
held to 5x calamine, both in this process (wall time; the CPU time of each is reported beside
it, in the row's notes and the printed line, since on a shared machine a run of a few
milliseconds can wait for a core as long as it works).

Every ``grants`` process finds its modules compiled, as an installed grants does (pip compiles
them as it installs; tests/benchmarks/test_startup_bench.py does the same): the processes
keep their compiled modules in a folder of this run's own, filled while the workspace is
built (untimed), whatever PYTHONDONTWRITEBYTECODE says. Without it, each process would
compile grants' own modules from source as it starts, which no installed grants does. The
baseline's and floor's processes use the same environment (openpyxl and python-calamine are
installed compiled).
"""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from grants import kept
from grants.excel.return_reader import read_return
from tests.benchmarks import measure

IMPORT_TARGET = 1.5  # x bare openpyxl read-only
READER_TARGET = 5.0  # x python-calamine


def books_text(returns: int) -> str:
    out = [
        '2017-04-01 org F "Funder"\n  role: funder\n',
        '2017-04-01 stream CSF "Fund"\n  kind: pcc-csf\n  funder: F\n',
        f"2017-04-01 award CSF 2017-18 {returns * 1000}\n",
        "2017-04-01 due CSF 2017-18 mid-year 2017-10-31\n  to: 2017-09-30\n",
    ]
    for i in range(returns):
        out.append(f'2017-04-01 line CSF L{i:04d} "Recipient {i}"\n')
        out.append(f"2017-04-01 allocate CSF 2017-18 L{i:04d} 1,000\n")
        out.append(f'2017-06-01 plan CSF 2017-18 L{i:04d} "Work A"\n  cost: 600\n')
        out.append(f'2017-06-01 plan CSF 2017-18 L{i:04d} "Work B"\n  cost: 400\n')
    return "\n".join(out)


def run(*args: str, env: dict[str, str], peak: Path | None = None) -> None:
    launcher = ["-c", measure.LAUNCHER, str(peak or "/dev/null")]
    done = subprocess.run(
        [sys.executable, *launcher, *args], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The processes' environment, with their compiled modules kept in a folder of this
    run's own."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    return env


def workspace(root: Path, returns: int, env: dict[str, str]) -> Path:
    """A ledger of ``returns`` lines with the mid-year forms issued, and each form filled in
    as a recipient would (the ledger's copy in template.db, the forms in filled/). The
    commands that build it, and an untimed `returns import --help`, compile the modules the
    import's processes find."""
    (root / "books.grants").write_text(books_text(returns), encoding="utf-8")
    url = f"sqlite:///{root / 'template.db'}"
    run("--database", url, "db", "upgrade", env=env)
    run("--database", url, "ledger", "load", str(root / "books.grants"), env=env)
    run("--database", url, "returns", "issue", "--stream", "CSF", "--year", "2017-18",
        "--stage", "mid-year", "-o", str(root / "forms"), env=env)  # fmt: skip
    run("returns", "import", "--help", env=env)
    with sqlite3.connect(root / "template.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    filled = root / "filled"
    filled.mkdir()
    for i, form in enumerate(sorted((root / "forms").glob("*.xlsx"))):
        wb = openpyxl.load_workbook(form)
        ws = wb["Return"]
        ws["B9"], ws["B10"] = "Someone", datetime(2017, 10, 10)
        ws["D13"], ws["E13"] = 100 + i % 50, "Going well"
        ws["D14"], ws["E14"] = "£50", "Started"
        wb.save(filled / form.name)
    return root


@pytest.fixture(scope="module")
def workspaces(
    tmp_path_factory: pytest.TempPathFactory, environment: dict[str, str]
) -> Callable[[int], Path]:
    made: dict[int, Path] = {}

    def get(returns: int) -> Path:
        if returns not in made:
            root = tmp_path_factory.mktemp(f"returns-{returns}")
            made[returns] = workspace(root, returns, environment)
        return made[returns]

    return get


def fresh_copy(template: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)


def bare_openpyxl(files: list[Path]) -> None:
    for path in files:
        wb = openpyxl.load_workbook(path, read_only=True)
        for _row in wb["Return"].iter_rows(values_only=True):
            pass
        wb.close()


def calamine(files: list[Path]) -> None:
    for path in files:
        with CalamineWorkbook.from_path(str(path)) as wb:
            wb.get_sheet_by_name("Return").to_python(skip_empty_area=False)


# The baseline and the floor as processes of their own: each of them, as the import does,
# starts Python, imports what it reads with and reads every file named after it.
OPENPYXL_PROCESS = """
import sys
import openpyxl

for path in sys.argv[1:]:
    wb = openpyxl.load_workbook(path, read_only=True)
    for _row in wb["Return"].iter_rows(values_only=True):
        pass
    wb.close()
"""
CALAMINE_PROCESS = """
import sys
from python_calamine import CalamineWorkbook

for path in sys.argv[1:]:
    with CalamineWorkbook.from_path(path) as wb:
        wb.get_sheet_by_name("Return").to_python(skip_empty_area=False)
"""


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def process(script: str, files: list[Path], env: dict[str, str]) -> tuple[float, float]:
    """A script run with the files' names as a process of its own: (CPU, wall) seconds."""
    before, start = children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, *map(str, files)],
                          capture_output=True, text=True, env=env)  # fmt: skip
    wall = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-2000:]
    return children_cpu() - before, wall


def grants_reader(files: list[Path]) -> None:
    for path in files:
        rows, problems = read_return(path)
        assert rows is not None, problems


def commits_alone(database: Path, files: list[Path]) -> None:
    """One transaction a file, as the import commits them, writing only the file's bytes."""
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE received (content BLOB)")
    for path in files:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO received VALUES (?)", (path.read_bytes(),))
        conn.execute("COMMIT")
    conn.close()


# The medians go into extra_info: pytest-benchmark's own timer is not used.
@pytest.mark.filterwarnings("ignore::pytest_benchmark.logger.PytestBenchmarkWarning")
@pytest.mark.parametrize("returns", measure.sizes(20, 200, 1_000))
def test_import_returns_vs_openpyxl_and_calamine(
    benchmark, workspaces: Callable[[int], Path], environment: dict[str, str], returns: int
) -> None:
    root = workspaces(returns)
    files = sorted((root / "filled").glob("*.xlsx"))
    assert len(files) == returns
    database, scratch, peak = root / "run.db", root / "commits.db", root / "import.peak"
    template = root / "template.db"
    peaks: list[int] = []
    cpu: dict[str, list[float]] = {
        "grants": [], "openpyxl": [], "calamine": [], "reader": [], "calamine_in_process": []
    }  # fmt: skip

    def grants_import() -> None:
        before = children_cpu()
        run("--database", f"sqlite:///{database}", "returns", "import", "--received",
            "2017-10-20", *map(str, files), env=environment, peak=peak)  # fmt: skip
        cpu["grants"].append(children_cpu() - before)
        peaks.append(measure.peak_kb_of(peak))

    def own_process(name: str, script: str) -> measure.Timed:
        def timed() -> float:
            used, wall = process(script, files, environment)
            cpu[name].append(used)
            return wall

        return timed

    def in_process(name: str, work: Callable[[], None]) -> measure.Timed:
        """Timed in this process, its CPU time kept beside the wall time: on a shared
        machine a run of a few milliseconds can wait for a core longer than it works. Each
        run begins with nothing kept by the reader (untimed), as a new process would: a
        form's own parts kept from the round before (at 20 files every form's fit) would
        not be unpacked or checked again."""

        def timed() -> float:
            kept.forget_all()
            used, start = time.process_time(), time.perf_counter()
            work()
            wall = time.perf_counter() - start
            cpu[name].append(time.process_time() - used)
            return wall

        return timed

    def check_recorded() -> None:
        with sqlite3.connect(database) as conn:
            (filed,) = conn.execute("SELECT COUNT(*) FROM return_filing").fetchone()
        assert filed == returns

    medians = measure.alternate(
        {
            "grants": measure.timing(grants_import, lambda: fresh_copy(template, database)),
            "openpyxl": own_process("openpyxl", OPENPYXL_PROCESS),
            "calamine": own_process("calamine", CALAMINE_PROCESS),
            "openpyxl_in_process": measure.timing(lambda: bare_openpyxl(files)),
            "calamine_in_process": in_process("calamine_in_process", lambda: calamine(files)),
            "reader": in_process("reader", lambda: grants_reader(files)),
            "startup": measure.timing(lambda: run("returns", "import", "--help", env=environment)),
            "commits": measure.timing(
                lambda: commits_alone(scratch, files), lambda: fresh_copy(template, scratch)
            ),
        }
    )
    check_recorded()
    size = f"{returns:,} files"
    ours, base, floor = medians["grants"], medians["openpyxl"], medians["calamine"]
    in_base, in_floor = medians["openpyxl_in_process"], medians["calamine_in_process"]
    share = {k: medians[k] / ours for k in ("startup", "commits", "reader")}
    cpus = {name: statistics.median(times) for name, times in cpu.items()}
    cpu_ratio = cpus["grants"] / cpus["openpyxl"]
    benchmark.extra_info.update(
        {"files": returns, **{f"{k}_median_s": round(v, 4) for k, v in medians.items()},
         **{f"{k}_cpu_median_s": round(v, 4) for k, v in cpus.items()},
         "ratio_to_openpyxl": round(ours / base, 2), "ratio_to_calamine": round(ours / floor, 1),
         "cpu_ratio_to_openpyxl": round(cpu_ratio, 2),
         "ratio_to_openpyxl_in_process": round(ours / in_base, 2),
         "reader_ratio_to_calamine": round(medians["reader"] / in_floor, 1),
         **{f"{k}_share_of_import": round(v, 3) for k, v in share.items()}}
    )  # fmt: skip
    imported = measure.record(
        measure.Row(
            "returns import (own process, a transaction a file)", size, ours,
            "python-calamine (own process)", floor, IMPORT_TARGET, held_to="baseline",
            baseline="openpyxl read-only (own process)", baseline_s=base,
            peak_mb=max(peaks) / 1024,
            notes=[
                f"CPU: grants {cpus['grants']:.3f} s, openpyxl {cpus['openpyxl']:.3f} s "
                f"(grants / openpyxl {cpu_ratio:.2f}), calamine {cpus['calamine']:.3f} s",
                f"in this process: openpyxl {in_base:.3f} s (grants / openpyxl "
                f"{ours / in_base:.2f}), calamine {in_floor:.3f} s",
                f"start-up {medians['startup']:.3f} s ({share['startup']:.0%} of the import)",
                f"{returns:,} commits alone {medians['commits']:.3f} s "
                f"({share['commits']:.0%})",
                f"reading with every check {medians['reader']:.3f} s ({share['reader']:.0%})",
            ],
        )
    )  # fmt: skip
    reader = measure.record(
        measure.Row(
            "returns reader, every check (in process)", size, medians["reader"],
            "python-calamine (in process)", in_floor, READER_TARGET,
            baseline="openpyxl read-only (in process)", baseline_s=in_base,
            notes=[
                f"CPU: reader {cpus['reader']:.3f} s, calamine {cpus['calamine_in_process']:.3f}"
                f" s (reader / calamine {cpus['reader'] / cpus['calamine_in_process']:.2f})",
            ],
        )
    )  # fmt: skip
    print(f"\nreturns import, {size}: " + ", ".join(f"{k} {v:.3f} s" for k, v in medians.items())
          + "; CPU " + ", ".join(f"{k} {v:.3f} s" for k, v in cpus.items()))  # fmt: skip
    assert imported.met, f"import {imported.baseline_ratio:.2f}x openpyxl (target {IMPORT_TARGET})"
    assert reader.met, f"reader {reader.ratio:.1f}x calamine (target {READER_TARGET})"
