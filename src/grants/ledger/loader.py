"""Check and load the books: all of them in one transaction, or nothing.

Loading is idempotent: reference data already in the database must match the books, and
journal entries, statements and match funding already recorded (same content) are skipped.
``check`` runs exactly the same load into a private in-memory database and throws it away,
so `grants ledger check` and `grants ledger load` can never disagree.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import (
    Line,
    MatchFunding,
    Organisation,
    PlanAgreement,
    PlanLine,
    Profile,
    ProfileAmount,
    ProgrammeVersion,
    ReturnStage,
    Statement,
    Stream,
)
from grants.errors import GrantsError, MoneyError, PeriodError
from grants.formatting import SCALE_LABELS, SCALES, gbp
from grants.ledger.parser import Directive, Problem, parse
from grants.money import from_pence, money, to_pence
from grants.periods import FinancialYear, Period, parse_period, parse_year
from grants.services.balances import METRICS, Balances, compare
from grants.services.journal import Journal, NewEntry, Refused
from grants.services.returns import PLAN_STAGE
from grants.services.rules import Operation

ROLES = ("funder", "accountable-body", "partnership", "recipient")
STREAM_KINDS = (
    "pcc-csf", "lgf", "city-deal", "growth-deal", "erdf", "esf", "eafrd", "esif",
    "capital-grant", "capital-receipt", "reserve", "other",
)  # fmt: skip
LINE_KINDS = ("allocation", "portfolio", "scheme", "project")
MATCH_FORMS = ("cash", "in-kind", "unstated")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")  # at most 40 characters
YEAR_KEY = re.compile(r"^\d{2,4}[-/]\d{1,4}$")
COMMON = {"source", "note", "origin"}
ENTRY_META = COMMON | {"actor", "recorded", "reason", "id", "key", "printed"}
ALLOWED_META: dict[str, set[str]] = {
    "org": COMMON | {"role"},
    "stream": COMMON | {"kind", "funder", "accountable", "intervention"},
    "line": COMMON
    | {"parent", "recipient", "kind", "ref", "aliases", "total-cost", "specific-funding"},
    "award": ENTRY_META | {"tranche"},
    "allocate": ENTRY_META | {"share", "over-allocation"},
    "pay": ENTRY_META,
    "spent": ENTRY_META,
    "clawback": ENTRY_META,
    "virement": ENTRY_META,
    "reprofile": ENTRY_META | {"tranche"},
    "reverse": ENTRY_META,
    "stated": COMMON,
    "balance": COMMON | {"scale", "printed", "table", "row"},
    "printed": COMMON | {"scale", "printed", "table", "row"},
    "match": COMMON | {"from", "form"},
    "programme": COMMON | {"compare"},
    "profile": COMMON | {"section", "estimate", "total"},
    "plan": COMMON | {"cost", "objectives", "pcc-objective", "other-funding"},
    "agree": COMMON,
    "due": COMMON | {"to"},
}
ARITY = {
    "org": 2, "stream": 2, "line": 3, "award": 3, "allocate": 4, "pay": 4, "spent": 4,
    "clawback": 4, "virement": 5, "reprofile": 4, "reverse": 1, "stated": 3, "balance": 4,
    "printed": 4, "match": 3, "programme": 3, "profile": 5, "plan": 4, "agree": 3, "due": 4,
}  # fmt: skip
USAGE = {
    "org": 'DATE org CODE "Name"',
    "stream": 'DATE stream CODE "Name"',
    "line": 'DATE line STREAM CODE "Name"',
    "award": "DATE award STREAM PERIOD AMOUNT",
    "allocate": "DATE allocate STREAM PERIOD LINE AMOUNT",
    "pay": "DATE pay STREAM PERIOD LINE AMOUNT",
    "spent": "DATE spent STREAM PERIOD LINE AMOUNT",
    "clawback": "DATE clawback STREAM PERIOD LINE AMOUNT",
    "virement": "DATE virement STREAM PERIOD FROM-LINE TO-LINE AMOUNT",
    "reprofile": "DATE reprofile STREAM FROM-PERIOD TO-PERIOD AMOUNT",
    "reverse": "DATE reverse ENTRY-ID",
    "stated": "DATE stated STREAM PERIOD AMOUNT",
    "balance": "DATE balance STREAM PERIOD METRIC[:TARGET] AMOUNT",
    "printed": "DATE printed STREAM PERIOD METRIC[:TARGET] AMOUNT",
    "match": "DATE match STREAM LINE AMOUNT",
    "programme": 'DATE programme STREAM VERSION "Name"',
    "profile": 'DATE profile STREAM VERSION TABLE CODE "Label"',
    "plan": 'DATE plan STREAM YEAR LINE "Expenditure title"',
    "agree": "DATE agree STREAM YEAR LINE",
    "due": "DATE due STREAM YEAR STAGE DUE-DATE",
}
STAGE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,2})?")
_FIGURE = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")


@dataclass
class LoadReport:
    """What a load did (or a check would do)."""

    created: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: list[Problem] = field(default_factory=list)
    discrepancies: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": dict(sorted(self.created.items())),
            "unchanged": dict(sorted(self.skipped.items())),
            "warnings": [str(w) for w in self.warnings],
            "discrepancies": [str(d) for d in self.discrepancies],
        }


class _Books:
    """Validates directives into records, collecting located problems."""

    def __init__(self, actor: str, now: datetime) -> None:
        self.actor = actor
        self.now = now
        self.problems: list[Problem] = []
        self.orgs: list[tuple[Directive, dict[str, Any]]] = []
        self.streams: list[tuple[Directive, dict[str, Any]]] = []
        self.lines: list[tuple[Directive, dict[str, Any]]] = []
        self.entries: list[tuple[Directive, NewEntry]] = []
        self.statements: list[tuple[Directive, dict[str, Any]]] = []
        self.matches: list[tuple[Directive, dict[str, Any]]] = []
        self.programmes: list[tuple[Directive, dict[str, Any]]] = []
        self.profiles: list[tuple[Directive, dict[str, Any]]] = []
        self.plans: list[tuple[Directive, dict[str, Any]]] = []
        self.agreements: list[tuple[Directive, dict[str, Any]]] = []
        self.dues: list[tuple[Directive, dict[str, Any]]] = []
        self._occurrences: Counter[str] = Counter()
        self._refs: dict[str, str] = {}

    def error(self, d: Directive, message: str, key: str | None = None) -> None:
        line = d.meta_lines.get(key, d.line) if key else d.line
        self.problems.append(Problem(d.file, line, message))

    # -- value helpers ---------------------------------------------------------------

    def amount(self, d: Directive, text: str, key: str | None = None) -> int | None:
        try:
            return to_pence(money(text))
        except MoneyError as exc:
            self.error(d, str(exc), key)
            return None

    def period(self, d: Directive, text: str, key: str | None = None) -> Period | None:
        try:
            return parse_period(text)
        except PeriodError as exc:
            self.error(d, str(exc), key)
            return None

    def code(self, d: Directive, text: str, what: str) -> str | None:
        if CODE.match(text) and len(text) <= 40:
            return text
        self.error(
            d,
            f"{text!r} is not a valid {what} code: use capital letters, digits and '-', "
            "at most 40 characters",
        )
        return None

    def choice(self, d: Directive, key: str, options: tuple[str, ...], default: str) -> str:
        value = d.meta.get(key, default)
        if value not in options:
            self.error(d, f"{key} {value!r} is not one of: {', '.join(options)}", key)
        return value

    def percent(self, d: Directive, key: str) -> Decimal | None:
        raw = d.meta.get(key)
        if raw is None:
            return None
        text = raw.strip().removesuffix("%").strip()
        value = Decimal(text) if _PERCENT.fullmatch(text) else None
        if value is None or value > 100:
            self.error(
                d,
                f"{key} {raw!r} is not a percentage between 0% and 100% with at most two "
                "decimal places, such as 18.3%",
                key,
            )
            return None
        return value

    def provenance(self, d: Directive) -> dict[str, Any]:
        return {
            "source": d.meta.get("source"),
            "origin": d.meta.get("origin", d.where),
            "note": d.meta.get("note"),
            "day": d.day,
        }

    # -- directives ------------------------------------------------------------------

    def add(self, d: Directive) -> None:
        if d.keyword not in ARITY:
            self.error(
                d,
                f"unknown directive {d.keyword!r}; the directives are "
                f"{', '.join(sorted(ARITY))} (see ledger/README.md)",
            )
            return
        if len(d.args) != ARITY[d.keyword]:
            self.error(d, f"{d.keyword} takes {ARITY[d.keyword]} arguments: {USAGE[d.keyword]}")
            return
        for key in d.meta:
            if key not in ALLOWED_META[d.keyword] and not (
                d.keyword == "profile" and YEAR_KEY.match(key)
            ):
                allowed = ", ".join(sorted(ALLOWED_META[d.keyword]))
                self.error(d, f"{d.keyword} has no metadata {key!r}; it takes: {allowed}", key)
        getattr(self, "_" + d.keyword)(d)

    def _org(self, d: Directive) -> None:
        code = self.code(d, d.args[0], "organisation")
        role = self.choice(d, "role", ROLES, "recipient")
        if code:
            self.orgs.append((d, {"code": code, "name": d.args[1], "role": role}))

    def _stream(self, d: Directive) -> None:
        code = self.code(d, d.args[0], "stream")
        kind = self.choice(d, "kind", STREAM_KINDS, "other")
        rate = self.percent(d, "intervention")
        if code:
            self.streams.append(
                (
                    d,
                    {
                        "code": code,
                        "name": d.args[1],
                        "kind": kind,
                        "funder": d.meta.get("funder"),
                        "accountable": d.meta.get("accountable"),
                        "intervention_bp": int(rate * 100) if rate is not None else None,
                    },
                )
            )

    def _line(self, d: Directive) -> None:
        stream, code = d.args[0], self.code(d, d.args[1], "line")
        kind = self.choice(d, "kind", LINE_KINDS, "allocation")
        total = (
            self.amount(d, d.meta["total-cost"], "total-cost") if "total-cost" in d.meta else None
        )
        specific = (
            self.amount(d, d.meta["specific-funding"], "specific-funding")
            if "specific-funding" in d.meta
            else None
        )
        if code:
            self.lines.append(
                (
                    d,
                    {
                        "stream": stream,
                        "code": code,
                        "name": d.args[2],
                        "kind": kind,
                        "parent": d.meta.get("parent"),
                        "recipient": d.meta.get("recipient"),
                        "ref": d.meta.get("ref"),
                        "aliases": d.meta.get("aliases"),
                        "total_cost_pence": total,
                        "specific_funding_pence": specific,
                    },
                )
            )

    def _entry(self, d: Directive, op: Operation | None, **extra: Any) -> None:
        recorded = self.now
        if "recorded" in d.meta:
            try:
                recorded = datetime.fromisoformat(d.meta["recorded"])
            except ValueError:
                self.error(d, f"recorded {d.meta['recorded']!r} is not a date and time", "recorded")
        item = NewEntry(
            op,
            d.day,
            d.meta.get("actor", self.actor),
            recorded,
            ref=d.meta.get("id"),
            key=d.meta.get("key"),
            printed=d.meta.get("printed"),
            reason=d.meta.get("reason"),
            source=d.meta.get("source"),
            origin=d.meta.get("origin", d.where),
            note=d.meta.get("note"),
            **extra,
        )
        content = item.content()
        item.occurrence = self._occurrences[content]
        self._occurrences[content] += 1
        if item.ref and (len(item.ref) > 80 or not item.ref.strip()):
            self.error(d, f"id {item.ref!r} must be 1 to 80 characters", "id")
        if item.ref:
            if item.ref in self._refs:
                self.error(d, f"id {item.ref!r} is already used at {self._refs[item.ref]}", "id")
            self._refs[item.ref] = d.where
        self.entries.append((d, item))

    def _money_op(self, d: Directive, kind: str) -> None:
        stream = d.args[0]
        period = self.period(d, d.args[1])
        if kind == "award":
            amount_text, line, to_line, to_period = d.args[2], None, None, None
        elif kind == "virement":
            line, to_line, amount_text, to_period = d.args[2], d.args[3], d.args[4], None
        elif kind == "reprofile":
            to_period = self.period(d, d.args[2])
            line, to_line, amount_text = None, None, d.args[3]
        else:
            line, amount_text, to_line, to_period = d.args[2], d.args[3], None, None
        amount = self.amount(d, amount_text)
        over = d.meta.get("over-allocation", "no")
        if over not in ("yes", "no"):
            self.error(d, "over-allocation is yes or no", "over-allocation")
        share = self.percent(d, "share")
        tranche = d.meta.get("tranche")
        if tranche is not None and self.code(d, tranche, "tranche") is None:
            return
        if amount is not None and amount <= 0:
            self.error(
                d,
                f"{kind} amounts must be more than zero, not {gbp(from_pence(amount))}; "
                "to undo an entry, reverse it",
            )
            return
        if period is None or amount is None or (kind == "reprofile" and to_period is None):
            return
        op = Operation(
            kind,
            stream,
            period,
            amount,
            line=line,
            to_line=to_line,
            to_period=to_period,
            tranche=tranche,
            over_allocation=over == "yes",
        )
        self._entry(d, op, share=share)

    def _award(self, d: Directive) -> None:
        self._money_op(d, "award")

    def _allocate(self, d: Directive) -> None:
        self._money_op(d, "allocate")

    def _pay(self, d: Directive) -> None:
        self._money_op(d, "pay")

    def _spent(self, d: Directive) -> None:
        self._money_op(d, "spent")

    def _clawback(self, d: Directive) -> None:
        self._money_op(d, "clawback")

    def _virement(self, d: Directive) -> None:
        self._money_op(d, "virement")

    def _reprofile(self, d: Directive) -> None:
        self._money_op(d, "reprofile")

    def _reverse(self, d: Directive) -> None:
        if not d.meta.get("reason"):
            self.error(d, 'a reversal needs a reason: add `reason: "..."` under it')
            return
        self._entry(d, None, reverses=d.args[0])

    def _statement(self, d: Directive, kind: str) -> None:
        stream = d.args[0]
        period = self.period(d, d.args[1])
        if kind == "stated":
            metric, target, amount_text = "stated", None, d.args[2]
        else:
            metric, _, target_text = d.args[2].partition(":")
            target = target_text or None
            amount_text = d.args[3]
            if metric not in METRICS:
                self.error(d, f"{metric!r} is not a metric; use one of {', '.join(METRICS)}")
                return
        scale = d.meta.get("scale", "1")
        if scale not in SCALES:
            self.error(d, f"scale {scale!r} is not one of: {', '.join(SCALES)}", "scale")
            return
        if scale == "1":
            pence = self.amount(d, amount_text)
            if pence is None:
                return
            amount_text = f"{from_pence(pence):.2f}"
        elif not _FIGURE.match(amount_text):
            self.error(d, f"{amount_text!r} is not a figure such as 40.5 or -487")
            return
        if period is None:
            return
        self.statements.append(
            (
                d,
                {
                    "kind": kind,
                    "stream": stream,
                    "period": period,
                    "metric": metric,
                    "target": target,
                    "amount": amount_text.replace(",", ""),
                    "scale": scale,
                    "printed": d.meta.get("printed"),
                    "table_name": d.meta.get("table"),
                    "row_label": d.meta.get("row"),
                },
            )
        )

    def _stated(self, d: Directive) -> None:
        self._statement(d, "stated")

    def _balance(self, d: Directive) -> None:
        self._statement(d, "balance")

    def _printed(self, d: Directive) -> None:
        self._statement(d, "printed")

    def _match(self, d: Directive) -> None:
        amount = self.amount(d, d.args[2])
        form = self.choice(d, "form", MATCH_FORMS, "unstated")
        if amount is not None:
            self.matches.append(
                (
                    d,
                    {
                        "stream": d.args[0],
                        "line": d.args[1],
                        "amount_pence": amount,
                        "from_source": d.meta.get("from"),
                        "form": form,
                    },
                )
            )

    def _programme(self, d: Directive) -> None:
        code = self.code(d, d.args[1].upper(), "programme version")
        if code:
            self.programmes.append(
                (
                    d,
                    {
                        "stream": d.args[0],
                        "code": d.args[1],
                        "name": d.args[2],
                        "compare_code": d.meta.get("compare"),
                    },
                )
            )

    def _profile(self, d: Directive) -> None:
        amounts: dict[int, int] = {}
        for key, value in d.meta.items():
            if YEAR_KEY.match(key):
                try:
                    year = parse_year(key).start
                except PeriodError as exc:
                    self.error(d, str(exc), key)
                    continue
                if year in amounts:
                    self.error(d, f"the year {key} is given twice", key)
                pence = self.amount(d, value, key)
                if pence is not None:
                    amounts[year] = pence
        estimates: list[str] = []
        for token in d.meta.get("estimate", "").split():
            try:
                estimates.append(str(parse_year(token)))
            except PeriodError as exc:
                self.error(d, str(exc), "estimate")
        total = self.amount(d, d.meta["total"], "total") if "total" in d.meta else None
        self.profiles.append(
            (
                d,
                {
                    "stream": d.args[0],
                    "version": d.args[1],
                    "table_name": d.args[2],
                    "code": d.args[3],
                    "label": d.args[4],
                    "section": d.meta.get("section"),
                    "amounts": amounts,
                    "total_pence": total,
                    "estimate_years": " ".join(estimates) or None,
                },
            )
        )

    def year(self, d: Directive, text: str) -> int | None:
        period = self.period(d, text)
        if period is None:
            return None
        if not period.is_single_year:
            self.error(d, f"{text} is not one financial year: a plan or return is for one year")
            return None
        return period.first.start

    def date(self, d: Directive, text: str, key: str | None = None) -> date | None:
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.error(d, f"{text!r} is not a date: write it as YYYY-MM-DD", key)
            return None

    def _plan(self, d: Directive) -> None:
        year = self.year(d, d.args[1])
        title = " ".join(d.args[3].split())
        if not title:
            self.error(d, "an expenditure title cannot be empty")
        if "cost" not in d.meta:
            self.error(d, "a plan line needs `cost:` (the cost to the fund)")
            return
        cost = self.amount(d, d.meta["cost"], "cost")
        if cost is not None and cost < 0:
            self.error(d, f"cost {d.meta['cost']} is negative", "cost")
        objective = None
        if "pcc-objective" in d.meta:
            raw = d.meta["pcc-objective"]
            if raw.strip() in ("1", "2", "3", "4", "5"):
                objective = int(raw)
            else:
                self.error(
                    d, f"pcc-objective {raw!r} is not one of the PCC's objectives 1 to 5",
                    "pcc-objective",
                )  # fmt: skip
        if year is None or cost is None or not title:
            return
        self.plans.append(
            (
                d,
                {
                    "stream": d.args[0],
                    "year": year,
                    "line": d.args[2],
                    "title": title,
                    "cost_pence": cost,
                    "objectives": d.meta.get("objectives"),
                    "other_funding": d.meta.get("other-funding"),
                    "pcc_objective": objective,
                },
            )
        )

    def _agree(self, d: Directive) -> None:
        year = self.year(d, d.args[1])
        if year is not None:
            self.agreements.append((d, {"stream": d.args[0], "year": year, "line": d.args[2]}))

    def _due(self, d: Directive) -> None:
        year = self.year(d, d.args[1])
        stage = d.args[2]
        if not STAGE.match(stage):
            self.error(
                d, f"{stage!r} is not a stage name: lower-case letters, digits and '-', such as "
                "mid-year or q1",
            )  # fmt: skip
            return
        due = self.date(d, d.args[3])
        if "to" not in d.meta and stage != PLAN_STAGE:
            self.error(d, "a stage needs `to:`, the last day its return covers")
            return
        if year is None or due is None:
            return
        fy = FinancialYear(year)
        if "to" not in d.meta:
            # The spending plan is for the whole year and comes at its start, or before it.
            earliest = FinancialYear(year - 1).first_day
            if not earliest <= due <= fy.last_day:
                self.error(d, f"the spending plan for {fy} is due {due}: give a day from "
                           f"{earliest} to {fy.last_day}")  # fmt: skip
                return
            self.dues.append(
                (d, {"stream": d.args[0], "year": year, "stage": stage,
                     "covers_to": min(fy.first_day, due), "due": due})
            )  # fmt: skip
            return
        covers_to = self.date(d, d.meta["to"], "to")
        if covers_to is None:
            return
        if not fy.contains(covers_to):
            self.error(d, f"to: {covers_to} is not in {fy} ({fy.first_day} to {fy.last_day})", "to")
            return
        if due < covers_to:
            self.error(d, f"the return is due ({due}) before the end of the period ({covers_to})")
            return
        self.dues.append(
            (d, {"stream": d.args[0], "year": year, "stage": stage, "covers_to": covers_to,
                 "due": due})
        )  # fmt: skip


def _key(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]


def read_books(path: Path, actor: str, now: datetime | None = None) -> _Books:
    """Parse and validate the books (no database)."""
    directives, problems = parse(path)
    books = _Books(actor, now or datetime.now().replace(microsecond=0))
    books.problems.extend(problems)
    for d in directives:
        books.add(d)
    return books


def load(
    session: Session,
    path: Path,
    actor: str,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Load the books into the session's database. Raises BooksError (nothing written is
    committed by the caller) when there is any error."""
    from grants.errors import BooksError

    books = read_books(path, actor, now)
    if books.problems:
        raise BooksError(books.problems)
    report = LoadReport()
    writer = _Writer(session, books, report, progress)
    writer.write()
    if books.problems:
        raise BooksError(books.problems)
    return report


