"""Benchmark: the start-up of a command, as a whole process.

`grants --help`, and `grants balance --summary` on a ledger built as `make demo` builds it
(`grants db upgrade`, then `grants ledger load ledger/oxfordshire/main.grants`, into a SQLite
file; signed in as the demo is, as the operating-system login that made the ledger), each
run as its own process, against the floor: a bare process that imports the libraries every
command needs (`python -c "import sqlalchemy, click, babel.numbers"`). Target: at most 1.5x
the floor. Beside them, for information: an empty process (`python -c pass`) and each command
with every command's module imported first, as every command did before they were imported
when wanted (the baseline).

Every process finds its modules compiled, as an installed grants does (pip compiles them as
it installs): the processes keep their compiled modules in a folder of this run's own, filled
by one untimed run of each variant, whatever PYTHONDONTWRITEBYTECODE says. Rounds alternate
(at least 7: each process takes well under a second).
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.benchmarks import measure

ROOT = Path(__file__).resolve().parents[2]
BOOKS = ROOT / "ledger" / "oxfordshire" / "main.grants"
ROUNDS = max(7, measure.ROUNDS)
TARGET = 1.5
FLOOR = "python -c 'import sqlalchemy, click, babel.numbers'"

# Every command's module imported before the command runs: the start-up of every command
# before the group imported each command's module only when that command is wanted.
EAGER = """
import sys
from grants.cli.main import COMMANDS, main
for where in COMMANDS.values():
    where.load()
sys.argv[0] = "grants"
main()
"""


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The processes' environment: signed in as the operating-system login (as the demo is),
    with their compiled modules kept in a folder of this run's own."""
    env = measure.signed_in_as_os_login()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    return env


@pytest.fixture(scope="module")
def demo_ledger(environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('startup') / 'oxfordshire.db'}"
    for args in (("db", "upgrade"), ("ledger", "load", str(BOOKS))):
        measure.run([*grants("--database", url), *args], environment)
    return url


def grants(*args: str) -> list[str]:
    return [sys.executable, "-c", "from grants.cli.main import main; main()", *args]


def process(command: list[str], env: dict[str, str], check: str) -> Callable[[], float]:
    """A variant that times ``command`` as a whole process and checks its output."""

    def work() -> None:
        assert check in measure.run(command, env)

    return measure.timing(work)


def startup(
    benchmark: Any,
    path: str,
    args: list[str],
    check: str,
    env: dict[str, str],
    peak_file: Path,
) -> None:
    launched = measure.grants_command(peak_file, *args)
    variants = {
        "grants": process(launched, env, check),
        "floor": process(
            [sys.executable, "-c", "import sqlalchemy, click, babel.numbers"], env, ""
        ),
        "baseline": process([sys.executable, "-c", EAGER, *args], env, check),
        "pass": process([sys.executable, "-c", "pass"], env, ""),
    }
    for variant in variants.values():  # compiles every module the variant imports, once
        variant()
    load = os.getloadavg()
    medians = measure.alternate_timed(benchmark, variants, ROUNDS)
    load = tuple((a + b) / 2 for a, b in zip(load, os.getloadavg(), strict=True))
    row = measure.record(
        measure.Row.of(
            medians,
            path=path,
            size="demo ledger",
            floor=FLOOR,
            target=TARGET,
            baseline="every command's module imported",
            peak_mb=measure.peak_kb_of(peak_file) / 1024,
            notes=[
                f"python -c pass: {medians['pass']:.3f} s",
                f"{ROUNDS} rounds; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
            ],
        )
    )
    benchmark.extra_info.update(
        {name: round(seconds, 4) for name, seconds in medians.items()}
        | {"ratio": round(row.ratio, 3), "target": TARGET, "load_average": load}
    )
    print(
        f"\n{path}: grants {row.product_s:.3f} s, floor {row.floor_s:.3f} s, ratio "
        f"{row.ratio:.2f} (target <= {TARGET}); every command's module imported "
        f"{medians['baseline']:.3f} s; python -c pass {medians['pass']:.3f} s; load average "
        f"{statistics.mean(load):.2f}"
    )
    assert row.ratio <= TARGET


def test_help_vs_bare_imports(benchmark, environment: dict[str, str], tmp_path: Path) -> None:
    startup(benchmark, "grants --help", ["--help"], "balance", environment, tmp_path / "peak")


def test_balance_summary_vs_bare_imports(
    benchmark, environment: dict[str, str], demo_ledger: str, tmp_path: Path
) -> None:
    args = ["--database", demo_ledger, "balance", "--summary"]
    startup(benchmark, "grants balance --summary", args, "PCC-CSF 2017-18", environment,
            tmp_path / "peak")  # fmt: skip
