"""Benchmark: the capital programme workbook against XlsxWriter writing the same cells.

A synthetic programme (tests/benchmarks/capital_books.py) of 2,000, 20,000 or 100,000
schemes over ten years, in two versions. Each round runs, in an order that turns round:

* grants: `grants report capital-programme -o FILE.xlsx` in its own process, as an officer
  runs it (start-up, database reads, every sheet with its formats, fitting, formulas and
  chart, the Sources sheet), its peak resident memory read as it exits;
* the floor: plain XlsxWriter in constant-memory mode writing the *same cells*, in a process
  of its own as the command is: Python's start, XlsxWriter's import, every SELECT the command
  ran run again on the same ledger file with the standard library's sqlite3 (every row
  fetched), then every sheet in order, every string, number and formula (with its result)
  the product wrote, Sources included, read back once from the product's own output before
  the rounds (tests/benchmarks/same_cells.py; the time its process takes to load those cells
  from a file is taken off); no formats, widths, heights, merges, chart or print set-up;
* the same floor in this process from memory, without start-up or reads (for information:
  the floor before it did the command's whole job);
* raw XML + zip of the same cells (for information);
* the baseline: openpyxl in write-only mode writing each scheme's label, amounts and total in
  both versions and the annex rows (about a quarter fewer cells: no formulas, Change column
  or Sources).

Targets: grants at most 1.5 times the floor (medians), peak memory under 150 MB. The figures
are wall times; the CPU times of the command's process and the floor's are given beside them
(steadier on a shared machine).
"""

from __future__ import annotations

import resource
import statistics
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from grants.periods import FinancialYear
from tests.benchmarks import measure, same_cells
from tests.benchmarks.capital_books import YEARS, amount, database

TARGET = 1.5
PEAK_TARGET_MB = 150.0


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Path]:
    built: dict[int, Path] = {}

    def get(schemes: int) -> Path:
        if schemes not in built:
            root = tmp_path_factory.mktemp(f"capital-{measure.count_text(schemes)}")
            built[schemes] = database(root, schemes)
        return built[schemes]

    return get


def installed() -> dict[str, str]:
    """The environment of `grants` as installed: signed in as the operating-system login, and
    its modules byte-compiled as an install leaves them (the first, untimed run writes them
    where PYTHONDONTWRITEBYTECODE would have every run compile them again; XlsxWriter, the
    floor's one library, is compiled already)."""
    env = measure.signed_in_as_os_login()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def grants_report(db: Path, output: Path) -> int:
    """`grants report capital-programme` in its own process, signed in as the ledger's first
    person (the operating-system user, as `grants db upgrade` makes them); its peak memory in
    kB."""
    peak = output.with_suffix(".peak")
    measure.run(
        measure.grants_command(peak, "--database", f"sqlite:///{db}", "report",
                               "capital-programme", "-o", str(output)),
        installed(),
    )  # fmt: skip
    return measure.peak_kb_of(peak)


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def bare_openpyxl(schemes: int, path: Path) -> None:
    """Today's baseline: the schemes' values in openpyxl's write-only mode, from memory."""
    wb = openpyxl.Workbook(write_only=True)
    for version in (0, 1):
        sheet = wb.create_sheet(("Current", "Proposed")[version] + " grants")
        sheet.append(["", *(FinancialYear(y).render("/") for y in YEARS), "TOTAL"])
        for s in range(schemes):
            row = [amount(s, y, version) / 1000 for y in YEARS]
            sheet.append([f"Scheme {s}", *row, sum(row)])
    annex = wb.create_sheet("Portfolio allocations")
    for s in range(schemes):
        cost, specific = amount(s, 0, 0) * 10, amount(s, 1, 0)
        annex.append([f"{s + 1})", f"Scheme {s}", cost / 1000, specific / 1000,
                      (cost - specific) / 1000])  # fmt: skip
    wb.save(path)


