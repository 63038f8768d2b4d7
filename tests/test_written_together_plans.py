"""`plan issue` writes its forms all or none, as `returns issue` does: a stop at the second
form leaves the output folder as it was (grants.cli.folders.written_together)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grants.errors import GrantsError
from tests.conftest import Grants
from tests.helpers import books
from tests.test_plan_forms import CALENDAR
from tests.test_plans import FUND

SECOND = """\
2017-04-01 line CSF OXFORD "Oxford"
2017-04-01 allocate CSF 2017-18 OXFORD 10,000
"""


def test_plan_issue_stopped_part_way_writes_no_form(
    grants: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grants.excel import plan_form

    assert grants("ledger", "load", str(books(tmp_path, FUND + SECOND + CALENDAR))).exit_code == 0
    out = tmp_path / "forms"
    issue = ("plan", "issue", "--stream", "CSF", "--year", "2017-18", "-o", str(out))
    issued = grants(*issue)
    assert issued.exit_code == 0, issued.output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(before) >= 2, "two forms at least, for a stop between them"
    write, calls = plan_form.write, []

    def stopping(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 2:
            raise GrantsError("cannot write: disk full")
        return write(*args, **kwargs)

    monkeypatch.setattr(plan_form, "write", stopping)
    stopped = grants(*issue)
    assert (stopped.exit_code, stopped.output) == (1, "Error: cannot write: disk full\n")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
