"""The limits the balances a walk of the journal leaves break (``rules.breaches``), checked a
part at a time: `grants verify` of a national funder's ledger (two accounts for each of
hundreds of thousands of grants) would otherwise hold every limit of every account at once,
on top of all the walk holds.

Every limit, and every figure it reads, belongs to one stream, one period and one tree of
lines (a line, its parent, its parent's parent...: what a line's BRANCH figure sums), or to
the stream itself for the period (its award, claims and receipts). The accounts are dealt
into parts by those three, so that each limit's accounts are all in one part: each part's
breaches are the ones the whole would find among them, in the same order. Breaches found in
more than one part are found again over the whole at once, so that they are named in the
order one check of the whole names them."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator

from grants.services import rules
from grants.services.rule_figures import AccountKey, Parents

PART = 16_384  # accounts, about, whose limits are held at once


def breaches(
    balances: dict[int, int],
    key_of: Callable[[int], AccountKey | None],
    over_allocated: set[int],
    parent_of: Parents,
) -> list[tuple[AccountKey, str]]:
    """``rules.breaches`` of ``balances`` (by account id, each keyed by ``key_of``, left out
    where it gives None), ``over_allocated`` the ids of the accounts an intended
    over-allocation posted to; a part of about ``PART`` accounts at a time."""
    over = {key for key in map(key_of, over_allocated) if key is not None}
    parts = -(-len(balances) // PART)
    if parts <= 1:
        return rules.breaches(_keyed(balances, key_of, balances), over, parent_of)
    found: list[tuple[AccountKey, str]] = []
    for part in in_parts(balances, key_of, over, parent_of, parts):
        if part and found:  # named in the order one check of the whole names them
            return rules.breaches(_keyed(balances, key_of, balances), over, parent_of)
        found = found or part
    return found


def in_parts(
    balances: dict[int, int],
    key_of: Callable[[int], AccountKey | None],
    over: set[AccountKey],
    parent_of: Parents,
    parts: int,
) -> Iterator[list[tuple[AccountKey, str]]]:
    """``rules.breaches`` of each of ``parts`` parts of the balances in turn: the accounts
    dealt by stream, period and tree of lines, each part's in their order."""
    ids = list(balances)
    dealt = [array("I") for _ in range(parts)]
    for position, account_id in enumerate(ids):
        key = key_of(account_id)
        if key is not None:
            part = hash((key[0], key[1], _root(key[0], key[2], parent_of))) % parts
            dealt[part].append(position)
    for positions in dealt:
        chosen = [ids[position] for position in positions]
        yield rules.breaches(_keyed(chosen, key_of, balances), over, parent_of)


def _keyed(
    ids: list[int] | dict[int, int],
    key_of: Callable[[int], AccountKey | None],
    balances: dict[int, int],
) -> dict[AccountKey, int]:
    """The balances of the accounts ``ids`` by key, in their order. Two accounts of the same
    key (added behind the ledger's back) keep the first's place and the last's balance."""
    keyed: dict[AccountKey, int] = {}
    for account_id in ids:
        key = key_of(account_id)
        if key is not None:
            keyed[key] = balances[account_id]
    return keyed


def _root(stream: str, line: str | None, parent_of: Parents) -> str | frozenset[str] | None:
    """The line at the top of ``line``'s tree: the last of its parents, or where they go
    round in a circle (a line table changed behind the ledger's back), the circle's lines,
    the same from wherever in it one starts (as a set: a code changed behind the ledger's
    back may not compare with the others)."""
    if line is None:
        return None
    at = parent_of(stream, line)
    if at is None:
        return line
    chain, seen = [line], {line}
    while at is not None:
        if at in seen:
            return frozenset(chain[chain.index(at) :])
        chain.append(at)
        seen.add(at)
        at = parent_of(stream, at)
    return chain[-1]
