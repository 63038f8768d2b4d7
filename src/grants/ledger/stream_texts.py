"""The names and headings a stream's books give: `tranche` names an award tranche (the
reports label its rows with the name, not the code) and `heading` gives the text of one
heading of the stream's report in the council's own words (a key of the report's template:
the capital programme's as it stands, any other report's after its template's name).

    2017-12-12 tranche CAPITAL RECEIPTS "Capital receipts"
    2017-12-12 heading CAPITAL resources.title "Flexible capital resources"
    2017-12-12 heading CAPITAL allocations.headings.4 "Specific funding"
    2017-04-01 heading PCC-CSF resourcing:sheet.title "Appendix 7 Resourcing"

A later record of the same stream, kind and code stands in place of an earlier one (both kept).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import select

from grants.db.models import StreamText
from grants.ledger.parser import Directive

if TYPE_CHECKING:
    from grants.ledger.validate import Books
    from grants.ledger.write import Writer

# The templates of the reports a stream's books may word (templates/TEMPLATE.toml); a key
# without a template's name is the capital programme's.
TEMPLATES = ("resourcing", "pcc-template", "plan-form", "return-form", "reconcile")
# `section.key`, or `section.key.N` for the Nth (from 1) of a list of headings, after
# `template:` for any report but the capital programme.
HEADING_KEY = re.compile(
    r"^(?:(?P<template>[a-z][a-z-]{0,30}):)?"
    r"[a-z][a-z0-9_]{0,30}(?:\.[a-z][a-z0-9_]{0,30}){1,2}(?:\.[1-9][0-9]?)?$"
)
MAX_TEXT = 500
MAX_KEY = 80


def _text(b: Books, d: Directive, what: str) -> str | None:
    text = " ".join(d.args[2].split())
    if not text or len(text) > MAX_TEXT:
        b.error(d, f"{what} is 1 to {MAX_TEXT} characters")
        return None
    return text


def tranche(b: Books, d: Directive) -> None:
    code = b.code(d, d.args[1], "tranche")
    text = _text(b, d, "a tranche's name")
    if code and text:
        b.stream_texts.append((d, {"stream": d.args[0], "kind": "tranche", "code": code,
                                   "text": text}))  # fmt: skip


def heading(b: Books, d: Directive) -> None:
    key = d.args[1]
    match = HEADING_KEY.match(key) if len(key) <= MAX_KEY else None
    if not match:
        b.error(
            d,
            f"{key!r} is not a heading key: write SECTION.KEY (or SECTION.KEY.N for the Nth of "
            "a list of headings) as the report's template names it, e.g. resources.title, "
            "after TEMPLATE: for any report but the capital programme, e.g. "
            "resourcing:sheet.title (see templates/README.md)",
        )
        return
    if match["template"] is not None and match["template"] not in TEMPLATES:
        b.error(
            d,
            f"{key!r}: {match['template']!r} is not a report's template; name one of "
            f"{', '.join(TEMPLATES)} (or none, for the capital programme)",
        )
        return
    text = _text(b, d, "a heading")
    if text:
        b.stream_texts.append((d, {"stream": d.args[0], "kind": "heading", "code": key,
                                   "text": text}))  # fmt: skip


def write(w: Writer) -> None:
    """Each name or heading not already standing as the books give it, in the books' order."""
    if not w.books.stream_texts:
        return
    standing: dict[tuple[int, str, str], str] = {}
    for x in w.s.scalars(select(StreamText).order_by(StreamText.id)):
        standing[(x.stream_id, x.kind, x.code)] = x.text
    for d, rec in w.books.stream_texts:
        stream_id = w.stream(d, rec["stream"])
        if stream_id is None:
            continue
        slot = (stream_id, rec["kind"], rec["code"])
        if standing.get(slot) == rec["text"]:
            w.report.skipped[rec["kind"]] += 1
            continue
        standing[slot] = rec["text"]
        w.s.add(StreamText(stream_id=stream_id, kind=rec["kind"], code=rec["code"],
                           text=rec["text"], **w.books.provenance(d)))  # fmt: skip
        w.made(d, "stream_text")
        w.report.created[rec["kind"]] += 1


__all__ = ["HEADING_KEY", "TEMPLATES", "heading", "tranche", "write"]
