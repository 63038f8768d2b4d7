"""Idempotency keys: the identity of a record derived from what it says.

Loading the same books twice recognises what is already recorded by these keys, and
`grants verify` recomputes them to check that no stored record says something other than
its key (a changed amount behind a kept key would make the original books load as
"nothing new").
"""

from __future__ import annotations

import hashlib


def record_key(*parts: object) -> str:
    """The key of a statement, match funding, plan line, agreement or stage: 40 hex digits."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]


# Each kind of record's key, from what it says: the books loader gives it, the export
# writes a record's key only when it is not this, and `grants verify` recomputes it. A day
# may be a date or its ISO text, a period a Period or its text: they read the same.


def statement_key(
    kind: str, day: object, stream: str | None, period: object, metric: str,
    target: str | None, amount: str, scale: str, table_name: str | None,
    row_label: str | None, source: str | None,
) -> str:  # fmt: skip
    return record_key(
        kind, day, stream, period, metric, target, amount, scale, table_name, row_label, source
    )


def match_key(
    day: object, stream: str | None, line: str | None, amount_pence: int,
    from_source: str | None, form: str,
) -> str:  # fmt: skip
    return record_key(day, stream, line, amount_pence, from_source, form)


def plan_key(
    line_id: int, year: int, title: str, objectives: str | None, cost_pence: int,
    other_funding: str | None, pcc_objective: int | None, source: str | None,
) -> str:  # fmt: skip
    return record_key(
        "plan", line_id, year, title, objectives, cost_pence, other_funding, pcc_objective,
        source,
    )  # fmt: skip


def agreement_key(line_id: int, year: int, day: object) -> str:
    return record_key("agree", line_id, year, day)


def stage_key(stream_id: int, year: int, stage: str) -> str:
    return record_key("due", stream_id, year, stage)


__all__ = [
    "agreement_key",
    "match_key",
    "plan_key",
    "record_key",
    "stage_key",
    "statement_key",
]
