"""Growth-fund projects in the books: the output indicator catalogue, each project's
quarterly spend profile, its quarterly claims, its output targets and the outputs achieved.

    2014-01-01 indicator C1 "Number of enterprises receiving support"
      fund: erdf
      unit: enterprises
      definition: "..."
    2017-04-01 spend-profile ESIF ELEVATE 2017-18 q2 120,000
    2017-10-20 project-claim ESIF ELEVATE 2017-18 q2
      eligible: 110,000
      grant: 55,000
      match: 55,000
      match-form: cash
    2017-04-01 output-target ESIF ELEVATE C1 250
    2017-10-20 output ESIF ELEVATE 2017-18 q2 C1 40

Validated here without a database (a quarter is q1..q4 of a financial year, q1 April to June;
a claim is dated after its quarter ends), written by ``write`` before the journal (so that
the journal's arrears rule, grants.services.arrears, sees the claims of the same books), and
exported by ``printers``. A record already held with the same content is not recorded again.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from grants.db.models import (
    Indicator,
    Line,
    OutputActual,
    OutputTarget,
    ProjectClaim,
    SpendProfile,
    Stream,
)
from grants.formatting import gbp
from grants.ledger.parser import Directive
from grants.money import from_pence
from grants.periods import FinancialYear
from grants.services.growth import grant_cap, quarter_end

if TYPE_CHECKING:
    from grants.ledger.validate import Books
    from grants.ledger.write import Writer

KEYWORDS = ("indicator", "spend-profile", "project-claim", "output-target", "output")
FUNDS = ("erdf", "esf", "eafrd", "esif", "lgf", "city-deal", "growth-deal", "pcc-csf", "other")
MATCH_SPENT = ("cash", "in-kind")
MAX_VALUE_X100 = 10**14  # an output figure below a trillion, in hundredths
ARITY = {"indicator": 2, "spend-profile": 5, "project-claim": 4, "output-target": 4, "output": 6}
USAGE = {
    "indicator": 'DATE indicator CODE "Name"',
    "spend-profile": "DATE spend-profile STREAM PROJECT YEAR QUARTER AMOUNT",
    "project-claim": "DATE project-claim STREAM PROJECT YEAR QUARTER",
    "output-target": "DATE output-target STREAM PROJECT INDICATOR VALUE",
    "output": "DATE output STREAM PROJECT YEAR QUARTER INDICATOR VALUE",
}
COMMON = {"source", "note", "origin"}
META = {
    "indicator": COMMON | {"fund", "unit", "definition"},
    "spend-profile": COMMON,
    "project-claim": COMMON | {"eligible", "grant", "match", "match-form", "evidence"},
    "output-target": COMMON,
    "output": COMMON,
}
NAME_ARGS = {"indicator": 1}
TABLES = {
    "indicator": Indicator,
    "spend-profile": SpendProfile,
    "project-claim": ProjectClaim,
    "output-target": OutputTarget,
    "output": OutputActual,
}


# A count, or full-time equivalents to two places: ASCII digits, commas only between groups
# of three, no sign, no exponent, no underscores; short enough to stay within the bound.
FIGURE = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,15})(?:\.[0-9]{1,2})?")


def value_x100(text: str) -> int:
    """An output figure (a count, or FTE to two places) in hundredths; ValueError if not."""
    if len(text) > 24 or not FIGURE.fullmatch(text):
        raise ValueError(
            f"{text!r} is not an output figure: a number of at least 0 with at most two "
            "decimal places, such as 40, 1,250 or 2.5"
        )
    scaled = int(Decimal(text.replace(",", "")) * 100)
    if scaled >= MAX_VALUE_X100:
        raise ValueError(f"{text!r} is too large for an output figure")
    return scaled


def value_text(x100: int) -> str:
    """An output figure as the books write it: 40, 2.5."""
    return f"{(Decimal(x100) / 100).normalize():f}"


def _quarter(b: Books, d: Directive, year_text: str, quarter_text: str) -> tuple[int, int] | None:
    year = b.year(d, year_text)
    if quarter_text not in ("q1", "q2", "q3", "q4"):
        b.error(d, f"{quarter_text!r} is not a quarter: write q1 (April to June), q2, q3 or q4")
        return None
    return None if year is None else (year, int(quarter_text[1]))


def _figure(b: Books, d: Directive, text: str) -> int | None:
    try:
        return value_x100(text)
    except ValueError as exc:
        b.error(d, str(exc))
        return None


def validate(b: Books, d: Directive) -> None:
    """Validate one growth directive into ``b.growth``."""
    rec: dict[str, Any] = {"keyword": d.keyword}
    if d.keyword == "indicator":
        code = b.code(d, d.args[0], "indicator")
        fund = b.choice(d, "fund", FUNDS, "")
        missing = [k for k in ("fund", "unit", "definition") if not d.meta.get(k, "").strip()]
        if missing:
            b.error(d, f"an indicator needs {', '.join(f'`{k}:`' for k in missing)} (its "
                    "fund, the unit it counts in and its published definition)")  # fmt: skip
            return
        unit = d.meta["unit"].strip()
        if len(unit) > 40:
            b.error(d, "unit: at most 40 characters", "unit")
            return
        if code and fund in FUNDS:
            rec |= {"code": code, "name": d.args[1], "fund": fund, "unit": unit,
                    "definition": d.meta["definition"]}  # fmt: skip
            b.growth.append((d, rec))
        return
    rec |= {"stream": d.args[0], "line": d.args[1]}
    if d.keyword == "output-target":
        code = b.code(d, d.args[2], "indicator")
        value = _figure(b, d, d.args[3])
        if code and value is not None:
            b.growth.append((d, rec | {"indicator": code, "value_x100": value}))
        return
    when = _quarter(b, d, d.args[2], d.args[3])
    if when is None:
        return
    rec |= {"year": when[0], "quarter": when[1]}
    if d.keyword == "spend-profile":
        pence = b.amount(d, d.args[4])
        if pence is not None and pence < 0:
            b.error(d, f"a forecast cannot be negative ({d.args[4]})")
        elif pence is not None:
            b.growth.append((d, rec | {"amount_pence": pence}))
    elif d.keyword == "output":
        code = b.code(d, d.args[4], "indicator")
        value = _figure(b, d, d.args[5])
        if code and value is not None:
            b.growth.append((d, rec | {"indicator": code, "value_x100": value}))
    else:
        _claim(b, d, rec)


def _claim(b: Books, d: Directive, rec: dict[str, Any]) -> None:
    ends = quarter_end(rec["year"], rec["quarter"])
    if d.day <= ends:
        after = ends + timedelta(days=1)
        b.error(d, f"a claim for {FinancialYear(rec['year'])} q{rec['quarter']} is made in "
                f"arrears, after the quarter ends on {ends}: date it {after} or later")  # fmt: skip
        return
    for key in ("eligible", "grant"):
        if key not in d.meta:
            b.error(d, f"a project claim needs `{key}:` (eligible: the eligible expenditure "
                    "incurred in the quarter; grant: the grant claimed)")  # fmt: skip
            return
    eligible = b.amount(d, d.meta["eligible"], "eligible")
    grant = b.amount(d, d.meta["grant"], "grant")
    match = b.amount(d, d.meta.get("match", "0"), "match")
    if eligible is None or grant is None or match is None:
        return
    for key, pence in (("eligible", eligible), ("grant", grant), ("match", match)):
        if pence < 0:
            b.error(d, f"{key}: {d.meta[key]} is negative", key)
            return
    if grant > eligible:
        b.error(d, f"grant {gbp(from_pence(grant))} is more than the eligible expenditure "
                f"{gbp(from_pence(eligible))}: a claim's grant pays for spend incurred",
                "grant")  # fmt: skip
        return
    form = d.meta.get("match-form")
    if match and form not in MATCH_SPENT:
        b.error(
            d, "match spent needs `match-form:` cash or in-kind", "match-form" if form else None
        )
        return
    if not match and form is not None:
        b.error(d, "match-form: given without `match:` spent", "match-form")
        return
    b.growth.append((d, rec | {"eligible_pence": eligible, "grant_pence": grant,
                               "match_pence": match, "match_form": form,
                               "evidence": d.meta.get("evidence")}))  # fmt: skip


def _content(row: Any, columns: list[str]) -> tuple[Any, ...]:
    return tuple(getattr(row, c) for c in columns)


def write(w: Writer) -> None:
    """Record the growth directives not already held, each checked against the ledger."""
    records = getattr(w.books, "growth", [])
    if not records:
        return
    s = w.s
    kinds = dict(s.execute(select(Line.id, Line.kind)).all())
    rates = dict(s.execute(select(Stream.code, Stream.intervention_bp)).all())
    catalogue = set(s.scalars(select(Indicator.code)))
    catalogue |= {rec["code"] for _, rec in records if rec["keyword"] == "indicator"}
    held: dict[str, set[tuple[Any, ...]]] = {}
    claims = {(c.line_id, c.year, c.quarter): c for c in s.scalars(select(ProjectClaim))}
    for d, rec in records:
        model = TABLES[rec["keyword"]]
        values = {k: v for k, v in rec.items() if k not in ("keyword", "stream", "line")}
        if "line" in rec:
            if w.stream(d, rec["stream"]) is None:
                continue
            line_id = w.lines.get((rec["stream"], rec["line"]))
            if line_id is None or kinds.get(line_id) != "project":
                w.error(d, f"{rec['stream']} {rec['line']} is not a project: growth profiles, "
                        "claims and outputs are for a line of kind project (declare it with "
                        "`line ... kind: project`)")  # fmt: skip
                continue
            values["line_id"] = line_id
        if "indicator" in values and values["indicator"] not in catalogue:
            w.error(d, f"indicator {values['indicator']!r} is not in the catalogue: declare it "
                    "with `indicator` (`grants indicators` lists the catalogue)")  # fmt: skip
            continue
        if rec["keyword"] == "project-claim" and not _claim_fits(w, d, rec, values, rates, claims):
            continue
        values |= w.books.provenance(d)
        columns = [c for c in values if c != "origin"]
        table = model.__tablename__
        if table not in held:
            held[table] = {_content(r, columns) for r in s.scalars(select(model))}
        content = tuple(values[c] for c in columns)
        if content in held[table]:
            w.report.skipped[rec["keyword"]] += 1
            continue
        held[table].add(content)
        row = model(**values)
        s.add(row)
        s.flush()
        if isinstance(row, ProjectClaim):
            claims[(row.line_id, row.year, row.quarter)] = row
        w.made(d, table)
        w.report.created[rec["keyword"]] += 1


def _claim_fits(
    w: Writer, d: Directive, rec: dict[str, Any], values: dict[str, Any],
    rates: dict[str, int | None], claims: dict[tuple[int, int, int], ProjectClaim],
) -> bool:  # fmt: skip
    """The stream's intervention rate, and one claim a quarter."""
    rate = rates.get(rec["stream"])
    if rate is not None:
        cap = grant_cap(values["eligible_pence"], rate)
        if values["grant_pence"] > cap:
            w.error(d, f"grant {gbp(from_pence(values['grant_pence']))} is more than "
                    f"{rec['stream']}'s intervention rate allows: eligible expenditure "
                    f"{gbp(from_pence(values['eligible_pence']))} x {Decimal(rate) / 100:f}% = "
                    f"{gbp(from_pence(cap))} (rounded down to the penny); claim at most "
                    "that")  # fmt: skip
            return False
    earlier = claims.get((values["line_id"], values["year"], values["quarter"]))
    if earlier is not None and (
        earlier.eligible_pence, earlier.grant_pence, earlier.match_pence, earlier.match_form,
        earlier.source, earlier.day,
    ) != (
        values["eligible_pence"], values["grant_pence"], values["match_pence"],
        values["match_form"], d.meta.get("source"), d.day,
    ):  # fmt: skip
        w.error(d, f"{rec['stream']} {rec['line']} has already claimed for "
                f"{FinancialYear(values['year'])} q{values['quarter']} ({earlier.origin}): "
                "a project claims each quarter once")  # fmt: skip
        return False
    return True


