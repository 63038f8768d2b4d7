"""Record the books' statements, match funding, programmes and profiles, spending plans,
agreements and the reporting calendar (the part of the writer after the journal)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from grants.db.models import (
    MatchFunding,
    PlanAgreement,
    PlanLine,
    Profile,
    ProfileAmount,
    ProgrammeVersion,
    ReturnStage,
    Statement,
    Stream,
)
from grants.formatting import gbp
from grants.ledger.assertions import check_assertions
from grants.ledger.parser import Directive, Problem
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services.keys import agreement_key, match_key, plan_key, stage_key, statement_key

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
    """Plan lines, agreements and the reporting calendar. A plan's titles are fixed once
    it is agreed: a plan line dated after the agreement is refused."""
    s, books = w.s, w.books
    kinds = dict(s.execute(select(Stream.code, Stream.kind)).all())
    agreed: dict[tuple[int, int], date] = {
        (a.line_id, a.year): a.day for a in s.scalars(select(PlanAgreement))
    }
    agreed_before = set(agreed)  # agreed in earlier loads: closed to new lines whatever their date
    for d, rec in books.agreements:
        line_id = _plan_line_id(w, d, rec)
        if line_id is not None:
            day = agreed.get((line_id, rec["year"]))
            if day is None or d.day < day:
                agreed[(line_id, rec["year"])] = d.day
    existing = {(p.line_id, p.year, p.title): p for p in s.scalars(select(PlanLine))}
    positions: Counter[tuple[int, int]] = Counter((p.line_id, p.year) for p in existing.values())
    planned: set[tuple[int, int]] = {(p.line_id, p.year) for p in existing.values()}
    for d, rec in books.plans:
        line_id = _plan_line_id(w, d, rec)
        if line_id is None:
            continue
        if rec["pcc_objective"] is not None and kinds.get(rec["stream"]) != "pcc-csf":
            w.error(d, "pcc-objective applies to the PCC Community Safety Fund only")
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
                w.error(d, f"the plan already has {rec['title']!r} with other figures")
            else:
                w.report.skipped["plan line"] += 1
            continue
        day = agreed.get(where)
        if day is not None and (d.day > day or where in agreed_before):
            w.error(
                d,
                f"the plan for {rec['line']} {FinancialYear(rec['year'])} was agreed on {day}: "
                "its expenditure titles are fixed and returns must use them",
            )
            continue
        positions[where] += 1
        planned.add(where)
        line = PlanLine(
            key=d.meta.get("key") or plan_key(**values, source=d.meta.get("source")),
            position=positions[where],
            **values,
            **books.provenance(d),
        )
        s.add(line)
        w.made(d, "plan_line")
        existing[(line_id, rec["year"], rec["title"])] = line
        w.report.created["plan line"] += 1
    known = {(a.line_id, a.year) for a in s.scalars(select(PlanAgreement))}
    for d, rec in books.agreements:
        line_id = _plan_line_id(w, d, rec)
        if line_id is None:
            continue
        if (line_id, rec["year"]) in known:
            w.report.skipped["plan agreement"] += 1
            continue
        if (line_id, rec["year"]) not in planned:
            what = f"{rec['line']} {FinancialYear(rec['year'])}"
            w.error(d, f"there is no plan for {what} to agree: record its lines with `plan` first")
            continue
        known.add((line_id, rec["year"]))
        s.add(
            PlanAgreement(
                key=d.meta.get("key") or agreement_key(line_id, rec["year"], d.day),
                line_id=line_id,
                year=rec["year"],
                **books.provenance(d),
            )
        )
        w.made(d, "plan_agreement")
        w.report.created["plan agreement"] += 1
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
