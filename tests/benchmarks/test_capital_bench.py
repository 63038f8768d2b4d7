"""Benchmark: the capital programme workbook of a large synthetic programme.

`grants report capital-programme -o FILE.xlsx` (a separate process, as an officer runs it)
writes a programme of GRANTS_BENCH_SCHEMES schemes (default 100,000) over ten years, in two
versions, with the flexible resources, the portfolio annex and the Sources sheet. In the same
run, bare openpyxl in write-only mode writes the same values (every scheme's label and
amounts in both versions, and the annex rows) from memory, with no database, styles or
formulas. Targets: at most 2x openpyxl's median time, and a peak resident memory of the
`grants` process under 150 MB.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from grants.db.engine import make_engine, make_session_factory
from grants.db.migrate import upgrade
from grants.ledger.loader import load
from grants.periods import FinancialYear, Period
from grants.services.journal import Journal, NewEntry
from grants.services.rules import Operation

SCHEMES = int(os.environ.get("GRANTS_BENCH_SCHEMES", "100000"))
ROUNDS = int(os.environ.get("GRANTS_BENCH_ROUNDS", "3"))
PER_PORTFOLIO = 100
YEARS = [2018 + i for i in range(10)]
PERIOD = Period(FinancialYear(YEARS[0]), FinancialYear(YEARS[-1]))


def amount(scheme: int, year: int, version: int) -> int:
    """A whole number of pounds for a scheme, year and version (the proposed version differs
    from the current one in some years, so that changes are marked)."""
    base = 1000 + (scheme * 7919 + year * 104729) % 50_000
    return base + (500 if version == 1 and (scheme + year) % 3 == 0 else 0)


def books_text() -> str:
    lines = [
        '2017-04-01 org HMG "Government"\n  role: funder\n',
        '2017-04-01 stream CAP "Synthetic capital programme"\n  kind: capital-grant\n'
        "  funder: HMG\n",
        '2017-04-01 programme CAP current "Current programme"\n',
        '2017-04-01 programme CAP proposed "Proposed programme"\n  compare: current\n',
    ]
    for p in range(SCHEMES // PER_PORTFOLIO):
        lines.append(f'2017-04-01 line CAP P{p:05d} "Portfolio {p}"\n  kind: portfolio\n')
    for s in range(SCHEMES):
        p = s // PER_PORTFOLIO
        lines.append(
            f'2017-04-01 line CAP S{s:06d} "Scheme {s} of portfolio {p}"\n  parent: P{p:05d}\n'
            f'  kind: scheme\n  ref: "{s + 1})"\n  total-cost: {amount(s, 0, 0) * 10}\n'
            f"  specific-funding: {amount(s, 1, 0)}\n"
        )
    for version, name in enumerate(("current", "proposed")):
        for s in range(SCHEMES):
            years = "".join(
                f"  {FinancialYear(y).render('/')}: {amount(s, y, version)}\n" for y in YEARS
            )
            lines.append(
                f'2017-04-01 profile CAP {name} grants S{s:06d} "Scheme {s}"\n'
                f'  section: "Portfolio {s // PER_PORTFOLIO}"\n{years}'
            )
    return "\n".join(lines)


def entries() -> list[NewEntry]:
    now = datetime(2018, 1, 1, 12, 0, 0)
    flexible = [amount(s, 0, 0) * 10 - amount(s, 1, 0) for s in range(SCHEMES)]
    out = [NewEntry(Operation("award", "CAP", PERIOD, sum(flexible) * 100 + 10**9), date(2017, 12, 12),
                    "benchmark", now, key="award")]  # fmt: skip
    for p in range(SCHEMES // PER_PORTFOLIO):
        schemes = range(p * PER_PORTFOLIO, (p + 1) * PER_PORTFOLIO)
        total = sum(flexible[s] for s in schemes) * 100
        op = Operation("allocate", "CAP", PERIOD, total, line=f"P{p:05d}")
        out.append(NewEntry(op, date(2017, 12, 12), "benchmark", now, key=f"p{p}"))
        for s in schemes:
            op = Operation("allocate", "CAP", PERIOD, flexible[s] * 100, line=f"S{s:06d}")
            out.append(NewEntry(op, date(2017, 12, 12), "benchmark", now, key=f"s{s}"))
    return out


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("capital-bench")
    books = root / "capital.grants"
    books.write_text(books_text(), encoding="utf-8")
    path = root / "capital.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with make_session_factory(engine)() as session, session.begin():
        load(session, books, "benchmark")
    with make_session_factory(engine)() as session, session.begin():
        Journal(session).record(entries())
    engine.dispose()
    return path


def bare_openpyxl(path: Path) -> None:
    """The same values, written by openpyxl's write-only mode straight from memory."""
    wb = openpyxl.Workbook(write_only=True)
    for version in (0, 1):
        sheet = wb.create_sheet(("Current", "Proposed")[version] + " grants")
        sheet.append(["", *(FinancialYear(y).render("/") for y in YEARS), "TOTAL"])
        for s in range(SCHEMES):
            row = [amount(s, y, version) / 1000 for y in YEARS]
            sheet.append([f"Scheme {s}", *row, sum(row)])
    annex = wb.create_sheet("Portfolio allocations")
    for s in range(SCHEMES):
        cost, specific = amount(s, 0, 0) * 10, amount(s, 1, 0)
        annex.append([f"{s + 1})", f"Scheme {s}", cost / 1000, specific / 1000,
                      (cost - specific) / 1000])  # fmt: skip
    wb.save(path)


