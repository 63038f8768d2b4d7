"""Model-based test of the journal.

Random sequences of award / allocate / pay / pass on / clawback / virement / reverse are
applied both
to the database (through the same Journal the commands and the books loader use) and to a
plain model written from the rules in words, not from the postings. After every step the
database must agree with the model: the same entries accepted and refused, every balance
equal to the sum of its entries, money conserved, and children within their parents.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from grants.db.engine import make_session_factory
from grants.errors import RuleError
from grants.periods import parse_period
from grants.services.balances import Balances
from grants.services.journal import Journal
from tests.helpers import entry, load_text, reversal

STEPS = 50
EXAMPLES = {"sqlite": 500, "postgresql": int(os.environ.get("GRANTS_MODEL_PG_EXAMPLES", "100"))}

PARENT = {"A": None, "B": None, "A1": "A", "A2": "A", "A1X": "A1"}
LINES = list(PARENT)
YEARS = ["2017-18", "2018-19"]

BOOKS = """\
2017-04-01 stream FUND "A fund"
2017-04-01 line FUND A "A"
2017-04-01 line FUND B "B"
2017-04-01 line FUND A1 "A1"
  parent: A
2017-04-01 line FUND A2 "A2"
  parent: A
2017-04-01 line FUND A1X "A1X"
  parent: A1
