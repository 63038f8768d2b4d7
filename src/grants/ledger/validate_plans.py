"""Validate spending plan lines, their agreement, and the stages at which returns are due."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grants.ledger.grammar import (
    STAGE,
)
from grants.ledger.parser import Directive
from grants.periods import FinancialYear
from grants.services.returns import PLAN_STAGE

if TYPE_CHECKING:
    from grants.ledger.validate import Books


def plan(b: Books, d: Directive) -> None:
    year = b.year(d, d.args[1])
    title = " ".join(d.args[3].split())
    if not title:
        b.error(d, "an expenditure title cannot be empty")
    if "cost" not in d.meta:
        b.error(d, "a plan line needs `cost:` (the cost to the fund)")
        return
    cost = b.amount(d, d.meta["cost"], "cost")
    if cost is not None and cost < 0:
        b.error(d, f"cost {d.meta['cost']} is negative", "cost")
    objective = None
    if "pcc-objective" in d.meta:
        raw = d.meta["pcc-objective"]
        if raw.strip() in ("1", "2", "3", "4", "5"):
            objective = int(raw)
        else:
            b.error(
                d, f"pcc-objective {raw!r} is not one of the PCC's objectives 1 to 5",
                "pcc-objective",
            )  # fmt: skip
    if year is None or cost is None or not title:
        return
    b.plans.append(
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


def agree(b: Books, d: Directive) -> None:
    year = b.year(d, d.args[1])
    if year is not None:
        b.agreements.append((d, {"stream": d.args[0], "year": year, "line": d.args[2]}))


def due(b: Books, d: Directive) -> None:
    year = b.year(d, d.args[1])
    stage = d.args[2]
    if not STAGE.match(stage):
        b.error(
            d, f"{stage!r} is not a stage name: lower-case letters, digits and '-', such as "
            "mid-year or q1",
        )  # fmt: skip
        return
    due = b.date(d, d.args[3])
    if "to" not in d.meta and stage != PLAN_STAGE:
        b.error(d, "a stage needs `to:`, the last day its return covers")
        return
    if year is None or due is None:
        return
    fy = FinancialYear(year)
    if "to" not in d.meta:
        # The spending plan is for the whole year and comes at its start, or before it.
        earliest = FinancialYear(year - 1).first_day
        if not earliest <= due <= fy.last_day:
            b.error(d, f"the spending plan for {fy} is due {due}: give a day from "
                       f"{earliest} to {fy.last_day}")  # fmt: skip
            return
        b.dues.append(
            (d, {"stream": d.args[0], "year": year, "stage": stage,
                 "covers_to": min(fy.first_day, due), "due": due})
        )  # fmt: skip
        return
    covers_to = b.date(d, d.meta["to"], "to")
    if covers_to is None:
        return
    if not fy.contains(covers_to):
        b.error(d, f"to: {covers_to} is not in {fy} ({fy.first_day} to {fy.last_day})", "to")
        return
    if due < covers_to:
        b.error(d, f"the return is due ({due}) before the end of the period ({covers_to})")
        return
    b.dues.append(
        (d, {"stream": d.args[0], "year": year, "stage": stage, "covers_to": covers_to,
             "due": due})
    )  # fmt: skip
