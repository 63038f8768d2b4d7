"""Names that look the same but are written with other characters (a Cyrillic і for a Latin
i, a fullwidth letter): two organisations of the ledger, or two lines of a stream. The
warning is at the later one's line.

Each name is looked at once, by its skeleton (grants.text.skeleton). Of the names seen, what
is kept is each skeleton's first name and any other names with that skeleton (a few, if
any): a national funder's books name hundreds of thousands of organisations and lines.
"""

from __future__ import annotations

from grants.ledger.parser import Directive, Problem
from grants.text import difference, skeleton

# A name seen: the name, its record's code, and where its directive is (file and line; None
# and 0 for a name recorded before): not the directive, kept for every name seen.
Seen = tuple[str, str, str | None, int]


class Names:
    """The names of one kind seen so far: the ledger's organisations, or a stream's lines
    (``of``: " of STREAM")."""

    def __init__(self, what: str, of: str = "") -> None:
        self.what = what
        self.of = of
        self._first: dict[str, Seen] = {}  # by skeleton
        self._more: dict[str, list[Seen]] = {}  # other names with that skeleton, in order

    def recorded(self, code: str, name: str) -> None:
        """A name already in the ledger."""
        self._add(skeleton(name), (name, code, None, 0))

    def declared(self, d: Directive, code: str, name: str) -> Problem | None:
        """A name the books declare: the warning, if it looks the same as a name seen before
        (the first such) but is written otherwise and names another record."""
        key = skeleton(name)
        first = self._first.get(key)
        found = None
        if first is not None:
            for other_name, other, file, line in (first, *self._more.get(key, ())):
                if other_name != name and other != code:
                    where = f"{file}:{line}" if file is not None else None
                    found = self._warning(d, code, name, other, other_name, where)
                    break
        self._add(key, (name, code, d.file, d.line))
        return found

    def _add(self, key: str, seen: Seen) -> None:
        """Keep the first of each distinct name with this skeleton."""
        first = self._first.setdefault(key, seen)
        if first is seen or first[0] == seen[0]:
            return
        more = self._more.setdefault(key, [])
        if all(other[0] != seen[0] for other in more):
            more.append(seen)

    def _warning(
        self, d: Directive, code: str, name: str, other: str, other_name: str,
        where: str | None,
    ) -> Problem:  # fmt: skip
        what = self.what
        return Problem(
            d.file,
            d.line,
            f"{what} {code} {name!r} looks the same as {what} {other} {other_name!r}{self.of} "
            f"({where or 'already recorded'}) but is written with other "
            f"characters ({difference(name, other_name)}): if they are different {what}s, "
            "give them names that read differently",
            "warning",
        )
