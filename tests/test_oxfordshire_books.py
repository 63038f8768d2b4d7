"""The Oxfordshire books against the council's published tables.

Requirement: every figure the seeds print in the tables cleaned as CSV in
``shared/domain/tables/`` can be recovered from the books. Where the seeds disagree with
themselves the books record what was printed, and the checks report the disagreement; the
data is never fixed silently. For 2017-18 the ledger shows the £7,009.00 between the stated
£700,932 and the £693,923 allocated.

Each test reads one CSV with the csv module and compares every printed money figure with
the ledger: a balance (``Balances.value``), a line's recorded cost, a profile amount, a
``printed``/``stated`` statement, or a figure the test derives from them (sums, the Change
column, the Difference row, the running balance). Derived figures are computed here from
the ledger, never copied from the books' comments. A test collects every row that does not
match and names them all. The discrepancy IDs (A5, B1-B7, E1, E2, F1-F5) are those of
``shared/domain/discrepancies.md``.

Some figures in those CSVs are deliberately not money of any stream (bids, pipelines,
ambitions, a footnote with no period, seed 003's historic 2009 figures): they are listed
with the reason in ``PCC_TEXT_NOT_RECORDED`` and ``GROWTH_NOT_RECORDED`` and skipped; every
other figure must have a rule saying how the books record it, or the test fails.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from grants.db.engine import make_session_factory
from grants.db.models import (
    Entry,
    Line,
    MatchFunding,
    Profile,
    ProfileAmount,
    ProgrammeVersion,
    Statement,
    Stream,
)
from grants.formatting import SCALES
from grants.periods import parse_period, parse_year
from grants.services.balances import Balances
from tests.conftest import BOOKS, Grants

TABLES = Path(__file__).parent / "data" / "seed-tables"

PCC_RESOURCING = "pcc_csf_resourcing_2014-15_to_2017-18.csv"
PCC_TEXT = "pcc_csf_amounts_in_text.csv"
T1_SUMMARY = "capital_summary_funding_and_allocations_gbp_m.csv"
T2_FLEXIBLE = "capital_flexible_resources_running_balance_gbp000.csv"
ANNEX2 = "capital_funding_annex2_gbp000.csv"
ANNEX3 = "capital_proposed_allocations_portfolio_annex3_gbp000.csv"
ESIF_TABLE = "esif_programmes_and_projects.csv"
GROWTH_TABLE = "lgf_city_deal_growth_deal_and_other_capital_streams.csv"

PCC = "PCC-CSF"
CAPITAL = "CAPITAL"
CAPITAL_PERIOD = "2018-19:2027-28"
ESIF = "ESIF"
GROWTH_DEAL = "GROWTH-DEAL"
Y2017 = "2017-18"

S000 = "000_f418ceb26182cb49.txt:"
S001 = "001_a3c214f284a941d2.txt:"
S002 = "002_f61dce86c6b063e1.txt:"
S003 = "003_317791a01473b904.txt:"
S004 = "004_5e7e9bfedb2a0de8.txt:"


# -- reading the tables -------------------------------------------------------------------


def read_table(name: str) -> list[dict[str, str]]:
    """The rows of a cleaned table, skipping its `# source` header lines."""
    with (TABLES / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def pence(figure: str | Decimal, scale: str = "1") -> int:
    """A printed figure (in pounds, £'000 or £m) as whole pence."""
    exact = Decimal(figure) * SCALES[scale] * 100
    assert exact == exact.to_integral_value(), f"{figure} ({scale}) is not whole pence"
    return int(exact)


def in_scale(amount_pence: int, scale: str, places: int) -> Decimal:
    """Pence shown in a scale, rounded half-up to ``places`` as the papers print."""
    quantum = Decimal(1).scaleb(-places)
    return (Decimal(amount_pence) / 100 / SCALES[scale]).quantize(quantum, rounding=ROUND_HALF_UP)


def places_of(figure: str) -> int:
    """How many decimal places a printed figure is written with (``40.5`` -> 1)."""
    return len(figure.partition(".")[2])


def show(amount_pence: int | None) -> str:
    return "nothing" if amount_pence is None else f"£{Decimal(amount_pence) / 100:,.2f}"


def short(source: str) -> str:
    """``002_f61dce86c6b063e1.txt:387`` -> ``002:387`` for test ids."""
    return source[:3] + ":" + source.rpartition(":")[2]


def location(origin: str) -> tuple[str, int]:
    """A books position (``ledger/oxfordshire/capital.grants:514``) as (file name, line)."""
    file, _, line = origin.rpartition(":")
    return Path(file).name, int(line)


@dataclass
class Problems:
    """Every figure of a table that the books do not give back, named by its CSV row."""

    table: str
    found: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.found.append(message)

    def compare(self, where: str, what: str, ledger: int | None, printed: int | None) -> None:
        if ledger != printed:
            self.add(f"{where}: {what} is {show(ledger)} in the ledger, {show(printed)} printed")

    def expect(self, ok: bool, where: str, message: str) -> None:
        if not ok:
            self.add(f"{where}: {message}")

    def assert_none(self) -> None:
        assert not self.found, (
            f"{len(self.found)} figure(s) of {self.table} not recovered from the books:\n  "
            + "\n  ".join(self.found)
        )


# -- reading the ledger -------------------------------------------------------------------


def names_of(line: Line) -> set[str]:
    """The name a line is recorded under and every alias it is printed under."""
    aliases = (a.strip().strip('"') for a in (line.aliases or "").split("|"))
    return {line.name, *(a for a in aliases if a)}


@dataclass(frozen=True)
class ProfileFigures:
    code: str
    label: str
    section: str | None
    total_pence: int | None
    amounts: dict[int, int]  # start year -> pence; a year printed blank is absent

    @property
    def sum(self) -> int:
        return sum(self.amounts.values())


class Ledger:
    """Read access to the loaded books: balances, lines, entries, statements, profiles."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.balances = Balances(session)
        self.stream_ids = {
            code: id_ for code, id_ in session.execute(select(Stream.code, Stream.id))
        }

    def value(self, stream: str, period: str, metric: str, target: str | None = None) -> int | None:
        return self.balances.value(stream, parse_period(period), metric, target)

    def lines(self, stream: str) -> list[Line]:
        return list(
            self.session.scalars(
                select(Line).where(Line.stream_id == self.stream_ids[stream]).order_by(Line.id)
            )
        )

    def line(self, stream: str, code: str) -> Line:
        (line,) = (x for x in self.lines(stream) if x.code == code)
        return line

    def line_named(self, stream: str, name: str, kind: str | None = None) -> Line | None:
        """The one line of the stream printed under ``name`` (its name or an alias)."""
        found = [
            x
            for x in self.lines(stream)
            if name in names_of(x) and (kind is None or x.kind == kind)
        ]
        assert len(found) <= 1, f"{name!r} names {len(found)} lines of {stream}"
        return found[0] if found else None

    def parent(self, line: Line) -> Line | None:
        return None if line.parent_id is None else self.session.get(Line, line.parent_id)

    def entries(
        self,
        kind: str,
        stream: str,
        period: str,
        line: str | None = None,
        tranche: str | None = None,
    ) -> list[Entry]:
        p = parse_period(period)
        query = select(Entry).where(
            Entry.kind == kind,
            Entry.stream_id == self.stream_ids[stream],
            Entry.first_year == p.first.start,
            Entry.last_year == p.last.start,
            Entry.reverses_id.is_(None),
        )
        if line is not None:
            query = query.where(Entry.line_id == self.line(stream, line).id)
        if tranche is not None:
            query = query.where(Entry.tranche == tranche)
        return list(self.session.scalars(query.order_by(Entry.id)))

    def statements(self, kind: str, stream: str | None = None, **where: object) -> list[Statement]:
        query = select(Statement).where(Statement.kind == kind)
        if stream is not None:
            query = query.where(Statement.stream_id == self.stream_ids[stream])
        for column, value in where.items():
            query = query.where(getattr(Statement, column) == value)
        return list(self.session.scalars(query.order_by(Statement.id)))

    def asserted_sources(
        self, stream: str, period: str, metric: str, target: str | None
    ) -> set[str | None]:
        """Sources cited by `balance` and `printed` assertions of one metric."""
        p = parse_period(period)
        return {
            s.source
            for kind in ("balance", "printed")
            for s in self.statements(kind, stream, metric=metric, target=target)
            if (s.first_year, s.last_year) == (p.first.start, p.last.start)
        }

    def matched(self, stream: str, line: str) -> list[MatchFunding]:
        line_id = self.line(stream, line).id
        return list(
            self.session.scalars(select(MatchFunding).where(MatchFunding.line_id == line_id))
        )

    def compare_version(self, version: str) -> str | None:
        return self.session.scalar(
            select(ProgrammeVersion.compare_code).where(
                ProgrammeVersion.stream_id == self.stream_ids[CAPITAL],
                ProgrammeVersion.code == version,
            )
        )

    def profiles(self, version: str | None, table: str) -> dict[str, ProfileFigures]:
        """The profiles of one programme table, by the label they are printed under."""
        if version is None:
            return {}
        profiles = list(
            self.session.scalars(
                select(Profile)
                .join(ProgrammeVersion, ProgrammeVersion.id == Profile.version_id)
                .where(
                    ProgrammeVersion.stream_id == self.stream_ids[CAPITAL],
                    ProgrammeVersion.code == version,
                    Profile.table_name == table,
                )
                .order_by(Profile.position)
            )
        )
        amounts: dict[int, dict[int, int]] = {p.id: {} for p in profiles}
        for profile_id, year, amount in self.session.execute(
            select(ProfileAmount.profile_id, ProfileAmount.year, ProfileAmount.amount_pence).where(
                ProfileAmount.profile_id.in_(amounts)
            )
        ):
            amounts[profile_id][year] = amount
        out = {}
        for p in profiles:
            out[p.label] = ProfileFigures(p.code, p.label, p.section, p.total_pence, amounts[p.id])
        return out

    def records_figure(self, source: str, amount_pence: int) -> bool:
        """Is the figure recorded anywhere (an entry, statement or match) citing ``source``?"""
        entries = self.session.scalar(
            select(func.count())
            .select_from(Entry)
            .where(Entry.source == source, Entry.amount_pence == amount_pence)
        )
        matches = self.session.scalar(
            select(func.count())
            .select_from(MatchFunding)
            .where(MatchFunding.source == source, MatchFunding.amount_pence == amount_pence)
        )
        statements = [
            s
            for s in self.session.scalars(select(Statement).where(Statement.source == source))
            if pence(s.amount, s.scale) == amount_pence
        ]
        return bool(entries or matches or statements)


@pytest.fixture
def ledger(oxfordshire: Grants, engine: Engine) -> Iterator[Ledger]:
    """The Oxfordshire books loaded (on SQLite and on PostgreSQL), read through a session."""
    with make_session_factory(engine)() as session:
        yield Ledger(session)


@pytest.fixture
def check_report(oxfordshire: Grants) -> dict[str, list[dict[str, object]]]:
    """`grants ledger check --json` of the books: it must find no error."""
    result = oxfordshire("ledger", "check", str(BOOKS), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["errors"] == [], report["errors"]
    return report


@pytest.fixture
def discrepancies(check_report: dict[str, list[dict[str, object]]]) -> dict[tuple[str, int], str]:
    """The check's discrepancy warnings by books position (file name, line)."""
    return {
        (Path(str(w["file"])).name, int(str(w["line"]))): str(w["message"])
        for w in check_report["warnings"]
        if w["severity"] == "discrepancy"
    }


# -- how a printed figure is recovered ----------------------------------------------------
# Each rule's `recover(ledger, source)` gives the ledger's figure in pence and the sources
# the books cite for it (None when the figure is derived: no entry cites anything). Only
# `Printed` uses the row's source, to find the statement that records that printing.

Recovered = tuple[int | None, set[str | None] | None]


@dataclass(frozen=True)
class Awarded:
    stream: str
    period: str
    tranche: str | None = None

    def __str__(self) -> str:
        return f"awarded{':' + self.tranche if self.tranche else ''} of {self.stream} {self.period}"

    def recover(self, ledger: Ledger, source: str) -> Recovered:
        value = ledger.value(self.stream, self.period, "awarded", self.tranche)
        entries = ledger.entries("award", self.stream, self.period, tranche=self.tranche)
        asserted = ledger.asserted_sources(self.stream, self.period, "awarded", self.tranche)
        return value, {e.source for e in entries} | asserted


@dataclass(frozen=True)
class Allocated:
    stream: str
    period: str
    line: str

    def __str__(self) -> str:
        return f"allocated:{self.line} of {self.stream} {self.period}"

    def recover(self, ledger: Ledger, source: str) -> Recovered:
        value = ledger.value(self.stream, self.period, "allocated", self.line)
        entries = ledger.entries("allocate", self.stream, self.period, line=self.line)
        asserted = ledger.asserted_sources(self.stream, self.period, "allocated", self.line)
        return value, {e.source for e in entries} | asserted


@dataclass(frozen=True)
class WithMatch:
    """A project's grant plus the match funding recorded on it ("£2m with match")."""

    stream: str
    period: str
    line: str

    def __str__(self) -> str:
        return f"allocated:{self.line} plus its match funding"

    def recover(self, ledger: Ledger, source: str) -> Recovered:
        grant = ledger.value(self.stream, self.period, "allocated", self.line) or 0
        matches = ledger.matched(self.stream, self.line)
        return grant + sum(m.amount_pence for m in matches), {m.source for m in matches}


@dataclass(frozen=True)
class Stated:
    stream: str
    period: str

    def __str__(self) -> str:
        return f"stated award of {self.stream} {self.period}"

    def recover(self, ledger: Ledger, source: str) -> Recovered:
        p = parse_period(self.period)
        statements = [
            s
            for s in ledger.statements("stated", self.stream)
            if (s.first_year, s.last_year) == (p.first.start, p.last.start)
        ]
        return ledger.value(self.stream, self.period, "stated"), {s.source for s in statements}


@dataclass(frozen=True)
class Printed:
    """A `printed` statement citing the row's source: the figure exactly as published."""

    stream: str
    period: str | None = None

    def __str__(self) -> str:
        return f"`printed` statement of {self.stream}"

    def statement(self, ledger: Ledger, source: str) -> Statement | None:
        found = ledger.statements("printed", self.stream, source=source)
        if self.period is not None:
            p = parse_period(self.period)
            found = [
                s for s in found if (s.first_year, s.last_year) == (p.first.start, p.last.start)
            ]
        assert len(found) <= 1, f"{len(found)} printed statements cite {source}"
        return found[0] if found else None

    def recover(self, ledger: Ledger, source: str) -> Recovered:
        s = self.statement(ledger, source)
        return (None, set()) if s is None else (pence(s.amount, s.scale), {s.source})


@dataclass(frozen=True)
class Derived:
    """A figure derived from the ledger, compared at the precision it is printed with."""

    what: str
    compute: Callable[[Ledger], int]
    scale: str
    places: int = 0

    def __str__(self) -> str:
        return self.what

    def recover(self, ledger: Ledger, source: str) -> Recovered:
        return self.compute(ledger), None


Rule = Awarded | Allocated | WithMatch | Stated | Printed | Derived


def check_figure(
    problems: Problems, ledger: Ledger, where: str, rule: Rule, figure: int, source: str
) -> None:
    """Compare one printed figure with the ledger by one rule, and check its provenance."""
    value, sources = rule.recover(ledger, source)
    if isinstance(rule, Derived):
        ok = value is not None and in_scale(value, rule.scale, rule.places) == in_scale(
            figure, rule.scale, rule.places
        )
        if not ok:
            problems.add(f"{where}: {rule} is {show(value)}, {show(figure)} printed")
        return
    problems.compare(where, str(rule), value, figure)
    problems.expect(
        sources is None or source in sources,
        where,
        f"{rule} does not cite {source} (cites {sorted(map(str, sources or ()))})",
    )


def change_of(table: str, *codes: str) -> Callable[[Ledger], int]:
    """Proposed minus current total of some profiles of a programme table."""

    def compute(ledger: Ledger) -> int:
        proposed = {p.code: p.sum for p in ledger.profiles("proposed", table).values()}
        current = {p.code: p.sum for p in ledger.profiles("current", table).values()}
        return sum(proposed.get(c, 0) - current.get(c, 0) for c in codes)

    return compute


# =========================================================================================
# 1. PCC Community Safety Fund: Appendix 7 Resourcing (004:2186-2204)
# =========================================================================================


def test_pcc_resourcing_every_cell_is_the_allocation_of_its_line(ledger: Ledger) -> None:
    """Each line_item/sub_item cell is its line's allocation for the year, with the share and
    the figure as printed; an 'n/a' cell has no allocation; each TOTAL is the stream's."""
    problems = Problems(PCC_RESOURCING)
    printed_lines: set[str] = set()
    for row in read_table(PCC_RESOURCING):
        year, item = row["financial_year"], row["line_item"]
        where = f"row {row['row_order']} {item!r} {year} (printed {row['printed']!r})"
        if row["row_type"] == "total":
            problems.compare(
                where,
                "allocated total",
                ledger.value(PCC, year, "allocated"),
                pence(row["value_gbp"]),
            )
            continue
        line = ledger.line_named(PCC, item)
        if line is None:
            problems.add(f"{where}: no line of {PCC} is named {item!r}")
            continue
        printed_lines.add(line.code)
        parent = ledger.parent(line)
        if row["row_type"] == "sub_item":
            problems.expect(
                parent is not None and row["parent"] in names_of(parent),
                where,
                f"{line.code} should be a child of {row['parent']!r}, not of "
                f"{parent.name if parent else None!r}",
            )
        else:
            problems.expect(parent is None, where, f"{line.code} should be a top-level line")
        entries = ledger.entries("allocate", PCC, year, line=line.code)
        allocated = ledger.value(PCC, year, "allocated", line.code)
        if not row["value_gbp"]:  # printed 'n/a'
            problems.expect(row["printed"] == "n/a", where, "blank value but not printed 'n/a'")
            problems.compare(where, f"allocated:{line.code}", allocated, 0)
            problems.expect(not entries, where, f"'n/a' but {len(entries)} allocate entries")
            continue
        problems.compare(where, f"allocated:{line.code}", allocated, pence(row["value_gbp"]))
        if len(entries) != 1:
            problems.add(f"{where}: {len(entries)} allocate entries, expected one")
            continue
        (entry,) = entries
        plain = f"{int(row['value_gbp']):,}"
        expected_printed = None if row["printed"] == plain else row["printed"]
        problems.expect(
            entry.printed == expected_printed,
            where,
            f"entry keeps printed {entry.printed!r}, expected {expected_printed!r}",
        )
        if row["share_pct_printed"]:
            problems.expect(
                entry.share == row["share_pct_printed"] + "%",
                where,
                f"entry keeps share {entry.share!r}, printed {row['share_pct_printed']}%",
            )
    all_lines = {x.code for x in ledger.lines(PCC)}
    problems.expect(
        printed_lines == all_lines,
        "lines",
        f"not in the table: {sorted(all_lines - printed_lines)}",
    )
    problems.assert_none()


def test_pcc_cherwell_2017_18_keeps_the_printed_58_542(ledger: Ledger) -> None:
    """A6: '58.542' (a full stop typed for the thousands comma) is kept as printed beside the
    corrected 58,542."""
    (row,) = [
        r
        for r in read_table(PCC_RESOURCING)
        if r["line_item"] == "Cherwell" and r["financial_year"] == Y2017
    ]
    assert row["printed"] == "58.542"
    cherwell = ledger.line_named(PCC, "Cherwell")
    assert cherwell is not None
    (entry,) = ledger.entries("allocate", PCC, Y2017, line=cherwell.code)
    assert entry.printed == "58.542"
    assert entry.amount_pence == pence(row["value_gbp"]) == pence("58542")


def _pcc_2017_18_figures() -> tuple[int, int]:
    """(stated in the text at 004:2188, allocated by the table's 2017-18 TOTAL), in pence."""
    (stated,) = [
        r
        for r in read_table(PCC_TEXT)
        if r["source"] == S004 + "2188" and r["financial_year"] == Y2017 and r["printed"] != "10%"
    ]
    (total,) = [
        r
        for r in read_table(PCC_RESOURCING)
        if r["row_type"] == "total" and r["financial_year"] == Y2017
    ]
    return pence(stated["value"]), pence(total["value_gbp"])


def test_pcc_2017_18_ledger_shows_the_7009_between_stated_and_allocated(ledger: Ledger) -> None:
    """A1: the text's £700,932 is the stated and awarded figure, the table allocates £693,923,
    and the £7,009.00 between them stays unallocated, not fixed away."""
    stated, allocated = _pcc_2017_18_figures()
    assert ledger.value(PCC, Y2017, "stated") == stated
    assert ledger.value(PCC, Y2017, "awarded") == stated
    assert ledger.value(PCC, Y2017, "allocated") == allocated
    assert ledger.value(PCC, Y2017, "unallocated") == stated - allocated
    assert stated - allocated == pence("7009.00")


def test_pcc_balance_command_shows_the_7009(oxfordshire: Grants) -> None:
    stated, allocated = _pcc_2017_18_figures()
    result = oxfordshire("balance", "--stream", PCC, "--year", Y2017, "--json")
    assert result.exit_code == 0, result.output
    (row,) = [r for r in json.loads(result.output) if r["line"] is None]
    assert row["year"] == Y2017
    assert pence(row["stated"]) == stated
    assert pence(row["awarded"]) == stated
    assert pence(row["allocated"]) == allocated
    assert row["unallocated"] == "7009.00"
    assert Decimal(row["stated"]) - Decimal(row["allocated"]) == Decimal("7009.00")

    text = oxfordshire("balance", "--stream", PCC, "--year", Y2017)
    assert text.exit_code == 0, text.output
    assert (
        "PCC-CSF 2017-18: stated £700,932.00, allocated £693,923.00: difference £7,009.00"
        in text.output
    )


def test_pcc_2017_18_award_is_last_years_less_the_10_percent_top_slice(ledger: Ledger) -> None:
    """A2: 'last year's funding of £778,813 will be reduced [by 10%] to £700,932'."""
    (cut,) = [r for r in read_table(PCC_TEXT) if r["item"] == "PCC top-slice"]
    last_year = ledger.value(PCC, "2016-17", "stated")
    this_year = ledger.value(PCC, Y2017, "stated")
    assert last_year is not None and this_year is not None
    kept = Decimal(last_year) / 100 * (100 - Decimal(cut["value"])) / 100  # pounds
    assert pence(kept.quantize(Decimal(1), rounding=ROUND_HALF_UP)) == this_year


def _allocated_fall(ledger: Ledger) -> int:
    before = ledger.value(PCC, "2016-17", "allocated") or 0
    return before - (ledger.value(PCC, Y2017, "allocated") or 0)


# CSF amounts printed in prose (pcc_csf_amounts_in_text.csv), keyed by (source, printed).
PCC_TEXT_RULES: dict[tuple[str, str], Rule] = {
    (S000 + "411", "£779k"): Printed(PCC, "2016-17"),
    (S000 + "411", "£694k"): Printed(PCC, Y2017),
    (S000 + "411", "£85k"): Derived(
        "allocated 2016-17 less allocated 2017-18", _allocated_fall, "000"
    ),
    (S000 + "431", "£778k"): Printed(PCC, "2016-17"),
    (S004 + "2188", "£778,813"): Stated(PCC, "2016-17"),
    (S004 + "2188", "£700,932"): Stated(PCC, Y2017),
    (S004 + "1728", "£94,374"): Printed(PCC, Y2017),
    (S004 + "1745", "£50,656"): Printed(PCC, Y2017),
    (S004 + "1777", "£226,913"): Printed(PCC, Y2017),
}
PCC_TEXT_NOT_MONEY = {
    (S004 + "2188", "10%"): "a percentage (the top-slice), checked by the A2 test",
    (S004 + "322", "10%"): "a percentage of the PCC's own budget, no amount for Oxfordshire",
    (S004 + "1794", "no PCC grant funding"): "no amount",
}
PCC_TEXT_NOT_RECORDED = {
    (S004 + "2202", "£15k"): (
        "footnote * '£15k allocated to the domestic abuse funding pot' (004:2202) has no "
        "period, so the books keep it as a comment only (pcc-csf.grants:23-26); nothing "
        "records it"
    ),
    (S004 + "1735", "£400k"): (
        "the Home Office VAWG Transformation Fund award to the Thames Valley BAMER Project is "
        "not PCC CSF money; the books name it in a comment only (pcc-csf.grants:374-375) and "
        "have no stream for it"
    ),
}


def test_pcc_amounts_in_text_are_recovered(ledger: Ledger) -> None:
    problems = Problems(PCC_TEXT)
    for row in read_table(PCC_TEXT):
        key = (row["source"], row["printed"])
        where = f"{row['item']!r} ({short(row['source'])}, printed {row['printed']!r})"
        if key in PCC_TEXT_NOT_MONEY or key in PCC_TEXT_NOT_RECORDED:
            continue
        if key not in PCC_TEXT_RULES:
            problems.add(f"{where}: no rule says how the books record this figure")
            continue
        check_figure(
            problems, ledger, where, PCC_TEXT_RULES[key], pence(row["value"]), row["source"]
        )
    problems.assert_none()


# =========================================================================================
# 2. Capital programme tables T3-T6 (002:460-515), £'000
# =========================================================================================

PROGRAMME_TABLES = [
    pytest.param(
        "capital_current_programme_grants_2017-18_to_2027-28_gbp000.csv",
        "current",
        "grants",
        id="T3-current-grants",
    ),
    pytest.param(
        "capital_proposed_programme_grants_2017-18_to_2027-28_gbp000.csv",
        "proposed",
        "grants",
        id="T4-proposed-grants",
    ),
    pytest.param(
        "capital_current_annual_programmes_2017-18_to_2027-28_gbp000.csv",
        "current",
        "annual",
        id="T5-current-annual",
    ),
    pytest.param(
        "capital_proposed_annual_programmes_2017-18_to_2027-28_gbp000.csv",
        "proposed",
        "annual",
        id="T6-proposed-annual",
    ),
]


def column_total(profiles: Iterable[ProfileFigures], year: int) -> int:
    return sum(p.amounts.get(year, 0) for p in profiles)


def grand_total(profiles: Iterable[ProfileFigures]) -> int:
    return sum(p.sum for p in profiles)


@pytest.mark.parametrize(("csv_name", "version", "table"), PROGRAMME_TABLES)
def test_programme_table_cells_are_profile_amounts_or_derived_from_them(
    ledger: Ledger, csv_name: str, version: str, table: str
) -> None:
    """Year cells are profile amounts (blank: no amount; 0: an amount of 0). Every row TOTAL,
    column TOTAL, Change and Difference is derived from the profiles here and compared."""
    problems = Problems(csv_name)
    mine = ledger.profiles(version, table)
    base_version = ledger.compare_version(version)
    base = {p.code: p for p in ledger.profiles(base_version, table).values()}
    rows = read_table(csv_name)
    labels = {r["line_item"] for r in rows if r["row_type"] == "line_item"}
    problems.expect(
        set(mine) == labels,
        "profiles",
        f"books only: {sorted(set(mine) - labels)}; table only: {sorted(labels - set(mine))}",
    )
    if any(r["column_kind"] == "change" for r in rows):
        problems.expect(base_version is not None, "Change", f"{version} compares with no version")
    for row in rows:
        kind, column, printed = row["column_kind"], row["column"], row["value_gbp000"]
        where = f"row {row['row_order']} {row['line_item']!r} {column} (printed {row['printed']!r})"
        if row["row_type"] == "section_heading":
            continue
        if row["row_type"] == "line_item":
            profile = mine.get(row["line_item"])
            if profile is None:
                continue  # reported above
            problems.expect(
                profile.section == (row["section"] or None),
                where,
                f"profile section {profile.section!r}, printed under {row['section']!r}",
            )
            if kind == "year":
                year = parse_year(column).start
                if printed == "":
                    problems.expect(
                        year not in profile.amounts,
                        where,
                        f"printed blank but the profile has {show(profile.amounts.get(year))}",
                    )
                else:
                    problems.compare(
                        where,
                        f"{profile.code} {column}",
                        profile.amounts.get(year),
                        pence(printed, "000"),
                    )
            elif kind == "total":
                problems.compare(where, "sum of the years", profile.sum, pence(printed, "000"))
                problems.compare(
                    where, "recorded total", profile.total_pence, pence(printed, "000")
                )
            elif kind == "change":
                current = base.get(profile.code)
                change = profile.sum - (current.sum if current else 0)
                problems.compare(
                    where, f"Change of {profile.code} (derived)", change, pence(printed, "000")
                )
            else:
                problems.add(f"{where}: unknown column kind {kind!r}")
        elif row["row_type"] in ("total", "difference"):
            # The TOTAL row sums this version; the Difference row and the Change column
            # subtract the version it is compared with.
            minus = base.values() if row["row_type"] == "difference" else ()
            if kind == "year":
                year = parse_year(column).start
                derived = column_total(mine.values(), year) - column_total(minus, year)
            elif kind == "total" and row["row_type"] == "total":
                derived = grand_total(mine.values())
            else:  # TOTAL Change, Difference TOTAL, Difference Change
                derived = grand_total(mine.values()) - grand_total(base.values())
            problems.compare(where, f"{row['row_type']} (derived)", derived, pence(printed, "000"))
        else:
            problems.add(f"{where}: unknown row type {row['row_type']!r}")
    problems.assert_none()


# =========================================================================================
# 3. Capital flexible resources: T2 (002:441-458), Annex 2 (517-522), Annex 3 (524-560),
#    and the £m summary T1 (384-403)
# =========================================================================================

# T2 funding rows and Annex 2 refs -> award tranche (capital.grants, `award ... tranche:`).
T2_TRANCHES = {
    "Additional Estimated Funding to 2027/28": "GRANTS",
    "Capital Receipts New / Revaluations": "RECEIPTS",
    "Earmarked Reserves released for reallocation": "RESERVES",
}
ANNEX2_TRANCHES = {"1)": "RESERVES", "2)": "RECEIPTS"}


def capital(ledger: Ledger, metric: str, target: str | None = None) -> int | None:
    return ledger.value(CAPITAL, CAPITAL_PERIOD, metric, target)


def test_flexible_resources_t2_with_running_balance(ledger: Ledger) -> None:
    """Funding rows are award tranches, portfolio rows are portfolio lines (Cost, Funding,
    Net = allocated); the running Balance is derived from the awards and the allocations."""
    problems = Problems(T2_FLEXIBLE)
    running: int | None = None
    portfolios: list[Line] = []
    for row in read_table(T2_FLEXIBLE):
        label, kind = row["description"], row["row_type"]
        where = f"row {row['row_order']} {label!r}"
        if kind == "section_heading":
            continue
        if label in T2_TRANCHES:
            tranche = T2_TRANCHES[label]
            problems.compare(
                where,
                f"awarded:{tranche}",
                capital(ledger, "awarded", tranche),
                pence(row["funding"], "000"),
            )
        elif label.startswith("Total Estimated New Flexible"):
            running = capital(ledger, "awarded")
            problems.compare(where, "awarded (Funding)", running, pence(row["funding"], "000"))
            problems.compare(where, "opening Balance", running, pence(row["balance"], "000"))
        elif kind == "line_item":
            line = ledger.line_named(CAPITAL, label, kind="portfolio")
            if line is None:
                problems.add(f"{where}: no portfolio line of {CAPITAL} is named {label!r}")
                continue
            portfolios.append(line)
            allocated = capital(ledger, "allocated", line.code) or 0
            problems.compare(
                where, f"{line.code} total-cost", line.total_cost_pence, pence(row["cost"], "000")
            )
            problems.compare(
                where,
                f"{line.code} specific-funding",
                line.specific_funding_pence,
                pence(row["funding"], "000"),
            )
            problems.compare(
                where, f"allocated:{line.code} (Net)", allocated, pence(row["net"], "000")
            )
            if running is None:
                problems.add(f"{where}: no opening Balance before the first allocation")
                continue
            running -= allocated
            problems.compare(
                where, "running Balance (derived)", running, pence(row["balance"], "000")
            )
        elif label.startswith("Total Proposed Allocations"):
            cost = sum(x.total_cost_pence or 0 for x in portfolios)
            funding = sum(x.specific_funding_pence or 0 for x in portfolios)
            net = sum(capital(ledger, "allocated", x.code) or 0 for x in portfolios)
            problems.compare(where, "sum of portfolio total-cost", cost, pence(row["cost"], "000"))
            problems.compare(
                where, "sum of portfolio specific-funding", funding, pence(row["funding"], "000")
            )
            problems.compare(where, "sum of portfolio allocations", net, pence(row["net"], "000"))
            problems.compare(
                where, "allocated total", capital(ledger, "allocated"), pence(row["net"], "000")
            )
            problems.expect(row["balance"] == "", where, "a Balance is printed on the totals row")
        elif label.startswith("Total Surplus"):
            balance = pence(row["balance"], "000")
            problems.compare(where, "unallocated", capital(ledger, "unallocated"), balance)
            problems.compare(where, "closing running Balance (derived)", running, balance)
        else:
            problems.add(f"{where}: row not understood")
    in_books = {x.code for x in ledger.lines(CAPITAL) if x.kind == "portfolio"}
    printed = {x.code for x in portfolios}
    problems.expect(printed == in_books, "portfolios", f"not in T2: {sorted(in_books - printed)}")
    problems.assert_none()


def test_annex2_funding(ledger: Ledger) -> None:
    """Each Annex 2 line is an award tranche; TOTAL FUNDING is derived as their sum."""
    problems = Problems(ANNEX2)
    tranches = []
    for row in read_table(ANNEX2):
        where = f"row {row['row_order']} {row['project']!r}"
        figure = pence(row["funding_available"], "000")
        if row["row_type"] == "line_item":
            tranche = ANNEX2_TRANCHES[row["ref"]]
            tranches.append(tranche)
            check_figure(
                problems,
                ledger,
                where,
                Awarded(CAPITAL, CAPITAL_PERIOD, tranche),
                figure,
                row["source_line"],
            )
        else:
            total = sum(capital(ledger, "awarded", t) or 0 for t in tranches)
            problems.compare(where, f"awarded {' + '.join(tranches)} (derived)", total, figure)
    problems.assert_none()


def test_annex3_proposed_allocations(ledger: Ledger) -> None:
    """Each scheme (by ref) records its cost and project-specific funding and is allocated its
    flexible funding; each portfolio subtotal and the grand total are derived from them."""
    problems = Problems(ANNEX3)
    schemes = {x.ref: x for x in ledger.lines(CAPITAL) if x.kind == "scheme"}
    printed_refs: set[str] = set()

    def allocated(line: Line) -> int:
        return capital(ledger, "allocated", line.code) or 0

    def optional(figure: str) -> int | None:
        return None if figure == "" else pence(figure, "000")

    for row in read_table(ANNEX3):
        kind = row["row_type"]
        where = f"row {row['row_order']} {row['ref']} {row['project']!r}"
        cost = pence(row["total_project_cost"] or "0", "000")
        specific = optional(row["project_specific_funding"])
        flexible = pence(row["flexible_funding_required"] or "0", "000")
        if kind == "portfolio_heading":
            continue
        if kind == "line_item":
            line = schemes.get(row["ref"])
            if line is None:
                problems.add(f"{where}: no scheme line has ref {row['ref']!r}")
                continue
            printed_refs.add(row["ref"])
            parent = ledger.parent(line)
            problems.expect(
                line.name == row["project"], where, f"{line.code} is named {line.name!r}"
            )
            problems.expect(
                parent is not None and row["portfolio_area"] in names_of(parent),
                where,
                f"{line.code} is under {parent.name if parent else None!r}",
            )
            problems.compare(where, f"{line.code} total-cost", line.total_cost_pence, cost)
            problems.compare(
                where, f"{line.code} specific-funding", line.specific_funding_pence, specific
            )
            problems.compare(
                where, f"allocated:{line.code} (flexible funding)", allocated(line), flexible
            )
            continue
        if kind == "subtotal":
            portfolio = ledger.line_named(CAPITAL, row["portfolio_area"], kind="portfolio")
            if portfolio is None:
                problems.add(f"{where}: no portfolio line is named {row['portfolio_area']!r}")
                continue
            children = [x for x in schemes.values() if x.parent_id == portfolio.id]
            problems.compare(
                where, f"{portfolio.code} total-cost", portfolio.total_cost_pence, cost
            )
            problems.compare(
                where,
                f"{portfolio.code} specific-funding",
                portfolio.specific_funding_pence,
                specific,
            )
            problems.compare(where, f"allocated:{portfolio.code}", allocated(portfolio), flexible)
        elif kind == "grand_total":
            children = list(schemes.values())
        else:
            problems.add(f"{where}: unknown row type {kind!r}")
            continue
        problems.compare(
            where, "sum of scheme total-cost", sum(x.total_cost_pence or 0 for x in children), cost
        )
        problems.compare(
            where,
            "sum of scheme specific-funding",
            sum(x.specific_funding_pence or 0 for x in children),
            specific,
        )
        problems.compare(
            where, "sum of scheme allocations", sum(allocated(x) for x in children), flexible
        )
    problems.expect(
        printed_refs == set(schemes),
        "schemes",
        f"not in Annex 3: {sorted(set(schemes) - printed_refs)}",
    )
    problems.assert_none()


T1_DISCREPANCIES = {
    "Capital Receipts & other resources": "B1",
    "Earmarked Reserves released for reallocation": "B2",
    "Total Estimated Funding Available": "B3",
    "Total Surplus(+)/Shortfall(-)": "B5",
    "Highways Maintenance (Annual Programme)": "B6",
}


def t1_id(row: dict[str, str]) -> str:
    if row["line_item"] in T1_DISCREPANCIES:
        return T1_DISCREPANCIES[row["line_item"]]
    agrees = "B7-agrees" if row["line_item"] == "Total Funding Requirement" else "agrees"
    return f"{agrees}-{short(row['source_line'])}"


T1_ROWS = [pytest.param(r, id=t1_id(r)) for r in read_table(T1_SUMMARY) if r["printed"]]


def t1_statement(ledger: Ledger, row: dict[str, str]) -> Statement:
    found = ledger.statements(
        "printed", CAPITAL, table_name="Capital summary", row_label=row["line_item"]
    )
    assert len(found) == 1, f"{len(found)} printed statements for T1 row {row['line_item']!r}"
    return found[0]


def test_summary_t1_every_figure_is_recorded_as_printed(ledger: Ledger) -> None:
    problems = Problems(T1_SUMMARY)
    for row in read_table(T1_SUMMARY):
        if not row["printed"]:
            continue  # headings
        where = f"row {row['row_order']} {row['line_item']!r} (printed {row['printed']})"
        found = ledger.statements(
            "printed", CAPITAL, table_name="Capital summary", row_label=row["line_item"]
        )
        if len(found) != 1:
            problems.add(f"{where}: {len(found)} `printed` statements, expected one")
            continue
        (s,) = found
        as_printed = s.printed if s.printed is not None else s.amount
        problems.expect(as_printed == row["printed"], where, f"recorded as printed {as_printed!r}")
        problems.expect(s.scale == "m", where, f"recorded in scale {s.scale!r}, not £m")
        problems.expect(
            Decimal(s.amount) == abs(Decimal(row["value_gbp_m"])),
            where,
            f"recorded amount {s.amount} (allocations are recorded positive)",
        )
        problems.expect(s.source == row["source_line"], where, f"cites {s.source}")
        p = parse_period(CAPITAL_PERIOD)
        problems.expect(
            (s.first_year, s.last_year) == (p.first.start, p.last.start), where, "wrong period"
        )
    problems.assert_none()


@pytest.mark.parametrize("row", T1_ROWS)
def test_summary_t1_check_reports_exactly_the_lines_that_do_not_add_up(
    ledger: Ledger, discrepancies: dict[tuple[str, int], str], row: dict[str, str]
) -> None:
    """A T1 line that does not round from the ledger (= the £'000 annex) is reported by the
    check (B1-B3, B5, B6); a line that does (e.g. B7 Total Funding Requirement) is not."""
    s = t1_statement(ledger, row)
    actual = capital(ledger, s.metric, s.target)
    assert actual is not None
    rounded = in_scale(actual, "m", places_of(s.amount))
    disagrees = rounded != Decimal(s.amount)
    expected = T1_DISCREPANCIES.get(row["line_item"])
    assert disagrees == (expected is not None), (
        f"T1 {row['line_item']!r}: printed {row['printed']}, ledger {rounded} (£m); "
        f"discrepancies.md lists it as {expected or 'agreeing'}"
    )
    message = discrepancies.get(location(s.origin or ""))
    if expected:
        assert message is not None, (
            f"{expected} ({row['line_item']!r}) is not reported by the check"
        )
        assert f"is {rounded:,} (£m), not {Decimal(s.amount):,} as printed" in message
    else:
        assert message is None, f"{row['line_item']!r} agrees but the check reports: {message}"


def test_summary_b4_receipts_and_reserves_disagree_with_annex2_total(ledger: Ledger) -> None:
    """B4: 40.5 + 12.1 = 52.6 (T1) against Annex 2 TOTAL FUNDING 52,135 (£'000): both sides
    are in the books, the printed one as statements, the annex one as the two tranches."""
    printed = [
        t1_statement(ledger, r)
        for r in read_table(T1_SUMMARY)
        if r["line_item"]
        in ("Capital Receipts & other resources", "Earmarked Reserves released for reallocation")
    ]
    printed_sum = sum(Decimal(s.amount) for s in printed)
    (annex_total,) = [r for r in read_table(ANNEX2) if r["row_type"] == "total"]
    ledger_sum = sum(capital(ledger, "awarded", s.target) or 0 for s in printed)
    assert ledger_sum == pence(annex_total["funding_available"], "000")
    assert in_scale(ledger_sum, "m", 1) != printed_sum, "B4 should show a difference"


# =========================================================================================
# 4. ESIF (000:807-839; 001:84-93, 115) and LGF / City Deal / Growth Deal
# =========================================================================================

ESIF_2017: dict[str, tuple[Rule, ...]] = {
    "The Business Support Programme": (
        Awarded(ESIF, Y2017, "BUSINESS-SUPPORT"),
        Allocated(ESIF, Y2017, "BUSINESS-SUPPORT"),
    ),
    "The Labour Market and Community Development Programme": (
        Awarded(ESIF, Y2017, "LABOUR-MARKET"),
        Allocated(ESIF, Y2017, "LABOUR-MARKET"),
    ),
    "The Rural Development Programme": (
        Awarded(ESIF, Y2017, "RURAL"),
        Allocated(ESIF, Y2017, "RURAL"),
    ),
    "Elevate (business start-up and support programme)": (Allocated(ESIF, Y2017, "ELEVATE"),),
    "Innovation Support for Business Programme": (Allocated(ESIF, Y2017, "INNOVATION"),),
    "OxFutures (low-carbon element of business support programme)": (
        Allocated(ESIF, Y2017, "OXFUTURES"),
    ),
    "projects supporting social enterprises and SMEs seeking finance": (
        Allocated(ESIF, Y2017, "SOCIAL-SME-FINANCE"),
    ),
    "Building Better Opportunities (three-year)": (Allocated(ESIF, Y2017, "BBO"),),
    "Back on Track (NEET)": (Allocated(ESIF, Y2017, "BACK-ON-TRACK"),),
    "Oxfordshire Community Grants Scheme": (Allocated(ESIF, Y2017, "COMMUNITY-GRANTS"),),
    "Business Development": (Allocated(ESIF, Y2017, "RURAL-BUSINESS"),),
    "Tourism": (Allocated(ESIF, Y2017, "RURAL-TOURISM"),),
    "Food processing": (Allocated(ESIF, Y2017, "RURAL-FOOD"),),
}
ESIF_MATCH = {
    "Elevate (business start-up and support programme)": WithMatch(ESIF, Y2017, "ELEVATE"),
    "Innovation Support for Business Programme": WithMatch(ESIF, Y2017, "INNOVATION"),
}


def _elevate_and_innovation(ledger: Ledger) -> int:
    return sum(ledger.value(ESIF, Y2017, "allocated", c) or 0 for c in ("ELEVATE", "INNOVATION"))


ESIF_2016: dict[str, Rule] = {
    "Oxfordshire ESIF allocation": Printed(ESIF, Y2017),
    "business support activities": Printed(ESIF, Y2017),
    "Innovation activities": Printed(ESIF, Y2017),
    "low carbon activities": Printed(ESIF, Y2017),
    "helping the long term unemployed to enter training and the labour market": Printed(
        ESIF, Y2017
    ),
    "young people NEET / preventing NEET": Printed(ESIF, Y2017),
    "Oxfordshire Community Grants Scheme": Printed(ESIF, Y2017),
    "business support programmes with Communities and Local Government": Derived(
        "allocated ELEVATE + INNOVATION (F7)", _elevate_and_innovation, "m", 1
    ),
}
# The 2016 figures that the 2017 paper contradicts (discrepancies.md F1, F5).
ESIF_DISAGREEING = {
    "Oxfordshire ESIF allocation": "F1",
    "Oxfordshire Community Grants Scheme": "F5",
}


def test_esif_amounts_are_the_books_awards_allocations_and_match(ledger: Ledger) -> None:
    problems = Problems(ESIF_TABLE)
    disagreeing: dict[str, str] = {}
    for row in read_table(ESIF_TABLE):
        name, source = row["name"], row["source"]
        where = f"{name!r} ({short(source)}, printed {row['amount_printed']})"
        figure = pence(row["amount_gbp"])
        if row["document"].startswith("2016"):
            rule = ESIF_2016.get(name)
            if rule is None:
                problems.add(f"{where}: no rule says how the books record this figure")
                continue
            check_figure(problems, ledger, where, rule, figure, source)
            statement = rule.statement(ledger, source) if isinstance(rule, Printed) else None
            if statement is not None:
                actual = ledger.value(ESIF, Y2017, statement.metric, statement.target)
                assert actual is not None
                if in_scale(actual, statement.scale, places_of(statement.amount)) != Decimal(
                    statement.amount
                ):
                    disagreeing[name] = row["amount_printed"]
            continue
        rules = ESIF_2017.get(name)
        if rules is None:
            problems.add(f"{where}: no rule says how the books record this figure")
            continue
        for rule in rules:
            check_figure(problems, ledger, where, rule, figure, source)
        if row["with_match_gbp"]:
            check_figure(
                problems,
                ledger,
                where + " with match",
                ESIF_MATCH[name],
                pence(row["with_match_gbp"]),
                source,
            )
        elif isinstance(rules[-1], Allocated):
            matched = ledger.matched(ESIF, rules[-1].line)
            problems.expect(not matched, where, f"no match is printed but {len(matched)} recorded")
    problems.expect(
        set(disagreeing) == set(ESIF_DISAGREEING),
        "2016 figures",
        f"disagreeing with the ledger: {disagreeing}, expected {ESIF_DISAGREEING}",
    )
    problems.assert_none()


def esif_line(ledger: Ledger, name: str) -> Line:
    """The line a 2017 ESIF row is allocated to (the last rule of its ESIF_2017 entry)."""
    rule = ESIF_2017[name][-1]
    assert isinstance(rule, Allocated)
    return ledger.line(ESIF, rule.line)


def test_esif_programme_remainders_stay_unallocated(ledger: Ledger) -> None:
    """F2-F4: the named projects do not add up to their programme; the remainder, derived
    here from the table, is left unallocated in the programme line."""
    problems = Problems(ESIF_TABLE)
    programmes: dict[str, tuple[str, int]] = {}
    named: dict[str, int] = {}
    for row in read_table(ESIF_TABLE):
        if row["document"].startswith("2016"):
            continue
        line = esif_line(ledger, row["name"])
        if row["level"] == "headline programme":
            programmes[line.code] = (row["name"], pence(row["amount_gbp"]))
            continue
        parent = ledger.parent(line)
        assert parent is not None, f"{line.code} has no programme"
        named[parent.code] = named.get(parent.code, 0) + pence(row["amount_gbp"])
    for code, (name, amount) in programmes.items():
        problems.compare(
            name,
            f"unallocated:{code} (programme less its named projects)",
            ledger.value(ESIF, Y2017, "unallocated", code),
            amount - named.get(code, 0),
        )
    problems.assert_none()


# LGF / City Deal / Growth Deal / capital forecasts, keyed by (source, amount_printed).
GROWTH_RULES: dict[tuple[str, str], Rule] = {
    (S000 + "791", "£24.16 million"): Awarded("LGF3", Y2017),
    (S000 + "791", "£174 million"): Awarded("CITY-DEAL-LGF", Y2017),
    (S001 + "121", "£1.5m"): Allocated("CITY-DEAL-LGF", Y2017, "CITY-DEAL-SKILLS"),
    (S001 + "123", "£9m"): Allocated("CITY-DEAL-LGF", Y2017, "SKILLS-CAPITAL"),
    (S002 + "780", "£215m"): Printed(GROWTH_DEAL),
    (S002 + "899", "£125 million"): Printed(GROWTH_DEAL),
    (S002 + "1418", "£215m"): Awarded(GROWTH_DEAL, "2018-19:2022-23"),
    (S002 + "1418", "£60m"): Allocated(GROWTH_DEAL, "2018-19:2022-23", "AFFORDABLE-HOUSING"),
    (S002 + "1418", "£150m"): Allocated(GROWTH_DEAL, "2018-19:2022-23", "INFRASTRUCTURE"),
    (S002 + "1480", "£215 million"): Printed(GROWTH_DEAL),
    (S002 + "1498", "£215 million"): Printed(GROWTH_DEAL),
    (S002 + "1565", "£215 million"): Printed(GROWTH_DEAL),
    (S002 + "379", "£14.0m"): Derived(
        "Change of BASIC-NEED (grants)", change_of("grants", "BASIC-NEED"), "m", 1
    ),
    (S002 + "379", "£13.8m"): Derived(
        "Change of CAPITAL-MAINT (grants)", change_of("grants", "CAPITAL-MAINT"), "m", 1
    ),
    (S002 + "379", "£125.4m"): Derived(
        "Change of ITB + STRUCTURAL-MAINT + INCENTIVE + POTHOLE (grants)",
        change_of("grants", "ITB", "STRUCTURAL-MAINT", "INCENTIVE", "POTHOLE"),
        "m",
        1,
    ),
    (S002 + "381", "£45m"): Printed(CAPITAL),
}
_NOT_MONEY = "not money of any stream, so the books keep it as a comment only"
GROWTH_NOT_RECORDED = {
    (S000 + "793", "£2bn"): f"'existing c£2bn growth programme': {_NOT_MONEY} (growth.grants:17)",
    (S001 + "71", "£382m"): f"2016 LGF bid: {_NOT_MONEY} (growth.grants:15-16)",
    (S001 + "69", "£6.2bn"): f"devolution ambition: {_NOT_MONEY} (growth.grants:18)",
    (S001 + "95", "£31m"): f"SEEIP pipeline, not funded: {_NOT_MONEY} (growth.grants:19-21)",
    (S001 + "103", "£44m"): f"CCHT pipeline, not funded: {_NOT_MONEY} (growth.grants:19-21)",
    (S002 + "1430", "£171m"): f"HIF bid, outcome unknown: {_NOT_MONEY} (growth.grants:22-24)",
    (S002 + "1430", "£70m"): f"HIF bid option 'up to £70m': {_NOT_MONEY} (growth.grants:22-24)",
    (S002 + "1431", "£135.4m"): f"HIF bid, outcome unknown: {_NOT_MONEY} (growth.grants:22-24)",
    (S002 + "1432", "£152m"): f"HIF bid, outcome unknown: {_NOT_MONEY} (growth.grants:22-24)",
    (S003 + "186", "£9M"): (
        "LAA1 reward grant (2009): the books do not transcribe seed 003 at all "
        "(main.grants:2-6 lists 000, 001, 002 and 004 only)"
    ),
    (S003 + "749", "£50K"): (
        "Skills for Growth bid (2009): the books do not transcribe seed 003 at all "
        "(main.grants:2-6 lists 000, 001, 002 and 004 only)"
    ),
}


def test_growth_amounts_recorded_by_the_books_equal_the_table(ledger: Ledger) -> None:
    problems = Problems(GROWTH_TABLE)
    for row in read_table(GROWTH_TABLE):
        key = (row["source"], row["amount_printed"])
        where = (
            f"{row['stream']}: {row['item']!r} ({short(row['source'])}, {row['amount_printed']})"
        )
        if key in GROWTH_NOT_RECORDED:
            continue
        if key not in GROWTH_RULES:
            problems.add(f"{where}: no rule says how the books record this figure")
            continue
        check_figure(
            problems, ledger, where, GROWTH_RULES[key], pence(row["amount_gbp"]), row["source"]
        )
    problems.assert_none()


def test_growth_deal_e1_the_unexplained_5m_stays_unallocated(ledger: Ledger) -> None:
    """E1: '£215m ... £60m for affordable housing and £150m for infrastructure'."""
    figures = {
        r["amount_printed"]: pence(r["amount_gbp"])
        for r in read_table(GROWTH_TABLE)
        if r["source"] == S002 + "1418"
    }
    remainder = figures["£215m"] - figures["£60m"] - figures["£150m"]
    assert ledger.value(GROWTH_DEAL, "2018-19:2022-23", "unallocated") == remainder


# =========================================================================================
# Disagreements in the seeds: reported by the checks, never fixed
# =========================================================================================

# discrepancies.md ID -> (stream, source of the `printed` statement that carries it)
REPORTED = {
    "A5": (PCC, S000 + "431"),
    "B1": (CAPITAL, S002 + "387"),
    "B2": (CAPITAL, S002 + "388"),
    "B3": (CAPITAL, S002 + "389"),
    "B5": (CAPITAL, S002 + "403"),
    "B6": (CAPITAL, S002 + "394"),
    "E2": (GROWTH_DEAL, S002 + "899"),
    "F1": (ESIF, S001 + "84"),
    "F5": (ESIF, S001 + "93"),
}


def printed_statement(ledger: Ledger, stream: str, source: str) -> Statement:
    found = ledger.statements("printed", stream, source=source)
    assert len(found) == 1, f"{len(found)} printed statements of {stream} cite {source}"
    return found[0]


@pytest.mark.parametrize(("stream", "source"), list(REPORTED.values()), ids=list(REPORTED))
def test_check_reports_the_discrepancy(
    ledger: Ledger, discrepancies: dict[tuple[str, int], str], stream: str, source: str
) -> None:
    """The figure is recorded as printed, and the check reports it with the ledger's figure
    and the difference."""
    s = printed_statement(ledger, stream, source)
    message = discrepancies.get(location(s.origin or ""))
    assert message is not None, f"{stream} {source} ({s.amount} {s.scale}) is not reported"
    assert f"not {Decimal(s.amount):,} as printed" in message
    assert "(difference " in message


def test_check_reports_no_other_discrepancy(
    ledger: Ledger, discrepancies: dict[tuple[str, int], str]
) -> None:
    """Every printed figure that agrees with the ledger (B7, the £215m, ...) is silent."""
    expected = {
        location(printed_statement(ledger, stream, source).origin or "")
        for stream, source in REPORTED.values()
    }
    extra = {k: v for k, v in discrepancies.items() if k not in expected}
    assert not extra, f"unexpected discrepancies: {extra}"
    b7 = [r for r in read_table(T1_SUMMARY) if r["line_item"] == "Total Funding Requirement"]
    assert location(t1_statement(ledger, b7[0]).origin or "") not in discrepancies


def test_load_reports_the_same_discrepancies_as_check(grants: Grants) -> None:
    """`grants ledger load` (into an empty database) succeeds and lists every discrepancy
    that `grants ledger check` finds."""
    result = grants("ledger", "load", str(BOOKS))
    assert result.exit_code == 0, result.output
    loaded = {line for line in result.output.splitlines() if ": discrepancy: " in line}
    check = grants("ledger", "check", str(BOOKS), "--json")
    assert check.exit_code == 0, check.output
    checked = {
        f"{w['file']}:{w['line']}: discrepancy: {w['message']}"
        for w in json.loads(check.output)["warnings"]
        if w["severity"] == "discrepancy"
    }
    assert loaded == checked
    assert len(checked) == len(REPORTED)
