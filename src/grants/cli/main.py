"""`grants`: the command-line entry point."""

from __future__ import annotations

import gc
import os

import click

from grants.cli.lazy import Lazy, LazyGroup
from grants.config import default_actor
from grants.errors import TextError
from grants.text import clean

# Every command: the module that defines it (imported only when the command runs or shows its
# own help), its name there, and its short help as `grants --help` lists it: the first sentence
# of its help (tests/test_startup.py checks that this table and the commands agree).
COMMANDS: dict[str, Lazy] = {
    "allocate": Lazy(
        "grants.cli.write",
        "allocate",
        "Allocate AMOUNT of STREAM's YEAR award to LINE (or of LINE's parent's allocation).",
    ),
    "allocations": Lazy(
        "grants.cli.query",
        "allocations",
        "List the allocations of a stream: recipient, year, amount, share and parent.",
    ),
    "award": Lazy(
        "grants.cli.write", "award", "Record that STREAM's funder awarded AMOUNT for YEAR (e.g."
    ),
    "balance": Lazy(
        "grants.cli.query",
        "balance",
        "Awarded, stated, allocated, unallocated, paid and reported, per stream, year and "
        "line, what is committed by signed grant agreements, underspend carried forward and "
        "brought forward, and what was claimed from the funder and received (each once any "
        "is recorded).",
    ),
    "carry-forward": Lazy(
        "grants.cli.commitments",
        "carry_forward",
        "Carry AMOUNT of LINE's underspend in FROM-YEAR (what is allocated and neither paid "
        "nor passed to its lines) into TO-YEAR, the next, with the funder's approval; "
        "FROM-YEAR's allocation is kept and both years show the carry-forward.",
    ),
    "chain": Lazy(
        "grants.cli.chain",
        "chain",
        "The regranting chain: funder, accountable body, then each line with its recipient "
        "(partnership, recipient, project), with awarded, committed, paid and spent at each "
        "level.",
    ),
    "claim": Lazy(
        "grants.cli.money_in",
        "claim",
        "Record a claim NAME of AMOUNT to STREAM's funder for YEAR (never beyond what is "
        "awarded and not yet claimed).",
    ),
    "clawback": Lazy(
        "grants.cli.write",
        "clawback",
        "Record AMOUNT recovered from LINE's recipient: it comes off what was paid and what "
        "is allocated, and returns to the award or the parent line (never beyond what was "
        "paid).",
    ),
    "commit": Lazy(
        "grants.cli.commitments",
        "commit",
        "Record a signed grant agreement committing AMOUNT of LINE's YEAR allocation (never "
        "beyond what is allocated to it and not yet committed).",
    ),
    "db": Lazy("grants.cli.db", "db", "Create or upgrade the database schema; back it up."),
    "export": Lazy(
        "grants.cli.export",
        "export",
        "Export the ledger in an open standard (see also `grants ledger export`, the backup).",
    ),
    "indicators": Lazy(
        "grants.cli.growth",
        "indicators",
        "List the output indicator catalogue: code, fund, unit, name and the standing "
        "definition (the latest version; earlier ones are kept).",
    ),
    "journal": Lazy(
        "grants.cli.query",
        "journal",
        "List journal entries: number, date, what, amount, who, why and where from.",
    ),
    "ledger": Lazy(
        "grants.cli.ledger", "ledger", "The plain-text books (format: ledger/README.md)."
    ),
    "outputs": Lazy(
        "grants.cli.growth",
        "outputs",
        "List every output against the indicator catalogue: growth projects' outputs with "
        "their targets, and the output measures recipients reported on their returns (a "
        "measure that names no indicator of the stream's fund is shown as typed, with no "
        "code).",
    ),
    "pay": Lazy(
        "grants.cli.write",
        "pay",
        "Record a payment of AMOUNT to LINE's recipient (never beyond what is allocated).",
    ),
    "plan": Lazy(
        "grants.cli.plans",
        "plan",
        "Spending plans: record a recipient's expenditure lines (by command or by a filled "
        "plan form), agree a plan, list plans.",
    ),
    "programme": Lazy(
        "grants.cli.programme",
        "programme",
        "A programme table by year with its TOTALs; with --compare, the Change column and the "
        "Difference row between two versions, all derived from the recorded profiles.",
    ),
    "projects": Lazy(
        "grants.cli.growth",
        "projects",
        "List the growth-fund projects: award, spend profiled, grant claimed, paid, slippage "
        "against profile (profile of the claimed quarters less their eligible spend), match "
        "spent and outputs (target and actual).",
    ),
    "receipt": Lazy(
        "grants.cli.money_in",
        "receipt",
        "Record AMOUNT received from STREAM's funder for YEAR, against a claim (--claim) or "
        "the award (never beyond what was claimed, or awarded).",
    ),
    "reconcile": Lazy(
        "grants.cli.reconcile",
        "reconcile_command",
        "Check the ledger: stated against agreed awards, allocations against awards, lines "
        "against their parent and shares, plans against allocations, returns missing or "
        "late, reported spend against allocations (over- and underspend, the clawback to "
        "propose), blanks in returns, capital programme changes, published figures that do "
        "not foot, payments beyond what signed agreements commit (and commitments beyond an "
        "allocation), scheduled instalments due or overdue and not yet paid, and money in "
        "(awards not yet claimed, claims not yet paid and their age, receipts that match no "
        "claim, cash received ahead of spend).",
    ),
    "report": Lazy(
        "grants.cli.report",
        "report",
        "The tables the council sends (derived from the journal).",
    ),
    "returns": Lazy(
        "grants.cli.returns",
        "returns",
        "Return forms: issue them to recipients, import them when filled in, list who filed "
        "what and when, and what is due.",
    ),
    "reverse": Lazy(
        "grants.cli.write",
        "reverse",
        "Append the exact opposite of journal entry ENTRY (its number or id).",
    ),
    "schedule": Lazy(
        "grants.cli.schedules",
        "schedule",
        "Schedule an instalment of AMOUNT of LINE's YEAR allocation, due on --due (a line's "
        "schedule for a year has one basis; reconcile reports instalments due and overdue).",
    ),
    "serve": Lazy(
        "grants.cli.serve",
        "serve",
        "Serve the ledger to recipients, officers and viewers in a browser: each signs in "
        "with their login and password (`grants users add`).",
    ),
    "streams": Lazy("grants.cli.query", "streams", "List the funding streams."),
    "users": Lazy(
        "grants.cli.users",
        "users",
        "The ledger's people and their roles (admins), and the audit log.",
    ),
    "verify": Lazy(
        "grants.cli.verify",
        "verify_command",
        "Check that the record is what the ledger recorded.",
    ),
}


