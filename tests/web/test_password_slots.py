"""The places for password checks that the processes of one `grants serve --workers N` share
(grants.web.password_slots): a check in one process waits for a place another holds."""

from __future__ import annotations

import fcntl
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


def test_a_check_in_another_process_waits_for_the_place_held() -> None:
    with password_slots.shared(1):
        with password_slots.place():
            other = subprocess.Popen([sys.executable, "-c", _OTHER], stdout=subprocess.PIPE,
                                     text=True, env=dict(os.environ))  # fmt: skip
            assert other.stdout is not None
            assert other.stdout.readline().strip() == "trying"
            time.sleep(0.5)
            released = time.time()
        line = other.stdout.readline().split()
        assert other.wait(timeout=30) == 0
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
    assert most[0] == 2


def test_a_place_is_had_at_once_where_none_are_shared(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    started = time.monotonic()
    with password_slots.place():  # no variable: one process, its own limit
        pass
    monkeypatch.setenv(VARIABLE, str(tmp_path / "gone"))
    with password_slots.place():  # the folder is gone
        pass
    empty = tmp_path / "empty"
    empty.mkdir()
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
            with holding(folder):  # every place taken: neither process checks a password
                with pytest.raises(httpx.ReadTimeout):
                    client.post("/sign-in", data=form, timeout=2)
            signed = client.post("/sign-in", data=form)
            assert signed.status_code == 303, signed.text
    assert not list(temporary.iterdir())  # the folder went with the server
