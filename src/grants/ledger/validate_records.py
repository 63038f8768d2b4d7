"""Validate published figures (stated, balance, printed), match funding, capital programme
versions and their profiles."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from grants.errors import MoneyError, PeriodError
from grants.formatting import SCALE_LABELS, SCALES
from grants.ledger.grammar import (
    FIGURE,
    MATCH_FORMS,
    ROUNDINGS,
    YEAR_KEY,
)
from grants.ledger.parser import Directive
from grants.money import from_pence, within_limit
from grants.periods import parse_year
from grants.services.figures import METRICS, STREAM_FIGURES, STREAM_ONLY

if TYPE_CHECKING:
    from grants.ledger.validate import Books


def statement(b: Books, d: Directive, kind: str) -> None:
    stream = d.args[0]
    period = b.period(d, d.args[1])
    if kind == "stated":
        metric, target, amount_text = "stated", None, d.args[2]
    else:
        metric, _, target_text = d.args[2].partition(":")
        target = target_text or None
        amount_text = d.args[3]
        if metric not in METRICS:
            b.error(d, f"{metric!r} is not a metric; use one of {', '.join(METRICS)}")
            return
        if target is None and metric not in STREAM_FIGURES and metric != "stated":
            b.error(d, f"{metric} is a line's figure: name the line ({metric}:LINE)")
            return
        if target is not None and metric in STREAM_ONLY:
            b.error(d, f"{metric} is the stream's figure: give it no target")
            return
    scale = d.meta.get("scale", "1")
    if scale not in SCALES:
        b.error(d, f"scale {scale!r} is not one of: {', '.join(SCALES)}", "scale")
        return
    if scale == "1":
        pence = b.amount(d, amount_text)
        if pence is None:
            return
        amount_text = f"{from_pence(pence):.2f}"
    elif not FIGURE.match(amount_text):
        b.error(d, f"{amount_text!r} is not a figure such as 40.5 or -487 (at most six "
                   "decimal places)")  # fmt: skip
        return
    else:
        try:  # a figure in £'000 or £m is held to the bound of an amount in pounds
            within_limit(Decimal(amount_text.replace(",", "")) * SCALES[scale],
                         f"{amount_text} ({SCALE_LABELS[scale]})")  # fmt: skip
        except MoneyError as exc:
            b.error(d, str(exc))
            return
    rounding = d.meta.get("rounding")  # None: half-up, the default
    if rounding is not None and rounding not in ROUNDINGS:
        b.error(d, f"rounding {rounding!r} is not one of: {', '.join(ROUNDINGS)} "
                      "(how the printed figure was rounded)", "rounding")  # fmt: skip
        return
    if period is None:
        return
    b.statements.append(
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


def stated(b: Books, d: Directive) -> None:
    statement(b, d, "stated")


def balance(b: Books, d: Directive) -> None:
    statement(b, d, "balance")


def printed(b: Books, d: Directive) -> None:
    statement(b, d, "printed")


def match(b: Books, d: Directive) -> None:
    amount = b.amount(d, d.args[2])
    form = b.choice(d, "form", MATCH_FORMS, "unstated")
    if amount is not None:
        b.matches.append(
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


def programme(b: Books, d: Directive) -> None:
    code = b.code(d, d.args[1].upper(), "programme version")
    if code:
        b.programmes.append(
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


def profile(b: Books, d: Directive) -> None:
    for what, text in (("table", d.args[2]), ("code", d.args[3])):
        if len(text) > 40:
            b.error(d, f"profile {what} {text[:40]!r}… is longer than 40 characters")
            return
    amounts: dict[int, int] = {}
    for key, value in d.meta.items():
        if YEAR_KEY.match(key):
            try:
                year = parse_year(key).start
            except PeriodError as exc:
                b.error(d, str(exc), key)
                continue
            if year in amounts:
                b.error(d, f"the year {key} is given twice", key)
            pence = b.amount(d, value, key)
            if pence is not None:
                amounts[year] = pence
    estimates: list[str] = []
    for token in d.meta.get("estimate", "").split():
        try:
            estimates.append(str(parse_year(token)))
        except PeriodError as exc:
            b.error(d, str(exc), "estimate")
    total = b.amount(d, d.meta["total"], "total") if "total" in d.meta else None
    later = b.amount(d, d.meta["later"], "later") if "later" in d.meta else None
    b.profiles.append(
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
