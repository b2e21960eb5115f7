"""Admin sessions: a signed cookie holding the user id and a CSRF token, checked on every form."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from knowledge.db import Database
from knowledge.models import Meta
from knowledge.staff import StaffInfo, user

COOKIE = "motcua_admin"
MAX_AGE = 8 * 3600
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_LIMIT = 5
"""Failed logins allowed per user name and per address in LOGIN_WINDOW."""


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
class Session:
    csrf: str
    user: StaffInfo | None


class Sessions:
    def __init__(self, db: Database, secret: str, secure: bool) -> None:
        self.db = db
        self.secure = secure
        self.signer = URLSafeTimedSerializer(secret, salt="motcua-admin")

    def read(self, cookies: dict[str, str]) -> Session | None:
        raw = cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data: Any = self.signer.loads(raw, max_age=MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        staff = user(self.db, data["uid"]) if isinstance(data.get("uid"), int) else None
        if staff is not None and not staff.active:
            staff = None
        return Session(data["csrf"], staff)

    def issue(self, staff: StaffInfo | None) -> tuple[str, str]:
        """(cookie value, csrf token) for a new session; a new token at every login."""
        csrf = secrets.token_urlsafe(24)
        return self.signer.dumps({"uid": staff.id if staff else None, "csrf": csrf}), csrf

    def cookie_args(self) -> dict[str, Any]:
        return {
            "key": COOKIE,
            "max_age": MAX_AGE,
            "httponly": True,
            "samesite": "strict",
            "secure": self.secure,
            "path": "/admin",
        }


def csrf_ok(session: Session | None, submitted: str | None) -> bool:
    return bool(session and submitted and hmac.compare_digest(session.csrf, submitted))
