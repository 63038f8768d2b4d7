"""`make bench` ends with the one table of every benchmark measured in the run."""

from __future__ import annotations

import json

import pytest

from tests.benchmarks import measure


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not measure.ROWS:
        return
    text = measure.table(measure.ROWS)
    measure.OUT.mkdir(parents=True, exist_ok=True)
    (measure.OUT / "table.md").write_text(text + "\n", encoding="utf-8")
    missed = [r for r in measure.ROWS if not r.met]
    terminalreporter.section("grants against the floor (medians, same run)")
    terminalreporter.write_line(text)
    terminalreporter.write_line(
        f"\n{len(measure.ROWS) - len(missed)} of {len(measure.ROWS)} within target; the table "
        f"is in {measure.OUT / 'table.md'}, each row's figures in {measure.OUT / 'results.json'}"
    )
    if missed:
        terminalreporter.write_line(
            "missed: " + json.dumps([f"{r.path} at {r.size}" for r in missed])
        )