def printers(quote: Any, meta: Any) -> dict[str, Any]:
    """The export's writer of each growth table's records (with the printer's quote, meta)."""

    def prov(r: dict[str, Any]) -> list[tuple[str, object]]:
        return [("source", r.get("source")), ("note", r.get("note")), ("origin", r.get("origin"))]

    def where(r: dict[str, Any], n: Any) -> str:
        return f"{n.stream_of_line(r['line_id'])} {n.line(r['line_id'])}"

    def when(r: dict[str, Any]) -> str:
        return f"{FinancialYear(int(r['year']))} q{r['quarter']}"

    def money(pence: int) -> str:
        return f"{from_pence(pence):,.2f}"

    def indicator(r: dict[str, Any], n: Any) -> list[str]:
        return [f"{r['day']} indicator {r['code']} {quote(r['name'])}",
                *meta([("fund", r["fund"]), ("unit", r["unit"]),
                       ("definition", r["definition"]), *prov(r)])]  # fmt: skip

    def profile(r: dict[str, Any], n: Any) -> list[str]:
        return [f"{r['day']} spend-profile {where(r, n)} {when(r)} {money(r['amount_pence'])}",
                *meta(prov(r))]  # fmt: skip

    def claim(r: dict[str, Any], n: Any) -> list[str]:
        return [f"{r['day']} project-claim {where(r, n)} {when(r)}",
                *meta([("eligible", money(r["eligible_pence"])),
                       ("grant", money(r["grant_pence"])),
                       ("match", money(r["match_pence"]) if r["match_pence"] else None),
                       ("match-form", r["match_form"]), ("evidence", r["evidence"]),
                       *prov(r)])]  # fmt: skip

    def target(r: dict[str, Any], n: Any) -> list[str]:
        return [f"{r['day']} output-target {where(r, n)} {r['indicator']} "
                f"{value_text(int(r['value_x100']))}", *meta(prov(r))]  # fmt: skip

    def actual(r: dict[str, Any], n: Any) -> list[str]:
        return [f"{r['day']} output {where(r, n)} {when(r)} {r['indicator']} "
                f"{value_text(int(r['value_x100']))}", *meta(prov(r))]  # fmt: skip

    return {"indicator": indicator, "spend_profile": profile, "project_claim": claim,
            "output_target": target, "output_actual": actual}  # fmt: skip


__all__ = [
    "ARITY",
    "KEYWORDS",
    "META",
    "USAGE",
    "printers",
    "validate",
    "value_text",
    "value_x100",
    "write",
]  # fmt: skip
