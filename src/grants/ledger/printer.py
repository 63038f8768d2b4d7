"""Write the database out as canonical books text: a complete, restorable backup.

Every record of the ledger, in the order of its chain (so, in the order it was recorded):
reference data, journal entries, statements, plans, the reporting calendar, the returns and
plan forms received (with the workbooks themselves in ``attachments/``, named by their
SHA-256) and the ledger's title. Loading the export into an empty database gives back the
same ledger with the same chain: the export ends with a ``head`` directive naming the chain's
head, which that load checks. Loading it into the database it came from changes nothing.

The folder holds ``main.grants`` (a header, the includes and the head), the records in
``ledger-0001.grants`` and on (at most RECORDS_PER_FILE each), and ``attachments/``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Connection

from grants.db.records import Record
from grants.db.seal import Head, in_chain_order, stream_rows
from grants.ledger import form_issues, giving_books, growth, people
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services.journal import content_prefix, derived_key, operation_text
from grants.services.keys import (
    agreement_key,
    instalment_key,
    match_key,
    plan_key,
    stage_key,
    statement_key,
)

_BARE = re.compile(r"[A-Za-z0-9._:/%()+-]+")
RECORDS_PER_FILE = 100_000
HEADER = "; Exported by `grants ledger export`"


def quote(value: str) -> str:
    """A value as the books write it: bare if it is one plain word, else in quotes."""
    if _BARE.fullmatch(value):
        return value
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return '"' + escaped + '"'


def amount(pence: int) -> str:
    return f"{from_pence(pence):,.2f}" if pence >= 0 else f"-{from_pence(-pence):,.2f}"


def _period(first: int, last: int) -> str:
    return str(Period(FinancialYear(first), FinancialYear(last)))


def _meta(pairs: list[tuple[str, object]]) -> list[str]:
    # An empty text is written (as ""), not left out: it is not the same as no text.
    return [f"  {k}: {quote(str(v))}" for k, v in pairs if v is not None]


def _timestamp(value: str) -> str:
    return value.replace(" ", "T")  # the canonical text of a time, as the books write it


@dataclass
class Exported:
    files: list[str]
    attachments: int
    head: Head
    records: int


class _Names:
    """Codes of what records refer to, learnt as the export passes them (in chain order a
    record always comes after what it refers to)."""

    def __init__(self, connection: Connection) -> None:
        self.orgs: dict[int, str] = {}
        self.streams: dict[int, str] = {}
        self.lines: dict[int, tuple[int, str]] = {}  # id -> (stream id, code)
        self.versions: dict[int, tuple[int, str]] = {}
        self.filings: dict[int, str] = {}  # return filing id -> its SHA-256
        self.refs: dict[int, str] = {}  # entries that are reversed: id -> ref
        self.reversed = {
            i for (i,) in stream_rows(
                connection, "SELECT reverses_id FROM entry WHERE reverses_id IS NOT NULL"
            )
        }  # fmt: skip
        self.commitments = {
            int(row[0]): row[1:] for row in stream_rows(
                connection,
                "SELECT entry_id, agreement, conditions, starts, ends FROM commitment",
            )
        }  # fmt: skip
        self.attachments: set[str] = set()
        # A claim's details, printed with its entry (entry id -> starts, ends, eligible,
        # evidence).
        self.claims = {
            int(row[0]): row[1:] for row in stream_rows(
                connection, "SELECT entry_id, starts, ends, eligible_pence, evidence FROM claim"
            )
        }  # fmt: skip
        self.contents: Counter[str] = Counter()  # entries' keys count identical ones

    def line(self, line_id: int | None) -> str | None:
        return None if line_id is None else self.lines[line_id][1]

    def stream_of_line(self, line_id: int) -> str:
        return self.streams[self.lines[line_id][0]]


def _prov(row: dict[str, Any]) -> list[tuple[str, object]]:
    return [("source", row.get("source")), ("note", row.get("note")), ("origin", row.get("origin"))]


def _organisation(r: dict[str, Any], n: _Names) -> list[str]:
    n.orgs[r["id"]] = r["code"]
    return [f"{r['day']} org {r['code']} {quote(r['name'])}",
            *_meta([("role", r["role"]), *_prov(r)])]  # fmt: skip


def _stream(r: dict[str, Any], n: _Names) -> list[str]:
    n.streams[r["id"]] = r["code"]
    rate = None
    if r["intervention_bp"] is not None:
        rate = f"{(Decimal(r['intervention_bp']) / 100).normalize():f}%"
    return [
        f"{r['day']} stream {r['code']} {quote(r['name'])}",
        *_meta([
            ("kind", r["kind"]),
            ("funder", n.orgs[r["funder_id"]] if r["funder_id"] else None),
            ("accountable", n.orgs[r["accountable_id"]] if r["accountable_id"] else None),
            ("intervention", rate),
            *_prov(r),
        ]),
    ]  # fmt: skip


def _line(r: dict[str, Any], n: _Names) -> list[str]:
    n.lines[r["id"]] = (r["stream_id"], r["code"])
    money = {k: amount(r[k]) if r[k] is not None else None
             for k in ("total_cost_pence", "specific_funding_pence")}  # fmt: skip
    return [
        f"{r['day']} line {n.streams[r['stream_id']]} {r['code']} {quote(r['name'])}",
        *_meta([
            ("kind", None if r["kind"] == "allocation" else r["kind"]),
            ("parent", n.line(r["parent_id"])),
            ("recipient", n.orgs[r["recipient_id"]] if r["recipient_id"] else None),
            ("ref", r["ref"]),
            ("aliases", r["aliases"]),
            ("total-cost", money["total_cost_pence"]),
            ("specific-funding", money["specific_funding_pence"]),
            *_prov(r),
        ]),
    ]  # fmt: skip


def _setting(r: dict[str, Any], n: _Names) -> list[str]:
    return [giving_books.heading(r, quote), *_meta([("actor", r["actor"]), *_prov(r)])]


def _stream_text(r: dict[str, Any], n: _Names) -> list[str]:
    return [
        f"{r['day']} {r['kind']} {n.streams[r['stream_id']]} {r['code']} {quote(r['text'])}",
        *_meta(_prov(r)),
    ]


def _programme(r: dict[str, Any], n: _Names) -> list[str]:
    n.versions[r["id"]] = (r["stream_id"], r["code"])
    return [
        f"{r['day']} programme {n.streams[r['stream_id']]} {r['code']} {quote(r['name'])}",
        *_meta([("compare", r["compare_code"]), *_prov(r)]),
    ]


def _profile(r: dict[str, Any], n: _Names, amounts: list[list[Any]]) -> list[str]:
    stream_id, version = n.versions[r["version_id"]]
    return [
        f"{r['day']} profile {n.streams[stream_id]} {version} {r['table_name']} {r['code']} "
        f"{quote(r['label'])}",
        *_meta([("section", r["section"])]),
        *(
            f"  {FinancialYear(year).render('/')}: {amount(pence)}"
            for _, year, pence in amounts
            if year is not None
        ),
        *_meta([
            ("later", next((amount(p) for _, y, p in amounts if y is None), None)),
            ("estimate", r["estimate_years"]),
            ("total", amount(r["total_pence"]) if r["total_pence"] is not None else None),
            *_prov(r),
        ]),
    ]  # fmt: skip


def _statement(r: dict[str, Any], n: _Names) -> list[str]:
    stream = n.streams[r["stream_id"]]
    period = _period(r["first_year"], r["last_year"])
    if r["kind"] == "stated":
        head = f"{r['day']} stated {stream} {period} {r['amount']}"
    else:
        metric = r["metric"] + (f":{r['target']}" if r["target"] else "")
        head = f"{r['day']} {r['kind']} {stream} {period} {metric} {r['amount']}"
    derived = statement_key(
        r["kind"], r["day"], stream, period, r["metric"], r["target"], r["amount"], r["scale"],
        r["table_name"], r["row_label"], r["source"],
    )  # fmt: skip
    return [
        head,
        *_meta([
            ("scale", None if r["scale"] == "1" else r["scale"]),
            ("printed", r["printed"]),
            ("rounding", r.get("rounding")),
            ("table", r["table_name"]),
            ("row", r["row_label"]),
            ("key", r["key"] if r["key"] != derived else None),
            *_prov(r),
        ]),
    ]  # fmt: skip


def _match(r: dict[str, Any], n: _Names) -> list[str]:
    stream, line = n.stream_of_line(r["line_id"]), n.line(r["line_id"])
    derived = match_key(r["day"], stream, line, r["amount_pence"], r["from_source"], r["form"])
    return [
        f"{r['day']} match {stream} {line} {amount(r['amount_pence'])}",
        *_meta([("from", r["from_source"]), ("form", r["form"]),
                ("key", r["key"] if r["key"] != derived else None), *_prov(r)]),
    ]  # fmt: skip


def _instalment(r: dict[str, Any], n: _Names) -> list[str]:
    stream, line = n.stream_of_line(r["line_id"]), n.line(r["line_id"])
    period = _period(r["first_year"], r["last_year"])
    derived = instalment_key(r["day"], stream, period, line, r["basis"], r["amount_pence"],
                             r["due"], r["milestone"], r["source"])  # fmt: skip
    return [
        f"{r['day']} schedule {stream} {period} {line} {amount(r['amount_pence'])}",
        *_meta([("basis", r["basis"]), ("due", _day(r["due"])), ("milestone", r["milestone"]),
                ("key", r["key"] if r["key"] != derived else None), *_prov(r)]),
    ]  # fmt: skip


def _entry(r: dict[str, Any], n: _Names) -> list[str]:
    stream = n.streams[r["stream_id"]]
    period = _period(r["first_year"], r["last_year"])
    line, to_line = n.line(r["line_id"]), n.line(r["to_line_id"])
    to_period = (
        _period(r["to_first_year"], r["to_last_year"]) if r["to_first_year"] is not None else None
    )
    money = amount(r["amount_pence"])
    if r["reverses_id"] is not None:
        target = n.refs[r["reverses_id"]]
        head = f"{r['day']} reverse {target}"
        pairs: list[tuple[str, object]] = []
        prefix = content_prefix(r["day"], target, None, None, r["source"])
    else:
        if r["kind"] == "award":
            head = f"{r['day']} award {stream} {period} {money}"
        elif r["kind"] == "virement":
            head = f"{r['day']} virement {stream} {period} {line} {to_line} {money}"
        elif r["kind"] == "reprofile":
            head = f"{r['day']} reprofile {stream} {period} {to_period} {money}"
        elif r["kind"] in ("claim", "receipt"):
            head, pairs = _money_in(r, n, stream, period, money)
        elif r["kind"] == "carry-forward":
            head = f"{r['day']} carry-forward {stream} {period} {to_period} {line} {money}"
            pairs = [("approval", r["tranche"])]
        else:
            head = f"{r['day']} {r['kind']} {stream} {period} {line} {money}"
        if r["kind"] == "commit":
            reference, conditions, starts, ends = n.commitments[r["id"]]
            pairs = [("agreement", reference), ("conditions", conditions),
                     ("from", _day(starts)), ("to", _day(ends))]  # fmt: skip
        elif r["kind"] not in ("claim", "receipt", "carry-forward"):
            pairs = [
                ("from", to_line if r["kind"] == "pay" else None),  # passed on by the parent
                ("tranche", r["tranche"]),
                ("share", r["share"]),
                ("over-allocation", "yes" if r["over_allocation"] else None),
                ("printed", r["printed"]),
            ]
        what = operation_text(
            r["kind"], stream, period, line, to_line, to_period, r["amount_pence"], r["tranche"],
            bool(r["over_allocation"]),
        )  # fmt: skip
        prefix = content_prefix(r["day"], None, what, r["share"], r["source"])
    # The key the books would give this entry here; anything else is written out.
    derived = derived_key(prefix, n.contents[prefix])
    n.contents[prefix] += 1
    explicit = r["ref"] != f"e{r['key'][:12]}" or r["id"] in n.reversed
    if r["id"] in n.reversed:
        n.refs[r["id"]] = r["ref"]
    return [
        head,
        *_meta([
            ("id", r["ref"] if explicit else None),
            ("key", r["key"] if r["key"] != derived else None),
            *pairs,
            ("reason", r["reason"]),
            ("actor", r["actor"]),
            ("recorded", _timestamp(r["recorded_at"])),
            *_prov(r),
        ]),
    ]  # fmt: skip


def _money_in(
    r: dict[str, Any], n: _Names, stream: str, period: str, money: str
) -> tuple[str, list[tuple[str, object]]]:
    """A claim's or a receipt's first line and metadata; the claim's name is its tranche."""
    if r["kind"] == "receipt":
        return f"{r['day']} receipt {stream} {period} {money}", [("claim", r["tranche"])]
    starts, ends, eligible, evidence = n.claims[r["id"]]
    return f"{r['day']} claim {stream} {period} {r['tranche']} {money}", [
        ("from", _day(starts)),
        ("to", _day(ends)),
        ("eligible", amount(int(eligible))),
        ("evidence", evidence),
    ]


