"""Benchmark: publishing a funder's grants in the 360Giving Data Standard
(`grants export 360giving`), as the grants grow.

The ledger is one programme of a national funder over ten years: a line (a project) for
every ten grants, an organisation for every four lines, and for each line and year an
allocation and a payment, so a grant is two entries: 5,000, 50,000 and 500,000 grants (10,000,
100,000 and 1,000,000 entries; small, medium, large).

The product runs as an officer runs it, in its own process, and writes the package to a
file. The floor (giving_floor.py), a program of its own importing only what it uses, writes
the same file (the test compares their bytes) from hand-written sqlite3 queries that read the grants and the payments in the order
they are published, each grant checked against the standard's grant schema with the same
library (jsonschema) as it is written: what this ledger's package needs and nothing more (it
takes every allocation and payment as standing; the product works out what stands, through
virements, clawbacks and reversals). Target: at most 1.5 times the floor, the same as every
path measured against a floor.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest

from grants.db.engine import make_engine, make_session_factory
from grants.ledger.loader import load
from grants.periods import Period
from grants.services import access
from grants.services.journal import Journal, NewEntry
from grants.services.rules import Operation
from tests.benchmarks import measure

SIZES = measure.sizes(5_000, 50_000, 500_000)  # grants: two entries each
YEARS = 10
STREAM = "NATIONAL"
NOW = datetime(2027, 3, 31, 12, 0, 0)


def books(grants: int) -> tuple[str, list[NewEntry]]:
    """The reference data and the entries of ``grants`` grants."""
    lines = grants // YEARS
    orgs = max(1, lines // 4)
    text = ['2017-04-01 org FUNDER "Synthetic national funder"\n  role: funder\n',
            f'2017-04-01 stream {STREAM} "National programme"\n  funder: FUNDER\n']  # fmt: skip
    text += [f'2017-04-01 org R{o:06d} "Recipient {o}"\n  role: recipient\n' for o in range(orgs)]
    text += [f'2017-04-01 line {STREAM} L{n:06d} "Project {n}"\n  recipient: R{n % orgs:06d}\n'
             for n in range(lines)]  # fmt: skip
    entries = []
    for y in range(YEARS):
        period = Period.year(2017 + y)
        start = period.first.first_day
        entries.append(NewEntry(Operation("award", STREAM, period, lines * 10**6), start,
                                "benchmark", NOW))  # fmt: skip
        for n in range(lines):
            pence = 100_000 + (n * 7919 + y * 104_729) % 500_000
            line = f"L{n:06d}"
            allocate = Operation("allocate", STREAM, period, pence, line=line)
            pay = Operation("pay", STREAM, period, pence // 2, line=line)
            day = start + timedelta(days=n % 90)
            entries.append(NewEntry(allocate, day, "benchmark", NOW))
            entries.append(NewEntry(pay, day + timedelta(days=120), "benchmark", NOW))
    return "\n".join(text), entries


class Ledger(NamedTuple):
    grants: int
    path: Path
    root: Path

    @property
    def label(self) -> str:
        return f"{self.grants:,} grants ({2 * self.grants:,} entries)"


@pytest.fixture(scope="module", params=SIZES)
def ledger(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    grants: int = request.param
    root = tmp_path_factory.mktemp(f"giving-{measure.count_text(grants)}")
    reference, entries = books(grants)
    (root / "reference.grants").write_text(reference, encoding="utf-8")
    path = root / "ledger.db"
    # Migrated as an officer does it, so that the one who runs the export is its first person.
    upgrade = measure.grants_command(root / "upgrade.peak", "--database", f"sqlite:///{path}",
                                     "db", "upgrade")  # fmt: skip
    measure.run(upgrade, measure.signed_in_as_os_login())
    engine = make_engine(f"sqlite:///{path}")
    with make_session_factory(engine)() as session, session.begin():
        access.bind(session, access.Actor(0, "benchmark", frozenset({"officer"})))
        load(session, root / "reference.grants", "benchmark")
    with make_session_factory(engine)() as session, session.begin():
        Journal(session).record(entries)
    engine.dispose()
    measure.checkpoint(path)
    return Ledger(grants, path, root)


# The floor: a program of its own, which imports only what it uses (the standard library,
# jsonschema and its registry), run as a file in its own process.
FLOOR = Path(__file__).with_name("giving_floor.py")


def test_360giving_export_vs_hand_written_queries(benchmark, ledger: Ledger) -> None:
    out = ledger.root
    peaks: dict[str, list[int]] = {"grants": [], "floor": []}

    def grants() -> None:
        command = measure.grants_command(out / "grants.peak", "--database",
                                         f"sqlite:///{ledger.path}", "export", "360giving",
                                         "-o", str(out / "grants.json"))  # fmt: skip
        measure.run(command, measure.signed_in_as_os_login())
        peaks["grants"].append(measure.peak_kb_of(out / "grants.peak"))

    def bare() -> None:
        measure.run([sys.executable, str(FLOOR), str(ledger.path), str(out / "floor.json"),
                     str(out / "floor.peak")])  # fmt: skip
        peaks["floor"].append(measure.peak_kb_of(out / "floor.peak"))

    medians = measure.alternate_timed(
        benchmark, {"grants": measure.timing(grants), "floor": measure.timing(bare)}
    )
    made = (out / "grants.json").read_bytes()
    assert made == (out / "floor.json").read_bytes(), "the floor must write the same package"
    assert made.count(b'"amountAwarded"') == ledger.grants
    benchmark.extra_info.update({k: round(v, 3) for k, v in medians.items()})
    benchmark.extra_info.update({f"{k}_peak_mb": round(max(v) / 1024) for k, v in peaks.items()})
    row = measure.record(
        measure.Row.of(
            medians, path="`grants export 360giving` (own process)", size=ledger.label,
            floor="hand-written sqlite3 queries, each grant checked with the grant schema "
            "(own process)", target=1.5, peak_mb=max(peaks["grants"]) / 1024,
            notes=[f"the floor's peak memory {max(peaks['floor']) / 1024:.0f} MB"],
        )
    )  # fmt: skip
    assert row.met, f"360Giving export at {ledger.label}: {row.ratio:.2f}x the floor"
