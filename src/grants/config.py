"""Settings: the command-line option wins, then GRANTS_* environment variables, then defaults."""

from __future__ import annotations

import getpass
import os

DEFAULT_DATABASE = "sqlite:///grants.db"


def database_url(option: str | None = None) -> str:
    """The database URL: ``--database``, else ``GRANTS_DATABASE_URL``, else ./grants.db."""
    if option:
        return option
    return os.environ.get("GRANTS_DATABASE_URL") or DEFAULT_DATABASE


def wait_seconds() -> float:
    """How long a write waits for another to finish before giving up: GRANTS_WAIT_SECONDS,
    else 30."""
    raw = os.environ.get("GRANTS_WAIT_SECONDS", "")
    try:
        value = float(raw) if raw else 30.0
    except ValueError:
        value = 30.0
    return min(max(value, 0.1), 3600.0)


def os_login() -> str:
    """The operating-system user running the program, by their user id where the system
    has one: not LOGNAME or USER, which anyone can set to sign in as someone else."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        pass
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"


def default_actor(os_only: bool = False) -> str:
    """Who is recording: ``GRANTS_ACTOR`` (unless ``os_only``), else the operating-system
    user (`os_login`)."""
    actor = None if os_only else os.environ.get("GRANTS_ACTOR")
    if actor:
        return actor
    if os_only:
        return os_login()
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"
