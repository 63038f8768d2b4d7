"""The organisations and lines the books declare, as the first read keeps them until they are
written: a tuple each, with its directive held (grants.ledger.parser.Directive.held), not a
dictionary, since a national funder's books declare one of each for every few grants."""

from __future__ import annotations

from typing import Any, NamedTuple

from grants.ledger.parser import Directive


class OrgRecord(NamedTuple):
    d: Directive
    code: str
    name: str
    role: str

    def values(self) -> dict[str, Any]:
        """The organisation's columns the books give."""
        return {"code": self.code, "name": self.name, "role": self.role}


class LineRecord(NamedTuple):
    d: Directive
    stream: str
    code: str
    name: str
    kind: str
    parent: str | None
    recipient: str | None
    ref: str | None
    aliases: str | None
    total_cost_pence: int | None
    specific_funding_pence: int | None

    def values(self) -> dict[str, Any]:
        """The line's own columns the books give (its stream, parent and recipient are
        given by their codes: the writer finds their ids)."""
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "ref": self.ref,
            "aliases": self.aliases,
            "total_cost_pence": self.total_cost_pence,
            "specific_funding_pence": self.specific_funding_pence,
        }