"""

amounts = st.integers(min_value=1, max_value=50_000)  # pence
years = st.sampled_from(YEARS)
lines = st.sampled_from(LINES)
steps = st.one_of(
    st.tuples(st.just("award"), years, amounts),
    st.tuples(st.just("allocate"), years, lines, amounts, st.sampled_from([False] * 9 + [True])),
    st.tuples(st.just("pay"), years, lines, amounts),
    st.tuples(st.just("pass"), years, lines, amounts),  # paid on by the parent's recipient
    st.tuples(st.just("clawback"), years, lines, amounts),
    st.tuples(st.just("virement"), years, lines, lines, amounts),
    st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=10**6)),
)


@dataclass
class Model:
    """What the rules say should happen, in terms of what an officer sees."""

    awarded: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    allocated: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    paid: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    passed_on: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    # entry ref -> (effects to undo it, is_reversal, reversed already)
    entries: list[dict[str, object]] = field(default_factory=list)

    def children(self, line: str | None) -> list[str]:
        return [c for c, p in PARENT.items() if p == line]

    def unallocated(self, year: str) -> int:
        return self.awarded[year] - sum(self.allocated[(year, c)] for c in self.children(None))

    def available(self, year: str, line: str) -> int:
        """What is left of a line's allocation once its children's are taken from it."""
        passed = sum(self.allocated[(year, c)] for c in self.children(line))
        return self.allocated[(year, line)] - passed

    def branch_paid(self, year: str, line: str) -> int:
        """What reached the line and the lines beneath it from outside them: paid to each
        less what each passed on to its own children."""
        own = self.paid[(year, line)] - self.passed_on[(year, line)]
        return own + sum(self.branch_paid(year, c) for c in self.children(line))

    def unpaid(self, year: str, line: str) -> int:
        """What is left to pay of a line's allocation, to it or beneath it."""
        return self.allocated[(year, line)] - self.branch_paid(year, line)

    def held(self, year: str, line: str) -> int:
        """What the line's recipient was paid and has not passed on."""
        return self.paid[(year, line)] - self.passed_on[(year, line)]

    def above(self, line: str) -> list[str]:
        """The line and every line above it."""
        out: list[str] = []
        at: str | None = line
        while at is not None:
            out.append(at)
            at = PARENT[at]
        return out

    def source_left(self, year: str, line: str) -> int:
        parent = PARENT[line]
        return self.unallocated(year) if parent is None else self.available(year, parent)

    def expect(self, step: tuple[object, ...]) -> list[tuple[str, str, str | None, int]] | None:
        """The effects of a step, or None if the rules refuse it."""
        kind = step[0]
        if kind == "award":
            _, year, a = step
            return [("awarded", year, None, a)]  # type: ignore[list-item]
        if kind == "allocate":
            _, year, line, a, over = step
            if a > self.source_left(year, line) and not over:  # type: ignore[operator, arg-type]
                return None
            return [("allocated", year, line, a)]  # type: ignore[list-item]
        if kind == "pay":
            _, year, line, a = step
            if any(a > self.unpaid(year, x) for x in self.above(line)):  # type: ignore[arg-type, operator]
                return None
            return [("paid", year, line, a)]  # type: ignore[list-item]
        if kind == "pass":
            _, year, line, a = step
            parent = PARENT[line]  # type: ignore[index]
            if parent is None or a > self.held(year, parent) or a > self.unpaid(year, line):  # type: ignore[arg-type, operator]
                return None
            return [("paid", year, line, a), ("passed_on", year, parent, a)]  # type: ignore[list-item]
        if kind == "clawback":
            _, year, line, a = step
            if a > self.held(year, line) or a > self.available(year, line):  # type: ignore[arg-type, operator]
                return None
            return [("paid", year, line, -a), ("allocated", year, line, -a)]  # type: ignore[list-item, operator]
        if kind == "virement":
            _, year, frm, to, a = step
            if frm == to or PARENT[frm] != PARENT[to]:  # type: ignore[index]
                return None
            if a > self.available(year, frm) or a > self.unpaid(year, frm):  # type: ignore[arg-type, operator]
                return None
            return [("allocated", year, frm, -a), ("allocated", year, to, a)]  # type: ignore[list-item, operator]
        raise AssertionError(kind)

    def apply(self, effects: list[tuple[str, str, str | None, int]]) -> None:
        for what, year, line, a in effects:
            if what == "awarded":
                self.awarded[year] += a
            elif what == "allocated":
                self.allocated[(year, line)] += a  # type: ignore[index]
            elif what == "passed_on":
                self.passed_on[(year, line)] += a  # type: ignore[index]
            else:
                self.paid[(year, line)] += a  # type: ignore[index]

    def limits(self) -> dict[tuple[str, str, str | None], int]:
        """Every quantity the rules keep from going below zero."""
        out: dict[tuple[str, str, str | None], int] = {}
        for year in YEARS:
            out[("unallocated", year, None)] = self.unallocated(year)
            for line in LINES:
                out[("available", year, line)] = self.available(year, line)
                out[("unpaid", year, line)] = self.unpaid(year, line)
                out[("held", year, line)] = self.held(year, line)
                out[("paid", year, line)] = self.paid[(year, line)]
        return out

    def reversal_allowed(self, effects: list[tuple[str, str, str | None, int]]) -> bool:
        """A reversal is refused if it takes a limit below zero, or further below zero."""
        trial = Model(
            defaultdict(int, self.awarded),
            defaultdict(int, self.allocated),
            defaultdict(int, self.paid),
            defaultdict(int, self.passed_on),
        )
        trial.apply([(w, y, line, -a) for w, y, line, a in effects])
        before, after = self.limits(), trial.limits()
        return all(after[k] >= 0 or after[k] >= before[k] for k in after)


