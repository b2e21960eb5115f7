"""The staff pages' cookies: the session (a server-side session's secret once signed in, a
signed CSRF token before), a device cookie that keeps a colleague's own browser out of the
login delay someone else caused, and a one-time message shown after an action."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from knowledge import staff
from knowledge.db import Database
from knowledge.models import Meta
from knowledge.staff import StaffInfo

PATH = "/admin"
ANONYMOUS_MAX_AGE = 2 * 3600
"""A login form stays usable this long."""
DEVICE_MAX_AGE = 180 * 24 * 3600
FLASH_MAX_AGE = 120


def shared_secret(db: Database, configured: str | None) -> str:
    """The signing key: MOTCUA_SECRET_KEY, or one stored in the database so every worker agrees."""
    if configured:
        return configured
    with db.session() as s:
        row = s.scalar(select(Meta).where(Meta.key == "session_secret"))
        if row is None:
            row = Meta(key="session_secret", value=secrets.token_urlsafe(48))
            s.add(row)
        return row.value


@dataclass(frozen=True, slots=True)
class Visitor:
    """Whoever sent a request to the staff pages."""

    csrf: str
    """The token every form of this visitor must carry."""
    user: StaffInfo | None = None
    """The signed-in staff member; None before the login."""
    token: str | None = None
    """The server-side session's secret (signed in only)."""


class Cookies:
    """Reads and writes the staff pages' cookies. Names carry the `__Secure-` prefix when the
    site is served over HTTPS, so a plain-HTTP page cannot plant them."""

    def __init__(self, db: Database, secret: str, secure: bool) -> None:
        self.db = db
        self.secure = secure
        prefix = "__Secure-" if secure else ""
        self.session_name = f"{prefix}motcua_admin"
        self.device_name = f"{prefix}motcua_device"
        self.flash_name = f"{prefix}motcua_flash"
        self._anonymous = URLSafeTimedSerializer(secret, salt="motcua-admin-login")
        self._device = URLSafeTimedSerializer(secret, salt="motcua-admin-device")
        self._flash = URLSafeTimedSerializer(secret, salt="motcua-admin-flash")

    # --- the session ----------------------------------------------------------------------

    def read(self, request: Request) -> Visitor | None:
        """The visitor of a request (a database read when signed in)."""
        raw = request.cookies.get(self.session_name) or ""
        kind, _, value = raw.partition(".")
        if kind == "s" and value:
            found = staff.session_for(self.db, value)
            return Visitor(found.csrf, found.user, value) if found else None
        if kind == "a" and value:
            try:
                csrf = self._anonymous.loads(value, max_age=ANONYMOUS_MAX_AGE)
            except BadSignature:
                return None
            return Visitor(csrf) if isinstance(csrf, str) else None
        return None

    def anonymous(self) -> tuple[Visitor, str]:
        """A visitor before the login, and the cookie value that carries its form token."""
        csrf = secrets.token_urlsafe(24)
        return Visitor(csrf), "a." + self._anonymous.dumps(csrf)

    def set_anonymous(self, response: Response, value: str) -> None:
        self._set(response, self.session_name, value, ANONYMOUS_MAX_AGE)

    def start_session(self, response: Response, user: StaffInfo) -> None:
        token, _csrf = staff.open_session(self.db, user.id)
        self._set(response, self.session_name, "s." + token, int(staff.SESSION_LIFETIME.total_seconds()))

    def end(self, response: Response) -> None:
        response.delete_cookie(self.session_name, path=PATH, secure=self.secure, httponly=True, samesite="strict")

    # --- the device cookie ----------------------------------------------------------------

    def device_key(self, request: Request, username: str) -> str | None:
        """The throttle key of this browser for `username` when it signed in as them before."""
        raw = request.cookies.get(self.device_name) or ""
        try:
            data: Any = self._device.loads(raw, max_age=DEVICE_MAX_AGE) if raw else None
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("u") != staff.normalize_username(username):
            return None
        return "device:" + hashlib.sha256(raw.encode()).hexdigest()[:40]

    def remember_device(self, response: Response, user: StaffInfo) -> None:
        value = self._device.dumps({"u": user.username, "n": secrets.token_urlsafe(8)})
        self._set(response, self.device_name, value, DEVICE_MAX_AGE)

    # --- one-time messages ----------------------------------------------------------------

    def flash(self, response: Response, text: str) -> None:
        self._set(response, self.flash_name, self._flash.dumps(text[:600]), FLASH_MAX_AGE)

    def clear_flash(self, response: Response) -> None:
        response.delete_cookie(self.flash_name, path=PATH, secure=self.secure, httponly=True, samesite="strict")

    def read_flash(self, request: Request) -> str | None:
        raw = request.cookies.get(self.flash_name)
        if not raw:
            return None
        try:
            text = self._flash.loads(raw, max_age=FLASH_MAX_AGE)
        except BadSignature:
            return None
        return text if isinstance(text, str) else None

    def _set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            key=name, value=value, max_age=max_age, httponly=True, samesite="strict", secure=self.secure, path=PATH
        )


def csrf_ok(visitor: Visitor | None, submitted: object) -> bool:
    return bool(visitor and isinstance(submitted, str) and submitted and hmac.compare_digest(visitor.csrf, submitted))
