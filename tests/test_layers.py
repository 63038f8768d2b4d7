"""The layers import downward only: services never import the workbooks (grants.excel) or
the command line (grants.cli), so that the command line and the web service call the same
services with rows; grants.excel and the web service (grants.web) never import the command
line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grants.excel.return_reader import read_return
from grants.services.form_rows import Received
from tests.conftest import Grants
from tests.helpers import books
from tests.test_plans import FUND, PLAN
from tests.test_returns import CHERWELL, fill

SRC = Path(__file__).resolve().parent.parent / "src" / "grants"


def imported(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (at any depth: a function's own import too), by line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(SRC.parent)}:{line}: imports {name}"
        for path in sorted((SRC / package).glob("*.py"))
        for line, name in imported(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("services", ("grants.excel", "grants.cli")),
        ("excel", ("grants.cli",)),
        ("web", ("grants.cli",)),
    ],
)
def test_imports_point_downward(package: str, forbidden: tuple[str, ...]) -> None:
    assert list((SRC / package).glob("*.py")), f"no modules found in {package}"
    assert offending(package, forbidden) == []


def test_the_check_finds_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from grants.excel import book\n    import grants.cli.main\n")
    assert [name for _, name in imported(module)] == [
        "grants.excel", "grants.excel.book", "grants.cli.main",
    ]  # fmt: skip


def test_a_form_reads_the_same_from_a_path_or_from_bytes(grants: Grants, tmp_path: Path) -> None:
    """The web face gives an upload's name and bytes where the command line gives a path:
    the readers give the same rows for both."""
    assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN))).exit_code == 0
    assert grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                  "mid-year", "-o", str(tmp_path / "forms")).exit_code == 0  # fmt: skip
    path = fill(tmp_path / "forms" / CHERWELL, tmp_path / "filled.xlsx")
    from_path, problems = read_return(path)
    assert problems == [] and from_path is not None
    from_bytes, problems = read_return(Received(path.name, path.read_bytes()))
    assert problems == []
    assert from_bytes == from_path
    assert from_path.file == "filled.xlsx" and from_path.line(0).spend.value == 123400
    refused, problems = read_return(Received("x.xlsx", b"not a workbook"))
    assert refused is None
    assert [str(p) for p in problems] == [
        "x.xlsx: this is not an Excel .xlsx workbook, or it was damaged in sending: send the "
        "form as an .xlsx file [E_NOT_XLSX]"
    ]
