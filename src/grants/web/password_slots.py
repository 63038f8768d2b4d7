"""The places for password checks shared by every process of one `grants serve --workers N`.

Each process checks at most ``auth.PASSWORD_CHECKS`` passwords at once (one fewer than the
machine has cores), but N processes would check N times as many: on two cores, two processes
checked two at once, so a burst of sign-ins took both cores from the pages (and N times the
memory: an Argon2id check takes 64 MiB). `grants serve` with more than one process makes a
folder of its own holding one empty file a place, and names it to its processes in
``PASSWORD_SLOTS_VARIABLE``; a check then holds an exclusive ``flock`` on one of those files
for as long as it runs. The kernel lets the lock go if a process dies holding it, and the
folder goes when `grants serve` stops; while it runs, `grants serve` holds a shared ``flock``
on the folder itself, which systemd-tmpfiles' ageing of the temporary folder passes over.

Without the variable (one process: its own limit is the machine's), on a system without
``fcntl``, if the folder or a file is gone, or after a minute's wait for a place, a check runs
under its process's limit alone.
"""

from __future__ import annotations

import os
import random
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not a POSIX system: each process keeps to its own limit
    fcntl = None  # type: ignore[assignment]

PASSWORD_SLOTS_VARIABLE = "GRANTS_SERVE_PASSWORD_SLOTS"
_PREFIX = "grants-password-checks-"
_WAIT_LEAST = 0.005  # seconds before a check tries the places again; doubled each time
_WAIT_MOST = 0.1  # (a check takes about 0.2 s)
_WAIT_AT_MOST = 60.0  # seconds a check waits before it goes on under its process's limit
_OPEN = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0) | os.O_NONBLOCK


@contextmanager
def shared(places: int) -> Iterator[Path | None]:
    """For the processes `grants serve` starts within the block: ``places`` places in a
    folder of its own (given), named in the environment they inherit; the folder removed
    after. None, and no places shared, for ``places`` under 1 (one process, whose own limit
    is the machine's: a variable it inherited is set aside) or where the folder cannot be
    made."""
    before = os.environ.pop(PASSWORD_SLOTS_VARIABLE, None)
    made: Path | None = None
    folder: Path | None = None
    held: int | None = None
    try:
        if fcntl is not None and places >= 1:
            try:
                made = Path(tempfile.mkdtemp(prefix=_PREFIX))
                held = os.open(made, os.O_RDONLY)
                fcntl.flock(held, fcntl.LOCK_SH)  # kept from ageing while the server runs
                for number in range(places):
                    (made / str(number)).touch()
            except OSError:
                pass
            else:
                folder = made
                os.environ[PASSWORD_SLOTS_VARIABLE] = str(folder)
        yield folder
    finally:
        if before is None:
            os.environ.pop(PASSWORD_SLOTS_VARIABLE, None)
        else:
            os.environ[PASSWORD_SLOTS_VARIABLE] = before
        if held is not None:
            os.close(held)
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


@contextmanager
def place() -> Iterator[None]:
    """Hold one of the shared places for the block, waiting for one if every place is
    taken; at once if none are shared (module docstring)."""
    held = _take()
    try:
        yield
    finally:
        if held is not None:
            os.close(held)  # the lock goes with the file's last descriptor


def _take() -> int | None:
    """A descriptor holding one shared place's lock, or None where none can be had. Every
    place is tried without waiting, and tried again after 5 ms, then twice that and so on up
    to ``_WAIT_MOST`` (each wait cut by up to half at random, so that waiting checks do not
    try together): a place held for good (its process stopped) keeps no one from the others,
    and a check waiting costs a few system calls a try and holds no descriptor. After
    ``_WAIT_AT_MOST`` seconds of waiting a check goes on under its own process's limit. Each
    try opens its own descriptor: ``flock`` locks belong to an open file, so threads of one
    process exclude each other only with files opened apart."""
    if fcntl is None:
        return None
    places = _places(os.environ.get(PASSWORD_SLOTS_VARIABLE))
    wait = _WAIT_LEAST
    give_up = time.monotonic() + _WAIT_AT_MOST
    while True:
        waiting = False
        for path in places:
            held, taken = _try(path)
            if held is not None:
                return held
            waiting = waiting or taken
        if not waiting or time.monotonic() >= give_up:
            return None  # no place left to wait for, or waited long enough
        time.sleep(wait * random.uniform(0.5, 1.0))
        wait = min(wait * 2, _WAIT_MOST)


def _try(path: Path) -> tuple[int | None, bool]:
    """A descriptor holding ``path``'s lock if it could be had at once (else None), and
    whether another check holds it (a place to wait for)."""
    try:
        descriptor = os.open(path, _OPEN)
    except OSError:
        return None, False
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError("not a place")
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None, True
    except OSError:  # not a file that takes a lock: not a place
        os.close(descriptor)
        return None, False
    return descriptor, False


def _places(folder: str | None) -> list[Path]:
    """The places in ``folder`` if it is one `shared` made: named so, a folder (not a link)
    of this user's that no one else may enter, its places files named by number. Anything
    else is not a place: a check must never open (and, closing, drop the locks a database
    connection of its process holds on) a file that is not one of its own."""
    if not folder:
        return []
    path = Path(folder)
    try:
        found = os.lstat(path)
        if (
            not path.name.startswith(_PREFIX)
            or not stat.S_ISDIR(found.st_mode)
            or found.st_uid != os.getuid()
            or found.st_mode & 0o077
        ):
            return []
        return sorted(
            entry
            for entry in path.iterdir()
            if entry.name.isdigit() and stat.S_ISREG(os.lstat(entry).st_mode)
        )
    except OSError:
        return []


__all__ = ["PASSWORD_SLOTS_VARIABLE", "place", "shared"]
