"""A synthetic capital programme of any size, for the capital workbook's benchmark.

``schemes`` schemes in portfolios of 100 over ten years, in two versions (current and
proposed, the proposed one changed in a third of its cells), with an allocation entry for
every scheme and portfolio. ``database(root, schemes)`` builds it into a SQLite file.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from grants.config import default_actor
from grants.db.engine import make_engine, make_session_factory
from grants.db.migrate import upgrade
from grants.ledger.loader import load
from grants.periods import FinancialYear, Period
from grants.services import people
from grants.services.journal import Journal, NewEntry
from grants.services.rules import Operation

PER_PORTFOLIO = 100
YEARS = [2018 + i for i in range(10)]
PERIOD = Period(FinancialYear(YEARS[0]), FinancialYear(YEARS[-1]))


def amount(scheme: int, year: int, version: int) -> int:
    """A whole number of pounds for a scheme, year and version (the proposed version differs
    from the current one in some years, so that changes are marked)."""
    base = 1000 + (scheme * 7919 + year * 104729) % 50_000
    return base + (500 if version == 1 and (scheme + year) % 3 == 0 else 0)


def books_text(schemes: int) -> str:
    lines = [
        '2017-04-01 org HMG "Government"\n  role: funder\n',
        '2017-04-01 stream CAP "Synthetic capital programme"\n  kind: capital-grant\n'
        "  funder: HMG\n",
        '2017-04-01 programme CAP current "Current programme"\n',
        '2017-04-01 programme CAP proposed "Proposed programme"\n  compare: current\n',
    ]
    for p in range(schemes // PER_PORTFOLIO):
        lines.append(f'2017-04-01 line CAP P{p:05d} "Portfolio {p}"\n  kind: portfolio\n')
    for s in range(schemes):
        p = s // PER_PORTFOLIO
        lines.append(
            f'2017-04-01 line CAP S{s:06d} "Scheme {s} of portfolio {p}"\n  parent: P{p:05d}\n'
            f'  kind: scheme\n  ref: "{s + 1})"\n  total-cost: {amount(s, 0, 0) * 10}\n'
            f"  specific-funding: {amount(s, 1, 0)}\n"
        )
    for version, name in enumerate(("current", "proposed")):
        for s in range(schemes):
            years = "".join(
                f"  {FinancialYear(y).render('/')}: {amount(s, y, version)}\n" for y in YEARS
            )
            lines.append(
                f'2017-04-01 profile CAP {name} grants S{s:06d} "Scheme {s}"\n'
                f'  section: "Portfolio {s // PER_PORTFOLIO}"\n{years}'
            )
    return "\n".join(lines)


def entries(schemes: int) -> list[NewEntry]:
    now = datetime(2018, 1, 1, 12, 0, 0)
    flexible = [amount(s, 0, 0) * 10 - amount(s, 1, 0) for s in range(schemes)]
    out = [NewEntry(Operation("award", "CAP", PERIOD, sum(flexible) * 100 + 10**9), date(2017, 12, 12),
                    "benchmark", now, key="award")]  # fmt: skip
    for p in range(schemes // PER_PORTFOLIO):
        portfolio = range(p * PER_PORTFOLIO, (p + 1) * PER_PORTFOLIO)
        total = sum(flexible[s] for s in portfolio) * 100
        op = Operation("allocate", "CAP", PERIOD, total, line=f"P{p:05d}")
        out.append(NewEntry(op, date(2017, 12, 12), "benchmark", now, key=f"p{p}"))
        for s in portfolio:
            op = Operation("allocate", "CAP", PERIOD, flexible[s] * 100, line=f"S{s:06d}")
            out.append(NewEntry(op, date(2017, 12, 12), "benchmark", now, key=f"s{s}"))
    return out


def database(root: Path, schemes: int) -> Path:
    """The programme loaded into ``root/capital.db``, its first person the operating-system
    user (as `grants db upgrade` makes them), who runs the report."""
    books = root / "capital.grants"
    books.write_text(books_text(schemes), encoding="utf-8")
    path = root / "capital.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with make_session_factory(engine)() as session, session.begin():
        load(session, books, "benchmark")
    with make_session_factory(engine)() as session, session.begin():
        Journal(session).record(entries(schemes))
    with make_session_factory(engine)() as session, session.begin():
        people.bootstrap(session, default_actor(os_only=True))
    engine.dispose()
    return path