@pytest.mark.parametrize("schemes", measure.sizes(2_000, 20_000, 100_000))
def test_capital_programme_workbook_vs_xlsxwriter(
    benchmark, databases: Callable[[int], Path], schemes: int
) -> None:
    db = databases(schemes)
    root = db.parent
    grants_report(db, root / "grants.xlsx")
    cells = same_cells.read(root / "grants.xlsx")
    assert cells[-1].name == "Sources" and len(cells[-1].rows) > 3 * schemes
    args = ["--database", f"sqlite:///{db}", "report", "capital-programme", "-o"]
    reads = same_cells.product_reads([*args, str(root / "t.xlsx")], installed(), root / "reads")
    assert any("FROM profile_amount" in sql for sql in reads)
    same_cells.save(cells, reads, root / "cells.marshal")
    peaks: list[int] = []
    cpu: dict[str, list[float]] = {"grants": [], "floor": []}

    def grants() -> float:
        before = children_cpu()
        wall = measure.timing(lambda: peaks.append(grants_report(db, root / "g.xlsx")))()
        cpu["grants"].append(children_cpu() - before)
        return wall

    def floor() -> float:
        used, wall = same_cells.floor_process(db, root / "cells.marshal", root / "f.xlsx")
        cpu["floor"].append(used)
        return wall

    medians = measure.alternate_timed(
        benchmark,
        {
            "grants": grants,
            "floor": floor,
            "in_process": measure.timing(
                lambda: same_cells.xlsxwriter_floor(cells, root / "p.xlsx")
            ),
            "raw": measure.timing(lambda: same_cells.raw_xml(cells, root / "r.xlsx")),
            "baseline": measure.timing(lambda: bare_openpyxl(schemes, root / "b.xlsx")),
        },
    )
    peak_mb = max(peaks) / 1024
    cpu_medians = {name: statistics.median(times) for name, times in cpu.items()}
    cpu_ratio = cpu_medians["grants"] / cpu_medians["floor"]
    count = sum(s.cells for s in cells)
    row = measure.record(
        measure.Row.of(
            medians,
            path="capital programme workbook",
            size=f"{schemes:,} schemes",
            floor="XlsxWriter constant_memory, same cells",
            target=TARGET,
            baseline="openpyxl write-only, fewer cells",
            peak_mb=peak_mb,
            peak_target_mb=PEAK_TARGET_MB,
            notes=[
                f"{count:,} cells in {len(cells)} sheets",
                f"CPU: grants {cpu_medians['grants']:.3f} s, floor {cpu_medians['floor']:.3f} s "
                f"(grants / floor {cpu_ratio:.2f})",
                f"the floor in this process from memory (no start-up, no reads): "
                f"{medians['in_process']:.3f} s",
                f"raw XML + zip of the same cells: {medians['raw']:.3f} s "
                f"(grants / raw {medians['grants'] / medians['raw']:.2f})",
            ],
        )
    )
    benchmark.extra_info.update(
        {
            "schemes": schemes,
            "cells": count,
            **{f"{name}_median_s": round(s, 3) for name, s in medians.items()},
            "ratio_to_floor": round(row.ratio, 2),
            **{f"{name}_cpu_median_s": round(s, 3) for name, s in cpu_medians.items()},
            "cpu_ratio_to_floor": round(cpu_ratio, 2),
            "peak_rss_mb": round(peak_mb, 1),
            "targets": f"ratio <= {TARGET}, peak < {PEAK_TARGET_MB:g} MB",
        }
    )
    print(
        f"\ncapital programme, {schemes:,} schemes ({count:,} cells): grants "
        f"{medians['grants']:.2f} s, XlsxWriter same cells {medians['floor']:.2f} s (ratio "
        f"{row.ratio:.2f}, target <= {TARGET}; CPU {cpu_medians['grants']:.2f} s against "
        f"{cpu_medians['floor']:.2f} s, {cpu_ratio:.2f}), in process from memory "
        f"{medians['in_process']:.2f} s, raw XML {medians['raw']:.2f} s, openpyxl "
        f"baseline {medians['baseline']:.2f} s; peak memory {peak_mb:.0f} MB"
    )
    assert openpyxl.load_workbook(root / "g.xlsx", read_only=True)["Proposed grants"].max_row > (
        schemes
    )
    assert row.ratio <= TARGET
    assert peak_mb < PEAK_TARGET_MB
