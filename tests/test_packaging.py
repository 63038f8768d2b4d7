"""grants installs as a Python package: the migrations and templates are package data, the
version comes from the package's metadata, and the private interfaces of openpyxl and
XlsxWriter that the code relies on are as pyproject.toml's caps assume."""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from grants.cli.main import cli
from grants.db.migrate import migrations_dir
from grants.errors import GrantsError
from grants.excel import templates
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def test_every_package_is_listed_for_the_wheel() -> None:
    """pyproject.toml lists the packages by hand (the migrations and templates are mapped from
    the top of the repository): a package added under src/grants must be listed too, and so
    must a folder of data files only, with its files as its package data."""
    under_src = {
        ".".join(init.parent.relative_to(ROOT / "src").parts)
        for init in (ROOT / "src" / "grants").rglob("__init__.py")
    }
    mapped = {
        name: ROOT / folder for name, folder in SETUPTOOLS["package-dir"].items() if name != ""
    }
    below_mapped = {
        f"{name}." + ".".join(init.parent.relative_to(folder).parts)
        for name, folder in mapped.items()
        for init in folder.rglob("*/__init__.py")
    }
    python = under_src | set(mapped) | below_mapped
    # Folders of data only (templates, static files, the 360Giving schema) are listed too, each
    # with its files as its package data, so that setuptools ships them without a warning.
    data_only = set(SETUPTOOLS["package-data"]) - python
    for name in data_only:
        folder = ROOT / "src" / Path(*name.split("."))
        assert folder.is_dir() and not list(folder.glob("*.py")), name
    assert set(SETUPTOOLS["packages"]) == python | data_only


def test_migrations_and_templates_are_found_as_package_resources() -> None:
    # The editable install maps them to the checkout's own folders.
    assert migrations_dir() == ROOT / "migrations"
    assert Path(str(templates.templates_dir())) == ROOT / "templates"
    assert (migrations_dir() / "env.py").is_file()


def test_version_is_the_installed_packages() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"grants, version {PYPROJECT['project']['version']}\n"
    assert metadata.version("grants") == PYPROJECT["project"]["version"]


def test_templates_in_folders_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "name.toml").write_text('[sheet]\ntitle = "Folder"\n', "utf-8")
    monkeypatch.setattr(templates, "templates_dir", lambda: tmp_path)
    assert templates.read("a/b/name") == {"sheet": {"title": "Folder"}}
    with pytest.raises(GrantsError, match=r"the report template .*a/missing\.toml is missing"):
        templates.read("a/missing")


@pytest.mark.parametrize("name", ["../pcc-template", "a/../b", "/etc/x", "a//b", "a\\b", "C:x", ""])
def test_a_template_name_cannot_leave_the_templates(name: str) -> None:
    with pytest.raises(GrantsError, match="is not a template's name"):
        templates.template_file(name)


def test_xlsxwriter_substitutes_the_functions_book_py_expects() -> None:
    """excel/book.py skips XlsxWriter's private Worksheet._prepare_formula for formulas that
    use none of the functions it always prefixes: the list must be XlsxWriter's."""
    from xlsxwriter.worksheet import Worksheet

    from grants.excel.book import _DYNAMIC

    source = inspect.getsource(Worksheet._prepare_formula)
    assert "expand_future_functions" in inspect.signature(Worksheet._prepare_formula).parameters
    always = source.split("if not self.use_future_functions")[0]
    # Each is r"\bNAME\(", but for XlsxWriter's r"\SINGLE\(" (which book.py matches as SINGLE().
    theirs = {
        pattern.removeprefix("\\b").removeprefix("\\").removesuffix("\\(")
        for pattern in re.findall(r're\.sub\(r"([^"]*)"', always)
    }
    ours = set(re.findall(r"[A-Z]+", _DYNAMIC.pattern))
    assert theirs == ours


def test_openpyxl_sheet_parser_is_what_safe_read_subclasses() -> None:
    """excel/safe_read.py subclasses openpyxl's private WorkSheetParser."""
    from openpyxl.worksheet._reader import WorkSheetParser

    wanted = ["src", "shared_strings", "data_only", "epoch", "date_formats", "timedelta_formats"]
    assert list(inspect.signature(WorkSheetParser).parameters)[: len(wanted)] == wanted
    parser = WorkSheetParser(b"", [])
    assert parser.source == b""
    assert parser.row_dimensions == {}
    assert callable(parser.parse_row)


# The installed package is tried from here; every file it opens or lists is recorded, and
# any under the checkout (or the copy the wheel was built from) fails the test.
_WATCH = """
import atexit, os, sys
_forbidden = [p for p in os.environ.get("GRANTS_TEST_FORBIDDEN", "").split(os.pathsep) if p]
_seen = set()

def _hook(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and args[0] is not None:
        path = args[0]
        if isinstance(path, int):
            return
        path = os.path.abspath(os.fsdecode(os.fspath(path)))
        if any(path.startswith(f) or path == f.rstrip(os.sep) for f in _forbidden):
            _seen.add(path)

def _report():
    if _seen:
        with open(os.environ["GRANTS_TEST_FORBIDDEN_LOG"], "a", encoding="utf-8") as log:
            log.write("".join(p + "\\n" for p in sorted(_seen)))

if _forbidden:
    sys.addaudithook(_hook)
    atexit.register(_report)
"""

# What pip says when the package index cannot be reached: while installing (it retries), and
# while fetching the build backend for the wheel (it reports only what it did not find).
_OFFLINE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name "
    r"resolution|Network is unreachable|ConnectTimeout|ReadTimeout|ProxyError|No route to host"
    r"|No matching distribution found for setuptools"
)