class _Writer:
    def __init__(
        self,
        session: Session,
        books: _Books,
        report: LoadReport,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.progress = progress
        self.s = session
        self.books = books
        self.report = report
        self.orgs: dict[str, int] = {}
        self.streams: dict[str, int] = {}
        self.lines: dict[tuple[str, str], int] = {}

    def error(self, d: Directive, message: str) -> None:
        self.books.error(d, message)

    def _same_or_new(self, kind: str, d: Directive, existing: Any, wanted: dict[str, Any]) -> bool:
        """True if a new record is needed; reports a problem if it conflicts."""
        if existing is None:
            self.report.created[kind] += 1
            return True
        differing = [
            k for k, v in wanted.items() if k not in ("origin", "day") and getattr(existing, k) != v
        ]
        if differing:
            detail = ", ".join(f"{k} {getattr(existing, k)!r} -> {wanted[k]!r}" for k in differing)
            self.error(
                d,
                f"{kind} {wanted.get('code')!r} is already recorded differently ({detail}); "
                "reference data cannot be changed by loading books",
            )
        else:
            self.report.skipped[kind] += 1
        return False

    def write(self) -> None:
        s, books = self.s, self.books
        self.orgs = dict(s.execute(select(Organisation.code, Organisation.id)).all())
        existing_orgs = {o.code: o for o in s.scalars(select(Organisation))}
        declared: set[str] = set()
        for d, rec in books.orgs:
            values = {**rec, **books.provenance(d)}
            if rec["code"] in declared:
                self.error(d, f"organisation {rec['code']} is declared twice")
                continue
            declared.add(rec["code"])
            if self._same_or_new("organisation", d, existing_orgs.get(rec["code"]), values):
                org = Organisation(**values)
                s.add(org)
                s.flush()
                self.orgs[org.code] = org.id
                existing_orgs[org.code] = org
        existing_streams = {x.code: x for x in s.scalars(select(Stream))}
        declared.clear()
        for d, rec in books.streams:
            if rec["code"] in declared:
                self.error(d, f"stream {rec['code']} is declared twice")
                continue
            declared.add(rec["code"])
            values = dict(rec)
            for ref in ("funder", "accountable"):
                code = values.pop(ref)
                org_id = None
                if code is not None:
                    org_id = self.orgs.get(code)
                    if org_id is None:
                        self.error(d, f"{ref} {code!r} is not an organisation declared with `org`")
                values[f"{ref}_id"] = org_id
            values |= books.provenance(d)
            if self._same_or_new("stream", d, existing_streams.get(rec["code"]), values):
                stream = Stream(**values)
                s.add(stream)
                s.flush()
                existing_streams[stream.code] = stream
        self.streams = {code: x.id for code, x in existing_streams.items()}
        self._write_lines()
        if books.problems:
            return
        self._write_journal()
        self._write_rest()

    def _stream(self, d: Directive, code: str) -> int | None:
        if code not in self.streams:
            self.error(d, f"there is no stream {code!r}: declare it with `stream` first")
            return None
        return self.streams[code]

    def _write_lines(self) -> None:
        s, books = self.s, self.books
        existing = {(x.stream_id, x.code): x for x in s.scalars(select(Line))}
        created: set[int] = set()
        declared: set[tuple[int, str]] = set()
        todo: list[tuple[Directive, dict[str, Any], Line]] = []
        for d, rec in books.lines:
            stream_id = self._stream(d, rec["stream"])
            if stream_id is None:
                continue
            if (stream_id, rec["code"]) in declared:
                self.error(d, f"line {rec['code']} of {rec['stream']} is declared twice")
                continue
            declared.add((stream_id, rec["code"]))
            values = {k: v for k, v in rec.items() if k not in ("stream", "parent", "recipient")}
            recipient = rec["recipient"]
            if recipient is not None and recipient not in self.orgs:
                self.error(d, f"recipient {recipient!r} is not an organisation declared with `org`")
            values["recipient_id"] = self.orgs.get(recipient) if recipient else None
            values |= books.provenance(d) | {"stream_id": stream_id}
            line = existing.get((stream_id, rec["code"]))
            if self._same_or_new("line", d, line, values):
                line = Line(**values)
                s.add(line)
                existing[(stream_id, rec["code"])] = line
                created.add(id(line))
            if line is not None:
                todo.append((d, rec, line))
        s.flush()
        for d, rec, line in todo:
            parent_id = None
            if rec["parent"] is not None:
                parent = existing.get((line.stream_id, rec["parent"]))
                if parent is None or parent is line:
                    self.error(
                        d, f"parent {rec['parent']!r} is not another line of {rec['stream']}"
                    )
                    continue
                parent_id = parent.id
            if id(line) in created:
                line.parent_id = parent_id
            elif line.parent_id != parent_id:
                self.error(d, f"line {rec['code']} is already recorded with a different parent")
        s.flush()
        parents = {x.id: x.parent_id for x in existing.values()}
        for d, rec, line in todo:
            seen: set[int] = set()
            node: int | None = line.id
            while node is not None:
                if node in seen:
                    self.error(d, f"line {rec['code']} is its own ancestor (the parents loop)")
                    break
                seen.add(node)
                node = parents.get(node)
        codes = {i: c for c, i in self.streams.items()}
        self.lines = {(codes[x.stream_id], x.code): x.id for x in existing.values()}

    def _write_journal(self) -> None:
        books = self.books
        for d, item in books.entries:
            if item.op is not None:
                self._stream(d, item.op.stream)
        if books.problems:
            return
        journal = Journal(self.s)
        by_item = {id(item): d for d, item in books.entries}
        try:
            result = journal.record(
                [item for _, item in books.entries], progress=self.progress, keep_going=True
            )
        except Refused as refused:
            # Every refused entry, at its line (a refused entry changes no balance, so the
            # entries after it are checked as if it were not there).
            for exc in refused.errors:
                d = by_item.get(id(getattr(exc, "entry", None)))
                where = (d.file, d.line) if d else (books.entries[0][0].file, 0)
                self.books.problems.append(Problem(*where, str(exc)))
            return
        warned: set[int] = set()
        for item, warning in result.warnings:
            d = by_item[id(item)]
            warned.add(id(item))
            self.report.warnings.append(Problem(d.file, d.line, warning, "warning"))
        self._still_over_allocated(warned)
        if result.entry_ids:
            self.report.created["journal entry"] += len(result.entry_ids)
        if result.skipped:
            self.report.skipped["journal entry"] += result.skipped

    def _still_over_allocated(self, warned: set[int]) -> None:
        """Report intended over-allocations recorded by an earlier load, as long as they stand
        (a new one is reported when it is recorded)."""
        marked = [
            (d, item)
            for d, item in self.books.entries
            if item.op is not None and item.op.over_allocation and id(item) not in warned
        ]
        if not marked:
            return
        balances = Balances(self.s)
        journal = Journal(self.s)
        journal.load_catalog()
        for d, item in marked:
            op = item.op
            assert op is not None and op.line is not None
            parent = journal.parent_of(op.stream, op.line)
            left = balances.value(op.stream, op.period, "unallocated", parent)
            if left is not None and left < 0:
                where = f"{op.stream} {op.period}" + (f" {parent}" if parent else "")
                self.report.warnings.append(
                    Problem(
                        d.file,
                        d.line,
                        f"{where} is over-allocated by {gbp(from_pence(-left))} "
                        "(marked as intended)",
                        "warning",
                    )
                )

    def _write_rest(self) -> None:
        s, books = self.s, self.books
        known = set(s.execute(select(Statement.key)).scalars())
        for d, rec in books.statements:
            stream_id = self._stream(d, rec["stream"])
            if stream_id is None:
                continue
            period: Period = rec["period"]
            key = _key(
                rec["kind"], d.day, rec["stream"], period, rec["metric"], rec["target"],
                rec["amount"], rec["scale"], rec["table_name"], rec["row_label"],
                d.meta.get("source"),
            )  # fmt: skip
            if key in known:
                self.report.skipped[rec["kind"]] += 1
                continue
            known.add(key)
            values = {k: v for k, v in rec.items() if k not in ("stream", "period")}
            s.add(
                Statement(
                    key=key,
                    stream_id=stream_id,
                    first_year=period.first.start,
                    last_year=period.last.start,
                    **values,
                    **books.provenance(d),
                )
            )
            self.report.created[rec["kind"]] += 1
        known = set(s.execute(select(MatchFunding.key)).scalars())
        for d, rec in books.matches:
            line_id = self.lines.get((rec["stream"], rec["line"]))
            if line_id is None:
                self.error(d, f"there is no line {rec['line']!r} in stream {rec['stream']!r}")
                continue
            key = _key(d.day, rec["stream"], rec["line"], rec["amount_pence"], rec["from_source"],
                       rec["form"])  # fmt: skip
            if key in known:
                self.report.skipped["match funding"] += 1
                continue
            known.add(key)
            values = {k: v for k, v in rec.items() if k not in ("stream", "line")}
            s.add(MatchFunding(key=key, line_id=line_id, **values, **books.provenance(d)))
            self.report.created["match funding"] += 1
        self._write_programmes()
        self._write_plans()
        s.flush()
        self._check_assertions()

    def _write_plans(self) -> None:
        """Plan lines, agreements and the reporting calendar. A plan's titles are fixed once
        it is agreed: a plan line dated after the agreement is refused."""
        s, books = self.s, self.books
        kinds = dict(s.execute(select(Stream.code, Stream.kind)).all())
        agreed: dict[tuple[int, int], date] = {
            (a.line_id, a.year): a.day for a in s.scalars(select(PlanAgreement))
        }
        agreed_before = set(
            agreed
        )  # agreed in earlier loads: closed to new lines whatever their date
        for d, rec in books.agreements:
            line_id = self._plan_line_id(d, rec)
            if line_id is not None:
                day = agreed.get((line_id, rec["year"]))
                if day is None or d.day < day:
                    agreed[(line_id, rec["year"])] = d.day
        existing = {(p.line_id, p.year, p.title): p for p in s.scalars(select(PlanLine))}
        positions: Counter[tuple[int, int]] = Counter(
            (p.line_id, p.year) for p in existing.values()
        )
        planned: set[tuple[int, int]] = {(p.line_id, p.year) for p in existing.values()}
        for d, rec in books.plans:
            line_id = self._plan_line_id(d, rec)
            if line_id is None:
                continue
            if rec["pcc_objective"] is not None and kinds.get(rec["stream"]) != "pcc-csf":
                self.error(d, "pcc-objective applies to the PCC Community Safety Fund only")
                continue
            where = (line_id, rec["year"])
            values = {
                "line_id": line_id, "year": rec["year"], "title": rec["title"],
                "objectives": rec["objectives"], "cost_pence": rec["cost_pence"],
                "other_funding": rec["other_funding"], "pcc_objective": rec["pcc_objective"],
            }  # fmt: skip
            before = existing.get((line_id, rec["year"], rec["title"]))
            if before is not None:
                if any(getattr(before, k) != v for k, v in values.items()):
                    self.error(d, f"the plan already has {rec['title']!r} with other figures")
                else:
                    self.report.skipped["plan line"] += 1
                continue
            day = agreed.get(where)
            if day is not None and (d.day > day or where in agreed_before):
                self.error(
                    d,
                    f"the plan for {rec['line']} {FinancialYear(rec['year'])} was agreed on {day}: "
                    "its expenditure titles are fixed and returns must use them",
                )
                continue
            positions[where] += 1
            planned.add(where)
            line = PlanLine(
                key=_key("plan", *values.values(), d.meta.get("source")),
                position=positions[where],
                **values,
                **books.provenance(d),
            )
            s.add(line)
            existing[(line_id, rec["year"], rec["title"])] = line
            self.report.created["plan line"] += 1
        known = {(a.line_id, a.year) for a in s.scalars(select(PlanAgreement))}
        for d, rec in books.agreements:
            line_id = self._plan_line_id(d, rec)
            if line_id is None:
                continue
            if (line_id, rec["year"]) in known:
                self.report.skipped["plan agreement"] += 1
                continue
            if (line_id, rec["year"]) not in planned:
                what = f"{rec['line']} {FinancialYear(rec['year'])}"
                self.error(
                    d, f"there is no plan for {what} to agree: record its lines with `plan` first"
                )
                continue
            known.add((line_id, rec["year"]))
            s.add(
                PlanAgreement(
                    key=_key("agree", line_id, rec["year"], d.day),
                    line_id=line_id,
                    year=rec["year"],
                    **books.provenance(d),
                )
            )
            self.report.created["plan agreement"] += 1
        stages = {(x.stream_id, x.year, x.stage): x for x in s.scalars(select(ReturnStage))}
        for d, rec in books.dues:
            stream_id = self._stream(d, rec["stream"])
            if stream_id is None:
                continue
            before = stages.get((stream_id, rec["year"], rec["stage"]))
            if before is not None:
                if (before.covers_to, before.due) != (rec["covers_to"], rec["due"]):
                    self.error(d, f"{rec['stream']} {FinancialYear(rec['year'])} already has the "
                                  f"stage {rec['stage']}, due {before.due}")  # fmt: skip
                else:
                    self.report.skipped["return stage"] += 1
                continue
            stage = ReturnStage(
                key=_key("due", stream_id, rec["year"], rec["stage"]),
                stream_id=stream_id,
                year=rec["year"],
                stage=rec["stage"],
                covers_to=rec["covers_to"],
                due=rec["due"],
                **books.provenance(d),
            )
            s.add(stage)
            stages[(stream_id, rec["year"], rec["stage"])] = stage
            self.report.created["return stage"] += 1

    def _plan_line_id(self, d: Directive, rec: dict[str, Any]) -> int | None:
        if self._stream(d, rec["stream"]) is None:
            return None
        line_id = self.lines.get((rec["stream"], rec["line"]))
        if line_id is None:
            self.error(d, f"there is no line {rec['line']!r} in stream {rec['stream']!r}")
        return line_id

    def _write_programmes(self) -> None:
        s, books = self.s, self.books
        versions = {(v.stream_id, v.code): v for v in s.scalars(select(ProgrammeVersion))}
        for d, rec in books.programmes:
            stream_id = self._stream(d, rec["stream"])
            if stream_id is None:
                continue
            values = {"code": rec["code"], "name": rec["name"], "compare_code": rec["compare_code"]}
            values |= books.provenance(d) | {"stream_id": stream_id}
            if self._same_or_new("programme", d, versions.get((stream_id, rec["code"])), values):
                version = ProgrammeVersion(**values)
                s.add(version)
                s.flush()
                versions[(stream_id, rec["code"])] = version
        profiles = {(p.version_id, p.table_name, p.code): p for p in s.scalars(select(Profile))}
        positions: Counter[tuple[int, str]] = Counter(
            (p.version_id, p.table_name) for p in profiles.values()
        )
        for d, rec in books.profiles:
            stream_id = self._stream(d, rec["stream"])
            if stream_id is None:
                continue
            version = versions.get((stream_id, rec["version"]))
            if version is None:
                self.error(
                    d, f"programme version {rec['version']!r} of {rec['stream']} is not declared"
                )
                continue
            existing = profiles.get((version.id, rec["table_name"], rec["code"]))
            if existing is not None:
                amounts = dict(
                    s.execute(
                        select(ProfileAmount.year, ProfileAmount.amount_pence).where(
                            ProfileAmount.profile_id == existing.id
                        )
                    ).all()
                )
                if amounts != rec["amounts"] or existing.label != rec["label"]:
                    self.error(d, f"profile {rec['code']} is already recorded with other figures")
                else:
                    self.report.skipped["profile"] += 1
                continue
            key = (version.id, rec["table_name"])
            positions[key] += 1
            values = {k: v for k, v in rec.items() if k not in ("stream", "version", "amounts")}
            profile = Profile(
                version_id=version.id, position=positions[key], **values, **books.provenance(d)
            )
            s.add(profile)
            s.flush()
            profiles[(version.id, rec["table_name"], rec["code"])] = profile
            s.add_all(
                ProfileAmount(profile_id=profile.id, year=y, amount_pence=a)
                for y, a in sorted(rec["amounts"].items())
            )
            self.report.created["profile"] += 1
            if rec["total_pence"] is not None and rec["total_pence"] != sum(
                rec["amounts"].values()
            ):
                total = from_pence(sum(rec["amounts"].values()))
                self.report.discrepancies.append(
                    Problem(
                        d.file,
                        d.meta_lines.get("total", d.line),
                        f"printed total {gbp(from_pence(rec['total_pence']))} of {rec['label']} "
                        f"differs from the sum of its years {gbp(total)}",
                        "discrepancy",
                    )
                )

    def _check_assertions(self) -> None:
        """A `balance` holds at the start of its date (against the entries dated before it);
        a `printed` figure describes its period, so it is compared with everything recorded."""
        as_of: dict[date | None, Balances] = {}
        for d, rec in self.books.statements:
            if rec["kind"] == "stated":
                continue
            when = d.day if rec["kind"] == "balance" else None
            if when not in as_of:
                as_of[when] = Balances(self.s, as_of=when)
            balances = as_of[when]
            target = rec["target"]
            problem = _target_problem(rec, balances)
            if problem:
                self.error(d, problem)
                continue
            if target is not None and rec["metric"] != "awarded":
                missing = [t for t in target.split("+") if (rec["stream"], t) not in self.lines]
                if missing:
                    self.error(d, f"there is no line {missing[0]!r} in stream {rec['stream']}")
                    continue
            actual = balances.value(rec["stream"], rec["period"], rec["metric"], target)
            ok, mine = compare(actual, rec["amount"], rec["scale"])
            if ok:
                continue
            unit = SCALE_LABELS[rec["scale"]]
            what = rec["metric"] + (f":{target}" if target else "")
            shown = "nothing" if mine is None else f"{mine:,} ({unit})"
            verb = "asserted" if rec["kind"] == "balance" else "printed"
            message = (
                f"{rec['stream']} {rec['period']} {what} is {shown}, "
                f"not {Decimal(rec['amount']):,} as {verb}"
            )
            if mine is not None:
                message += f" (difference {Decimal(rec['amount']) - mine:+,})"
            if rec["kind"] == "balance":
                self.error(d, message)
            else:
                self.report.discrepancies.append(Problem(d.file, d.line, message, "discrepancy"))


def _target_problem(rec: dict[str, Any], balances: Balances) -> str | None:
    target, metric = rec["target"], rec["metric"]
    if target is None:
        return None
    parts = target.split("+")
    if len(set(parts)) != len(parts):
        return f"{target!r} names the same target twice"
    if metric == "stated":
        return "stated takes no target"
    if metric == "awarded":
        known = balances.tranches(rec["stream"], rec["period"])
        for part in parts:
            if part not in known:
                names = ", ".join(sorted(known)) or "none"
                where = f"{rec['stream']} {rec['period']}"
                return f"{where} has no award tranche {part!r} (tranches: {names})"
    return None


def check(path: Path, actor: str) -> tuple[list[Problem], LoadReport]:
    """Everything `load` would refuse or report, without touching any real database."""
    from grants.db.engine import make_engine, make_session_factory
    from grants.db.migrate import upgrade
    from grants.errors import BooksError

    books = read_books(path, actor)
    if books.problems:
        return books.problems, LoadReport()
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        with make_session_factory(engine)() as session, session.begin():
            try:
                report = load(session, path, actor)
            except BooksError as exc:
                session.rollback()
                return list(exc.problems), LoadReport()  # type: ignore[arg-type]
            except GrantsError as exc:
                return [Problem(str(path), 0, str(exc))], LoadReport()
            session.rollback()
            return [], report
    finally:
        engine.dispose()


__all__ = ["LoadReport", "check", "load", "read_books"]
