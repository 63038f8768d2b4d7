"""Idempotency keys: the identity of a record derived from what it says.

Loading the same books twice recognises what is already recorded by these keys, and
`grants verify` recomputes them to check that no stored record says something other than
its key (a changed amount behind a kept key would make the original books load as
"nothing new").
"""

from __future__ import annotations

import hashlib
import re

# The keys an entry may have: the books' (what it says, hashed), a command's (random), and
# a return's (the reported spend of a return's file, or its reversal by a correction).
DERIVED = re.compile(r"^[0-9a-f]{40}$")
COMMAND = re.compile(r"^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$")
RETURN_SPEND = re.compile(r"^s-([0-9a-f]{48})$")
RETURN_REVERSAL = re.compile(r"^r([0-9]+)-([0-9a-f]{40})$")


def entry_key_problem(
    key: str, derived: str, kind: str | None, source: str | None, reversal: bool
) -> str | None:
    """Why ``key`` cannot be this entry's (None if it can): a books key must be the one
    its content gives (``derived``); a return's must name the return its source names."""
    if DERIVED.match(key):
        return None if key == derived else "does not match what the entry says"
    if COMMAND.match(key):
        return None
    spend = RETURN_SPEND.match(key)
    if spend:
        sha = (source or "").removeprefix("return sha256:")
        if kind == "spent" and not reversal and sha.startswith(spend[1]) and len(sha) == 64:
            return None
        return "is a return's key, but the entry is not spending from the return its source names"
    if RETURN_REVERSAL.match(key):
        return None if reversal else "is a corrected return's key, but the entry reverses none"
    return "is not a key the ledger gives an entry"


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


def instalment_key(
    day: object, stream: str | None, period: object, line: str | None, basis: str,
    amount_pence: int, due: object, milestone: str | None, source: str | None,
) -> str:  # fmt: skip
    return record_key("instalment", day, stream, period, line, basis, amount_pence, due,
                      milestone, source)  # fmt: skip


def agreement_key(line_id: int, year: int, day: object) -> str:
    return record_key("agree", line_id, year, day)


def stage_key(stream_id: int, year: int, stage: str) -> str:
    return record_key("due", stream_id, year, stage)


__all__ = [
    "COMMAND",
    "DERIVED",
    "RETURN_REVERSAL",
    "RETURN_SPEND",
    "agreement_key",
    "entry_key_problem",
    "instalment_key",
    "match_key",
    "plan_key",
    "record_key",
    "stage_key",
    "statement_key",
]
