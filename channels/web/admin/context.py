"""What every staff page shares: the admin's dependencies (its context, who is asking, the
login and the form token as FastAPI dependencies), the page renderer, and the error pages."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from bot.assistant import Assistant
from bot.settings import Settings
from channels.web.admin import labels
from channels.web.admin.errors import PREFIX, Forbidden, FormExpired, LoginRequired, status_for
from channels.web.admin.sessions import Cookies, Visitor, csrf_ok
from knowledge.db import Database
from knowledge.editing import local
from knowledge.errors import MotcuaError
from knowledge.fields import number_text
from knowledge.money import format_amount
from knowledge.repository import Repository

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))


def _money(value: Any) -> str:
    """An amount for a form field: 5000 -> "5.000"; what staff typed stays as typed."""
    return format_amount(value) if isinstance(value, int) and not isinstance(value, bool) else (value or "")


def _number(value: Any) -> str:
    return number_text(value) if isinstance(value, int | float) and not isinstance(value, bool) else (value or "")


templates.env.filters["money"] = _money
templates.env.filters["number"] = _number
templates.env.filters["role"] = labels.role
templates.env.filters["conversation_channel"] = labels.conversation_channel


@dataclass(frozen=True)
class AdminContext:
    """The admin's share of the app: built once per app, handed to every endpoint."""

    settings: Settings
    assistant: Assistant
    cookies: Cookies
    tz: tzinfo

    @property
    def db(self) -> Database:
        return self.assistant.db

    @property
    def repo(self) -> Repository:
        return self.assistant.repo

    def when(self, at: datetime | None) -> str:
        """A stored time as staff read it, in the unit's time zone."""
        return local(at, self.tz).strftime("%H:%M %d/%m/%Y") if at else ""

    def changed(self) -> None:
        """Knowledge changed: this worker reloads at once, the others within a second."""
        self.assistant.refresh()

    @property
    def public_url_is_local(self) -> bool:
        return is_loopback(self.settings.public_url)


def is_loopback(url: str) -> bool:
    """True when links built on `url` only open on the server itself (127.0.0.1, localhost)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


# --- dependencies -----------------------------------------------------------------------------


def admin_context(request: Request) -> AdminContext:
    ctx: AdminContext = request.app.state.admin
    return ctx


Context = Annotated[AdminContext, Depends(admin_context)]


def current_visitor(request: Request, ctx: Context) -> Visitor | None:
    """Who is asking. A plain function: reading a session is a database call, which FastAPI
    runs in its thread pool, off the event loop."""
    visitor = ctx.cookies.read(request)
    request.state.visitor = visitor  # for the error pages, which must not read it again
    return visitor


def require_staff(visitor: Annotated[Visitor | None, Depends(current_visitor)]) -> Visitor:
    if visitor is None or visitor.user is None:
        raise LoginRequired
    return visitor


def require_admin(visitor: Annotated[Visitor, Depends(require_staff)]) -> Visitor:
    if visitor.user is None or not visitor.user.is_admin:
        raise Forbidden
    return visitor


Staff = Annotated[Visitor, Depends(require_staff)]


async def read_form(request: Request, visitor: Visitor | None) -> AsyncIterator[FormData]:
    """The submitted form once its token matched the visitor's; uploaded files are closed
    when the request is done. Reading the body is asynchronous: no thread needed."""
    form = await request.form()
    try:
        if not csrf_ok(visitor, form.get("csrf")):
            raise FormExpired
        yield form
    finally:
        await form.close()


async def checked_form(request: Request, visitor: Staff) -> AsyncIterator[FormData]:
    """The form of every POST of a signed-in page, its token checked; empty for GET."""
    if request.method in ("GET", "HEAD"):
        yield FormData()
        return
    async for form in read_form(request, visitor):
        yield form


Form = Annotated[FormData, Depends(checked_form)]
STAFF_ONLY = [Depends(require_staff), Depends(checked_form)]
"""Dependencies of every router but the login's: signed in, and the form's token checked."""
ADMIN_ONLY = [Depends(require_admin), Depends(checked_form)]


def user_of(visitor: Visitor) -> str:
    """The signed-in user's name (require_staff guarantees there is one)."""
    if visitor.user is None:
        raise LoginRequired
    return visitor.user.username


# --- pages ------------------------------------------------------------------------------------


def render(
    request: Request, name: str, visitor: Visitor | None = None, status: int = 200, **values: Any
) -> HTMLResponse:
    ctx = admin_context(request)
    values.update(
        visitor=visitor,
        user=visitor.user if visitor else None,
        csrf=visitor.csrf if visitor else "",
        unit=ctx.assistant.unit(None),
        when=ctx.when,
    )
    flash = ctx.cookies.read_flash(request) if visitor is not None and visitor.user is not None else None
    values.setdefault("flash", flash)
    response = templates.TemplateResponse(request, f"admin/{name}.html", values, status_code=status)
    if flash:
        ctx.cookies.clear_flash(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def done(request: Request, url: str, message: str) -> RedirectResponse:
    """After an action: back to a page, which then says what was done."""
    response = RedirectResponse(url, status_code=303)
    admin_context(request).cookies.flash(response, message)
    return response


def message_page(request: Request, text: str, status: int = 400, back: str = PREFIX) -> HTMLResponse:
    visitor = getattr(request.state, "visitor", None)
    referer = request.headers.get("referer", "")
    if urlsplit(referer).path.startswith(PREFIX):
        back = urlsplit(referer).path
    return render(request, "message", visitor, status=status, text=text, back=back)


def _login_required(_request: Request, _exc: Exception) -> Response:
    return RedirectResponse(f"{PREFIX}/login", status_code=303)


def _project_error(request: Request, exc: Exception) -> Response:
    status = status_for(exc)
    if not request.url.path.startswith(PREFIX):
        return JSONResponse({"error": str(exc)}, status_code=status)
    if isinstance(exc, MotcuaError) and status >= 500:
        log.warning("staff page failed: %s", exc)
    return message_page(request, str(exc), status)


def add_exception_handlers(app: FastAPI) -> None:
    """Registered once by the app factory. Plain functions: Starlette runs them in its thread
    pool, and a page reads the knowledge snapshot."""
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(MotcuaError, _project_error)
