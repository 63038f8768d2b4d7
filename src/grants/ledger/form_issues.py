"""Issued forms in the books: how `grants ledger export` writes each form the ledger issued
(its identity, MAC and locked display cells as issued; never the key), so that a restored
ledger that is given the key (the export's ``form-key`` file) still accepts the forms issued
before.

    2017-09-01 form-issue return CSF 2017-18 CHERWELL mid-year
      mac: 5f0c...
      recipient: CHER-CSP
      fingerprint: 1a2b3c4d5e6f
      display: "{\\"Return!B4\\": \\"Cherwell Community Safety Partnership\\", ...}"
      actor: olive
      recorded: 2017-09-01T10:00:00

A form-issue the ledger holds already (by its MAC) is left as it is. Books cannot forge a
form with one: a form's MAC verifies only with the ledger's key.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from grants.db.models import FormIssue
from grants.ledger.parser import Directive
from grants.periods import FinancialYear

if TYPE_CHECKING:
    from grants.ledger.validate import Books
    from grants.ledger.write import Writer

KEYWORD = "form-issue"
ARITY = {KEYWORD: 5}
USAGE = {KEYWORD: "DATE form-issue KIND STREAM YEAR LINE STAGE"}
META = {KEYWORD: {"mac", "recipient", "fingerprint", "display", "actor", "recorded"}}
_HEX = frozenset("0123456789abcdef")
_MAC = re.compile(r"^[0-9a-f]{64}$")


def validate(b: Books, d: Directive) -> None:
    kind, stream, year_text, line, stage = d.args
    if kind not in ("return", "plan"):
        b.error(d, f"{kind!r} is not a kind of form: give return or plan")
        return
    year = b.year(d, year_text)
    recorded = b.recorded(d)
    mac = d.meta.get("mac", "")
    fingerprint = d.meta.get("fingerprint", "")
    if not _MAC.fullmatch(mac):
        b.error(d, "mac: the form's MAC, 64 hexadecimal digits, as exported", "mac")
        return
    if len(fingerprint) != 12 or not set(fingerprint) <= _HEX:
        b.error(d, "fingerprint: the form's 12 hexadecimal digits", "fingerprint")
        return
    try:
        display = json.loads(d.meta.get("display", ""))
    except ValueError:
        display = None
    if not isinstance(display, dict) or not all(
        isinstance(v, str | int | float) or v is None for v in display.values()
    ):
        b.error(d, "display: the form's display cells as exported (JSON)", "display")
        return
    if year is None or recorded is None:
        return
    b.form_issues.append((d, {
        "kind": kind, "stream": stream, "year": year, "line": line, "stage": stage,
        "mac": mac, "recipient": d.meta.get("recipient"), "fingerprint": fingerprint,
        "display": json.dumps(display, sort_keys=True, ensure_ascii=False),
        "actor": d.meta.get("actor", b.actor), "recorded_at": recorded,
    }))  # fmt: skip


def write(w: Writer) -> None:
    """Each form issued, in the books' order; one the ledger holds (by its MAC) is skipped."""
    if not w.books.form_issues:
        return
    known = set(w.s.scalars(select(FormIssue.mac)))
    for d, rec in w.books.form_issues:
        if rec["mac"] in known:
            w.report.skipped["issued form"] += 1
            continue
        stream_id = w.stream(d, rec["stream"])
        line_id = w.lines.get((rec["stream"], rec["line"]))
        if stream_id is None:
            continue
        if line_id is None:
            w.error(d, f"there is no line {rec['line']!r} in stream {rec['stream']!r}")
            continue
        values = {k: v for k, v in rec.items() if k not in ("stream", "line")}
        w.s.add(FormIssue(stream_id=stream_id, line_id=line_id, issued_on=d.day, **values))
        known.add(rec["mac"])
        w.made(d, "form_issue")
        w.report.created["issued form"] += 1
    w.s.flush()


def printer(quote: Any, meta: Any) -> Any:
    """The export's writer of a form_issue record (with the printer's quote and meta)."""

    def form_issue(r: dict[str, Any], n: Any) -> list[str]:
        return [
            f"{r['issued_on']} {KEYWORD} {r['kind']} {n.streams[r['stream_id']]} "
            f"{FinancialYear(r['year'])} {n.line(r['line_id'])} {quote(r['stage'])}",
            *meta([("mac", r["mac"]), ("recipient", r["recipient"]),
                   ("fingerprint", r["fingerprint"]), ("display", r["display"]),
                   ("actor", r["actor"]), ("recorded", r["recorded_at"].replace(" ", "T"))]),
        ]  # fmt: skip

    return form_issue


__all__ = ["ARITY", "KEYWORD", "META", "USAGE", "printer", "validate", "write"]
