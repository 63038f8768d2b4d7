"""The places for password checks that the processes of one `grants serve --workers N` share
(grants.web.password_slots): a check in one process waits for a place another holds."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from grants.web import password_slots
from grants.web.auth import PASSWORD_CHECKS
from tests.browser import serving
from tests.conftest import PASSWORD, Grants
from tests.web.conftest import OFFICER, token

fcntl = pytest.importorskip("fcntl")  # places are shared only where flock is

VARIABLE = password_slots.PASSWORD_SLOTS_VARIABLE

# A process of its own that takes a place, says when it has it, and lets it go.
_OTHER = """
import sys, time
from grants.web import password_slots
print("trying", flush=True)
with password_slots.place():
    print(f"got {time.time()!r}", flush=True)
"""


@pytest.fixture(autouse=True)
def _no_places_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)


@contextmanager
def holding(folder: str) -> Iterator[None]:
    """Every place in ``folder`` held by the test, as a check in another process would."""
    with ExitStack() as stack:
        for name in os.listdir(folder):
            descriptor = os.open(os.path.join(folder, name), os.O_RDWR)
            stack.callback(os.close, descriptor)
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


def test_shared_names_a_folder_of_places_and_removes_it_after() -> None:
    with password_slots.shared(3):
        folder = os.environ[VARIABLE]
        assert sorted(os.listdir(folder)) == ["0", "1", "2"]
    assert VARIABLE not in os.environ
    assert not os.path.exists(folder)


def test_shared_gives_back_the_variable_it_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, "/elsewhere")
    with password_slots.shared(1):
        assert os.environ[VARIABLE] != "/elsewhere"
    assert os.environ[VARIABLE] == "/elsewhere"
    with password_slots.shared(0) as folder:  # one process: a variable inherited set aside
        assert folder is None
        assert VARIABLE not in os.environ
    assert os.environ[VARIABLE] == "/elsewhere"


def test_the_folder_is_locked_against_ageing_while_shared() -> None:
    with password_slots.shared(1) as folder:
        assert folder is not None
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):  # held shared: systemd-tmpfiles passes it over
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(descriptor)


def test_no_places_where_the_folder_cannot_be_made(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    with password_slots.shared(2) as folder:
        assert folder is None
        assert VARIABLE not in os.environ
        with password_slots.place():  # a check goes on under its process's limit
            pass
    assert not (tmp_path / "missing").exists()


def test_a_check_in_another_process_waits_for_the_place_held() -> None:
    with password_slots.shared(1):
        with password_slots.place():
            other = subprocess.Popen([sys.executable, "-c", _OTHER], stdout=subprocess.PIPE,
                                     text=True, env=dict(os.environ))  # fmt: skip
            assert other.stdout is not None
            assert other.stdout.readline().strip() == "trying"
            time.sleep(0.5)
            released = time.time()
        try:
            rest, _ = other.communicate(timeout=30)
        finally:
            other.kill()
    assert other.returncode == 0
    line = rest.split()
    assert line[0] == "got"
    assert float(line[1]) >= released


def test_threads_of_one_process_wait_for_each_other() -> None:
    inside: list[int] = []
    most = [0]
    lock = threading.Lock()

    def check() -> None:
        with password_slots.place():
            with lock:
                inside.append(1)
                most[0] = max(most[0], len(inside))
            time.sleep(0.05)
            with lock:
                inside.pop()

    with password_slots.shared(2):
        threads = [threading.Thread(target=check) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
            assert not thread.is_alive()
    assert most[0] == 2


def test_a_check_waits_spending_little_of_the_processor() -> None:
    """Checks waiting for a place try again less and less often (every 10 ms, with many
    cores and many waiting, took a core from the pages)."""
    with password_slots.shared(8) as folder:
        assert folder is not None
        with holding(str(folder)):
            threads = [threading.Thread(target=_check) for _ in range(16)]
            for thread in threads:
                thread.start()
            time.sleep(0.3)  # every thread has tried each place and is waiting
            spent = time.process_time()
            time.sleep(1.0)
            spent = time.process_time() - spent
            assert all(thread.is_alive() for thread in threads)  # still waiting
        for thread in threads:
            thread.join(timeout=30)
            assert not thread.is_alive()
    # About 0.05 s here (each try opens, locks and closes each place); 0.2 to 0.4 s when
    # every check tried every place again every 10 ms.
    assert spent < 0.12, f"{spent:.3f} s of processor time spent waiting for 1 s"


def _check() -> None:
    with password_slots.place():
        pass


def test_a_place_is_had_at_once_where_none_are_shared(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    started = time.monotonic()
    with password_slots.place():  # no variable: one process, its own limit
        pass
    monkeypatch.setenv(VARIABLE, str(tmp_path / "gone"))
    with password_slots.place():  # the folder is gone
        pass
    empty = tmp_path / "grants-password-checks-empty"
    empty.mkdir(mode=0o700)
    monkeypatch.setenv(VARIABLE, str(empty))
    with password_slots.place():  # no place in it
        pass
    assert time.monotonic() - started < 1


def test_a_place_whose_file_went_is_passed_over() -> None:
    with password_slots.shared(2):
        folder = os.environ[VARIABLE]
        os.remove(os.path.join(folder, "0"))
        with password_slots.place():
            with pytest.raises(BlockingIOError):  # the one place left is the one held
                with holding(folder):
                    pass


def test_the_processes_of_grants_serve_share_the_places(web_ledger: Grants, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    with serving(web_ledger.url, tmp_path, options=("--workers", "2")) as base:
        (folder,) = [str(p) for p in temporary.glob("grants-password-checks-*")]
        assert len(os.listdir(folder)) == PASSWORD_CHECKS
        with httpx.Client(base_url=base, timeout=30) as client:
            page = client.get("/sign-in")
            form = {"login": OFFICER, "password": PASSWORD, "csrf_token": token(page.text)}
            with holding(folder):  # every place taken: the process asked checks no password
                with pytest.raises(httpx.ReadTimeout):
                    client.post("/sign-in", data=form, timeout=2)
            signed = client.post("/sign-in", data=form)
            assert signed.status_code == 303, signed.text
    assert not list(temporary.iterdir())  # the folder went with the server


def _returns_at_once() -> bool:
    """Whether a check takes its place (or none) within a few seconds."""
    thread = threading.Thread(target=_check, daemon=True)
    thread.start()
    thread.join(timeout=5)
    return not thread.is_alive()


@pytest.mark.parametrize("odd", ["named otherwise", "others may enter", "a link", "not places"])
def test_a_folder_shared_made_not_is_no_folder_of_places(odd: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A check opens nothing in a folder `shared` did not make: closing a descriptor of a file
    drops the locks its process's database connection holds on it (a SQLite ledger's)."""
    folder = tmp_path / ("ledger" if odd == "named otherwise" else "grants-password-checks-x")
    folder.mkdir(mode=0o755 if odd == "others may enter" else 0o700)
    os.chmod(folder, 0o755 if odd == "others may enter" else 0o700)
    target = folder / ("ledger.db" if odd == "not places" else "0")
    if odd == "a link":
        real = tmp_path / "elsewhere"
        real.touch()
        target.symlink_to(real)
        locked = real
    else:
        target.touch()
        locked = target
    monkeypatch.setenv(VARIABLE, str(folder))
    descriptor = os.open(locked, os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as SQLite locks its files
        assert _returns_at_once(), f"a check waited on a folder {odd}"
        # A descriptor of the file opened and closed by this process would have let go of
        # its POSIX lock: another process still cannot take it.
        taken = subprocess.run([sys.executable, "-c", _LOCKF, str(locked)], timeout=30)
        assert taken.returncode == 1, "the file's POSIX lock was let go"
    finally:
        os.close(descriptor)


_LOCKF = """
import fcntl, os, sys
descriptor = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    sys.exit(1)
"""


def test_a_place_held_for_good_keeps_no_one_from_the_others() -> None:
    with password_slots.shared(2) as folder:
        assert folder is not None
        stuck = os.open(folder / "0", os.O_RDONLY)  # a process stopped holding its place
        busy = os.open(folder / "1", os.O_RDONLY)  # another check, for a moment
        try:
            fcntl.flock(stuck, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(busy, fcntl.LOCK_EX | fcntl.LOCK_NB)
            threads = [threading.Thread(target=_check) for _ in range(10)]
            for thread in threads:
                thread.start()
            time.sleep(0.3)  # every check waiting, both places held
            assert all(thread.is_alive() for thread in threads)
            os.close(busy)  # the other check ends: its place is free, the stuck one not
            busy = -1
            for thread in threads:
                thread.join(timeout=10)
                assert not thread.is_alive(), "a check waited on the place held for good"
        finally:
            os.close(stuck)
            if busy >= 0:
                os.close(busy)


def test_a_check_goes_on_after_waiting_its_longest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(password_slots, "_WAIT_AT_MOST", 0.5)
    with password_slots.shared(1) as folder:
        assert folder is not None
        with holding(str(folder)):
            started = time.monotonic()
            assert _returns_at_once(), "a check waited on past its longest"
            waited = time.monotonic() - started
    assert waited >= 0.5


def test_one_process_sets_aside_places_it_inherits(web_ledger: Grants, tmp_path: Path) -> None:
    with password_slots.shared(1) as folder:  # in the environment `grants serve` inherits
        assert folder is not None
        with serving(web_ledger.url, tmp_path) as base, holding(str(folder)):
            with httpx.Client(base_url=base, timeout=10) as client:
                page = client.get("/sign-in")
                signed = client.post("/sign-in", data={"login": OFFICER, "password": PASSWORD,
                                                       "csrf_token": token(page.text)})  # fmt: skip
                assert signed.status_code == 303, signed.text
