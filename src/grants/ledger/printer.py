"""Write the database out as canonical books text (ledger/README.md).

The text is canonical: loading it into an empty database and exporting again gives the same
text byte for byte. One file per stream, and ``main.grants`` with the organisations and the
includes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import (
    Entry,
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
from grants.money import from_pence
from grants.periods import FinancialYear, Period

_BARE = re.compile(r"[A-Za-z0-9._:/%()+-]+")


def quote(value: str) -> str:
    """A value as the books write it: bare if it is one plain word, else in quotes."""
    if _BARE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def amount(pence: int) -> str:
    return f"{from_pence(pence):,.2f}" if pence >= 0 else f"-{from_pence(-pence):,.2f}"


def _period(first: int, last: int) -> str:
    return str(Period(FinancialYear(first), FinancialYear(last)))


def _meta(pairs: list[tuple[str, object]]) -> list[str]:
    return [f"  {k}: {quote(str(v))}" for k, v in pairs if v is not None and v != ""]


def _prov(row: object) -> list[tuple[str, object]]:
    return [
        ("source", getattr(row, "source", None)),
        ("note", getattr(row, "note", None)),
        ("origin", getattr(row, "origin", None)),
    ]


def export(session: Session) -> dict[str, str]:
    """File name -> canonical text."""
    orgs = {o.id: o for o in session.scalars(select(Organisation).order_by(Organisation.id))}
    streams = list(session.scalars(select(Stream).order_by(Stream.id)))
    lines = {x.id: x for x in session.scalars(select(Line).order_by(Line.id))}
    files: dict[str, list[str]] = defaultdict(list)
    main = files["main.grants"]
    main.append("; Exported by `grants ledger export`: canonical text of the database.")
    for o in orgs.values():
        main += ["", f"{o.day} org {o.code} {quote(o.name)}"]
        main += _meta([("role", o.role), *_prov(o)])
    stream_code = {x.id: x.code for x in streams}
    file_of = {x.id: f"{x.code.lower()}.grants" for x in streams}
    if streams:
        main.append("")
    for x in streams:
        main.append(f'include "{file_of[x.id]}"')
        out = files[file_of[x.id]]
        out.append(f"{x.day} stream {x.code} {quote(x.name)}")
        rate = None
        if x.intervention_bp is not None:
            rate = f"{(Decimal(x.intervention_bp) / 100).normalize():f}%"
        out += _meta(
            [
                ("kind", x.kind),
                ("funder", orgs[x.funder_id].code if x.funder_id else None),
                ("accountable", orgs[x.accountable_id].code if x.accountable_id else None),
                ("intervention", rate),
                *_prov(x),
            ]
        )
    for x in lines.values():
        out = files[file_of[x.stream_id]]
        out += ["", f"{x.day} line {stream_code[x.stream_id]} {x.code} {quote(x.name)}"]
        out += _meta(
            [
                ("kind", None if x.kind == "allocation" else x.kind),
                ("parent", lines[x.parent_id].code if x.parent_id else None),
                ("recipient", orgs[x.recipient_id].code if x.recipient_id else None),
                ("ref", x.ref),
                ("aliases", x.aliases),
                (
                    "total-cost",
                    amount(x.total_cost_pence) if x.total_cost_pence is not None else None,
                ),
                (
                    "specific-funding",
                    amount(x.specific_funding_pence)
                    if x.specific_funding_pence is not None
                    else None,
                ),
                *_prov(x),
            ]
        )
    versions = {
        v.id: v for v in session.scalars(select(ProgrammeVersion).order_by(ProgrammeVersion.id))
    }
    for v in versions.values():
        out = files[file_of[v.stream_id]]
        out += ["", f"{v.day} programme {stream_code[v.stream_id]} {v.code} {quote(v.name)}"]
        out += _meta([("compare", v.compare_code), *_prov(v)])
    amounts: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for pid, year, pence in session.execute(
        select(ProfileAmount.profile_id, ProfileAmount.year, ProfileAmount.amount_pence).order_by(
            ProfileAmount.profile_id, ProfileAmount.year
        )
    ):
        amounts[pid].append((year, pence))
    for p in session.scalars(select(Profile).order_by(Profile.id)):
        v = versions[p.version_id]
        out = files[file_of[v.stream_id]]
        out += [
            "",
            f"{p.day} profile {stream_code[v.stream_id]} {v.code} {p.table_name} {p.code} "
            f"{quote(p.label)}",
        ]
        out += _meta([("section", p.section)])
        out += [f"  {FinancialYear(y).render('/')}: {amount(a)}" for y, a in amounts[p.id]]
        out += _meta(
            [
                ("estimate", p.estimate_years),
                ("total", amount(p.total_pence) if p.total_pence is not None else None),
                *_prov(p),
            ]
        )
    entries = list(session.scalars(select(Entry).order_by(Entry.id)))
    reversed_ids = {e.reverses_id for e in entries if e.reverses_id}
    by_id = {e.id: e for e in entries}
    for e in entries:
        out = files[file_of[e.stream_id]]
        s = stream_code[e.stream_id]
        if e.reverses_id:
            head = f"{e.day} reverse {by_id[e.reverses_id].ref}"
            pairs: list[tuple[str, object]] = []
        else:
            period = _period(e.first_year, e.last_year)
            line = lines[e.line_id].code if e.line_id else None
            money_text = amount(e.amount_pence)
            if e.kind == "award":
                head = f"{e.day} award {s} {period} {money_text}"
            elif e.kind == "virement":
                head = (
                    f"{e.day} virement {s} {period} {line} {lines[e.to_line_id].code} {money_text}"  # type: ignore[index]
                )
            elif e.kind == "reprofile":
                to = _period(e.to_first_year, e.to_last_year)  # type: ignore[arg-type]
                head = f"{e.day} reprofile {s} {period} {to} {money_text}"
            else:
                head = f"{e.day} {e.kind} {s} {period} {line} {money_text}"
            pairs = [
                ("tranche", e.tranche),
                ("share", e.share),
                ("over-allocation", "yes" if e.over_allocation else None),
                ("printed", e.printed),
            ]
        explicit = e.ref != f"e{e.key[:12]}" or e.id in reversed_ids
        out += ["", head]
        out += _meta(
            [
                ("id", e.ref if explicit else None),
                # A command's entry has a random key: keep it, so a re-load recognises it.
                ("key", e.key if (e.origin or "").startswith("command:") else None),
                *pairs,
                ("reason", e.reason),
                ("actor", e.actor),
                ("recorded", e.recorded_at.isoformat()),
                *_prov(e),
            ]
        )
    for st in session.scalars(select(Statement).order_by(Statement.id)):
        out = files[file_of[st.stream_id]]
        s = stream_code[st.stream_id]
        period = _period(st.first_year, st.last_year)
        if st.kind == "stated":
            head = f"{st.day} stated {s} {period} {st.amount}"
        else:
            metric = st.metric + (f":{st.target}" if st.target else "")
            head = f"{st.day} {st.kind} {s} {period} {metric} {st.amount}"
        out += ["", head]
        out += _meta(
            [
                ("scale", None if st.scale == "1" else st.scale),
                ("printed", st.printed),
                ("table", st.table_name),
                ("row", st.row_label),
                *_prov(st),
            ]
        )
    for m in session.scalars(select(MatchFunding).order_by(MatchFunding.id)):
        line_row = lines[m.line_id]
        out = files[file_of[line_row.stream_id]]
        out += [
            "",
            f"{m.day} match {stream_code[line_row.stream_id]} {line_row.code} "
            f"{amount(m.amount_pence)}",
        ]
        out += _meta([("from", m.from_source), ("form", m.form), *_prov(m)])
    for pl in session.scalars(select(PlanLine).order_by(PlanLine.line_id, PlanLine.year,
                                                        PlanLine.position)):  # fmt: skip
        line_row = lines[pl.line_id]
        out = files[file_of[line_row.stream_id]]
        out += [
            "",
            f"{pl.day} plan {stream_code[line_row.stream_id]} {FinancialYear(pl.year)} "
            f"{line_row.code} {quote(pl.title)}",
        ]
        out += _meta(
            [
                ("cost", amount(pl.cost_pence)),
                ("objectives", pl.objectives),
                ("pcc-objective", pl.pcc_objective),
                ("other-funding", pl.other_funding),
                *_prov(pl),
            ]
        )
    for a in session.scalars(select(PlanAgreement).order_by(PlanAgreement.id)):
        line_row = lines[a.line_id]
        out = files[file_of[line_row.stream_id]]
        out += [
            "",
            f"{a.day} agree {stream_code[line_row.stream_id]} {FinancialYear(a.year)} "
            f"{line_row.code}",
        ]
        out += _meta(_prov(a))
    for st in session.scalars(select(ReturnStage).order_by(ReturnStage.id)):
        out = files[file_of[st.stream_id]]
        out += [
            "",
            f"{st.day} due {stream_code[st.stream_id]} {FinancialYear(st.year)} {st.stage} "
            f"{st.due.isoformat()}",
        ]
        out += _meta([("to", st.covers_to.isoformat()), *_prov(st)])
    return {name: "\n".join(text) + "\n" for name, text in files.items()}