def _day(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def _plan_line(r: dict[str, Any], n: _Names) -> list[str]:
    derived = plan_key(
        r["line_id"], r["year"], r["title"], r["objectives"], r["cost_pence"],
        r["other_funding"], r["pcc_objective"], r["source"],
    )  # fmt: skip
    return [
        f"{r['day']} plan {n.stream_of_line(r['line_id'])} {FinancialYear(r['year'])} "
        f"{n.line(r['line_id'])} {quote(r['title'])}",
        *_meta([
            ("cost", amount(r["cost_pence"])),
            ("objectives", r["objectives"]),
            ("pcc-objective", r["pcc_objective"]),
            ("other-funding", r["other_funding"]),
            ("key", r["key"] if r["key"] != derived else None),
            *_prov(r),
        ]),
    ]  # fmt: skip


def _agreement(r: dict[str, Any], n: _Names) -> list[str]:
    derived = agreement_key(r["line_id"], r["year"], r["day"])
    return [
        f"{r['day']} agree {n.stream_of_line(r['line_id'])} {FinancialYear(r['year'])} "
        f"{n.line(r['line_id'])}",
        *_meta([("key", r["key"] if r["key"] != derived else None), *_prov(r)]),
    ]


def _stage(r: dict[str, Any], n: _Names) -> list[str]:
    derived = stage_key(r["stream_id"], r["year"], r["stage"])
    return [
        f"{r['day']} due {n.streams[r['stream_id']]} {FinancialYear(r['year'])} {r['stage']} "
        f"{r['due']}",
        *_meta([("to", r["covers_to"]), ("key", r["key"] if r["key"] != derived else None),
                *_prov(r)]),
    ]  # fmt: skip


def _filing_meta(r: dict[str, Any], n: _Names) -> list[tuple[str, object]]:
    attached = r["key"] in n.attachments
    return [
        ("sha256", r["key"]),
        ("actor", r["actor"]),
        ("recorded", _timestamp(r["recorded_at"])),
        ("completed-by", r["completed_by"]),
        ("completed-on", r["completed_on"]),
        ("attachment", f"attachments/{r['key']}.xlsx" if attached else None),
    ]


def _return(r: dict[str, Any], n: _Names, figures: list[list[Any]]) -> list[str]:
    n.filings[r["id"]] = r["key"]
    lines: list[tuple[str, object]] = []
    for _, position, title, cell, spend, progress, measure, target, actual in figures:
        lines += [
            (f"line-{position}", title),
            (f"line-{position}-cell", cell),
            (f"line-{position}-spend", amount(spend) if spend is not None else None),
            (f"line-{position}-progress", progress),
            (f"line-{position}-measure", measure),
            (f"line-{position}-target", target),
            (f"line-{position}-actual", actual),
        ]
    total = r["stated_total_pence"]
    return [
        f"{r['received_on']} return {n.streams[r['stream_id']]} {FinancialYear(r['year'])} "
        f"{n.line(r['line_id'])} {r['stage']} {quote(r['filename'])}",
        *_meta([
            *_filing_meta(r, n),
            ("fingerprint", r["fingerprint"]),
            ("total", amount(total) if total is not None else None),
            ("supersedes", n.filings[r["supersedes_id"]] if r["supersedes_id"] else None),
            *lines,
        ]),
    ]  # fmt: skip


def _plan_form(r: dict[str, Any], n: _Names) -> list[str]:
    return [
        f"{r['received_on']} plan-form {n.streams[r['stream_id']]} {FinancialYear(r['year'])} "
        f"{n.line(r['line_id'])} {quote(r['filename'])}",
        *_meta([*_filing_meta(r, n), ("lines", r["lines"])]),
    ]


_WRITERS: dict[str, Callable[..., list[str]]] = {
    "organisation": _organisation,
    "stream": _stream,
    "line": _line,
    "setting": _setting,
    "stream_text": _stream_text,
    "programme_version": _programme,
    "statement": _statement,
    "match_funding": _match,
    "instalment": _instalment,
    "entry": _entry,
    "plan_line": _plan_line,
    "plan_agreement": _agreement,
    "return_stage": _stage,
    "plan_filing": _plan_form,
    **people.printers(quote, _meta),
    "form_issue": form_issues.printer(quote, _meta),
    **growth.printers(quote, _meta),
}


def directives(
    connection: Connection, attachment: Callable[[str, bytes], None]
) -> Iterator[list[str]]:
    """The lines of each record's directive, in chain order; received workbooks are handed
    to ``attachment(sha256, content)`` (they have no directive of their own: the return or
    plan form that follows names them)."""
    names = _Names(connection)
    for record, record_id, values, _ in in_chain_order(connection, with_children=False):
        row = dict(zip(record.columns, values, strict=True))
        if record.table in ("claim", "commitment"):  # printed with its entry, just before
            continue
        if record.table == "attachment":
            sha = row["sha256"]
            for (data,) in stream_rows(
                connection, "SELECT content FROM attachment WHERE id = %(id)s", {"id": record_id}
            ):
                attachment(sha, bytes(data))
            names.attachments.add(sha)
            continue
        yield _lines(record, row, names, connection, record_id)


def _lines(
    record: Record, row: dict[str, Any], names: _Names, connection: Connection, record_id: int
) -> list[str]:
    if record.table == "profile":
        amounts = list(stream_rows(
            connection,
            "SELECT id, year, amount_pence FROM profile_amount WHERE profile_id = %(id)s "
            "ORDER BY id", {"id": record_id},
        ))  # fmt: skip
        return _profile(row, names, [list(a) for a in amounts])
    if record.table == "return_filing":
        figures = list(stream_rows(
            connection,
            "SELECT id, position, title, cell, spend_pence, progress, measure, target, actual "
            "FROM return_figure WHERE filing_id = %(id)s ORDER BY id", {"id": record_id},
        ))  # fmt: skip
        return _return(row, names, [list(f) for f in figures])
    return _WRITERS[record.table](row, names)


def write(connection: Connection, folder: Path, head: Head, today: date) -> Exported:
    """Write the export into ``folder`` (empty): main.grants, the record files, attachments/."""
    files: list[str] = []
    attachments = 0
    out: TextIO | None = None
    count = 0

    def attachment(sha: str, content: bytes) -> None:
        nonlocal attachments
        target = folder / "attachments"
        target.mkdir(exist_ok=True)
        (target / f"{sha}.xlsx").write_bytes(content)
        attachments += 1

    try:
        for lines in directives(connection, attachment):
            if out is None or count % RECORDS_PER_FILE == 0:
                if out is not None:
                    out.close()
                name = f"ledger-{len(files) + 1:04d}.grants"
                files.append(name)
                out = (folder / name).open("w", encoding="utf-8", newline="\n")
                out.write(f"{HEADER}: records {count + 1:,} on, in the order recorded.\n")
            out.write("\n" + "\n".join(lines) + "\n")
            count += 1
    finally:
        if out is not None:
            out.close()
    main = [
        f"{HEADER} on {today.isoformat()}: every record of the ledger, in the order it was "
        "recorded,",
        "; with the received workbooks in attachments/. Loaded into an empty database it "
        "restores the",
        "; ledger, its chain and all (the head below is checked); loaded into the database "
        "it came from,",
        "; it changes nothing.",
        "",
        *(f'include "{name}"' for name in files),
        "",
        f"{today.isoformat()} head {head}",
    ]
    (folder / "main.grants").write_text("\n".join(main) + "\n", encoding="utf-8")
    return Exported(["main.grants", *files], attachments, head, count)


__all__ = ["HEADER", "RECORDS_PER_FILE", "Exported", "amount", "directives", "quote", "write"]
