"""Benchmark: importing a thousand filled return workbooks.

`grants returns import` (its own process, as an officer runs it) checks and records
GRANTS_BENCH_RETURNS filled forms (default 1,000), each in its own transaction. In the same
run, bare openpyxl in read-only mode opens the same files and reads the same cells. Target:
at most 2x openpyxl's median time.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

RETURNS = int(os.environ.get("GRANTS_BENCH_RETURNS", "1000"))
ROUNDS = int(os.environ.get("GRANTS_BENCH_ROUNDS", "3"))


def books_text() -> str:
    out = [
        '2017-04-01 org F "Funder"\n  role: funder\n',
        '2017-04-01 stream CSF "Fund"\n  kind: pcc-csf\n  funder: F\n',
        f"2017-04-01 award CSF 2017-18 {RETURNS * 1000}\n",
        "2017-04-01 due CSF 2017-18 mid-year 2017-10-31\n  to: 2017-09-30\n",
    ]
    for i in range(RETURNS):
        out.append(f'2017-04-01 line CSF L{i:04d} "Recipient {i}"\n')
        out.append(f"2017-04-01 allocate CSF 2017-18 L{i:04d} 1,000\n")
        out.append(f'2017-06-01 plan CSF 2017-18 L{i:04d} "Work A"\n  cost: 600\n')
        out.append(f'2017-06-01 plan CSF 2017-18 L{i:04d} "Work B"\n  cost: 400\n')
    return "\n".join(out)


def run(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from grants.cli.main import main; main()", *args],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("returns-bench")
    (root / "books.grants").write_text(books_text(), encoding="utf-8")
    url = f"sqlite:///{root / 'template.db'}"
    run("--database", url, "db", "upgrade")
    run("--database", url, "ledger", "load", str(root / "books.grants"))
    run("--database", url, "returns", "issue", "--stream", "CSF", "--year", "2017-18",
        "--stage", "mid-year", "-o", str(root / "forms"))  # fmt: skip
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


def bare_openpyxl(files: list[Path]) -> None:
    for path in files:
        wb = openpyxl.load_workbook(path, read_only=True)
        for _row in wb["Return"].iter_rows(min_row=1, max_row=20, max_col=8, values_only=True):
            pass
        wb.close()


def test_import_returns_vs_bare_openpyxl(benchmark, workspace: Path) -> None:
    files = sorted((workspace / "filled").glob("*.xlsx"))
    times: list[float] = []
    database = workspace / "run.db"

    def fresh() -> None:
        # The baseline runs just before each round of grants, so that a busy spell on a
        # shared machine falls on both sides rather than on one.
        start = time.perf_counter()
        bare_openpyxl(files)
        times.append(time.perf_counter() - start)
        shutil.copyfile(workspace / "template.db", database)

    def grants() -> None:
        run("--database", f"sqlite:///{database}", "returns", "import", "--received",
            "2017-10-20", *map(str, files))  # fmt: skip

    benchmark.pedantic(grants, setup=fresh, rounds=ROUNDS, iterations=1)
    ours = benchmark.stats.stats.median
    baseline = statistics.median(times)
    ratio = ours / baseline
    benchmark.extra_info.update(
        {
            "returns": RETURNS,
            "bare_openpyxl_median_s": round(baseline, 2),
            "grants_median_s": round(ours, 2),
            "ratio": round(ratio, 2),
            "target": 2.0,
        }
    )
    print(
        f"\nimport {RETURNS:,} returns: grants {ours:.2f} s, bare openpyxl read-only "
        f"{baseline:.2f} s, ratio {ratio:.2f} (target <= 2)"
    )
    assert ratio <= 2.0
