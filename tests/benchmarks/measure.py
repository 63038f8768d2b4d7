"""What every benchmark shares: its sizes, rounds that alternate the product with its floor
and baselines, and the one table `make bench` prints.

Each benchmark measures, in the same run and on the same rows, the product's path, its
*floor* (the fastest correct way to produce the same final result with the same libraries
or the engine itself) and, where one is kept for comparison, today's *baseline*. Rounds
alternate: in each round every variant runs once, in an order that turns round from one
round to the next, so that a burst of load on a shared machine falls on all of them alike.
The medians go into one row of the table per benchmark and size (:func:`record`);
``conftest.py`` prints the table at the end of the run and writes it to
``out/bench/table.md`` and ``out/bench/results.json``.

GRANTS_BENCH_SIZES picks the sizes (``small``, ``medium``, ``large``, comma-separated;
default all three); each benchmark says what its sizes are (10,000, 100,000 and 1,000,000
entries for the journal's). GRANTS_BENCH_ROUNDS sets the rounds (default 3).

Every benchmark takes pytest-benchmark's ``benchmark`` fixture and runs its alternating
rounds through it (:func:`alternate_timed`: ``benchmark.pedantic`` times the whole run once;
the medians are the figures): the suite runs with ``--benchmark-skip``, which skips exactly
the tests that use it.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

SIZE_NAMES = ("small", "medium", "large")
ROUNDS = int(os.environ.get("GRANTS_BENCH_ROUNDS", "3"))
OUT = Path(os.environ.get("GRANTS_BENCH_OUT", "out/bench"))


def chosen_sizes() -> tuple[str, ...]:
    wanted = os.environ.get("GRANTS_BENCH_SIZES", ",".join(SIZE_NAMES))
    names = tuple(n.strip() for n in wanted.split(",") if n.strip())
    unknown = [n for n in names if n not in SIZE_NAMES]
    if unknown:
        raise pytest.UsageError(
            f"GRANTS_BENCH_SIZES: unknown size {', '.join(unknown)}; use small, medium, large"
        )
    return names


def sizes(small: int, medium: int, large: int) -> list[object]:
    """Parameters for ``pytest.mark.parametrize``: the chosen sizes of a benchmark, each
    with its id (``10k``, ``1M``...)."""
    by_name = dict(zip(SIZE_NAMES, (small, medium, large), strict=True))
    return [pytest.param(by_name[n], id=count_text(by_name[n])) for n in chosen_sizes()]


def count_text(n: int) -> str:
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return str(n)


Timed = Callable[[], float]
"""A variant of a round: does its own setting up, times only its work and returns the
seconds it took (see :func:`timing`)."""


def timing(work: Callable[[], object], setup: Callable[[], object] | None = None) -> Timed:
    """A variant that runs ``setup`` untimed, then times ``work``."""

    def run() -> float:
        if setup is not None:
            setup()
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    return run


def alternate(variants: dict[str, Timed], rounds: int = ROUNDS) -> dict[str, float]:
    """Run every variant once a round, in an order that turns round each round; the median
    seconds of each."""
    names = list(variants)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        turn = r % len(names)
        for name in names[turn:] + names[:turn]:
            times[name].append(variants[name]())
    return {n: statistics.median(t) for n, t in times.items()}


def alternate_timed(
    benchmark: Any, variants: dict[str, Timed], rounds: int = ROUNDS
) -> dict[str, float]:
    """:func:`alternate` run once under pytest-benchmark's ``benchmark.pedantic`` (which
    times the whole alternating run: the medians it returns are the figures)."""
    medians: dict[str, float] = benchmark.pedantic(
        alternate, args=(variants,), kwargs={"rounds": rounds}, rounds=1, iterations=1
    )
    return medians


@dataclass
class Row:
    """One row of the table: a benchmark at one size."""

    path: str  # what is measured, as a reader names it ("SQLite load into an empty ledger")
    size: str  # "100,000 entries"
    product_s: float
    floor: str  # what the floor is
    floor_s: float
    target: float | None  # the most the product may take, as a multiple of what it is held to
    held_to: str = "floor"  # "floor" or "baseline": which ratio the target applies to
    baseline: str = ""
    baseline_s: float | None = None
    peak_mb: float | None = None
    peak_target_mb: float | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, medians: Mapping[str, float], **fields: Any) -> Row:
        """A row whose times are the medians of the variants "grants", "floor" and, when
        it ran, "baseline"."""
        return cls(product_s=medians["grants"], floor_s=medians["floor"],
                   baseline_s=medians.get("baseline"), **fields)  # fmt: skip

    @property
    def ratio(self) -> float:
        return self.product_s / self.floor_s

    @property
    def baseline_ratio(self) -> float | None:
        return None if self.baseline_s is None else self.product_s / self.baseline_s

    @property
    def met(self) -> bool:
        held = self.ratio if self.held_to == "floor" else self.baseline_ratio
        ok = self.target is None or (held is not None and held <= self.target)
        if self.peak_target_mb is not None and self.peak_mb is not None:
            ok = ok and self.peak_mb < self.peak_target_mb
        return ok


ROWS: list[Row] = []


# `grants ledger load`'s peak memory at 1,000,000 entries, on either engine (the issue's target).
LEDGER_LOAD_PEAK_MB = 400.0


def ledger_load_row(
    path: str, size: str, medians: Mapping[str, float], floor: str, peaks_kb: list[int]
) -> Row:
    """The recorded row of `grants ledger load` run as a command ("grants", its peak memory
    in each run's ``peaks_kb``) beside the floor of the journal's rows ("floor"): held to
    LEDGER_LOAD_PEAK_MB, with no target for its time."""
    return record(
        Row(path=path, size=size, product_s=medians["grants"], floor=floor,
            floor_s=medians["floor"], target=None, peak_mb=max(peaks_kb) / 1024,
            peak_target_mb=LEDGER_LOAD_PEAK_MB,
            notes=["the whole command: read and check the books, record, seal"])
    )  # fmt: skip


def held_to_peak(benchmark: Any, row: Row, medians: Mapping[str, float]) -> None:
    """A `grants ledger load` row's figures kept with pytest-benchmark's, and its peak held
    to its bound."""
    benchmark.extra_info.update({"peak_mb": round(row.peak_mb or 0), **medians})
    assert row.met, f"peak {row.peak_mb:.0f} MB (target < {row.peak_target_mb:.0f} MB)"


def one_size_at_a_time(
    made: dict[int, Any], request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory, prefix: str, make: Callable[[Path, int], Any],
) -> Any:  # fmt: skip
    """The workspace of the size a test is given (its parameter ``n``), made by ``make`` in a
    folder of its own the first time; one size's workspace kept at a time, to spare the disk."""
    n = request.node.callspec.params["n"]
    if n not in made:
        made.clear()
        made[n] = make(tmp_path_factory.mktemp(f"{prefix}{n}"), n)
    return made[n]


def record(row: Row) -> Row:
    """Keep a row for the table and append it to ``out/bench/results.json`` (one JSON object
    a line) as soon as it is measured, so a run cut short keeps what it measured."""
    first = not ROWS  # the run's first row starts the file afresh
    ROWS.append(row)
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "results.json").open("w" if first else "a", encoding="utf-8") as f:
        data = asdict(row) | {"ratio": row.ratio, "met": row.met}
        data["baseline_ratio"] = row.baseline_ratio
        f.write(json.dumps(data) + "\n")
    return row