# Runs the command as `grants` would and, as it exits, records the process's peak resident
# memory (VmHWM: measured from its own start, unlike the rusage of a child forked from this
# large test process, which counts the fork's pages too).
LAUNCHER = """
import atexit, sys
from pathlib import Path
from grants.cli.main import main

PEAK = Path(sys.argv.pop(1))

def peak() -> None:
    status = Path("/proc/self/status").read_text()
    kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    PEAK.write_text(kb)

atexit.register(peak)
sys.argv[0] = "grants"
main()
"""


def grants_report(database: Path, output: Path) -> int:
    """Run `grants report capital-programme` in its own process; its peak memory in kB."""
    peak = output.with_suffix(".peak")
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(peak), "--database", f"sqlite:///{database}",
         "report", "capital-programme", "-o", str(output)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(peak.read_text())


def test_capital_programme_workbook_vs_bare_openpyxl(benchmark, database: Path) -> None:
    root = database.parent
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        bare_openpyxl(root / "bare.xlsx")
        times.append(time.perf_counter() - start)
    baseline = statistics.median(times)
    peaks: list[int] = []
    benchmark.pedantic(
        lambda: peaks.append(grants_report(database, root / "grants.xlsx")),
        rounds=ROUNDS,
        iterations=1,
    )
    ours = benchmark.stats.stats.median
    ratio = ours / baseline
    peak_mb = max(peaks) / 1024
    benchmark.extra_info.update(
        {
            "schemes": SCHEMES,
            "bare_openpyxl_median_s": round(baseline, 2),
            "grants_median_s": round(ours, 2),
            "ratio": round(ratio, 2),
            "peak_rss_mb": round(peak_mb, 1),
            "targets": "ratio <= 2, peak < 150 MB",
        }
    )
    print(
        f"\ncapital programme, {SCHEMES:,} schemes x {len(YEARS)} years x 2 versions: "
        f"grants {ours:.2f} s, bare openpyxl write-only {baseline:.2f} s, ratio {ratio:.2f} "
        f"(target <= 2); peak memory {peak_mb:.0f} MB (target < 150)"
    )
    values = openpyxl.load_workbook(root / "grants.xlsx", read_only=True)
    assert values["Proposed grants"].max_row > SCHEMES
    assert ratio <= 2.0
    assert peak_mb < 150