@pytest.fixture
def fund_engine(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    with make_session_factory(engine)() as session, session.begin():
        load_text(session, tmp_path, BOOKS)
    yield engine


def check_against_model(session: Session, model: Model) -> None:
    balances = Balances(session, "FUND")
    for year in YEARS:
        period = parse_period(year)
        awarded = balances.value("FUND", period, "awarded", None)
        allocated = balances.value("FUND", period, "allocated", None)
        unallocated = balances.value("FUND", period, "unallocated", None)
        assert awarded == model.awarded[year]
        assert unallocated == model.unallocated(year)
        assert awarded == unallocated + allocated  # type: ignore[operator]  # money is conserved
        paid = sum(model.branch_paid(year, top) for top in model.children(None))
        assert balances.value("FUND", period, "paid", None) == paid  # nothing counted twice
        for line in LINES:
            assert (
                balances.value("FUND", period, "allocated", line) == model.allocated[(year, line)]
            )
            # A line's paid is its branch's: its own and every line's beneath it, money
            # passed on from a parent to a child counted once.
            assert balances.value("FUND", period, "paid", line) == model.branch_paid(year, line)
            if model.children(line):
                passed = sum(model.allocated[(year, c)] for c in model.children(line))
                assert balances.value("FUND", period, "unallocated", line) == (
                    model.allocated[(year, line)] - passed
                )
    # Every entry balances, and so does the whole journal.
    assert session.execute(
        text("SELECT COUNT(*) FROM (SELECT entry_id FROM posting GROUP BY entry_id "
             "HAVING SUM(amount_pence) <> 0) unbalanced")
    ).scalar() == 0  # fmt: skip


def run_sequence(engine: Engine, sequence: list[tuple[object, ...]]) -> None:
    model = Model()
    over_used = False
    with make_session_factory(engine)() as session:
        session.begin()
        try:
            journal = Journal(session)
            for step in sequence:
                if step[0] == "reverse":
                    live = [e for e in model.entries if not e["reversal"]]
                    if not live:
                        continue
                    target = live[step[1] % len(live)]  # type: ignore[operator]
                    allowed = not target["reversed"] and model.reversal_allowed(target["effects"])  # type: ignore[arg-type]
                    item = reversal(str(target["id"]))
                    effects = [(w, y, line, -a) for w, y, line, a in target["effects"]]  # type: ignore[attr-defined]
                else:
                    effects = model.expect(step)
                    allowed = effects is not None
                    if step[0] == "virement":
                        _, year, frm, to, amount = step
                        item = entry("virement", f"{amount / 100:.2f}", frm, year=year, to_line=to)  # type: ignore[arg-type, operator, str-bytes-safe]
                    elif step[0] == "award":
                        item = entry("award", f"{step[2] / 100:.2f}", year=step[1])  # type: ignore[operator, arg-type]
                    elif step[0] == "allocate":
                        _, year, line, amount, over = step
                        over_used = over_used or bool(over)
                        item = entry(
                            "allocate", f"{amount / 100:.2f}", line, year=year, over=bool(over)
                        )  # type: ignore[arg-type, operator]
                    elif step[0] == "pass":
                        _, year, line, amount = step
                        parent = PARENT[line] or line  # type: ignore[index]  # none: refused
                        item = entry("pay", f"{amount / 100:.2f}", line, year=year, to_line=parent)  # type: ignore[arg-type, operator, str-bytes-safe]
                    else:
                        _, year, line, amount = step
                        item = entry(step[0], f"{amount / 100:.2f}", line, year=year)  # type: ignore[arg-type, operator]
                try:
                    result = journal.record([item])
                except RuleError:
                    assert not allowed, f"refused, but the rules allow it: {step}"
                else:
                    assert allowed, f"accepted, but the rules refuse it: {step}"
                    assert effects is not None
                    model.apply(effects)
                    if step[0] == "reverse":
                        target["reversed"] = True
                    model.entries.append(
                        {
                            "id": result.entry_ids[0],
                            "effects": effects,
                            "reversal": step[0] == "reverse",
                            "reversed": False,
                        }
                    )
                check_against_model(session, model)
                if not over_used:
                    for year in YEARS:
                        assert model.unallocated(year) >= 0
                        for line in LINES:
                            assert model.available(year, line) >= 0
                            assert model.unpaid(year, line) >= 0
                            assert model.held(year, line) >= 0
        finally:
            session.rollback()


def test_journal_matches_the_model(fund_engine: Engine) -> None:
    examples = EXAMPLES[fund_engine.dialect.name]

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(st.lists(steps, min_size=STEPS, max_size=STEPS))
    def sequences(sequence: list[tuple[object, ...]]) -> None:
        run_sequence(fund_engine, sequence)

    sequences()
