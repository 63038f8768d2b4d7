"""Settings the council keeps in the ledger itself.

The ledger's name is what every workbook and form it writes carries in its footer, so that a
paper for the Cabinet or a form sent to a recipient names the ledger, never a file path or a
database address (which may hold a password).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select

from grants.services import access

# The models are imported by a read through a session: `grants report capital-programme`,
# reading through SQLAlchemy Core, takes the default name from here without them.
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_NAME = "Grants ledger"
MAX_NAME = 200


def ledger_name(session: Session) -> str:
    """The name the ledger goes by on what it prints: its title as last set (by the books'
    `title` or by `grants ledger title`), else "Grants ledger"."""
    from grants.db.models import Setting

    value = session.scalar(
        select(Setting.value).where(Setting.name == "title").order_by(Setting.id.desc()).limit(1)
    )
    return value or DEFAULT_NAME


def title(session: Session) -> str:
    """The ledger's title, as `grants ledger title` shows it: anyone's who may read."""
    access.require(session, "read")
    return ledger_name(session)


def set_ledger_name(session: Session, name: str, actor: str, day: date, origin: str) -> bool:
    """Give the ledger a new title (kept beside the earlier ones); False if it has it. An
    officer's."""
    access.require(session, "record")
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"the ledger's title is 1 to {MAX_NAME} characters")
    if ledger_name(session) == name:
        return False
    from grants.db.models import Setting

    session.add(Setting(name="title", value=name, day=day, actor=actor, origin=origin))
    return True


__all__ = ["DEFAULT_NAME", "ledger_name", "set_ledger_name", "title"]
