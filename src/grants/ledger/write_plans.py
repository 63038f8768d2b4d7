"""Record the books' statements, match funding, programmes and profiles, spending plans,
agreements and the reporting calendar (the part of the writer after the journal)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from grants.db.models import (
    MatchFunding,
    Profile,
    ProfileAmount,
    ProgrammeVersion,
    ReturnStage,
    Statement,
)
from grants.formatting import gbp
from grants.ledger.assertions import check_assertions
from grants.ledger.parser import Directive, Problem
from grants.ledger.validate import Books
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services.keys import match_key, stage_key, statement_key
from grants.services.plans import NewPlanLine, PlanRefused, Plans, Provenance

if TYPE_CHECKING:
    from grants.ledger.write import Writer


def write_rest(w: Writer) -> None:
    s, books = w.s, w.books
    known = set(s.execute(select(Statement.key)).scalars())
    for d, rec in books.statements:
        stream_id = w.stream(d, rec["stream"])
        if stream_id is None:
            continue
        period: Period = rec["period"]
        key = d.meta.get("key") or statement_key(
            rec["kind"], d.day, rec["stream"], period, rec["metric"], rec["target"],
            rec["amount"], rec["scale"], rec["table_name"], rec["row_label"],
            d.meta.get("source"),
        )  # fmt: skip
        if key in known:
            w.report.skipped[rec["kind"]] += 1
            rec["recorded_before"] = True  # an assertion checked when it was recorded
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
        w.made(d, "statement")
        w.report.created[rec["kind"]] += 1
    known = set(s.execute(select(MatchFunding.key)).scalars())
    for d, rec in books.matches:
        line_id = w.lines.get((rec["stream"], rec["line"]))
        if line_id is None:
            w.error(d, f"there is no line {rec['line']!r} in stream {rec['stream']!r}")
            continue
        key = d.meta.get("key") or match_key(
            d.day, rec["stream"], rec["line"], rec["amount_pence"], rec["from_source"], rec["form"]
        )
        if key in known:
            w.report.skipped["match funding"] += 1
            continue
        known.add(key)
        values = {k: v for k, v in rec.items() if k not in ("stream", "line")}
        s.add(MatchFunding(key=key, line_id=line_id, **values, **books.provenance(d)))
        w.made(d, "match_funding")
        w.report.created["match funding"] += 1
    _write_programmes(w)
    _write_plans(w)
    s.flush()
    check_assertions(w)


def _write_plans(w: Writer) -> None:
    """Plan lines and agreements, by the plans' rules (grants.services.plans), and the
    reporting calendar."""
    s, books = w.s, w.books
    plans = Plans(s)
    for d, rec in books.agreements:
        line_id = _plan_line_id(w, d, rec)
        if line_id is not None:
            plans.to_be_agreed(line_id, rec["year"], d.day)
    for d, rec in books.plans:
        line_id = _plan_line_id(w, d, rec)
        if line_id is None:
            continue
        new = NewPlanLine(
            rec["stream"], rec["line"], line_id, rec["year"], rec["title"], rec["cost_pence"],
            rec["objectives"], rec["other_funding"], rec["pcc_objective"], _made(books, d),
        )  # fmt: skip
        try:
            outcome = plans.add_line(new)
        except PlanRefused as exc:
            w.error(d, str(exc))
            continue
        if outcome == "created":
            w.made(d, "plan_line")
            w.report.created["plan line"] += 1
        else:
            w.report.skipped["plan line"] += 1
    for d, rec in books.agreements:
        line_id = _plan_line_id(w, d, rec)
        if line_id is None:
            continue
        try:
            outcome = plans.agree(rec["line"], line_id, rec["year"], _made(books, d))
        except PlanRefused as exc:
            w.error(d, str(exc))
            continue
        if outcome == "created":
            w.made(d, "plan_agreement")
            w.report.created["plan agreement"] += 1
        else:
            w.report.skipped["plan agreement"] += 1
    stages = {(x.stream_id, x.year, x.stage): x for x in s.scalars(select(ReturnStage))}
    for d, rec in books.dues:
        stream_id = w.stream(d, rec["stream"])
        if stream_id is None:
            continue
        before = stages.get((stream_id, rec["year"], rec["stage"]))
        if before is not None:
            if (before.covers_to, before.due) != (rec["covers_to"], rec["due"]):
                w.error(d, f"{rec['stream']} {FinancialYear(rec['year'])} already has the "
                              f"stage {rec['stage']}, due {before.due}")  # fmt: skip
            else:
                w.report.skipped["return stage"] += 1
            continue
        stage = ReturnStage(
            key=d.meta.get("key") or stage_key(stream_id, rec["year"], rec["stage"]),
            stream_id=stream_id,
            year=rec["year"],
            stage=rec["stage"],
            covers_to=rec["covers_to"],
            due=rec["due"],
            **books.provenance(d),
        )
        s.add(stage)
        w.made(d, "return_stage")
        stages[(stream_id, rec["year"], rec["stage"])] = stage
        w.report.created["return stage"] += 1


def _made(books: Books, d: Directive) -> Provenance:
    p = books.provenance(d)
    return Provenance(p["day"], p["source"], p["origin"], p["note"], d.meta.get("key"))


def _plan_line_id(w: Writer, d: Directive, rec: dict[str, Any]) -> int | None:
    if w.stream(d, rec["stream"]) is None:
        return None
    line_id = w.lines.get((rec["stream"], rec["line"]))
    if line_id is None:
        w.error(d, f"there is no line {rec['line']!r} in stream {rec['stream']!r}")
    return line_id


def _write_programmes(w: Writer) -> None:
    s, books = w.s, w.books
    versions = {(v.stream_id, v.code): v for v in s.scalars(select(ProgrammeVersion))}
    for d, rec in books.programmes:
        stream_id = w.stream(d, rec["stream"])
        if stream_id is None:
            continue
        values = {"code": rec["code"], "name": rec["name"], "compare_code": rec["compare_code"]}
        values |= books.provenance(d) | {"stream_id": stream_id}
        if w._same_or_new("programme", d, versions.get((stream_id, rec["code"])), values):
            version = ProgrammeVersion(**values)
            s.add(version)
            s.flush()
            w.made(d, "programme_version")
            versions[(stream_id, rec["code"])] = version
    profiles = {(p.version_id, p.table_name, p.code): p for p in s.scalars(select(Profile))}
    positions: Counter[tuple[int, str]] = Counter(
        (p.version_id, p.table_name) for p in profiles.values()
    )
    for d, rec in books.profiles:
        stream_id = w.stream(d, rec["stream"])
        if stream_id is None:
            continue
        version = versions.get((stream_id, rec["version"]))
        if version is None:
            w.error(d, f"programme version {rec['version']!r} of {rec['stream']} is not declared")
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
            wanted = dict(rec["amounts"])
            if rec["later_pence"] is not None:
                wanted[None] = rec["later_pence"]
            if amounts != wanted or existing.label != rec["label"]:
                w.error(d, f"profile {rec['code']} is already recorded with other figures")
            else:
                w.report.skipped["profile"] += 1
            continue
        key = (version.id, rec["table_name"])
        positions[key] += 1
        later = rec["later_pence"]
        values = {
            k: v for k, v in rec.items() if k not in ("stream", "version", "amounts", "later_pence")
        }
        profile = Profile(
            version_id=version.id, position=positions[key], **values, **books.provenance(d)
        )
        s.add(profile)
        s.flush()
        w.made(d, "profile")
        profiles[(version.id, rec["table_name"], rec["code"])] = profile
        s.add_all(
            ProfileAmount(profile_id=profile.id, year=y, amount_pence=a)
            for y, a in sorted(rec["amounts"].items())
        )
        if later is not None:  # the later years, printed as one column: no year of its own
            s.add(ProfileAmount(profile_id=profile.id, year=None, amount_pence=later))
        w.report.created["profile"] += 1
        every = sum(rec["amounts"].values()) + (later or 0)
        if rec["total_pence"] is not None and rec["total_pence"] != every:
            total = from_pence(every)
            w.report.discrepancies.append(
                Problem(
                    d.file,
                    d.meta_lines.get("total", d.line),
                    f"printed total {gbp(from_pence(rec['total_pence']))} of {rec['label']} "
                    f"differs from the sum of its years {gbp(total)}",
                    "discrepancy",
                )
            )
