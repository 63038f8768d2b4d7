"""What every page shares: rendering a template, the person signed in, the ledger."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from jinja2 import Environment
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from grants.errors import NotFound
from grants.services.access import Actor
from grants.web import auth
from grants.web.ledger import Ledger

SERVICE = "Grant monitoring"


MAX_FORM_BYTES = 64 * 1024  # a form of a few fields typed by a person, with room to spare


class TooLarge(Exception):
    """A request larger than its page takes, or of no stated length: answered 413 before
    any of it is read."""


class Forbidden(Exception):
    """The person's role does not include the page's work (the services' permission table,
    grants.services.access.PERMISSIONS): answered 403."""


def ledger(request: Request) -> Ledger:
    return request.app.state.ledger  # type: ignore[no-any-return]


def signed_in(request: Request) -> Actor:
    """The person signed in (SignInRequired if no one is). An address with a NUL character
    in it (``%00``) is no page's: no code, name or day has one, and PostgreSQL refuses the
    character in a query (a server error); it is not found, or a problem in the query."""
    if "\x00" in request.url.path or "\x00" in unquote(request.url.query):
        raise NotFound("no page has a NUL character in its address")
    actor = auth.acting(ledger(request), request)
    request.state.actor = actor
    return actor


def needs(actor: Actor, permission: str, what: str) -> None:
    """Forbidden unless ``actor``'s roles give ``permission`` (the services check it again)."""
    if not actor.may(permission):
        raise Forbidden(f"You are signed in as {actor.login}, who may not {what}.")


async def small_form(request: Request, max_fields: int) -> FormData:
    """The fields of a short form (sign in, sign out, a recording form): TooLarge, before
    anything is read, if the request is larger than MAX_FORM_BYTES or does not say how large
    it is, so that no one can make the server hold a body of any size in memory."""
    size = request.headers.get("content-length") or ""
    if not (size.isascii() and size.isdigit()) or int(size) > MAX_FORM_BYTES:
        raise TooLarge
    return await read_form(request, 0, max_fields)


async def read_form(request: Request, max_files: int, max_fields: int) -> FormData:
    """The form's fields; one that cannot be read as a form (a part's headers longer than the
    parser takes: a file name of thousands of characters, say) is a problem with what was
    sent (400), not a failure of the service."""
    try:
        return await request.form(max_files=max_files, max_fields=max_fields)
    except ValueError:  # python-multipart's FormParserError, whatever its version
        raise HTTPException(
            400,
            "What was sent could not be read as this page's form: go "
            "back, reload the page and try again.",
        ) from None


def render(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    env: Environment = request.app.state.templates
    actor = getattr(request.state, "actor", None)
    shown = {
        "service": SERVICE,
        "actor": actor,
        "csrf_token": auth.csrf_token(request) if "session" in request.scope else "",
        "path": request.url.path,
        **context,
    }
    return HTMLResponse(env.get_template(template).render(shown), status_code=status)


__all__ = [
    "MAX_FORM_BYTES",
    "SERVICE",
    "Forbidden",
    "TooLarge",
    "ledger",
    "needs",
    "read_form",
    "render",
    "signed_in",
    "small_form",
]