@click.group(
    "grants",
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--database",
    metavar="URL",
    help="Database URL (default: GRANTS_DATABASE_URL, else sqlite:///grants.db). "
    "PostgreSQL: postgresql://user@host/dbname.",
)
@click.option(
    "--user",
    metavar="LOGIN",
    envvar="GRANTS_USER",
    help="Sign in as this ledger person (default: GRANTS_USER, else the ledger person of "
    "your operating-system login); the password is asked, or read from GRANTS_PASSWORD.",
)
@click.option(
    "--actor",
    metavar="NAME",
    help="Who is recording: only the person signed in (kept for scripts that name them; "
    "default: GRANTS_ACTOR).",
)
# The version pip installed (pyproject.toml's), read from the package's metadata when asked.
@click.version_option(package_name="grants", prog_name="grants")
@click.pass_context
def cli(ctx: click.Context, database: str | None, user: str | None, actor: str | None) -> None:
    """A funding allocation and grant-monitoring ledger for UK local government.

    Start with `grants db upgrade`, then `grants ledger load ledger/oxfordshire/main.grants`
    and `grants balance`.
    """
    if ctx.obj is PROGRAM:
        start_up_done()
    claimed = actor or os.environ.get("GRANTS_ACTOR") or None
    actor = claimed or default_actor()
    try:
        actor = clean(actor, "--actor")
    except TextError as exc:
        raise click.BadParameter(str(exc), param_hint="--actor") from None
    if not actor.strip() or len(actor) > 100 or not actor.isprintable():
        raise click.BadParameter(
            "give a name of 1 to 100 printable characters", param_hint="--actor"
        )
    # Imported when a command runs: `grants --help` and `grants --version` sign no one in.
    from grants.cli.common import AppContext

    ctx.obj = AppContext(database=database, claimed=claimed and actor, user=user)


# `grants` run as a program (`main`), rather than the group invoked inside a longer-lived
# process (the tests' CliRunner), whose objects must stay collectable.
PROGRAM = object()


def main() -> None:
    # Start-up makes tens of thousands of objects (click, SQLAlchemy, the command's modules,
    # the models) and drops almost none of them: the cycle collector would walk them all,
    # repeatedly while they are made and once more as the interpreter exits, and find
    # nothing to free. It is paused until the command is resolved and its modules imported.
    gc.disable()
    cli(prog_name="grants", obj=PROGRAM)


def start_up_done() -> None:
    """What start-up made lives until the process ends: it leaves the cycle collector's care
    (no collection walks it again, the last one at exit included), and the collector resumes
    for what the command makes."""
    gc.freeze()
    gc.enable()
