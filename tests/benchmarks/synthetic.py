"""A generator of synthetic books of any size, for benchmarks.

``synthetic_books(n)`` returns the reference-data text (organisation, streams, lines) and a
list of ``n`` journal entries that obey every rule: each stream and year gets one award,
then allocations to its lines and payments within them.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime

from grants.periods import Period
from grants.services.journal import NewEntry
from grants.services.rules import Operation

NOW = datetime(2018, 3, 31, 12, 0, 0)


def synthetic_books(
    entries: int, *, streams: int = 50, lines: int = 40, years: int = 10, seed: int = 1
) -> tuple[str, list[NewEntry]]:
    rng = random.Random(seed)
    text = ['2017-04-01 org FUNDER "Synthetic funder"\n  role: funder\n']
    for s in range(streams):
        text.append(f'2017-04-01 stream S{s:03d} "Stream {s}"\n  funder: FUNDER\n')
        for line in range(lines):
            text.append(f'2017-04-01 line S{s:03d} L{line:03d} "Line {line} of stream {s}"\n')
    out: list[NewEntry] = []
    seen: Counter[str] = Counter()
    groups = [(s, y) for s in range(streams) for y in range(years)]
    per_group = max(3, entries // len(groups))
    for s, y in groups:
        if len(out) >= entries:
            break
        stream, period = f"S{s:03d}", Period.year(2017 + y)
        count = min(per_group, entries - len(out))
        out.append(_new(Operation("award", stream, period, 10**12), seen))
        allocated: dict[str, int] = {}
        for i in range(count - 1):
            line = f"L{rng.randrange(lines):03d}"
            amount = rng.randrange(1, 1_000_000)
            if i % 2 == 0 or allocated.get(line, 0) < amount:
                op = Operation("allocate", stream, period, amount, line=line)
                allocated[line] = allocated.get(line, 0) + amount
            else:
                op = Operation("pay", stream, period, amount, line=line)
                allocated[line] -= amount
            out.append(_new(op, seen))
    return "\n".join(text), out


def _new(op: Operation, seen: Counter[str]) -> NewEntry:
    """An entry keyed as the books key it: by its content and how many identical entries
    came before it (so `grants verify` finds every key right)."""
    entry = NewEntry(op, date(2017, 4, 1), "benchmark", NOW)
    content = entry.content()
    entry.occurrence = seen[content]
    seen[content] += 1
    return entry


def books_text(reference: str, entries: list[NewEntry]) -> str:
    """The reference data and the entries as one books file (as `grants ledger load` reads
    them): each entry keyed by the books as ``synthetic_books`` keyed it."""
    out = [reference, ""]
    for e in entries:
        op = e.op
        assert op is not None
        where = f"{op.stream} {op.period}" + (f" {op.line}" if op.line else "")
        out.append(f"{e.day.isoformat()} {op.kind} {where} {_pounds(op.amount)}")
    out.append("")
    return "\n".join(out)


def _pounds(pence: int) -> str:
    return f"{pence // 100:,}.{pence % 100:02d}"
