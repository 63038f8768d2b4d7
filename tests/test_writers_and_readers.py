"""One writer at a time, readers never waiting: a write waits its turn for another and says
so, a reader answers while a long load writes, officers creating the same line at once take
turns, and verify reads the ledger as it stood at one moment while others write."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from grants.db.engine import WRITER_LOCK
from grants.formatting import count
from tests.conftest import SIGNED_IN, Grants
from tests.helpers import FUND, books

GRANTS = [sys.executable, "-c", "from grants.cli.main import main; main()"]


def test_a_write_waits_for_another_and_says_so(grants: Grants, tmp_path: Path) -> None:
    assert grants("ledger", "load", str(books(tmp_path, FUND))).exit_code == 0
    assert grants("award", "FUND", "2017-18", "100").exit_code == 0
    env = {**os.environ, "GRANTS_WAIT_SECONDS": "1", **SIGNED_IN}
    if grants.url.startswith("sqlite"):
        holder = sqlite3.connect(grants.url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        engine = create_engine(grants.url.replace("postgresql://", "postgresql+psycopg://", 1))
        holder = engine.connect()
        holder.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")
    try:
        started = time.monotonic()
        done = subprocess.run(
            [*GRANTS, "--database", grants.url, "allocate", "FUND", "2017-18", "A", "10"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        waited = time.monotonic() - started
        reading = subprocess.run([*GRANTS, "--database", grants.url, "balance", "--json"],
                                 capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    finally:
        holder.close()
    assert done.returncode == 1
    assert re.fullmatch(
        r"Error: another change to the ledger is being recorded \(waited \d+ s for it to "
        r"finish\); nothing was recorded: try again when it has finished\n",
        done.stderr,
    ), done.stderr
    assert waited < 20
    assert reading.returncode == 0, reading.stderr  # a reader does not wait for the writer
    assert grants("allocate", "FUND", "2017-18", "A", "10").exit_code == 0


def test_balance_answers_while_a_long_load_runs(tmp_path: Path) -> None:
    """On SQLite, readers read the last committed ledger while a 200,000-entry load writes."""
    path = tmp_path / "ledger.db"
    g = Grants(f"sqlite:///{path}")
    assert g("db", "upgrade").exit_code == 0
    assert g("ledger", "load", str(books(tmp_path, FUND))).exit_code == 0
    lines = [FUND, "2017-04-01 award FUND 2017-18 900,000,000\n"]
    lines += [f"2017-04-02 allocate FUND 2017-18 {'A' if i % 2 else 'B'} 1\n  source: a{i}\n"
              for i in range(200_000)]  # fmt: skip
    big = tmp_path / "big.grants"
    big.write_text("".join(lines), encoding="utf-8")
    env = {**os.environ, **SIGNED_IN}
    before = g("balance", "--stream", "FUND", "--json").output
    loading = subprocess.Popen([*GRANTS, "--database", g.url, "ledger", "load", str(big)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)  # fmt: skip
    try:
        _wait_until_writing(path, loading)
        started = time.monotonic()
        reading = subprocess.run([*GRANTS, "--database", g.url, "balance", "--stream", "FUND",
                                  "--json"], capture_output=True, text=True, env=env,
                                 timeout=60)  # fmt: skip
        took = time.monotonic() - started
        still_loading = loading.poll() is None
    finally:
        out, err = loading.communicate(timeout=600)
    assert reading.returncode == 0, reading.stderr
    assert reading.stdout == before  # the ledger as it stood before the load
    assert still_loading, "the balance was only read once the load had finished"
    assert took < 10
    assert loading.returncode == 0, err
    entries = count(200_000 + 1, "journal entry")  # the award and the 200,000 allocations
    assert out.decode().endswith(f": {entries}; 6 already recorded\n")


def _wait_until_writing(path: Path, loading: subprocess.Popen[bytes]) -> None:
    """Until the load holds the write lock (it reads and checks the books first)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert loading.poll() is None, "the load finished before it could be read during"
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return  # locked: the load is writing
        finally:
            probe.close()
        time.sleep(0.2)
    raise AssertionError("the load never began to write")


