"""Staff accounts: password hashes (argon2), roles, and failed-login bookkeeping for rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select

from knowledge.db import Database
from knowledge.errors import UsageError
from knowledge.models import LoginAttempt, StaffUser

ROLES = ("editor", "admin")
_hasher = PasswordHasher()
# Checked against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True, slots=True)
class StaffInfo:
    id: int
    username: str
    role: str
    active: bool


def _info(u: StaffUser) -> StaffInfo:
    return StaffInfo(u.id, u.username, u.role, u.active)


def validate_password(password: str) -> None:
    if len(password) < 10:
        raise UsageError("Mật khẩu cần ít nhất 10 ký tự.")
    if len(password) > 200:
        raise UsageError("Mật khẩu quá dài (tối đa 200 ký tự).")


def create_user(db: Database, username: str, password: str, role: str) -> StaffInfo:
    username = username.strip()
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise UsageError("Tên đăng nhập không hợp lệ (1–100 ký tự, không có khoảng trắng).")
    if role not in ROLES:
        raise UsageError(f"Vai trò phải là một trong: {', '.join(ROLES)}.")
    validate_password(password)
    with db.session() as s:
        if s.scalar(select(StaffUser.id).where(StaffUser.username == username)):
            raise UsageError(f"Tên đăng nhập {username!r} đã có.")
        user = StaffUser(username=username, password_hash=_hasher.hash(password), role=role, active=True)
        s.add(user)
        s.flush()
        return _info(user)


def set_password(db: Database, user_id: int, password: str) -> None:
    validate_password(password)
    with db.session() as s:
        user = s.get(StaffUser, user_id)
        if user is None:
            raise UsageError("Không có tài khoản này.")
        user.password_hash = _hasher.hash(password)


def set_active(db: Database, user_id: int, active: bool) -> None:
    with db.session() as s:
        user = s.get(StaffUser, user_id)
        if user is None:
            raise UsageError("Không có tài khoản này.")
        user.active = active


def users(db: Database) -> list[StaffInfo]:
    with db.sessions() as s:
        return [_info(u) for u in s.scalars(select(StaffUser).order_by(StaffUser.username))]


def user(db: Database, user_id: int) -> StaffInfo | None:
    with db.sessions() as s:
        u = s.get(StaffUser, user_id)
        return _info(u) if u else None


def authenticate(db: Database, username: str, password: str) -> StaffInfo | None:
    with db.session() as s:
        u = s.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
        try:
            _hasher.verify(u.password_hash if u else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if u is None or not u.active:
            return None
        if _hasher.check_needs_rehash(u.password_hash):
            u.password_hash = _hasher.hash(password)
        return _info(u)


def failed_logins(db: Database, keys: list[str], window: timedelta) -> int:
    """The most failed logins recorded under any one of `keys` (a user name, an address)."""
    since = datetime.now(UTC) - window
    with db.sessions() as s:
        counts = s.execute(
            select(LoginAttempt.key, func.count(LoginAttempt.id))
            .where(LoginAttempt.key.in_(keys), LoginAttempt.at >= since)
            .group_by(LoginAttempt.key)
        ).all()
    return max((n for _, n in counts), default=0)


def record_failed_login(db: Database, keys: list[str]) -> None:
    with db.session() as s:
        for key in keys:
            s.add(LoginAttempt(key=key[:200]))


def clear_failed_logins(db: Database, keys: list[str]) -> None:
    with db.session() as s:
        s.execute(delete(LoginAttempt).where(LoginAttempt.key.in_(keys)))