def _pip(*args: str, cwd: Path) -> str:
    """pip from the test's own environment, its output; skipped only when the package index
    cannot be reached (the wheel's build needs setuptools>=77, the install needs the
    dependencies), and never under CI=true."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        cwd=cwd, capture_output=True, text=True, env={**os.environ, "PIP_DEFAULT_TIMEOUT": "30"},
    )  # fmt: skip
    if done.returncode != 0:
        output = done.stdout + done.stderr
        offline = _OFFLINE.search(output)
        if offline and not IN_CI:
            pytest.skip(f"pip cannot reach the package index to build or install the wheel "
                        f"({offline[0]}): pip {args[0]} needs it")  # fmt: skip
        pytest.fail(f"pip {' '.join(args)} failed:\n{output}")
    return done.stdout + done.stderr


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_environment_works(tmp_path: Path) -> None:
    """Build the wheel, install it (not editable) in a new virtual environment, and run the
    commands a council would run from a folder of its own: about 20 s alone with pip's cache
    warm (half of it pip), a minute on a busy two-core machine."""
    started = time.monotonic()
    # Build from a copy, with a template in a folder below templates/ as an override would be.
    source = tmp_path / "source"
    source.mkdir()
    for part in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / part, source / part)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for part in ("src", "migrations", "templates"):
        shutil.copytree(ROOT / part, source / part, ignore=ignore)
    (source / "templates" / "folder").mkdir()
    (source / "templates" / "folder" / "probe.toml").write_text('probe = "found"\n', "utf-8")
    dist = tmp_path / "dist"
    built = _pip("wheel", str(source), "--no-deps", "--wheel-dir", str(dist), cwd=tmp_path)
    # A folder of data files not listed as a package is shipped, with a warning of some 40
    # lines each time grants is installed (`make demo`'s first output); only the folder made
    # above, as a council's overrides would be, is not listed.
    absent = set(re.findall(r"Package '([\w.]+)' is absent from the `packages` config", built))
    assert absent <= {"grants.templates.folder"}, absent
    (wheel,) = dist.glob("grants-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "grants/migrations/env.py",
        "grants/migrations/script.py.mako",
        "grants/templates/folder/probe.toml",
    } <= names
    for path in (ROOT / "migrations" / "versions").glob("*.py"):
        assert f"grants/migrations/versions/{path.name}" in names
    for path in (ROOT / "templates").glob("*.toml"):
        assert f"grants/templates/{path.name}" in names
    package = ROOT / "src" / "grants"
    for path in (package / "standards").rglob("*.*"):  # the 360Giving schema and code list
        assert f"grants/{path.relative_to(package).as_posix()}" in names, path
    web = ROOT / "src" / "grants" / "web"
    for path in [*(web / "templates").glob("*.html"), *(web / "static").rglob("*.*")]:
        assert f"grants/web/{path.relative_to(web).as_posix()}" in names, path

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    _pip("--python", str(python), "install", "--no-compile", str(wheel), cwd=tmp_path)
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    (site / "sitecustomize.py").write_text(_WATCH, encoding="utf-8")
    installed = time.monotonic()

    work = tmp_path / "council"
    shutil.copytree(ROOT / "ledger" / "oxfordshire", work / "books", ignore=ignore)
    forbidden = tmp_path / "forbidden.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GRANTS_", "PYTHON", "VIRTUAL_ENV"))
    }
    env |= {
        "GRANTS_TEST_FORBIDDEN": os.pathsep.join([str(ROOT) + os.sep, str(source) + os.sep]),
        "GRANTS_TEST_FORBIDDEN_LOG": str(forbidden),
        "GRANTS_DATABASE_URL": "sqlite:///council.db",
    }

    def grants(*args: str) -> str:
        done = subprocess.run(
            [venv / "bin" / "grants", *args], cwd=work, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"grants {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout

    assert grants("--version") == f"grants, version {PYPROJECT['project']['version']}\n"
    grants("db", "upgrade")
    grants("ledger", "load", "books/main.grants")
    grants("report", "all", "-o", "reports")
    grants("returns", "issue", "--stream", "PCC-CSF", "--year", "2017-18",
           "--stage", "mid-year", "-o", "returns")  # fmt: skip
    # Checked against the 360Giving schema installed with the package, not the source tree's.
    grants("export", "360giving", "--stream", "PCC-CSF", "--year", "2017-18", "-o", "360.json")
    assert (work / "360.json").read_text("utf-8").startswith('{\n  "grants": [')
    assert not forbidden.exists(), "read from the source tree:\n" + forbidden.read_text("utf-8")
    assert (work / "council.db").stat().st_size > 0
    reports = sorted((work / "reports").glob("*.xlsx"))
    assert reports, "report all wrote no workbook"
    assert all(zipfile.is_zipfile(path) for path in reports)
    forms = sorted((work / "returns").glob("*.xlsx"))
    assert forms, "returns issue wrote no form"
    assert all(zipfile.is_zipfile(path) for path in forms)

    probe = subprocess.run(
        [python, "-c",
         "from grants.db.migrate import migrations_dir\n"
         "from grants.excel import templates\n"
         "print(migrations_dir()); print(templates.template_file('resourcing'))\n"
         "print(templates.read('folder/probe')['probe'])"],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == [
        str(site / "grants" / "migrations"),
        str(site / "grants" / "templates" / "resourcing.toml"),
        "found",
    ]
    print(
        f"wheel built and installed in {installed - started:.0f} s, "
        f"commands run in {time.monotonic() - installed:.0f} s"
    )
