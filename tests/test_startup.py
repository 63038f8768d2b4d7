"""Start-up: a command imports what it needs. `grants --help` lists every command from the
table in grants.cli.main without importing any of them, and `grants balance --summary` never
imports the migrations, the workbooks, the web service or the 360Giving schema; signing in
as the operating-system login (as the demo does) needs no password hashing, and reads the
summary through SQLAlchemy Core without the ORM or the models either."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import Engine

import grants.cli
from grants.cli.main import COMMANDS, cli
from grants.config import os_login
from grants.db import migrate, version
from grants.db.engine import make_engine
from tests.conftest import OFFICER, Grants, add_person

# What only some commands need: never imported to list the commands or show the balance.
HEAVY = ("alembic", "mako", "openpyxl", "xlsxwriter", "starlette", "jinja2", "jsonschema")
# grants.cli's own modules that listing the commands takes: none of them is a command's.
LISTING = {"grants.cli", "grants.cli.main", "grants.cli.lazy", "grants.cli.group",
           "grants.cli.terminal"}  # fmt: skip

# Runs `grants` and, as it exits, writes the names of every module it imported to the file
# named first.
WATCHED = """
import atexit, json, sys
from pathlib import Path
from grants.cli.main import main

OUT = Path(sys.argv.pop(1))
atexit.register(lambda: OUT.write_text(json.dumps(sorted(sys.modules))))
sys.argv[0] = "grants"
main()
"""


def imported(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules `grants ARGS` imported, run as its own process."""
    out = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", WATCHED, str(out), *args],
                          capture_output=True, text=True, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return set(json.loads(out.read_text()))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.partition(".")[0] in HEAVY)


def test_help_imports_no_command(tmp_path: Path) -> None:
    modules = imported(tmp_path, "--help")
    assert heavy(modules) == []
    assert {m for m in modules if m.startswith("grants.cli")} <= LISTING
    assert "grants.db.models" not in modules and "argon2" not in modules


@pytest.mark.parametrize("signed_in", ["os-login", "password"])
def test_balance_summary_imports_only_what_it_needs(
    oxfordshire: Grants, tmp_path: Path, signed_in: str
) -> None:
    env = dict(os.environ)
    if signed_in == "os-login":  # as the demo signs in: the person of the login running it
        add_person(oxfordshire.url, os_login(), ["officer"])
        del env["GRANTS_USER"], env["GRANTS_PASSWORD"]
    modules = imported(tmp_path, "--database", oxfordshire.url, "balance", "--summary", env=env)
    assert heavy(modules) == []
    assert not any(m.startswith(("grants.excel", "grants.web")) for m in modules)
    commands = {m for m in modules if m.startswith("grants.cli.")} - LISTING
    assert commands == {"grants.cli.common", "grants.cli.options", "grants.cli.progress",
                        "grants.cli.query"}  # fmt: skip
    # A password is checked with Argon2; the operating-system login checks none.
    assert ("argon2" in modules) == (signed_in == "password")
    # The operating-system login's summary is read through SQLAlchemy Core: no ORM, no
    # mapped tables, no balances of every line, no sealing. Signing in with a password reads
    # (and audits) through a session.
    orm = {"sqlalchemy.orm", "grants.db.models", "grants.services.people",
           "grants.services.balances"}  # fmt: skip
    if signed_in == "os-login":
        assert modules & (orm | {"grants.db.seal"}) == set()
        # Money is shown without Babel's locale data, whose loading imports babel.dates and
        # looks up the local time zone among pytz's: no date is shown.
        assert modules & {"babel.dates", "babel.localtime", "pytz"} == set()
    else:
        assert orm <= modules


def defined_commands() -> dict[str, str]:
    """Every command that grants.cli's modules define and no group of theirs holds (the
    commands of `grants` itself), by name: where it is defined."""
    found: dict[int, tuple[click.Command, str]] = {}
    for info in pkgutil.iter_modules(grants.cli.__path__, "grants.cli."):
        module = importlib.import_module(info.name)
        for attribute, value in vars(module).items():
            if isinstance(value, click.Command) and value is not cli:
                found.setdefault(id(value), (value, f"{info.name}.{attribute}"))
    held = {
        id(sub)
        for command, _ in found.values()
        if isinstance(command, click.Group)
        for sub in command.commands.values()
    }
    return {c.name or "": where for key, (c, where) in found.items() if key not in held}


