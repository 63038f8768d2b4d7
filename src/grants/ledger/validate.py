"""Validate directives into records, without a database: every problem located at its
books line. ``read_books`` parses and validates; the writer (grants.ledger.write) records."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from grants.errors import MoneyError, PeriodError, TextError
from grants.ledger import (
    form_issues,
    giving_books,
    growth,
    people,
    schedules,
    stream_texts,
    validate_commitments,
    validate_entries,
    validate_filings,
    validate_money_in,
    validate_plans,
    validate_records,
)
from grants.ledger.grammar import (
    ALLOWED_META,
    ARITY,
    CODE,
    FREE_META,
    LINE_KEY,
    LINE_KINDS,
    META_LIMITS,
    NAME_ARGS,
    NOTE_META,
    PERCENT,
    RECORD_KEY,
    ROLES,
    STREAM_KINDS,
    USAGE,
    YEAR_KEY,
)
from grants.ledger.parser import Directive, Problem, Reading
from grants.ledger.reference import Kept, LineRecord, OrgRecord
from grants.money import text_pence
from grants.periods import Period, parse_period
from grants.services.commitments import Agreement
from grants.services.journal import NewEntry
from grants.services.money_in import ClaimDetails
from grants.services.rules import Operation
from grants.services.schedules import NewInstalment
from grants.text import LIMITS, MAX_VALUE, Kind, clean


class Books:
    """Validates directives into records, collecting located problems."""

    def __init__(self, actor: str, now: datetime, root: Path | None = None) -> None:
        self.actor = actor
        self.now = now
        self.root = root  # the folder of the main books file: what they may read is in it
        self.problems: list[Problem] = []
        self.orgs: Kept[OrgRecord] = Kept(OrgRecord)
        self.streams: list[tuple[Directive, dict[str, Any]]] = []
        self.lines: Kept[LineRecord] = Kept(LineRecord)
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
        # An entry's place among the entries -> its count, for those that have one (>0): a
        # second read (``counted`` given) takes them from here instead of counting again.
        self.counted: dict[int, int] | None = None
        self.repeats: dict[int, int] = {}
        self.entry_seq = 0
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
            return text_pence(text)
        except MoneyError as exc:
            self.error(d, str(exc), key)
            return None

    def period(self, d: Directive, text: str, key: str | None = None) -> Period | None:
        try:
            return _period(text)
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
        labels = _arg_labels(d.keyword, len(d.args))
        name_at = NAME_ARGS.get(d.keyword)
        args = d.args
        for i, arg in enumerate(args):
            if i != name_at and (
                (arg.isascii() and arg.isprintable() and len(arg) <= MAX_VALUE)
                or arg in _GOOD_VALUES
            ):
                continue  # a value as `clean` passes it unchanged, or one that passed before
            try:
                args[i] = _clean(arg, labels[i], Kind.NAME if i == name_at else Kind.VALUE)
            except TextError as exc:
                self.error(d, str(exc))
                ok = False
                continue
            if i != name_at and len(arg) <= _SHORT:
                if len(_GOOD_VALUES) >= _GOOD_MOST:
                    _GOOD_VALUES.clear()
                _GOOD_VALUES.add(arg)
        for key, value in d.meta.items():
            progress = key.endswith("-progress") and LINE_KEY.match(key) is not None
            free = key in FREE_META or progress
            kind = Kind.NOTE if key in NOTE_META else Kind.FREE if free else Kind.VALUE
            try:
                d.meta[key] = _clean(value, key, kind, META_LIMITS.get(key))
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
            self.orgs.append(OrgRecord(d.held(), code, d.args[1], role))

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
                LineRecord(
                    d.held(),
                    stream,
                    code,
                    d.args[2],
                    kind,
                    d.meta.get("parent"),
                    d.meta.get("recipient"),
                    d.meta.get("ref"),
                    d.meta.get("aliases"),
                    total,
                    specific,
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
        """A journal entry (grants.ledger.validate_entries.entry)."""
        validate_entries.entry(self, d, op, **extra)

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


# Each text read once: the books repeat their codes, years and names on every entry. A
# refusal is not kept (it is raised again each time); a bounded number of results are, of
# short texts only (a cache of long notes would hold megabytes).
_period = functools.lru_cache(maxsize=4096)(parse_period)
_clean_short = functools.lru_cache(maxsize=4096)(clean)
_SHORT = 80
# Short arguments that passed as values (Kind.VALUE, which keeps them as they are): the
# codes and years every entry repeats are looked up here and not checked again.
_GOOD_VALUES: set[str] = set()
_GOOD_MOST = 4096


def _clean(value: str, what: str, kind: Kind, limit: int | None = None) -> str:
    if value.isascii() and value.isprintable():
        # Printable ASCII: no character `clean` refuses or changes, in a field of any kind.
        if len(value) <= (LIMITS[kind] if limit is None else limit):
            return value
    if len(value) > _SHORT:
        return clean(value, what, kind, limit)
    return _clean_short(value, what, kind, limit)


@functools.cache
def _arg_labels(keyword: str, count: int) -> tuple[str, ...]:
    """How a refusal names each of a directive's arguments (worked out once a keyword)."""
    usage = re.findall(r'"[^"]*"|\S+', USAGE.get(keyword, ""))[2:]
    labels = []
    for i in range(count):
        label = usage[i].strip('"').lower() if i < len(usage) else f"argument {i + 1}"
        label = f"{'organisation' if keyword == 'org' else keyword} {label}"
        labels.append("the ledger's title" if keyword == "title" else label)
    return tuple(labels)


# Records other than entries whose `key:` the export may give.
KEYED = frozenset({"stated", "balance", "printed", "match", "plan", "agree", "due", "schedule"})

# Each directive's validator (a keyword of grammar.ARITY -> function).
BUILDERS: dict[str, Callable[[Books, Directive], None]] = {
    "org": Books._org,
    "stream": Books._stream,
    "line": Books._line,
    "award": validate_entries.award,
    "allocate": validate_entries.allocate,
    "pay": validate_entries.pay,
    "spent": validate_entries.spent,
    "clawback": validate_entries.clawback,
    "virement": validate_entries.virement,
    "reprofile": validate_entries.reprofile,
    "reverse": validate_entries.reverse,
    "claim": validate_money_in.claim,
    "receipt": validate_money_in.receipt,
    "commit": validate_commitments.commit,
    "carry-forward": validate_commitments.carry_forward,
    "schedule": schedules.validate,
    "stated": validate_records.stated,
    "balance": validate_records.balance,
    "printed": validate_records.printed,
    "match": validate_records.match,
    "programme": validate_records.programme,
    "profile": validate_records.profile,
    "plan": validate_plans.plan,
    "agree": validate_plans.agree,
    "due": validate_plans.due,
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
    # What counted the entries is not needed again (the second read counts afresh).
    books._seen, books._again, books._refs = set(), {}, {}
    books.problems[:0] = reading.problems  # those of reading first, as they were found first
    return books
