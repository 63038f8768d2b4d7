"""The schema version: the one a ledger's database says it is at (Alembic's version table) and
the one this program's migrations end at, both read without importing Alembic, which every
command checks and few commands need (those that migrate: grants.db.migrate)."""

from __future__ import annotations

import atexit
import re
from contextlib import ExitStack
from functools import cache
from importlib import resources
from pathlib import Path

from sqlalchemy import Connection, column, inspect, select, table

from grants.errors import ConfigError

_RESOURCES = ExitStack()
atexit.register(_RESOURCES.close)

VERSION_TABLE = "alembic_version"  # Alembic's, with its one column version_num

# A script's own revision and the one it follows, as every script in migrations/versions
# states them (`revision: str = "0014"`, `down_revision: str | None = "0013"`).
_REVISION = re.compile(r"""^revision(?:\s*:[^=\n]*)?\s*=\s*["'](\w+)["']\s*$""", re.MULTILINE)
_DOWN_REVISION = re.compile(
    r"""^down_revision(?:\s*:[^=\n]*)?\s*=\s*(?:None|["'](\w+)["'])\s*$""", re.MULTILINE
)


@cache
def migrations_dir() -> Path:
    """The Alembic scripts where the package was installed: the package grants.migrations,
    which is migrations/ of the checkout in an editable install (see pyproject.toml)."""
    return _RESOURCES.enter_context(resources.as_file(resources.files("grants.migrations")))


def current(connection: Connection) -> str | None:
    """The revision the database is at; None if it has no version table or no row in it
    (as Alembic's ``MigrationContext.get_current_revision``)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(select(column("version_num")).select_from(table(VERSION_TABLE)))
    found = rows.scalars().all()
    if len(found) > 1:
        raise ConfigError(
            f"the database says it is at {len(found)} schema versions at once "
            f"({', '.join(sorted(found))}): its {VERSION_TABLE} table was changed by hand"
        )
    return found[0] if found else None


@cache
def head() -> str:
    """The revision the migrations end at (as Alembic's ``ScriptDirectory.get_current_head``)."""
    return read_head(migrations_dir() / "versions") or _alembic_head()


def read_head(versions: Path) -> str | None:
    """The revision the scripts in ``versions`` end at, read from each script's `revision`
    and `down_revision` lines; None if they are not one line of scripts in that form (a
    branch, a merge), which is left to Alembic to read."""
    follows: dict[str, str | None] = {}
    for path in sorted(versions.glob("*.py")):
        if path.name.startswith("__"):
            continue
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(text), _DOWN_REVISION.findall(text)
        if len(revision) != 1 or len(down) != 1 or revision[0] in follows:
            return None
        follows[revision[0]] = down[0] or None
    heads = list(follows.keys() - set(follows.values()))
    if len(heads) != 1 or not _one_line(follows, heads[0]):
        return None
    return heads[0]


def _one_line(follows: dict[str, str | None], head: str) -> bool:
    """Whether following each script back from ``head`` reaches every script once."""
    seen: set[str] = set()
    revision: str | None = head
    while revision is not None and revision not in seen and revision in follows:
        seen.add(revision)
        revision = follows[revision]
    return revision is None and len(seen) == len(follows)


def _alembic_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise ConfigError(f"there are no migrations in {migrations_dir()}")
    return head
