"""Commands that write a set of files into a folder (`report all`, `returns issue`, `plan
issue`) write all of them or none: a stop part way leaves the folder as it was, an earlier
run's files untouched and nothing of this run's beside them (grants.cli.folders.written_together).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grants.errors import GrantsError, Tampered
from tests.conftest import Grants


def _contents(folder: Path) -> dict[str, bytes]:
    """Every entry of ``folder`` (hidden ones too), with the bytes of each file."""
    return {p.name: p.read_bytes() if p.is_file() else b"<folder>" for p in folder.iterdir()}


def _stop_at(third: Callable[..., Any], error: Exception) -> Callable[..., Any]:
    """``third`` as it is for its first two calls; the third raises ``error``."""
    calls = 0

    def stopping(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise error
        return third(*args, **kwargs)

    return stopping


def test_report_all_stopped_part_way_leaves_the_earlier_set_as_it_was(
    oxfordshire: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grants.excel import reports

    out = tmp_path / "reports"
    first = oxfordshire("report", "all", "-o", str(out))
    assert first.exit_code == 0, first.output
    before = _contents(out)
    assert len(before) > 3 and all(name.endswith(".xlsx") for name in before)
    # A ledger found changed behind its back at the third workbook.
    stop = Tampered("an entry of PCC-CSF posts to an account of ESIF")
    monkeypatch.setattr(reports, "write_report", _stop_at(reports.write_report, stop))
    stopped = oxfordshire("report", "all", "-o", str(out))
    # Nothing is said to be written that is not.
    assert (stopped.exit_code, stopped.output) == (1, f"Error: {stop}\n")
    assert _contents(out) == before  # the same files, byte for byte; no hidden folder left


def test_report_all_stopped_part_way_into_a_new_folder_leaves_it_empty(
    oxfordshire: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grants.excel import reports

    monkeypatch.setattr(
        reports, "write_report", _stop_at(reports.write_report, GrantsError("the disk is full"))
    )
    out = tmp_path / "new"
    stopped = oxfordshire("report", "all", "-o", str(out))
    assert (stopped.exit_code, stopped.output) == (1, "Error: the disk is full\n")
    assert _contents(out) == {}


def test_returns_issue_stopped_part_way_writes_no_form(
    oxfordshire: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grants.excel import return_form

    out = tmp_path / "forms"
    monkeypatch.setattr(
        return_form, "write", _stop_at(return_form.write, GrantsError("cannot write: disk full"))
    )
    issue = ("returns", "issue", "--stream", "PCC-CSF", "--year", "2017-18", "--stage",
             "mid-year", "-o", str(out))  # fmt: skip
    stopped = oxfordshire(*issue)
    assert (stopped.exit_code, stopped.output) == (1, "Error: cannot write: disk full\n")
    assert _contents(out) == {}
    monkeypatch.undo()
    issued = oxfordshire(*issue)  # issuing again writes every form
    assert issued.exit_code == 0, issued.output
    written = _contents(out)
    assert len(written) > 3 and issued.output.count("wrote ") == len(written)
