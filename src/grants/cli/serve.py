"""`grants serve`: the web service on the ledger (grants.web; docs/web.md)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from grants.cli import terminal
from grants.cli.common import AppContext, pass_app

if TYPE_CHECKING:
    from starlette.applications import Starlette


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (0.0.0.0: every interface).")  # fmt: skip
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="The port to listen on.")  # fmt: skip
@click.option(
    "--https-only",
    is_flag=True,
    help="Send the session cookie over HTTPS only (behind a proxy that ends TLS).",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32),
              help="Server processes sharing the port and the database (for PostgreSQL: "
              "SQLite records one filing at a time whatever the count).")  # fmt: skip
@pass_app
def serve(app: AppContext, host: str, port: int, https_only: bool, workers: int) -> None:
    """Serve the ledger to recipients, officers and viewers in a browser: each signs in
    with their login and password (`grants users add`). Recipients see what is due, download
    their forms and upload them filled, or fill a return in online, and read their filing
    history; officers and viewers see the dashboard and download the report workbooks. Stop
    it with Ctrl+C."""
    import uvicorn

    from grants.web import password_slots
    from grants.web.app import HTTPS_ONLY_VARIABLE, create_app
    from grants.web.auth import PASSWORD_CHECKS

    app.require_schema()
    shown = f" in {workers} processes" if workers > 1 else ""
    terminal.echo(f"serving {app.shown_url} at http://{host}:{port}/{shown} (Ctrl+C stops it)")
    _note_walks(app)
    web: Starlette | str = "grants.web.app:from_environment"
    if workers == 1:
        web = create_app(app.url, https_only=https_only)
    else:
        # Each process builds the application itself (uvicorn starts them afresh): it finds
        # the ledger in the environment it inherits, and derives the same session secret
        # from the ledger's form key.
        os.environ["GRANTS_DATABASE_URL"] = app.url
        os.environ[HTTPS_ONLY_VARIABLE] = "1" if https_only else ""
    # The processes share their places for password checks: as many as one process has.
    with password_slots.shared(PASSWORD_CHECKS if workers > 1 else 0) as folder:
        if workers > 1 and folder is None:
            terminal.echo(f"note: each process will check up to {PASSWORD_CHECKS} passwords at "
                          "once, not that many between them: no folder for their shared places "
                          "could be made in the temporary folder (TMPDIR)", err=True)  # fmt: skip
        uvicorn.run(web, host=host, port=port, log_level="warning", server_header=False,
                    proxy_headers=False, factory=workers > 1,
                    workers=workers if workers > 1 else None)  # fmt: skip


# From how many links a year page's walk of every link, once a minute in each process, is
# worth saying (about a second here at 50,000: docs/benchmarks.md, the twenty-ninth round).
WALK_NOTED = 50_000


# How long that look waits for a lock (seconds): a load holds the chain's table while it
# builds its keys, and the service must not wait for it to start.
WALK_NOTE_WAIT = 0.5


def _note_walks(app: AppContext) -> None:
    """Say so when the year pages will walk every link of a long chain (no walk of every
    link recorded that they can rely on): `grants verify` once records one. A look that
    waits for no lock long; a database error, or a lock held, skips it."""
    from sqlalchemy.exc import SQLAlchemyError

    from grants.db.engine import ACCESS, make_engine
    from grants.services import checkpoints

    engine = make_engine(app.url, wait=WALK_NOTE_WAIT)
    try:
        with engine.execution_options(**{ACCESS: "read"}).begin() as connection:
            if connection.dialect.name == "postgresql":
                wait = int(WALK_NOTE_WAIT * 1000)
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{wait}ms'")
            links = checkpoints.unrelied(connection)
    except SQLAlchemyError:
        return  # the pages say what they walked; this is a courtesy
    finally:
        engine.dispose()
    if links >= WALK_NOTED:
        terminal.echo(f"note: the dashboard's year pages will walk all {links:,} links of the "
                      "chain once a minute in each process, having no walk of every link "
                      "recorded that they can rely on: `grants verify` records one, and they "
                      "then walk only the links after it", err=True)  # fmt: skip


__all__ = ["serve"]
