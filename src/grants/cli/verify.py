"""`grants verify`: prove that the record is what the ledger recorded."""

from __future__ import annotations

import click

from grants.cli import terminal
from grants.cli.common import AppContext, emit_json, pass_app
from grants.cli.evidence import differences
from grants.errors import GrantsError
from grants.formatting import count
from grants.services import checkpoints
from grants.services.verification import Broken, Verification
from grants.services.verify import check_against, verify, verify_ledger

SHOWN = 20  # problems listed besides the first; --json lists them all


@click.command("verify")
@click.option(
    "--head",
    "head_only",
    is_flag=True,
    help="Print only the chain's head (COUNT:DIGEST), to quote in a paper or a report.",
)
@click.option(
    "--against",
    metavar="COUNT:DIGEST",
    help="Also prove that the first COUNT records are the ones whose head was quoted then.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def verify_command(app: AppContext, head_only: bool, against: str | None, as_json: bool) -> None:
    """Check that the record is what the ledger recorded.

    Recomputes the hash chain over every record (journal entries and their postings,
    returns and their figures, plans, agreements, statements, profiles, match funding,
    reference data) and checks what the database cannot: postings sum to zero and are the
    ones each entry makes, keys match content, ids have no gaps, every guard is in place.
    Names the first broken record and exits 1 if anything is wrong. A record found whole is
    recorded with its head, when and who (the output says whether it was, --json's
    "recorded"): `grants reconcile` then re-checks only the links after it.
    """
    current, head = app.schema_version()
    began = checkpoints.now()  # before the walk reads: the time a verification gives
    with app.reading(any_version=True) as session:
        # A ledger of another schema version has no people to sign in: verify reads it.
        result = (
            verify(session.connection(), differences)
            if current != head
            else verify_ledger(session, evidence=differences)
        )
        if current != head:
            result.problems.insert(0, Broken(
                "schema", "alembic_version", None,
                f"says the schema is at version {current!r}, where this program's is {head!r}: "
                "`grants db upgrade` if it is older; if not, it was changed behind the "
                "ledger's back",
            ))  # fmt: skip
        if against is not None:
            try:
                found = check_against(session.connection(), result, against)
            except ValueError as exc:
                raise GrantsError(str(exc)) from None
            if found is not None:
                result.problems.insert(0, found)
    recorded = False
    if result.ok and current == head:
        # Found whole: `grants reconcile` walks only the links after this head.
        recorded = app.record_verification(result, began)
    if as_json:
        first = result.first
        emit_json(
            {
                "ok": result.ok,
                "head": {"count": result.head.count, "digest": result.head.digest},
                "first": first.as_dict() if first else None,
                "problems": [p.as_dict() for p in result.problems],
                "more": result.more,
                "notes": result.notes,
                "recorded": recorded,
            }
        )
    elif head_only and result.ok:
        terminal.echo(str(result.head))
    else:
        _report(result, against, recorded)
    if not result.ok:
        click.get_current_context().exit(1)


def _report(result: Verification, against: str | None, recorded: bool) -> None:
    for note in result.notes:
        terminal.echo(f"note: {note}", err=True)
    if result.ok:
        terminal.echo(
            f"the record holds: {result.head.count:,} records, each as it was recorded, "
            "sealed in order"
            + (
                f"; the first {against.partition(':')[0]} are those of the head given"
                if against
                else ""
            )
        )
        terminal.echo(f"head {result.head}")
        if recorded:
            terminal.echo("recorded: `grants reconcile` will rely on this verification")
        elif result.head.count == 0:
            terminal.echo("not recorded: an empty chain proves no link to rely on")
        return
    first = result.first
    assert first is not None
    terminal.echo(f"the record is broken: the first broken record is {first}")
    others = [p for p in result.problems if p is not first]
    for problem in others[:SHOWN]:
        terminal.echo(f"  {problem}")
    total = len(result.problems) + result.more
    if total > SHOWN + 1:
        terminal.echo(f"  ... and {total - SHOWN - 1:,} more (`grants verify --json` lists them)")
    terminal.echo(
        f"{count(total, 'problem')}. The ledger was changed behind its back: restore it from "
        "a backup (`grants db backup`, or pg_dump), and find out who could write to the database."
    )


__all__ = ["verify_command"]
