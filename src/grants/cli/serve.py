"""`grants serve`: the web service on the ledger (grants.web; docs/web.md)."""

from __future__ import annotations

import click

from grants.cli import terminal
from grants.cli.common import AppContext, pass_app


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
@pass_app
def serve(app: AppContext, host: str, port: int, https_only: bool) -> None:
    """Serve the ledger to recipients, officers and viewers in a browser: each signs in
    with their login and password (`grants users add`). Recipients see what is due, download
    their forms and upload them filled, or fill a return in online, and read their filing
    history; officers and viewers see the dashboard and download the report workbooks. Stop
    it with Ctrl+C."""
    import uvicorn

    from grants.web.app import create_app

    app.require_schema()
    web = create_app(app.url, https_only=https_only)
    terminal.echo(f"serving {app.shown_url} at http://{host}:{port}/ (Ctrl+C stops it)")
    uvicorn.run(web, host=host, port=port, log_level="warning", server_header=False,
                proxy_headers=False)  # fmt: skip


__all__ = ["serve"]