def _seconds(s: float | None) -> str:
    if s is None:
        return ""
    return f"{s:.3f} s" if s < 10 else f"{s:.1f} s"


def table(rows: Sequence[Row]) -> str:
    """The one table, as Markdown."""
    out = [
        "| path | size | grants | floor | grants / floor | baseline | grants / baseline "
        "| target | peak memory | met |",
        "|---|---|---:|---|---:|---|---:|---|---:|---|",
    ]
    for r in rows:
        target = "" if r.target is None else f"≤ {r.target:g}× {r.held_to}"
        if r.peak_target_mb is not None:
            target += ("; " if target else "") + f"< {r.peak_target_mb:g} MB"
        base = f"{r.baseline}: {_seconds(r.baseline_s)}" if r.baseline else ""
        base_ratio = "" if r.baseline_ratio is None else f"{r.baseline_ratio:.2f}"
        peak = "" if r.peak_mb is None else f"{r.peak_mb:.0f} MB"
        out.append(
            f"| {r.path} | {r.size} | {_seconds(r.product_s)} | {r.floor}: "
            f"{_seconds(r.floor_s)} | {r.ratio:.2f} | {base} | {base_ratio} | {target} | "
            f"{peak} | {'yes' if r.met else '**no**'} |"
        )
    return "\n".join(out)


def peak_kb_of(status_file: Path) -> int:
    """The peak resident memory a process wrote as it exited (see ``LAUNCHER``)."""
    return int(status_file.read_text())


# Runs `grants` as an officer would and, as it exits, writes the process's peak resident
# memory (VmHWM: measured from its own start, unlike the rusage of a child forked from the
# large test process, which counts the fork's pages too) to the file named first.
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


def grants_command(peak_file: Path, *args: str) -> list[str]:
    """The command line of `grants ARGS` in its own process through ``LAUNCHER`` (its peak
    memory then in ``peak_file``: :func:`peak_kb_of`)."""
    return [sys.executable, "-c", LAUNCHER, str(peak_file), *args]


def signed_in_as_os_login() -> dict[str, str]:
    """The environment of a `grants` process signed in as the operating-system login (as the
    demo is, and as `grants db upgrade` makes the ledger's first person): no --user."""
    gone = ("GRANTS_USER", "GRANTS_PASSWORD", "GRANTS_ACTOR")
    return {k: v for k, v in os.environ.items() if k not in gone}


def run(command: list[str], env: Mapping[str, str] | None = None) -> str:
    """Run a process to its end; its standard output (its error output fails the benchmark
    if it fails)."""
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    return done.stdout


def checkpoint(path: Path) -> None:
    """Fold a SQLite file's write-ahead log into it, so that the file alone can be copied."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def copy_sqlite(source: Path, target: Path) -> None:
    """A fresh copy of a checkpointed SQLite file, with no log left of an earlier copy."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
