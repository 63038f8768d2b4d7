"""The lines of a stream as a tree: each line's balances rolled up to the lines above it,
and the lines beneath a line. Pure functions of the lines' codes and parents."""

from __future__ import annotations


def roll_up(
    parents: dict[str, str | None], balances: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    """Each line's balances by role added to its own and every ancestor's (a parent not
    among ``parents`` ends the climb). Pure: the lines' ``parents`` and own ``balances``; a
    line with no line beneath it is given its own balances (the same mapping: read only)."""
    above = {p for c, p in parents.items() if p is not None and p != c and p in parents}
    out: dict[str, dict[str, int]] = {
        code: {} if code in above else balances.get(code, {}) for code in parents
    }
    if not above:
        return out
    for code, roles in balances.items():
        if code not in out:
            continue
        seen = {code}
        at = parents.get(code)
        while at is not None and at in out and at not in seen:
            seen.add(at)
            into = out[at]
            for role, total in roles.items():
                into[role] = into.get(role, 0) + total
            at = parents.get(at)
        if code in above:  # its own, into the sum it heads
            into = out[code]
            for role, total in roles.items():
                into[role] = into.get(role, 0) + total
    return out


def beneath(parents: dict[str, str | None], line: str) -> set[str]:
    """``line`` and every line beneath it, of the lines whose ``parents`` are given."""
    found = {line}
    grew = True
    while grew:
        more = {c for c, p in parents.items() if p in found and c not in found}
        grew = bool(more)
        found |= more
    return found
