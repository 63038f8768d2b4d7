"""The web service's application: `create_app(database_url)` for `grants serve` and tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.resources import files
from typing import Any

from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from grants.errors import GrantsError, NotFound, Refused
from grants.services import form_identity
from grants.services.recent import Recent
from grants.web import auth, chain, officer, online, portal, record
from grants.web.ledger import Ledger
from grants.web.pages import Forbidden, TooLarge, render

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "grants_session"
# `grants serve --workers N` tells each process it starts whether cookies go over HTTPS only.
HTTPS_ONLY_VARIABLE = "GRANTS_SERVE_HTTPS_ONLY"
HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]  # fmt: skip


FAILED = (
    b"Sorry, there is a problem with the service: nothing was recorded. Try again later; if "
    b"it happens again, tell the council's finance officer what you were doing and when."
)


class SecurityHeaders:
    """Adds the security headers to every response, static files and errors too."""

    def __init__(self, app: ASGI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS if k not in names]
                if not scope["path"].startswith(("/static/", "/assets/")):
                    extra.append((b"cache-control", b"no-store"))  # pages hold a person's data
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if not started:  # never a traceback for a person: a page that says what to do
                await sending(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                    }
                )
                await sending({"type": "http.response.body", "body": FAILED})
            raise


def templates() -> Environment:
    """Jinja2 with autoescaping on for every template: nothing typed is markup."""
    folder = str(files("grants.web") / "templates")
    return Environment(loader=FileSystemLoader(folder), autoescape=True)


def ledger_secret(ledger: Ledger) -> str:
    with ledger.reading(None) as session:
        return form_identity.derived_secret(session, "web session")


def create_app(database_url: str, secret: str | None = None, https_only: bool = False) -> Starlette:
    """The web service on the ledger at ``database_url``. ``secret`` signs the session
    cookies (default: the ledger's own secret for them, the same in every process);
    ``https_only``: cookies only over HTTPS (behind a proxy that ends TLS)."""
    ledger = Ledger(database_url)
    key = secret or ledger_secret(ledger)
    static = files("grants.web") / "static"
    routes = [
        Route("/sign-in", portal.sign_in_route, methods=["GET", "POST"]),
        Route("/sign-out", portal.sign_out, methods=["POST"]),
        Route("/", portal.home),
        Route("/lines/{stream}/{year}/{line}", portal.line_page),
        Route("/forms/{stream}/{year}/{line}/{stage}.xlsx", portal.form_download),
        Route(
            "/lines/{stream}/{year}/{line}/{stage}/return",
            online.online_return,
            methods=["GET", "POST"],
        ),
        Route("/filings/{receipt}", online.filing_page),
        Route("/upload", portal.upload, methods=["GET", "POST"]),
        Route("/history", portal.history_page),
        Route("/dashboard", officer.dashboard),
        Route("/dashboard/{stream}/{year}", officer.dashboard_year),
        Route("/dashboard/{stream}/{year}/entries", officer.figure_entries),
        Route("/dashboard/{stream}/{year}/chain", chain.chain_page),
        Route("/dashboard/{stream}/{year}/forms", officer.issue_forms_zip, methods=["POST"]),
        Route("/record/allocation", record.allocation, methods=["GET", "POST"]),
        Route("/record/payment", record.payment, methods=["GET", "POST"]),
        Route("/record/recorded/{key}", record.recorded),
        Route("/reports/{name}.xlsx", officer.report_download),
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
        Mount("/assets", StaticFiles(directory=str(static / "govuk" / "assets")), name="assets"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=key,
                session_cookie=SESSION_COOKIE,
                max_age=auth.MAX_SECONDS,
                same_site="strict",
                https_only=https_only,
            ),
        ],
        exception_handlers={
            auth.SignInRequired: _sign_in_required,
            auth.CsrfRefused: _csrf_refused,
            Forbidden: _forbidden,
            TooLarge: _too_large,
            Refused: _not_found,
            NotFound: _not_found,
            GrantsError: _grants_error,
            HTTPException: _http_error,
        },
        lifespan=_lifespan(ledger),
    )
    app.state.ledger = ledger
    app.state.recent = Recent()
    app.state.templates = templates()
    return app


def from_environment() -> Starlette:
    """The application for one of `grants serve --workers N`'s processes: the ledger at
    GRANTS_DATABASE_URL (which `grants serve` sets), and its own session secret, which every
    process derives alike from the ledger's form key."""
    from grants.config import database_url

    return create_app(database_url(None), https_only=os.environ.get(HTTPS_ONLY_VARIABLE) == "1")


def _lifespan(ledger: Ledger) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        ledger.dispose()

    return lifespan


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    ended = exc.ended if isinstance(exc, auth.SignInRequired) else None
    return RedirectResponse("/sign-in" + (f"?ended={ended}" if ended else ""), status_code=303)


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", {"title": "Your form has expired",
                  "message": "The form had expired or did not come from this service. Go "
                  "back, reload the page and try again."}, 403)  # fmt: skip


async def _too_large(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", {"title": "There is a problem", "message": "What was "
                  "sent was too large for this form: go back, reload the page and try again."},
                  413)  # fmt: skip


async def _forbidden(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", {"title": "You cannot see this page",
                  "message": str(exc)}, 403)  # fmt: skip


async def _not_found(request: Request, exc: Exception) -> Response:
    return render(
        request,
        "error.html",
        {
            "title": "Page not found",
            "message": "If you typed the web address, check it is correct.",
        },
        404,
    )


async def _grants_error(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", {"title": "There is a problem",
                  "message": str(exc)}, 400)  # fmt: skip


async def _http_error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    title = "Page not found" if code == 404 else "There is a problem"
    return render(request, "error.html", {"title": title, "message": str(getattr(exc, "detail",
                  ""))}, code)  # fmt: skip


__all__ = ["HTTPS_ONLY_VARIABLE", "SESSION_COOKIE", "create_app", "from_environment"]
