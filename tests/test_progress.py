"""Progress bars: on a terminal only, never in what a program reads."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from grants.cli import progress, terminal
from tests.conftest import BOOKS, Grants

GRANTS = Path(sys.executable).parent / "grants"
ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class FakeStream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize(
    ("stdout", "stderr", "as_json", "shown"),
    [
        (True, True, False, True),
        (True, True, True, False),  # JSON is for programs
        (False, True, False, False),  # piped into a file or another program
        (True, False, False, False),  # standard error logged
        (False, False, False, False),
    ],
)
def test_progress_is_shown_to_a_person_at_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch, stdout: bool, stderr: bool, as_json: bool, shown: bool
) -> None:
    monkeypatch.setattr(sys, "stdout", FakeStream(stdout))
    monkeypatch.setattr(sys, "stderr", FakeStream(stderr))
    assert progress.showing(as_json) is shown


def test_a_bar_not_shown_draws_nothing_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    with progress.bar(3, "working", show=False) as bar:
        bar.advance()
        bar.to(3)
        assert (bar.done, bar.shown) == (3, False)
        terminal.echo("a line")
    assert capsys.readouterr() == ("a line\n", "")


def test_no_bar_in_captured_output(grants: Grants, tmp_path: Path) -> None:
    loaded = grants("ledger", "load", str(BOOKS))
    assert loaded.exit_code == 0
    assert "checking journal entries" not in loaded.output and "\r" not in loaded.output
    written = grants("report", "all", "-o", str(tmp_path / "out"))
    assert written.exit_code == 0
    assert "workbook 1 of" not in written.output and "\r" not in written.output


def on_terminal(*args: str) -> tuple[int, str]:
    """Run `grants` with standard output and error on a pseudo-terminal: its exit code and
    what the terminal was sent."""
    main, child = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    with subprocess.Popen(
        [str(GRANTS), *args], stdin=subprocess.DEVNULL, stdout=child, stderr=child, env=env
    ) as running:
        os.close(child)
        seen = bytearray()
        while True:
            ready, _, _ = select.select([main], [], [], 120)
            if not ready:
                break
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        code = running.wait(timeout=120)
    os.close(main)
    return code, seen.decode("utf-8", "replace")


def test_ledger_load_on_a_terminal_shows_entries_of_the_total(db_url: str) -> None:
    code, seen = on_terminal("--database", db_url, "ledger", "load", str(BOOKS))
    assert code == 0, seen
    entries = len(json.loads(subprocess.run(
        [str(GRANTS), "--database", db_url, "journal", "--json"],
        capture_output=True, check=True, text=True,
    ).stdout))  # fmt: skip
    assert "checking journal entries" in seen
    assert f"{entries}/{entries}" in seen  # the count and the total
    assert ESCAPES.sub("", seen).rstrip().splitlines()[-1].endswith("1 title, 3 tranches")


def test_ledger_load_with_json_on_a_terminal_is_only_json(db_url: str) -> None:
    code, seen = on_terminal("--database", db_url, "ledger", "load", str(BOOKS), "--json")
    assert code == 0, seen
    assert "checking journal entries" not in seen
    json.loads(seen)


def test_report_all_on_a_terminal_counts_the_workbooks(db_url: str, tmp_path: Path) -> None:
    assert on_terminal("--database", db_url, "ledger", "load", str(BOOKS))[0] == 0
    out = tmp_path / "out"
    code, seen = on_terminal("--database", db_url, "report", "all", "-o", str(out))
    assert code == 0, seen
    written = sorted(out.iterdir())
    n = len(written)
    assert f"workbook {n} of {n}: " in seen and f"{n}/{n}" in seen
    lines = [line.split("\r")[-1] for line in ESCAPES.sub("", seen).splitlines()]
    assert lines[-1] == f"{n} workbooks in {out}"
    assert sorted(x for x in lines if x.startswith("wrote ")) == [f"wrote {p}" for p in written]


def test_returns_import_on_a_terminal_counts_files_and_sums_up(db_url: str, tmp_path: Path) -> None:
    files = [tmp_path / "a.xlsx", tmp_path / "b.xlsx"]
    for path in files:
        path.write_text("not a workbook")
    code, seen = on_terminal("--database", db_url, "returns", "import", *map(str, files))
    assert code == 1
    plain = ESCAPES.sub("", seen)
    assert "file 1 of 2: a.xlsx" in plain and "file 2 of 2: b.xlsx" in plain and "2/2" in plain
    lines = [line.split("\r")[-1] for line in plain.splitlines()]
    assert "0 of 2 files taken, 2 refused" in lines
    assert lines[-1] == "Error: 2 of 2 files not recorded: correct them and import them again"


def test_360giving_export_on_a_terminal_counts_the_streams(db_url: str, tmp_path: Path) -> None:
    assert on_terminal("--database", db_url, "ledger", "load", str(BOOKS))[0] == 0
    target = tmp_path / "grants.json"
    code, seen = on_terminal("--database", db_url, "export", "360giving", "-o", str(target))
    assert code == 0, seen
    count = len(json.loads(target.read_text())["grants"])
    streams = len(json.loads(subprocess.run(
        [str(GRANTS), "--database", db_url, "streams", "--json"],
        capture_output=True, check=True, text=True,
    ).stdout))  # fmt: skip
    plain = ESCAPES.sub("", seen)
    assert f"0 grants written; stream 1 of {streams}" in plain
    assert f"{count} grants written; streams" in plain and f"{streams}/{streams}" in plain
    # Each frame of the bar fits a terminal of 80 columns.
    shown = re.sub(r"\x1b\[\?[0-9;]*[A-Za-z]", "", plain)  # the cursor hidden and shown
    frames = [f for line in shown.splitlines() for f in line.split("\r") if f"/{streams}" in f]
    assert frames and max(len(f.rstrip()) for f in frames) <= 80, frames
    lines = [line.split("\r")[-1] for line in plain.splitlines()]
    assert any(line.startswith("wrote ") and " grants to " in line for line in lines)
