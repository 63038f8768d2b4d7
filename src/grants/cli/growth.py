"""Growth-fund projects and outputs: `grants projects` (award, profile, claimed, paid,
slippage, match and outputs of each project), `grants indicators` (the output indicator
catalogue) and `grants outputs` (every output against it, returns' too)."""

from __future__ import annotations

from typing import Any

import click

from grants.cli import terminal
from grants.cli.common import AppContext, emit_json, pass_app
from grants.formatting import gbp, plain
from grants.services.growth import ProjectRow, indicator_rows, project_rows
from grants.services.outputs import output_lines
from grants.services.streams import stream_code


def project_json(r: ProjectRow) -> dict[str, Any]:
    """A project as `grants projects --json` prints it (amounts as strings)."""
    return {
        "stream": r.stream,
        "parent": r.parent,
        "project": r.project,
        "name": r.name,
        "recipient": r.recipient,
        "intervention_rate": None if r.rate is None else f"{r.rate:.2f}",
        "awarded": plain(r.awarded),
        "profiled": plain(r.profiled),
        "eligible_claimed": plain(r.eligible),
        "grant_claimed": plain(r.claimed),
        "paid": plain(r.paid),
        "slippage": plain(r.slippage),
        "match_pledged": plain(r.match_pledged),
        "match_spent": plain(r.match_spent),
        "match_cash": plain(r.match_cash),
        "match_in_kind": plain(r.match_in_kind),
        "quarters": [
            {
                "year": q.year,
                "quarter": f"q{q.quarter}",
                "profile": plain(q.profile),
                "eligible": plain(q.eligible),
                "grant": plain(q.grant),
                "match": plain(q.match),
                "match_form": q.match_form,
                "claimed_on": q.claimed_on.isoformat() if q.claimed_on else None,
                "outputs": {k: f"{v:f}" for k, v in q.outputs.items()},
            }
            for q in r.quarters
        ],
        "outputs": [
            {
                "indicator": o.indicator,
                "name": o.name,
                "unit": o.unit,
                "target": None if o.target is None else f"{o.target:f}",
                "actual": f"{o.actual:f}",
            }
            for o in r.outputs
        ],
        "source": r.source,
    }


@click.command()
@click.option("--stream", metavar="CODE", help="Only this stream's projects (default: every "
              "LGF, City Deal, Growth Deal and ESIF stream).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@pass_app
def projects(app: AppContext, stream: str | None, as_json: bool) -> None:
    """List the growth-fund projects: award, spend profiled, grant claimed, paid, slippage
    against profile (profile of the claimed quarters less their eligible spend), match
    spent and outputs (target and actual)."""
    with app.reading() as session:
        code = stream_code(session, stream, "any", "read") if stream else None
        rows = project_rows(session, code)
    if as_json:
        emit_json([project_json(r) for r in rows])
        return
    terminal.table(
        ["stream", "project", "awarded", "profiled", "claimed", "paid", "slippage", "match",
         "outputs"],
        [[r.stream, r.project, gbp(r.awarded), gbp(r.profiled), gbp(r.claimed), gbp(r.paid),
          gbp(r.slippage), gbp(r.match_spent),
          ", ".join(f"{o.indicator} {o.actual:f}/{'-' if o.target is None else f'{o.target:f}'}"
                    for o in r.outputs)]
         for r in rows],
        {2, 3, 4, 5, 6, 7},
    )  # fmt: skip


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def indicators(app: AppContext, as_json: bool) -> None:
    """List the output indicator catalogue: code, fund, unit, name and the standing
    definition (the latest version; earlier ones are kept)."""
    with app.reading() as session:
        rows = indicator_rows(session)
    data = [
        {"code": r.code, "name": r.name, "fund": r.fund, "unit": r.unit,
         "definition": r.definition, "since": r.day.isoformat(), "versions": r.versions,
         "source": r.source}
        for r in rows
    ]  # fmt: skip
    if as_json:
        emit_json(data)
        return
    terminal.table(
        ["code", "fund", "unit", "name"],
        [[d["code"], d["fund"], d["unit"], d["name"]] for d in data],
        set(),
    )


@click.command()
@click.option("--stream", metavar="CODE", help="Only this stream's outputs (default: every "
              "stream).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON (figures as strings).")
@pass_app
def outputs(app: AppContext, stream: str | None, as_json: bool) -> None:
    """List every output against the indicator catalogue: growth projects' outputs with
    their targets, and the output measures recipients reported on their returns (a measure
    that names no indicator of the stream's fund is shown as typed, with no code)."""
    with app.reading() as session:
        code = stream_code(session, stream, "any", "read") if stream else None
        rows = output_lines(session, code)
    data = [
        {"from": r.origin, "stream": r.stream, "line": r.line, "period": r.period,
         "indicator": r.indicator, "measure": r.measure, "unit": r.unit,
         "target": None if r.target is None else f"{r.target:f}",
         "actual": None if r.actual is None else f"{r.actual:f}"}
        for r in rows
    ]  # fmt: skip
    if as_json:
        emit_json(data)
        return
    terminal.table(
        ["from", "stream", "line", "period", "indicator", "target", "actual", "measure"],
        [[d["from"], d["stream"], d["line"], d["period"], d["indicator"] or "-",
          d["target"] or "", d["actual"] or "", d["measure"]] for d in data],
        {5, 6},
    )  # fmt: skip


COMMANDS = (projects, indicators, outputs)
