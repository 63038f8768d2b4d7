"""The places for password checks shared by every process of one `grants serve --workers N`.

Each process checks at most ``auth.PASSWORD_CHECKS`` passwords at once (one fewer than the
machine has cores), but N processes would check N times as many: on two cores, two processes
checked two at once, so a burst of sign-ins took both cores from the pages (and N times the
memory: an Argon2id check takes 64 MiB). `grants serve` with more than one process makes a
folder of its own holding one empty file a place, and names it to its processes in
``PASSWORD_SLOTS_VARIABLE``; a check then holds an exclusive ``flock`` on one of those files
for as long as it runs. The kernel lets the lock go if a process dies holding it, and the
folder goes when `grants serve` stops.

Without the variable (one process: its own limit is the machine's), on a system without
``fcntl``, or if the folder or a file is gone, a check runs under its process's limit alone:
a place that cannot be had never keeps anyone from signing in.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

try:
    import fcntl
except ImportError:  # not a POSIX system: each process keeps to its own limit
    fcntl = None  # type: ignore[assignment]

PASSWORD_SLOTS_VARIABLE = "GRANTS_PASSWORD_SLOTS"
_POLL_SECONDS = 0.01  # between tries while every place is taken (a check takes about 0.2 s)


@contextmanager
def shared(places: int) -> Iterator[None]:
    """For the processes `grants serve` starts within the block: ``places`` places in a
    folder of its own, named in the environment they inherit; the folder removed after."""
    if fcntl is None:
        yield
        return
    before = os.environ.get(PASSWORD_SLOTS_VARIABLE)
    folder = tempfile.mkdtemp(prefix="grants-password-checks-")
    try:
        for number in range(max(1, places)):
            with open(os.path.join(folder, str(number)), "wb"):
                pass
        os.environ[PASSWORD_SLOTS_VARIABLE] = folder
        yield
    finally:
        if before is None:
            os.environ.pop(PASSWORD_SLOTS_VARIABLE, None)
        else:
            os.environ[PASSWORD_SLOTS_VARIABLE] = before
        shutil.rmtree(folder, ignore_errors=True)


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
    """A descriptor holding one shared place's lock, or None where none are shared. Each
    try opens its own descriptor: ``flock`` locks belong to an open file, so threads of one
    process exclude each other only with files opened apart."""
    folder = os.environ.get(PASSWORD_SLOTS_VARIABLE)
    if not folder or fcntl is None:
        return None
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return None
    while True:
        opened = 0
        for name in names:
            try:
                descriptor = os.open(os.path.join(folder, name), os.O_RDWR)
            except OSError:
                continue
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another check holds it
                opened += 1
                os.close(descriptor)
                continue
            except OSError:  # a file that takes no lock: not a place
                os.close(descriptor)
                continue
            return descriptor
        if not opened:  # no place left to wait for
            return None
        time.sleep(_POLL_SECONDS)


__all__ = ["PASSWORD_SLOTS_VARIABLE", "place", "shared"]
