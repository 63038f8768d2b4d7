"""Validate directives into records, without a database: every problem located at its
books line. ``read_books`` parses and validates; the writer (grants.ledger.write) records."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from grants.errors import MoneyError, PeriodError, TextError
from grants.formatting import SCALE_LABELS, SCALES, gbp
from grants.ledger import (
    form_issues,
    giving_books,
    growth,
    people,
    schedules,
    stream_texts,
    validate_commitments,
    validate_filings,
    validate_money_in,
)
from grants.ledger.grammar import (
    ALLOWED_META,
    ARITY,
    CODE,
    FIGURE,
    FREE_META,
    LINE_KEY,
    LINE_KINDS,
    MATCH_FORMS,
    META_LIMITS,
    NAME_ARGS,
    NOTE_META,
    PERCENT,
    RECORD_KEY,
    ROLES,
    ROUNDINGS,
    STAGE,
    STREAM_KINDS,
    USAGE,
    YEAR_KEY,
)
from grants.ledger.parser import Directive, Problem, Reading
from grants.money import from_pence, money, to_pence, within_limit
from grants.periods import FinancialYear, Period, parse_period, parse_year
from grants.services.balances import METRICS, STREAM_FIGURES, STREAM_ONLY
from grants.services.commitments import Agreement
from grants.services.journal import SEP, NewEntry, derived_key
from grants.services.keys import entry_key_problem
from grants.services.money_in import ClaimDetails
from grants.services.returns import PLAN_STAGE
from grants.services.rules import Operation
from grants.services.schedules import NewInstalment
from grants.text import Kind, clean


class Books:
    """Validates directives into records, collecting located problems."""

    def __init__(self, actor: str, now: datetime, root: Path | None = None) -> None:
        self.actor = actor
        self.now = now
        self.root = root  # the folder of the main books file: what they may read is in it
        self.problems: list[Problem] = []
        self.orgs: list[tuple[Directive, dict[str, Any]]] = []
        self.streams: list[tuple[Directive, dict[str, Any]]] = []
        self.lines: list[tuple[Directive, dict[str, Any]]] = []
        self.entries: list[tuple[Directive, NewEntry]] = []
        self.claims: dict[int, ClaimDetails] = {}  # id() of a claim's entry -> its details
        self.commitments: dict[int, Agreement] = {}  # id() of a commit entry -> agreement
        self.instalments: list[tuple[Directive, NewInstalment]] = []
        self.schedule_bases: dict[tuple[str, Period, str], str] = {}  # the first in the books
        self.statements: list[tuple[Directive, dict[str, Any]]] = []
        self.matches: list[tuple[Directive, dict[str, Any]]] = []
        self.programmes: list[tuple[Directive, dict[str, Any]]] = []
        self.profiles: list[tuple[Directive, dict[str, Any]]] = []
        self.plans: list[tuple[Directive, dict[str, Any]]] = []
        self.agreements: list[tuple[Directive, dict[str, Any]]] = []
        self.dues: list[tuple[Directive, dict[str, Any]]] = []
        self.titles: list[tuple[Directive, dict[str, Any]]] = []
        self.stream_texts: list[tuple[Directive, dict[str, Any]]] = []
        self.people: list[tuple[Directive, dict[str, Any]]] = []
        self.form_issues: list[tuple[Directive, dict[str, Any]]] = []
        self.returns: list[tuple[Directive, dict[str, Any]]] = []
        self.plan_forms: list[tuple[Directive, dict[str, Any]]] = []
        self.heads: list[tuple[Directive, dict[str, Any]]] = []
        self.growth: list[tuple[Directive, dict[str, Any]]] = []
        # Each entry content seen (a 128-bit digest of it, not the text), and how many times
        # those seen more than once were: each entry's key counts the identical ones before.
        self._seen: set[int] = set()
        self._again: dict[int, int] = {}
        self._refs: dict[str, str] = {}
        # The journal entries are read twice (grants.ledger.stream): checked here and kept
        # only as counts, then read again as they are recorded.
        self.source: Path | None = None  # the main books file
        self.digests: list[str] = []  # the SHA-256 of each file, as the first read found it
        self.entry_count = 0
        self.entry_streams: set[str] = set()  # the streams the entries name
        self.any_reversal = False

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
        value = Decimal(text) if PERCENT.fullmatch(text) else None
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

    def texts(self, d: Directive) -> bool:
        """Check every argument and metadata value as text (grants.text), NFC-normalising
        names in place; False, with each problem located, if any is refused."""
        ok = True
        labels = re.findall(r'"[^"]*"|\S+', USAGE.get(d.keyword, ""))[2:]
        for i, arg in enumerate(d.args):
            label = labels[i].strip('"').lower() if i < len(labels) else f"argument {i + 1}"
            label = f"{'organisation' if d.keyword == 'org' else d.keyword} {label}"
            if d.keyword == "title":
                label = "the ledger's title"
            name = NAME_ARGS.get(d.keyword) == i
            try:
                d.args[i] = clean(arg, label, Kind.NAME if name else Kind.VALUE)
            except TextError as exc:
                self.error(d, str(exc))
                ok = False
        for key, value in d.meta.items():
            progress = key.endswith("-progress") and LINE_KEY.match(key) is not None
            free = key in FREE_META or progress
            kind = Kind.NOTE if key in NOTE_META else Kind.FREE if free else Kind.VALUE
            try:
                d.meta[key] = clean(value, key, kind, META_LIMITS.get(key))
            except TextError as exc:
                self.error(d, str(exc), key)
                ok = False
        return ok

    # -- directives ------------------------------------------------------------------

    def add(self, d: Directive) -> None:
        if not self.texts(d):
            return
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
                (d.keyword == "profile" and YEAR_KEY.match(key))
                or (d.keyword == "return" and LINE_KEY.match(key))
            ):
                allowed = ", ".join(sorted(ALLOWED_META[d.keyword])) or "none"
                self.error(d, f"{d.keyword} has no metadata {key!r}; it takes: {allowed}", key)
        if "key" in d.meta and d.keyword in KEYED and not RECORD_KEY.match(d.meta["key"]):
            self.error(d, "key: 32 or 40 lower-case hexadecimal digits, as the export wrote it",
                       "key")  # fmt: skip
            return
        BUILDERS[d.keyword](self, d)

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

    def recorded(self, d: Directive) -> datetime | None:
        """When a record was recorded (`recorded:`, as the export writes it), else now. A
        local time with no time zone: a time zone would be kept by SQLite and turned into
        another time by PostgreSQL, so the two would not hold the same record."""
        if "recorded" not in d.meta:
            return self.now
        try:
            moment = datetime.fromisoformat(d.meta["recorded"])
        except ValueError:
            self.error(d, f"recorded {d.meta['recorded']!r} is not a date and time", "recorded")
            return None
        if moment.tzinfo is not None:
            self.error(d, f"recorded {d.meta['recorded']!r} has a time zone: give the local time "
                          "as YYYY-MM-DDTHH:MM:SS", "recorded")  # fmt: skip
            return None
        return moment

    def _entry(self, d: Directive, op: Operation | None, **extra: Any) -> None:
        recorded = self.recorded(d) or self.now
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
        prefix = item.content().rpartition(SEP)[0]
        digest = int.from_bytes(hashlib.blake2b(prefix.encode(), digest_size=16).digest())
        if digest in self._seen:
            item.occurrence = self._again.get(digest, 1)
            self._again[digest] = item.occurrence + 1
        else:
            self._seen.add(digest)
        # The key it gives, worked out once from the content in hand.
        item.derived = derived_key(prefix, item.occurrence)
        if item.key is not None:
            kind = op.kind if op is not None else None
            why = entry_key_problem(
                item.key, item.content_key(), kind, item.source, item.reverses is not None
            )
            if why is not None:
                self.error(d, f"key {item.key!r} {why}: leave `key:` out, and the books give "
                              "the entry its key", "key")  # fmt: skip
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
            if kind == "pay" and "from" in d.meta:  # passed on by the parent's recipient
                to_line = self.code(d, d.meta["from"], "from")
                if to_line is None:
                    return
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
            if target is None and metric not in STREAM_FIGURES and metric != "stated":
                self.error(d, f"{metric} is a line's figure: name the line ({metric}:LINE)")
                return
            if target is not None and metric in STREAM_ONLY:
                self.error(d, f"{metric} is the stream's figure: give it no target")
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
        elif not FIGURE.match(amount_text):
            self.error(d, f"{amount_text!r} is not a figure such as 40.5 or -487 (at most six "
                       "decimal places)")  # fmt: skip
            return
        else:
            try:  # a figure in £'000 or £m is held to the bound of an amount in pounds
                within_limit(Decimal(amount_text.replace(",", "")) * SCALES[scale],
                             f"{amount_text} ({SCALE_LABELS[scale]})")  # fmt: skip
            except MoneyError as exc:
                self.error(d, str(exc))
                return
        rounding = d.meta.get("rounding")  # None: half-up, the default
        if rounding is not None and rounding not in ROUNDINGS:
            self.error(d, f"rounding {rounding!r} is not one of: {', '.join(ROUNDINGS)} "
                          "(how the printed figure was rounded)", "rounding")  # fmt: skip
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
                    "rounding": rounding,
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
        for what, text in (("table", d.args[2]), ("code", d.args[3])):
            if len(text) > 40:
                self.error(d, f"profile {what} {text[:40]!r}… is longer than 40 characters")
                return
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
        later = self.amount(d, d.meta["later"], "later") if "later" in d.meta else None
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
                    "later_pence": later,
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


# Records other than entries whose `key:` the export may give.
KEYED = frozenset({"stated", "balance", "printed", "match", "plan", "agree", "due", "schedule"})

# Each directive's validator (a keyword of grammar.ARITY -> function).
BUILDERS: dict[str, Callable[[Books, Directive], None]] = {
    "org": Books._org,
    "stream": Books._stream,
    "line": Books._line,
    "award": Books._award,
    "allocate": Books._allocate,
    "pay": Books._pay,
    "spent": Books._spent,
    "clawback": Books._clawback,
    "virement": Books._virement,
    "reprofile": Books._reprofile,
    "reverse": Books._reverse,
    "claim": validate_money_in.claim,
    "receipt": validate_money_in.receipt,
    "commit": validate_commitments.commit,
    "carry-forward": validate_commitments.carry_forward,
    "schedule": schedules.validate,
    "stated": Books._stated,
    "balance": Books._balance,
    "printed": Books._printed,
    "match": Books._match,
    "programme": Books._programme,
    "profile": Books._profile,
    "plan": Books._plan,
    "agree": Books._agree,
    "due": Books._due,
    "title": validate_filings.title,
    "tranche": stream_texts.tranche,
    "heading": stream_texts.heading,
    "return": validate_filings.return_filing,
    "plan-form": validate_filings.plan_form,
    "head": validate_filings.head,
    **dict.fromkeys(people.KEYWORDS, people.validate),
    form_issues.KEYWORD: form_issues.validate,
    **dict.fromkeys(giving_books.KEYWORDS, giving_books.validate),
    **dict.fromkeys(growth.KEYWORDS, growth.validate),
}


# The directives that make journal entries: read twice, and not kept (grants.ledger.stream).
ENTRY_KEYWORDS = frozenset(
    {"award", "allocate", "pay", "spent", "clawback", "virement", "reprofile", "reverse",
     "claim", "receipt", "commit", "carry-forward"}
)  # fmt: skip


def read_books(path: Path, actor: str, now: datetime | None = None) -> Books:
    """Parse and validate the books (no database). Journal entries are checked as they are
    read and not kept: what the writer needs of them is counted (``entry_count``,
    ``entry_streams``), and grants.ledger.stream reads them again to record them."""
    reading = Reading(path)
    books = Books(actor, now or datetime.now().replace(microsecond=0), path.resolve().parent)
    books.source = path
    for d in reading.directives():
        books.add(d)
        if books.entries:
            for _, item in books.entries:
                books.entry_count += 1
                if item.op is not None:
                    books.entry_streams.add(item.op.stream)
                else:
                    books.any_reversal = True
            books.entries.clear()
            books.claims.clear()
            books.commitments.clear()
    books.digests = reading.digests
    books.problems[:0] = reading.problems  # those of reading first, as they were found first
    return books