def test_the_table_lists_every_command_where_it_is_defined() -> None:
    table = {name: f"{lazy.module}.{lazy.attribute}" for name, lazy in COMMANDS.items()}
    assert table == defined_commands()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_gives_each_command_its_own_short_help(name: str) -> None:
    lazy = COMMANDS[name]
    command = lazy.load()
    assert command.name == name
    assert lazy.short_help == command.get_short_help_str(limit=sys.maxsize)
    for limit in (3, 20, 45, 59, 80, 200):
        assert lazy.listed(name).get_short_help_str(limit) == command.get_short_help_str(limit)


# The help of click's own group holding every command, imported.
EAGER = """
import click
from grants.cli.main import COMMANDS, cli

commands = {name: lazy.load() for name, lazy in COMMANDS.items()}
eager = click.Group("grants", commands=commands, params=cli.params, help=cli.help,
                    context_settings=cli.context_settings)
eager(["--help"], prog_name="grants")
"""


@pytest.mark.parametrize("columns", [50, 80, 200])
def test_help_reads_as_it_does_with_every_command_imported(tmp_path: Path, columns: int) -> None:
    """`grants --help` from the table is the help of click's own group with every command
    imported, on a terminal of any width."""
    env = dict(os.environ, COLUMNS=str(columns))
    lazy, eager = (
        subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env
        ).stdout
        for code, args in ((WATCHED, [str(tmp_path / "m.json"), "--help"]), (EAGER, []))
    )
    assert lazy == eager
    assert all(f"\n  {name} " in lazy for name in COMMANDS)


def test_every_command_runs_through_the_table() -> None:
    """A command looked up by name is the command its module defines; an unknown name is
    a usage error, as before."""
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    assert all(cli.get_command(ctx, n) is COMMANDS[n].load() for n in COMMANDS)
    assert cli.get_command(ctx, "no-such-command") is None
    result = CliRunner().invoke(cli, ["balanse"], prog_name="grants")
    assert result.exit_code == 2 and "No such command 'balanse'" in result.output


# The schema version, read without Alembic, is Alembic's.


def alembic_head() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(migrate.migrations_dir()))
    return ScriptDirectory.from_config(config).get_current_head()


def test_the_head_is_alembics() -> None:
    assert version.read_head(migrate.migrations_dir() / "versions") == alembic_head()
    assert version.head() == alembic_head()


def current(engine: Engine) -> tuple[str | None, str | None]:
    """The version the database is at: as read here, and as Alembic reads it."""
    with engine.execution_options(grants_access="read").connect() as connection:
        ours = version.current(connection)
        return ours, MigrationContext.configure(connection).get_current_revision()


def test_the_version_a_database_is_at_is_alembics(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        assert current(engine) == (None, None)
        for revision, at in (("0013", "0013"), ("head", version.head())):
            migrate.upgrade(engine, revision)
            assert current(engine) == (at, at)
    finally:
        engine.dispose()


def test_a_ledger_of_an_older_schema_is_refused(empty_url: str) -> None:
    engine = make_engine(empty_url)
    migrate.upgrade(engine, "0013")
    engine.dispose()
    result = Grants(empty_url)("balance")
    assert result.exit_code == 1
    assert f"is at schema 0013, this program needs {version.head()}" in result.output
    assert "run `grants db upgrade`" in result.output


def script(revision: str, down: str) -> str:
    return f'"""A migration."""\n\nrevision: str = "{revision}"\ndown_revision = {down}\n'


@pytest.mark.parametrize(
    ("scripts", "head"),
    [
        ({"a": "None", "b": '"a"', "c": '"b"'}, "c"),
        ({"a": "None", "b": '"a"', "c": '"a"'}, None),  # a branch: two heads
        ({"a": "None", "b": '"a"', "c": '("a", "b")'}, None),  # a merge
        ({"a": "None", "b": '"x"'}, None),  # b follows a script that is not there
        ({"a": "None", "b": "None"}, None),  # two roots
        ({"a": '"b"', "b": '"a"'}, None),  # a loop
    ],
)
def test_the_head_is_read_only_from_one_line_of_scripts(
    tmp_path: Path, scripts: dict[str, str], head: str | None
) -> None:
    (tmp_path / "__init__.py").write_text("")
    for revision, down in scripts.items():
        (tmp_path / f"{revision}_step.py").write_text(script(revision, down))
    assert version.read_head(tmp_path) == head


def test_a_script_without_its_revision_line_is_left_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "a_step.py").write_text(script("a", "None"))
    (tmp_path / "b_step.py").write_text('revision = make_revision()\ndown_revision = "a"\n')
    assert version.read_head(tmp_path) is None