def test_two_officers_creating_the_same_new_line_at_once(grants: Grants, tmp_path: Path) -> None:
    """Writers take turns: the second finds the line the first created (and is told if it
    named it differently), never a raw constraint error."""
    assert grants("ledger", "load", str(books(tmp_path, FUND))).exit_code == 0
    assert grants("award", "FUND", "2017-18", "1,000").exit_code == 0
    results: list[subprocess.CompletedProcess[str]] = []
    names = ["Youth outreach", "Youth outreach", "Youth Outreach Project"]
    env = {**os.environ, **SIGNED_IN}
    start = threading.Barrier(len(names))

    def officer(name: str) -> None:
        start.wait()
        results.append(subprocess.run(
            [*GRANTS, "--database", grants.url, "allocate", "FUND", "2017-18", "NEW", "10",
             "--name", name], capture_output=True, text=True, env=env, timeout=120,
        ))  # fmt: skip

    threads = [threading.Thread(target=officer, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [r.stderr for r in results if r.returncode]
    assert all("Traceback" not in r.stderr and "constraint" not in r.stderr for r in results)
    ok = [r for r in results if r.returncode == 0]
    assert len(ok) >= 1
    for message in errors:
        assert message.startswith("Error: line NEW already exists, named 'Youth")
    assert grants("verify").exit_code == 0


def test_verify_reads_one_moment_while_others_write(grants: Grants, tmp_path: Path) -> None:
    """Verify (and so reconcile and the export) reads the ledger as it stood at one moment:
    a writer recording at the same time never makes it report damage."""
    from grants.db.engine import make_engine, make_session_factory
    from grants.services.verify import verify
    from tests.helpers import entry, record

    assert grants("ledger", "load", str(books(tmp_path, FUND))).exit_code == 0
    assert grants("award", "FUND", "2017-18", "1,000,000").exit_code == 0
    engine = make_engine(grants.url)
    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        factory = make_session_factory(engine)
        try:
            while not stop.is_set():
                with factory() as session, session.begin():
                    item = entry("allocate", 1, "A")
                    item.key = uuid.uuid4().hex  # as a command keys its entry
                    record(session, item)
                written.append(1)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        reader = make_session_factory(engine, read_only=True)
        seen = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline or len(written) < 20:
            with reader() as session, session.begin():
                result = verify(session.connection())
            assert result.ok, [str(p) for p in result.problems]
            seen.append(result.head.count)
    finally:
        stop.set()
        thread.join()
        engine.dispose()
    assert errors == []
    assert len(set(seen)) > 1  # the writer was writing while verify read


def test_a_read_that_waits_out_a_servers_lock_timeout_says_so(
    grants: Grants, tmp_path: Path
) -> None:
    """A server whose lock_timeout ends a read (an administrator's setting, PGOPTIONS here)
    while another transaction holds a table the balances read: `grants balance` says a lock
    was held too long, as a write does, where the read's own cursor said "unexpected
    failure (LockNotAvailable)". Each of the catalogue's tables and the postings."""
    if grants.url.startswith("sqlite"):
        pytest.skip("SQLite has no lock_timeout")
    assert grants("ledger", "load", str(books(tmp_path, FUND))).exit_code == 0
    assert grants("award", "FUND", "2017-18", "100").exit_code == 0
    env = {**os.environ, "PGOPTIONS": "-c lock_timeout=300", **SIGNED_IN}
    engine = create_engine(grants.url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        for table in ("statement", "posting"):
            with engine.connect() as holder:
                holder.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                reading = subprocess.run(
                    [*GRANTS, "--database", grants.url, "balance"],
                    capture_output=True, text=True, env=env, timeout=60,
                )  # fmt: skip
                holder.rollback()
            assert reading.returncode == 1, table
            assert reading.stderr == (
                "Error: another transaction on the database held a lock for longer than the "
                "ledger waits; nothing was recorded: try again\n"
            ), (table, reading.stderr)
    finally:
        engine.dispose()
