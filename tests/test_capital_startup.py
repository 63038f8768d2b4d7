"""`grants report capital-programme` as the benchmark runs it imports no more than it uses:
its workbook writes figures as numbers and its footer's day without Babel, so Babel is not
imported at all (it was, by grants.formatting, for every command)."""

from __future__ import annotations

import os
from pathlib import Path

from grants import formatting
from tests.test_startup import imported


def test_the_capital_programme_as_it_stands_imports_no_babel(tmp_path: Path) -> None:
    from tests.benchmarks.capital_books import database

    db = database(tmp_path, 200)
    env = {k: v for k, v in os.environ.items() if k not in ("GRANTS_USER", "GRANTS_PASSWORD")}
    modules = imported(tmp_path, "--database", f"sqlite:///{db}", "report", "capital-programme",
                       "-o", str(tmp_path / "capital.xlsx"), env=env)  # fmt: skip
    assert (tmp_path / "capital.xlsx").stat().st_size > 0
    assert "grants.formatting" in modules
    assert sorted(m for m in modules if m.partition(".")[0] == "babel") == []


def test_the_locale_is_parsed_once_and_still_named_as_before() -> None:
    assert formatting.locale() is formatting.locale() is formatting.LOCALE
    assert str(formatting.LOCALE) == "en_GB"