def test_the_officer_signs_in_with_a_password_as_before(oxfordshire: Grants) -> None:
    """Hashing made when first wanted checks the password as before."""
    assert oxfordshire("balance", "--summary").exit_code == 0
    wrong = Grants(oxfordshire.url, OFFICER, "not-the-password")("balance", "--summary")
    assert wrong.exit_code == 1 and "the login or password is wrong" in wrong.output


# What reading and recording a received return never needs: the workbook writers, and the
# code that lays out the forms it issues.
WRITERS = ("xlsxwriter", "grants.excel.book", "grants.excel.form_header",
           "grants.excel.return_form", "grants.services.due")  # fmt: skip
# Nor what only other work needs: the web service's sessions, the checks of PostgreSQL's own
# roles, and the search for the code meant by one that is not there.
OTHER_WORK = ("grants.services.sessions", "grants.db.row_security", "difflib")


def test_returns_import_imports_no_workbook_writer(grants: Grants, tmp_path: Path) -> None:
    from tests.helpers import books
    from tests.test_plans import FUND, PLAN
    from tests.test_returns import CHERWELL, fill

    assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN))).exit_code == 0
    issued = grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                    "mid-year", "-o", str(tmp_path / "forms"))  # fmt: skip
    assert issued.exit_code == 0, issued.output
    filled = fill(tmp_path / "forms" / CHERWELL, tmp_path / "filled.xlsx")
    env = {**os.environ, "GRANTS_USER": grants.env["GRANTS_USER"] or "",
           "GRANTS_PASSWORD": grants.env["GRANTS_PASSWORD"] or ""}  # fmt: skip
    modules = imported(tmp_path, "--database", grants.url, "returns", "import", str(filled),
                       env=env)  # fmt: skip
    assert "grants.excel.return_reader" in modules and "grants.services.journal" in modules
    assert sorted(m for m in modules if m.startswith(WRITERS)) == []
    assert sorted(m for m in modules if m.startswith(OTHER_WORK)) == []
    assert [m for m in heavy(modules) if not m.startswith("openpyxl")] == []
    # Only the ledger's own engine's dialect: the models' partial index loads no other.
    other = "postgresql" if grants.url.startswith("sqlite") else "sqlite"
    assert sorted(m for m in modules if m.startswith(f"sqlalchemy.dialects.{other}")) == []


def test_loading_books_imports_no_workbook_code(grants: Grants, tmp_path: Path) -> None:
    """A load checks the record after it writes, and so may compare a filed return with its
    workbook; a ledger holding none has no workbook to read, and openpyxl is never imported."""
    from tests.helpers import books
    from tests.test_plans import FUND, PLAN

    env = {**os.environ, "GRANTS_USER": grants.env["GRANTS_USER"] or "",
           "GRANTS_PASSWORD": grants.env["GRANTS_PASSWORD"] or ""}  # fmt: skip
    for args in (["ledger", "load", str(books(tmp_path, FUND + PLAN))], ["verify"]):
        modules = imported(tmp_path, "--database", grants.url, *args, env=env)
        assert "grants.services.verify" in modules
        assert sorted(m for m in modules if m.startswith("grants.excel")) == []
        assert heavy(modules) == []


# What writing the capital programme workbook never needs: the other workbooks and what only
# they read.
NOT_FOR_CAPITAL = ("grants.excel.esif_claims", "grants.excel.growth",
                   "grants.excel.pcc_template", "grants.excel.reports",
                   "grants.excel.resourcing", "grants.services.growth",
                   "grants.services.workbooks", "grants.web")  # fmt: skip


@pytest.mark.parametrize("signed_in", ["os-login", "password"])
def test_the_capital_programme_imports_only_its_own_workbook(
    oxfordshire: Grants, tmp_path: Path, signed_in: str
) -> None:
    env = dict(os.environ)
    if signed_in == "os-login":
        add_person(oxfordshire.url, os_login(), ["officer"])
        del env["GRANTS_USER"], env["GRANTS_PASSWORD"]
    modules = imported(tmp_path, "--database", oxfordshire.url, "report", "capital-programme",
                       "-o", str(tmp_path / "capital.xlsx"), env=env)  # fmt: skip
    assert (tmp_path / "capital.xlsx").stat().st_size > 0
    assert {"grants.excel.capital", "xlsxwriter"} <= modules
    assert sorted(m for m in modules if m.startswith(NOT_FOR_CAPITAL)) == []
    assert [m for m in heavy(modules) if not m.startswith("xlsxwriter")] == []


def test_a_capital_programme_without_printed_figures_needs_no_babel_dates(
    tmp_path: Path,
) -> None:
    """The synthetic programme of the benchmark (no published figures, whose sheet shows
    amounts through Babel's locale data): its workbook's day, in the footer, is written
    without Babel's dates and the time zones they look up."""
    from tests.benchmarks.capital_books import database

    db = database(tmp_path, 200)
    env = {k: v for k, v in os.environ.items() if k not in ("GRANTS_USER", "GRANTS_PASSWORD")}
    modules = imported(tmp_path, "--database", f"sqlite:///{db}", "report", "capital-programme",
                       "-o", str(tmp_path / "capital.xlsx"), env=env)  # fmt: skip
    assert "grants.excel.capital" in modules
    assert modules & {"babel.dates", "babel.localtime", "pytz"} == set()


def test_the_capital_programme_as_it_stands_imports_neither_the_orm_nor_the_models(
    tmp_path: Path,
) -> None:
    """The synthetic programme of the benchmark as the operating-system login runs it: read
    through SQLAlchemy Core (grants.services.capital_core), its workbook written without the
    ORM, the models, the migrations or openpyxl."""
    from tests.benchmarks.capital_books import database

    db = database(tmp_path, 200)
    env = {k: v for k, v in os.environ.items() if k not in ("GRANTS_USER", "GRANTS_PASSWORD")}
    modules = imported(tmp_path, "--database", f"sqlite:///{db}", "report", "capital-programme",
                       "-o", str(tmp_path / "capital.xlsx"), env=env)  # fmt: skip
    assert {"grants.excel.capital", "grants.services.capital_core"} <= modules
    assert sorted(m for m in modules if m.startswith(("sqlalchemy.orm", "grants.db.models"))) == []
    assert [m for m in heavy(modules) if not m.startswith("xlsxwriter")] == []


@pytest.mark.parametrize("year", [2017, 2024, 2026])
def test_a_workbooks_day_is_written_as_babel_writes_it(year: int) -> None:
    from datetime import date, timedelta

    from grants import formatting
    from grants.excel import book

    first = date(year, 1, 1)
    for day in (first + timedelta(days=n) for n in range(366 if year % 4 == 0 else 365)):
        assert book.long_day(day) == formatting.long_day(day)


# Runs `grants` as a program and, as it exits, writes what became of the cycle collector: on
# or off, how many objects it leaves alone, and whether it still walks the command's click
# object (made as the command's module was imported) and the command's AppContext (made as it
# ran).
COLLECTOR = """
import atexit, gc, json, sys
from pathlib import Path
import click
from grants.cli import main as program

OUT = Path(sys.argv.pop(1))
seen = []

def report() -> None:
    from grants.cli.query import streams

    walked = {id(o) for o in gc.get_objects()}
    OUT.write_text(json.dumps({
        "enabled": gc.isenabled(),
        "frozen": gc.get_freeze_count(),
        "command": id(streams) in walked,
        "context": [id(o) in walked for o in seen],
    }))

atexit.register(report)
original = click.Context.invoke

def invoke(self, callback, *args, **kwargs):
    if self.obj is not None and self.obj is not getattr(program, "PROGRAM", None):
        seen.append(self.obj)
    return original(self, callback, *args, **kwargs)

click.Context.invoke = invoke
sys.argv[0] = "grants"
program.main()
"""


def test_a_program_leaves_its_start_up_to_no_collection(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    """Run as a program, `grants` takes what start-up made (the command's modules with
    everything they import) out of the cycle collector's care once the command is resolved,
    and collects what the command makes as ever."""
    out = tmp_path / "collector.json"
    done = subprocess.run([sys.executable, "-c", COLLECTOR, str(out), "--database",
                           oxfordshire.url, "streams"], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(out.read_text())
    assert found["enabled"] is True and found["frozen"] > 0
    assert found["command"] is False  # imported with the command: left alone
    assert found["context"] and all(found["context"])  # made by the command: collected


def test_the_group_invoked_in_a_process_leaves_the_collector_alone(oxfordshire: Grants) -> None:
    """Invoked inside a longer-lived process (the tests', a script's), the group neither
    pauses the collector nor takes anything out of its care."""
    import gc

    frozen = gc.get_freeze_count()
    assert oxfordshire("streams").exit_code == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
